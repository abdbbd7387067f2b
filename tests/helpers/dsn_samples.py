"""Bounce letters as real mail systems write them, addressed to a campaign's VERP path.

Each builder takes the failed address, the VERP return path the letter went out with
and the original letter's Message-ID, and returns the bytes a bounce mailbox receives.
The shapes follow Postfix 3.x (multipart/report with text/rfc822-headers), Exim 4.9x
(multipart/report with X-Failed-Recipients), Exim's older plain-text form, qmail's
"failure notice", Gmail's multipart/report with a folded 550-5.1.1 diagnostic, and a
Postfix "delayed" warning (4.x.x, soft).
"""

from __future__ import annotations


def postfix(failed: str, verp_path: str, original_id: str, *, dsn_id: str = "<20261206120001.A1B2C3@mx.client.ru>") -> bytes:
    return f"""\
Return-Path: <>
Delivered-To: {verp_path}
Received: by mx.client.ru (Postfix) id A1B2C3; Sun,  6 Dec 2026 12:00:01 +0300 (MSK)
Date: Sun,  6 Dec 2026 12:00:01 +0300 (MSK)
From: MAILER-DAEMON@mx.client.ru (Mail Delivery System)
Subject: Undelivered Mail Returned to Sender
To: {verp_path}
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status;
\tboundary="A1B2C3.1733475601/mx.client.ru"
Message-Id: {dsn_id}

This is a MIME-encapsulated message.

--A1B2C3.1733475601/mx.client.ru
Content-Description: Notification
Content-Type: text/plain; charset=us-ascii

This is the mail system at host mx.client.ru.

I'm sorry to have to inform you that your message could not
be delivered to one or more recipients. It's attached below.

<{failed}>: host mx.client.ru[10.0.0.5] said: 550 5.1.1 <{failed}>:
    Recipient address rejected: User unknown in virtual mailbox table (in reply
    to RCPT TO command)

--A1B2C3.1733475601/mx.client.ru
Content-Description: Delivery report
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.client.ru
X-Postfix-Queue-ID: A1B2C3
X-Postfix-Sender: rfc822; {verp_path}
Arrival-Date: Sun,  6 Dec 2026 12:00:00 +0300 (MSK)

Final-Recipient: rfc822; {failed}
Original-Recipient: rfc822;{failed}
Action: failed
Status: 5.1.1
Remote-MTA: dns; mx.client.ru
Diagnostic-Code: smtp; 550 5.1.1 <{failed}>: Recipient address rejected: User
    unknown in virtual mailbox table

--A1B2C3.1733475601/mx.client.ru
Content-Description: Undelivered Message Headers
Content-Type: text/rfc822-headers

Return-Path: <{verp_path}>
From: Acme <news@acme.ru>
To: {failed}
Subject: =?utf-8?b?0JTQtdC60LDQsdGA0YzRgdC60LjQtSDRgdC60LjQtNC60Lg=?=
Message-ID: {original_id}
Date: Sun, 06 Dec 2026 08:59:58 +0000

--A1B2C3.1733475601/mx.client.ru--
""".replace("\n", "\r\n").encode()


def postfix_delayed(failed: str, verp_path: str, original_id: str) -> bytes:
    return f"""\
Return-Path: <>
Delivered-To: {verp_path}
Date: Mon,  7 Dec 2026 12:00:01 +0300 (MSK)
From: MAILER-DAEMON@relay.acme.ru (Mail Delivery System)
Subject: Delayed Mail (still being retried)
To: {verp_path}
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status;
\tboundary="D9E8.1733561201/relay.acme.ru"
Message-Id: <20261207090001.D9E8@relay.acme.ru>

--D9E8.1733561201/relay.acme.ru
Content-Type: text/plain; charset=us-ascii

This is the mail system at host relay.acme.ru.

####################################################################
# THIS IS A WARNING ONLY.  YOU DO NOT NEED TO RESEND YOUR MESSAGE. #
####################################################################

Your message could not be delivered for more than 4 hour(s).
It will be retried until it is 5 day(s) old.

--D9E8.1733561201/relay.acme.ru
Content-Type: message/delivery-status

Reporting-MTA: dns; relay.acme.ru

Final-Recipient: rfc822; {failed}
Action: delayed
Status: 4.4.1
Diagnostic-Code: X-Postfix; connect to mx.client.ru[10.0.0.5]:25: Connection
    timed out
Will-Retry-Until: Fri, 11 Dec 2026 12:00:00 +0300 (MSK)

--D9E8.1733561201/relay.acme.ru
Content-Type: text/rfc822-headers

Return-Path: <{verp_path}>
Message-ID: {original_id}
To: {failed}

--D9E8.1733561201/relay.acme.ru--
""".replace("\n", "\r\n").encode()


