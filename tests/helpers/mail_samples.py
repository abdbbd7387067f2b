"""Letters as bytes, built the way real mailers build them (and break them), for e-mail tests."""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

COMPANY = "acme.ru"
IVAN = "ivan@acme.ru"
PETR = "petr@acme.ru"
CLIENT = "client@example.com"
CLIENT2 = "buyer@shop.example"
DATE = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)


def simple(
    *,
    sender: str = CLIENT,
    to: str = IVAN,
    cc: str | None = None,
    subject: str = "Order 42",
    body: str = "Hello, please send the invoice.",
    message_id: str | None = "<m1@example.com>",
    date: datetime | None = DATE,
    headers: dict[str, str] | None = None,
) -> bytes:
    """A plain UTF-8 letter."""
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = to
    if cc:
        msg["Cc"] = cc
    msg["Subject"] = subject
    if date is not None:
        msg["Date"] = format_datetime(date)
    if message_id is not None:
        msg["Message-ID"] = message_id
    for name, value in (headers or {}).items():
        msg[name] = value
    msg.set_content(body)
    return msg.as_bytes()


def legacy(
    charset: str,
    *,
    subject: str = "Счёт на оплату",
    body: str = "Добрый день! Прошу выставить счёт.",
    label: str | None = None,
    header_label: str | None = None,
    encoding: str = "8bit",
    message_id: str | None = "<legacy@example.com>",
    name: str = "Иван Петров",
) -> bytes:
    """A letter in a legacy charset; `label` lets the Content-Type lie about it."""
    hdr = header_label or charset
    subj = f"=?{hdr}?B?{base64.b64encode(subject.encode(charset)).decode()}?="
    display = f"=?{hdr}?B?{base64.b64encode(name.encode(charset)).decode()}?="
    payload = body.encode(charset)
    if encoding == "base64":
        payload = base64.encodebytes(payload)
    lines = [
        f"From: {display} <{CLIENT}>",
        f"To: {IVAN}",
        f"Subject: {subj}",
        f"Date: {format_datetime(DATE)}",
        *([f"Message-ID: {message_id}"] if message_id else []),
        "MIME-Version: 1.0",
        f"Content-Type: text/plain; charset={label or charset}",
        f"Content-Transfer-Encoding: {encoding}",
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("ascii") + payload.replace(b"\n", b"\r\n")


def raw_8bit_headers() -> bytes:
    """Headers in raw cp1251 bytes with no encoded words at all (seen from old mailers)."""
    head = (
        "From: Клиент <client@example.com>\r\nTo: ivan@acme.ru\r\nSubject: Срочно: договор\r\n"
        f"Date: {format_datetime(DATE)}\r\nMessage-ID: <raw8@example.com>\r\n"
        "Content-Type: text/plain\r\n\r\n"
    ).encode("cp1251")
    return head + "Текст письма".encode("cp1251")


def with_attachment(*, message_id: str = "<att@example.com>", size: int = 3000) -> bytes:
    """Text plus a PDF with a Cyrillic file name (RFC 2231) and an HTML alternative."""
    msg = EmailMessage()
    msg["From"] = CLIENT
    msg["To"] = IVAN
    msg["Subject"] = "Договор"
    msg["Date"] = format_datetime(DATE)
    msg["Message-ID"] = message_id
    msg.set_content("Договор во вложении.")
    msg.add_alternative("<p>Договор <b>во вложении</b>.</p>", subtype="html")
    msg.add_attachment(
        b"%PDF" + b"x" * size, maintype="application", subtype="pdf", filename="Договор №5.pdf"
    )
    return msg.as_bytes()


def html_only() -> bytes:
    msg = EmailMessage()
    msg["From"] = CLIENT
    msg["To"] = IVAN
    msg["Subject"] = "HTML"
    msg["Date"] = format_datetime(DATE)
    msg["Message-ID"] = "<html@example.com>"
    msg.set_content(
        "<html><head><style>p{}</style></head><body><p>Привет &amp; пока</p></body></html>",
        subtype="html",
    )
    return msg.as_bytes()


def auto_reply(kind: str = "auto-submitted") -> bytes:
    headers = {
        "auto-submitted": {"Auto-Submitted": "auto-replied"},
        "x-autoreply": {"X-Autoreply": "yes"},
        "precedence": {"Precedence": "auto_reply"},
    }[kind]
    return simple(
        subject="Out of office",
        body="I am away",
        message_id=f"<auto-{kind}@example.com>",
        headers={**headers, "In-Reply-To": "<out1@acme.ru>"},
    )


def mailing_list() -> bytes:
    return simple(
        sender="news@shop.example",
        subject="Weekly digest",
        message_id="<list@shop.example>",
        headers={
            "List-Id": "Shop news <news.shop.example>",
            "Precedence": "bulk",
            "List-Unsubscribe": "<mailto:unsub@shop.example>",
        },
    )


def outgoing(
    *,
    message_id: str = "<out1@acme.ru>",
    to: str = CLIENT,
    cc: str | None = None,
    subject: str = "Invoice",
    sender: str = IVAN,
) -> bytes:
    return simple(
        sender=sender,
        to=to,
        cc=cc,
        subject=subject,
        message_id=message_id,
        body="Please find the invoice.",
    )


def dsn(
    *,
    original_id: str | None = "<out1@acme.ru>",
    recipient: str = CLIENT,
    status: str = "5.1.1",
    diagnostic: str = "smtp; 550 5.1.1 <client@example.com>: Recipient address rejected",
    to: str = IVAN,
    headers_only: bool = False,
    message_id: str = "<dsn1@mx.acme.ru>",
) -> bytes:
    """A Postfix-style delivery status notification (RFC 3464) for a letter we sent."""
    boundary = "DSN-BOUNDARY"
    original = (
        f"From: {IVAN}\r\nTo: {recipient}\r\nSubject: Invoice\r\n"
        + (f"Message-ID: {original_id}\r\n" if original_id else "")
        + "\r\n"
    )
    inner_type = "text/rfc822-headers" if headers_only else "message/rfc822"
    body = (
        f"--{boundary}\r\nContent-Type: text/plain\r\n\r\nDelivery failed.\r\n"
        f"--{boundary}\r\nContent-Type: message/delivery-status\r\n\r\n"
        "Reporting-MTA: dns; mx.acme.ru\r\n\r\n"
        f"Final-Recipient: rfc822; {recipient}\r\nAction: failed\r\nStatus: {status}\r\n"
        f"Diagnostic-Code: {diagnostic}\r\n\r\n"
        f"--{boundary}\r\nContent-Type: {inner_type}\r\n\r\n{original}"
        + ("" if headers_only else "Please find the invoice.\r\n")
        + f"--{boundary}--\r\n"
    )
    head = (
        "From: MAILER-DAEMON@mx.acme.ru (Mail Delivery System)\r\n"
        f"To: {to}\r\nSubject: Undelivered Mail Returned to Sender\r\n"
        f"Date: {format_datetime(DATE)}\r\nMessage-ID: {message_id}\r\n"
        "Auto-Submitted: auto-replied\r\nMIME-Version: 1.0\r\n"
        f'Content-Type: multipart/report; report-type=delivery-status; boundary="{boundary}"\r\n\r\n'
    )
    return head.encode() + body.encode()


def garbage() -> bytes:
    """Not a letter at all."""
    return b"\x00\x01\x02 this is not mail \xff\xfe\r\n\r\n\x00"


def deep_mime(depth: int = 60) -> bytes:
    """Multiparts nested far deeper than any mailer makes them."""
    head = f"From: {CLIENT}\r\nTo: {IVAN}\r\nSubject: deep\r\nMessage-ID: <deep@example.com>\r\n"
    body = "Content-Type: text/plain\r\n\r\nleaf text"
    for level in range(depth):
        b = f"b{level}"
        body = (
            f'Content-Type: multipart/mixed; boundary="{b}"\r\n\r\n--{b}\r\n{body}\r\n--{b}--\r\n'
        )
    return (head + body).encode()


def numbered(i: int, *, to: str = IVAN) -> bytes:
    """Letter number `i` of a big mailbox (distinct Message-IDs)."""
    return simple(
        subject=f"Letter {i}",
        message_id=f"<bulk{i}@example.com>",
        to=to,
        body=f"Body of letter {i}. " + "Текст " * 20,
    )


def fresh_id() -> str:
    return make_msgid(domain="example.com")
