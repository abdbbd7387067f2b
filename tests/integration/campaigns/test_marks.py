"""A campaign letter carries what makes it answerable: a signed one-click unsubscribe link
(RFC 8058 headers and the template's `campaign.unsubscribe_url`) and a VERP return path
that a DSN leads back to the recipient — checked on what a real SMTP server received."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime
from email import message_from_bytes, policy
from urllib.parse import urlparse

import pytest

from hub.activity import ActivityStore
from hub.campaigns import unsubscribe, verp
from hub.campaigns.bounces import BounceMatcher, record_bounce
from hub.campaigns.engine import CampaignWorker
from hub.campaigns.manager import CampaignManager, CampaignSpec
from hub.campaigns.marks import MailMarks
from hub.campaigns.settings import CampaignSettings
from hub.channels.email.dsn import parse_bounce
from hub.model import Channel
from tests.helpers.campaign_world import FAST, addresses, seed_contacts
from tests.helpers.smtp_server import SmtpServer, running_smtp

from .test_engine import sender_for

pytestmark = pytest.mark.timeout(120)

SECRET = "s" * 40
PUBLIC = "https://hub.acme.test"


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    with running_smtp() as server:
        yield server


async def campaign_with_link(store: ActivityStore) -> int:
    template = await store.templates.create(name="winter", channel="email", created_by="t")
    await store.templates.add_version(
        template.id,
        subject="Новости",
        html='<p>Здравствуйте!</p><p><a href="{{ campaign.unsubscribe_url }}">Отписаться</a></p>',
        text=None,
        created_by="t",
    )
    manager = CampaignManager(store, senders=["email:ivan"], tz=store.tz)
    campaign = await manager.create(
        CampaignSpec(
            name="winter",
            channel="email",
            template_id=template.id,
            segment={"field": "city", "op": "eq", "value": "Казань"},
            sender="email:ivan",
        ),
        created_by="t",
    )
    await manager.start(campaign.id)
    return campaign.id


async def test_letters_carry_a_signed_link_and_a_return_path_that_lead_back(
    store: ActivityStore, smtp_server: SmtpServer
) -> None:
    emails = addresses(3)
    await seed_contacts(store, emails)
    settings = CampaignSettings.model_validate(
        {
            **FAST.model_dump(),
            "secret": SECRET,
            "bounce_address": "bounces@acme.ru",
            "unsubscribe_mailto": "unsubscribe@acme.ru",
        }
    )
    marks = MailMarks.of(settings, PUBLIC)
    assert marks is not None
    campaign_id = await campaign_with_link(store)
    sender = sender_for(smtp_server)
    try:
        worker = CampaignWorker(store, sender, settings, message_id_domain="acme.ru", marks=marks)
        await asyncio.wait_for(worker.run(campaign_id), 60)
    finally:
        await sender.close()
    letters = smtp_server.handler.received
    assert sorted(r for letter in letters for r in letter.rcpt_tos) == sorted(emails)
    for letter in letters:
        (to,) = letter.rcpt_tos
        # the envelope sender names this campaign's row for this address, signed
        tag = verp.parse(letter.mail_from, "bounces@acme.ru")
        assert tag is not None and tag.campaign_id == campaign_id
        assert verp.verify(marks.keys, tag, to)
        parsed = message_from_bytes(letter.data, policy=policy.default)
        assert parsed["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        link = str(parsed["List-Unsubscribe"]).split(",")[0].strip().strip("<>")
        assert link.startswith(f"{PUBLIC}/u/")
        assert "mailto:unsubscribe@acme.ru" in str(parsed["List-Unsubscribe"])
        token = unsubscribe.verify(marks.keys, urlparse(link).path.rsplit("/", 1)[-1])
        assert token.campaign_id == campaign_id and token.recipient_id == tag.recipient_id
        assert unsubscribe.names_address(marks.keys, token, to)
        # the same link is in the letter's text for people to click
        body = parsed.get_body(preferencelist=("html",))
        assert body is not None and link in body.get_content()
    # a DSN sent back to one return path suppresses that recipient's address, and only it
    letter = letters[0]
    (bounced,) = letter.rcpt_tos
    dsn = (
        f"From: MAILER-DAEMON@mx.client.test\r\nTo: {letter.mail_from}\r\n"
        f"Delivered-To: {letter.mail_from}\r\nSubject: Undelivered Mail Returned to Sender\r\n"
        "MIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="b"\r\n\r\n'
        "--b\r\nContent-Type: text/plain\r\n\r\nThe mailbox does not exist.\r\n"
        "--b\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.client.test\r\n\r\n"
        f"Final-Recipient: rfc822; {bounced}\r\nAction: failed\r\nStatus: 5.1.1\r\n"
        "Diagnostic-Code: smtp; 550 5.1.1 no such user\r\n--b--\r\n"
    ).encode()
    found = parse_bounce(dsn)
    assert found is not None
    matcher = BounceMatcher(marks.keys, "bounces@acme.ru")
    events = await matcher.events(found, at=datetime.now(UTC))
    assert [e.address for e in events] == [bounced]
    assert await record_bounce(store, events[0])
    suppressed = await store.suppressions.suppressed(Channel.EMAIL, emails)
    assert set(suppressed) == {bounced}


async def test_without_a_secret_there_are_no_marks() -> None:
    assert MailMarks.of(CampaignSettings(), PUBLIC) is None