def exim(failed: str, verp_path: str, original_id: str) -> bytes:
    return f"""\
Return-path: <>
Envelope-to: {verp_path}
Received: from mail by mx.client.org with local (Exim 4.96)
\tid 1tJxYz-0004Qa-2B
\tfor {verp_path}; Sun, 06 Dec 2026 09:10:11 +0000
X-Failed-Recipients: {failed}
Auto-Submitted: auto-replied
From: Mail Delivery System <Mailer-Daemon@mx.client.org>
To: {verp_path}
References: {original_id}
Content-Type: multipart/report; report-type=delivery-status; boundary=1733476211-eximdsn-1804289383
MIME-Version: 1.0
Subject: Mail delivery failed: returning message to sender
Message-Id: <E1tJxYz-0004Qa-2B@mx.client.org>
Date: Sun, 06 Dec 2026 09:10:11 +0000

--1733476211-eximdsn-1804289383
Content-type: text/plain; charset=us-ascii

This message was created automatically by mail delivery software.

A message that you sent could not be delivered to one or more of its
recipients. This is a permanent error. The following address(es) failed:

  {failed}
    host mx.client.org [192.0.2.7]
    SMTP error from remote mail server after RCPT TO:<{failed}>:
    550 5.1.1 No such user here

--1733476211-eximdsn-1804289383
Content-type: message/delivery-status

Reporting-MTA: dns; mx.client.org

Action: failed
Final-Recipient: rfc822;{failed}
Status: 5.0.0
Remote-MTA: dns; mx.client.org
Diagnostic-Code: smtp; 550 5.1.1 No such user here

--1733476211-eximdsn-1804289383
Content-type: message/rfc822

Return-path: <{verp_path}>
From: Acme <news@acme.ru>
To: {failed}
Subject: December offers
Message-ID: {original_id}
Date: Sun, 06 Dec 2026 09:10:09 +0000

Hello!

--1733476211-eximdsn-1804289383--
""".replace("\n", "\r\n").encode()


def exim_plain(failed: str, verp_path: str, original_id: str) -> bytes:
    return f"""\
Return-path: <>
Envelope-to: {verp_path}
X-Failed-Recipients: {failed}
From: Mail Delivery System <Mailer-Daemon@old.client.org>
To: {verp_path}
Subject: Mail delivery failed: returning message to sender
Message-Id: <E1aBcDe-0001Xy-9Q@old.client.org>
Date: Sun, 06 Dec 2026 09:12:00 +0000

This message was created automatically by mail delivery software.

A message that you sent could not be delivered to one or more of its
recipients. This is a permanent error. The following address(es) failed:

  {failed}
    SMTP error from remote mail server after RCPT TO:<{failed}>:
    host old.client.org [192.0.2.9]: 550 Unrouteable address

------ This is a copy of the message, including all the headers. ------

Return-path: <{verp_path}>
From: Acme <news@acme.ru>
To: {failed}
Subject: December offers
Message-ID: {original_id}

Hello!
""".replace("\n", "\r\n").encode()


def qmail(failed: str, verp_path: str, original_id: str) -> bytes:
    return f"""\
Return-Path: <>
Delivered-To: {verp_path}
Date: 6 Dec 2026 09:20:00 -0000
From: MAILER-DAEMON@mail.client.net
To: {verp_path}
Subject: failure notice
Message-ID: <20261206092000.12345.qmail@mail.client.net>

Hi. This is the qmail-send program at mail.client.net.
I'm afraid I wasn't able to deliver your message to the following addresses.
This is a permanent error; I've given up. Sorry it didn't work out.

<{failed}>:
192.0.2.11 does not like recipient.
Remote host said: 550 5.1.1 <{failed}>... User unknown
Giving up on 192.0.2.11.

--- Below this line is a copy of the message.

Return-Path: <{verp_path}>
From: Acme <news@acme.ru>
To: {failed}
Subject: December offers
Message-ID: {original_id}

Hello!
""".replace("\n", "\r\n").encode()


def gmail(failed: str, verp_path: str, original_id: str) -> bytes:
    return f"""\
Delivered-To: {verp_path}
Return-Path: <>
From: Mail Delivery Subsystem <mailer-daemon@googlemail.com>
To: {verp_path}
Auto-Submitted: auto-replied
Subject: Delivery Status Notification (Failure)
References: {original_id}
In-Reply-To: {original_id}
X-Failed-Recipients: {failed}
Message-ID: <6753c1a2.050a0220.1f2c3d.abcdGMR@mx.google.com>
Date: Sun, 06 Dec 2026 01:30:10 -0800 (PST)
MIME-Version: 1.0
Content-Type: multipart/report; boundary="000000000000a1b2c3d4e5f6a7b8"; report-type=delivery-status

--000000000000a1b2c3d4e5f6a7b8
Content-Type: multipart/related; boundary="000000000000a1b2c3d4e5f6a7b9"

--000000000000a1b2c3d4e5f6a7b9
Content-Type: multipart/alternative; boundary="000000000000a1b2c3d4e5f6a7ba"

--000000000000a1b2c3d4e5f6a7ba
Content-Type: text/plain; charset="UTF-8"


** Address not found **

Your message wasn't delivered to {failed} because the address couldn't be found, or is unable to receive mail.

Learn more here: https://support.google.com/mail/?p=NoSuchUser

The response was:

The email account that you tried to reach does not exist. Please try double-checking the recipient's email address for typos or unnecessary spaces. For more information, go to https://support.google.com/mail/?p=NoSuchUser

--000000000000a1b2c3d4e5f6a7ba
Content-Type: text/html; charset="UTF-8"

<html><body><p><b>Address not found</b></p></body></html>

--000000000000a1b2c3d4e5f6a7ba--

--000000000000a1b2c3d4e5f6a7b9--

--000000000000a1b2c3d4e5f6a7b8
Content-Type: message/delivery-status

Reporting-MTA: dns; googlemail.com
Received-From-MTA: dns; news@acme.ru
Arrival-Date: Sun, 06 Dec 2026 01:30:09 -0800 (PST)
X-Original-Message-ID: {original_id}

Final-Recipient: rfc822; {failed}
Action: failed
Status: 5.1.1
Remote-MTA: dns; gmail-smtp-in.l.google.com. (2a00:1450:4010:c0e::1a, the
 server for the domain gmail.com.)
Diagnostic-Code: smtp; 550-5.1.1 The email account that you tried to reach does
 not exist. Please try 550-5.1.1 double-checking the recipient's email address
 for typos or 550-5.1.1 unnecessary spaces. For more information, go to 550
 5.1.1  https://support.google.com/mail/?p=NoSuchUser a1-20020a05600c000100b00 - gsmtp
Last-Attempt-Date: Sun, 06 Dec 2026 01:30:10 -0800 (PST)

--000000000000a1b2c3d4e5f6a7b8
Content-Type: message/rfc822

Return-Path: <{verp_path}>
From: Acme <news@acme.ru>
To: {failed}
Subject: December offers
Message-ID: {original_id}
Date: Sun, 06 Dec 2026 09:30:08 +0000

Hello!

--000000000000a1b2c3d4e5f6a7b8--
""".replace("\n", "\r\n").encode()


def headers_only(failed: str, original_id: str) -> bytes:
    """A DSN delivered to the plain bounce address (no VERP): only the Message-ID names it."""
    return postfix(failed, "bounces@acme.ru", original_id, dsn_id="<dsn-headers-only@mx.client.ru>")


def not_a_bounce(verp_path: str) -> bytes:
    return f"""\
Delivered-To: {verp_path}
From: Anna <anna@client.ru>
To: {verp_path}
Subject: Re: December offers
Message-ID: <reply-1@client.ru>

Thanks, but call me instead.
""".replace("\n", "\r\n").encode()
