"""IMAP capture against a real Dovecot on loopback: charsets, bounces, duplicates, resync, IDLE."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from hub.channels.email.factory import build_capture
from hub.channels.email.imap_capture import ImapCapture
from hub.channels.email.settings import AccountSettings
from hub.errors import ChannelAuthError
from hub.model import AdapterState, Direction, Flag, Status, Touch
from tests.helpers import mail_samples as S
from tests.helpers.dovecot import Dovecot
from tests.helpers.email_sink import EmailSink
from tests.integration.email.support import STEP_S, put, settings_for, sync

pytestmark = pytest.mark.timeout(60)


def email_touches(sink: EmailSink) -> dict[str, Touch]:
    return {t.external_id: t for t in sink.touches.values()}


async def test_first_sync_reads_inbox_and_sent_in_every_charset(dovecot: Dovecot) -> None:
    inbox = [
        S.simple(),
        S.legacy("koi8-r", message_id="<koi@example.com>"),
        S.legacy("cp1251", encoding="base64", message_id="<cp@example.com>"),
        S.legacy("cp1251", label="koi8-r", header_label="koi8-r", message_id="<liar@example.com>"),
        S.legacy("cp1251", label="utf-8", message_id="<utf8liar@example.com>"),
        S.raw_8bit_headers(),
        S.with_attachment(),
        S.html_only(),
        S.simple(message_id=None, date=None, subject="No id", body="Letter without Message-ID"),
    ]
    await put(dovecot, "ivan", inbox)
    await put(dovecot, "ivan", [S.outgoing(cc=S.PETR)], "Sent")
    progress: list[tuple[int, int | None]] = []
    capture = build_capture(settings_for(dovecot), "ivan")
    capture.progress = lambda done, total: progress.append((done, total))
    sink = EmailSink()
    await sync(capture, sink)

    touches = email_touches(sink)
    assert len(touches) == len(inbox) + 1
    assert {t.source for t in touches.values()} == {"email"}
    for key in ("koi@example.com", "cp@example.com", "liar@example.com", "utf8liar@example.com"):
        assert touches[key].subject == "Счёт на оплату", key
        assert touches[key].preview == "Добрый день! Прошу выставить счёт.", key
        assert touches[key].counterparts[0].name == "Иван Петров", key
    assert touches["raw8@example.com"].subject == "Срочно: договор"
    assert touches["html@example.com"].preview == "Привет & пока"
    attachment = touches["att@example.com"].metadata["attachments"]
    assert [a["name"] for a in attachment] == ["Договор №5.pdf"]
    assert attachment[0]["content_type"] == "application/pdf"
    assert 2900 < attachment[0]["size"] < 3200
    synthetic = [t for t in touches.values() if t.subject == "No id"]
    assert len(synthetic) == 1 and synthetic[0].external_id.startswith("synthetic.")
    assert synthetic[0].occurred_at.year >= 2026  # no Date: the server's INTERNALDATE

    incoming = touches["m1@example.com"]
    assert incoming.direction is Direction.IN and incoming.status is Status.RECEIVED
    assert incoming.employee is not None and incoming.employee.value == "ivan@acme.ru"
    assert [c.value for c in incoming.counterparts] == ["client@example.com"]
    sent = touches["out1@acme.ru"]
    assert sent.direction is Direction.OUT and sent.metadata["folder"] == "Sent"
    assert [c.value for c in sent.counterparts] == ["client@example.com"]  # petr is a colleague

    checkpoints = {
        k: json.loads(v) for (src, k), v in sink.checkpoints.items() if src == "imap:ivan"
    }
    assert checkpoints["INBOX"]["last_uid"] == len(inbox)
    assert checkpoints["Sent"]["last_uid"] == 1
    assert progress[0] == (0, len(inbox) + 1) and progress[-1] == (len(inbox) + 1, len(inbox) + 1)
    assert not sink.quarantined


async def test_capture_never_sets_seen(dovecot: Dovecot) -> None:
    await put(dovecot, "ivan", [S.simple(), S.dsn()])
    await sync(build_capture(settings_for(dovecot), "ivan"), EmailSink())

    def flags() -> str:
        client = dovecot.imap("ivan")
        client.select("INBOX", readonly=True)
        _, data = client.fetch("1:*", "(FLAGS)")
        client.logout()
        return repr(data)

    assert "Seen" not in await asyncio.wait_for(asyncio.to_thread(flags), STEP_S)


async def test_second_sync_reads_only_new_letters(dovecot: Dovecot) -> None:
    await put(dovecot, "ivan", [S.numbered(i) for i in range(5)])
    capture = build_capture(settings_for(dovecot), "ivan")
    sink = EmailSink()
    await sync(capture, sink)
    assert capture.health.counters["letters"] == 5
    await put(dovecot, "ivan", [S.numbered(5)])
    await sync(capture, sink)
    assert capture.health.counters["letters"] == 6
    assert len(sink.touches) == 6


async def test_unreadable_letter_is_quarantined_once_and_sync_goes_on(dovecot: Dovecot) -> None:
    broken = b"just some words\r\nwith no header at all\r\n\r\nand a body\r\n"
    await put(dovecot, "ivan", [S.simple(), broken, S.numbered(1)])
    capture = build_capture(settings_for(dovecot), "ivan")
    sink = EmailSink()
    await sync(capture, sink)
    await sync(capture, sink)
    assert len(sink.quarantined) == 1
    item = sink.quarantined[0]
    assert item.raw.startswith(b"just some words")
    assert "no mail headers" in item.reason
    assert item.external_id is not None and item.external_id.endswith("/2")
    assert len(sink.touches) == 2


async def test_bounce_marks_the_original_letter_and_the_address(dovecot: Dovecot) -> None:
    await put(dovecot, "ivan", [S.outgoing()], "Sent")
    verp = "bounces+out2=acme.ru@acme.ru"
    await put(
        dovecot,
        "ivan",
        [
            S.dsn(),
            S.dsn(
                original_id=None,
                to=verp,
                recipient="buyer@shop.example",
                message_id="<dsn2@mx.acme.ru>",
                status="5.2.2",
                diagnostic="smtp; 552 5.2.2 Mailbox full",
            ),
        ],
    )
    sink = EmailSink()
    await sync(build_capture(settings_for(dovecot), "ivan"), sink)
    by_id = {u.external_id: u for u in sink.updates}
    assert set(by_id) == {"out1@acme.ru", "out2@acme.ru"}
    first = by_id["out1@acme.ru"]
    assert first.status is Status.BOUNCED
    assert first.address is not None and first.address.value == "client@example.com"
    assert first.detail is not None and first.detail.startswith("5.1.1 550 5.1.1")
    assert by_id["out2@acme.ru"].detail == "5.2.2 552 5.2.2 Mailbox full"
    report = email_touches(sink)["dsn1@mx.acme.ru"]
    assert Flag.DELIVERY_REPORT in report.flags and not report.is_client_touch
    assert [c.value for c in report.counterparts] == ["client@example.com"]


async def test_auto_replies_and_mailing_lists_are_recorded_but_flagged(dovecot: Dovecot) -> None:
    await put(
        dovecot,
        "ivan",
        [S.auto_reply(k) for k in ("auto-submitted", "x-autoreply", "precedence")]
        + [S.mailing_list()],
    )
    sink = EmailSink()
    await sync(build_capture(settings_for(dovecot), "ivan"), sink)
    touches = email_touches(sink)
    assert len(touches) == 4
    for key in (
        "auto-auto-submitted@example.com",
        "auto-x-autoreply@example.com",
        "auto-precedence@example.com",
    ):
        assert touches[key].flags == {Flag.AUTO_REPLY}, key
        assert touches[key].metadata["auto_reply"]
    assert Flag.MAILING_LIST in touches["list@shop.example"].flags
    assert not any(t.is_client_touch for t in touches.values())


async def test_the_same_letter_in_two_mailboxes_and_inbox_plus_sent_is_one_activity(
    dovecot: Dovecot,
) -> None:
    to_both = S.simple(to=f"{S.IVAN}, {S.PETR}", message_id="<both@example.com>")
    await put(dovecot, "ivan", [to_both])
    await put(dovecot, "petr", [to_both])
    outgoing = S.outgoing(message_id="<out9@acme.ru>", cc=S.PETR)
    await put(dovecot, "ivan", [outgoing], "Sent")
    await put(dovecot, "petr", [outgoing])
    settings = settings_for(dovecot)
    sink = EmailSink()
    for account in ("ivan", "petr"):
        await sync(build_capture(settings, account), sink)
    touches = email_touches(sink)
    assert sorted(touches) == ["both@example.com", "out9@acme.ru"]
    assert touches["out9@acme.ru"].direction is Direction.OUT
    employee = touches["out9@acme.ru"].employee
    assert employee is not None and employee.value == "ivan@acme.ru"
    both = touches["both@example.com"].employee
    assert both is not None and both.value == "ivan@acme.ru"  # first of To, not the mailbox


async def test_internal_letters_are_not_client_touches(dovecot: Dovecot) -> None:
    await put(dovecot, "ivan", [S.simple(sender=S.PETR, message_id="<int@acme.ru>")])
    sink = EmailSink()
    await sync(build_capture(settings_for(dovecot), "ivan"), sink)
    touch = email_touches(sink)["int@acme.ru"]
    assert touch.direction is Direction.INTERNAL and touch.counterparts == ()


async def test_changed_uidvalidity_resyncs_without_duplicates(dovecot: Dovecot) -> None:
    await put(dovecot, "ivan", [S.numbered(i) for i in range(4)] + [S.simple(message_id=None)])
    capture = build_capture(settings_for(dovecot), "ivan")
    sink = EmailSink()
    await sync(capture, sink)
    before = dict(sink.touches)
    new_validity = await asyncio.to_thread(dovecot.change_uidvalidity, "ivan", "INBOX")
    await sync(capture, sink)
    assert capture.health.counters["resyncs"] == 1
    assert sink.touches.keys() == before.keys()
    assert json.loads(sink.checkpoints[("imap:ivan", "INBOX")])["uidvalidity"] == new_validity


async def test_first_sync_respects_the_horizon(dovecot: Dovecot) -> None:
    def old_and_new() -> None:
        client = dovecot.imap("ivan")
        old = time.time() - 200 * 86400
        client.append("INBOX", "", old, S.simple(message_id="<old@example.com>"))
        client.append("INBOX", "", time.time(), S.simple(message_id="<new@example.com>"))
        client.logout()

    await asyncio.wait_for(asyncio.to_thread(old_and_new), STEP_S)
    capture = build_capture(settings_for(dovecot, horizon_days=90), "ivan")
    sink = EmailSink()
    await sync(capture, sink)
    assert list(email_touches(sink)) == ["new@example.com"]
    await sync(capture, sink)  # the skipped old letter is not picked up later either
    assert list(email_touches(sink)) == ["new@example.com"]


async def test_attachments_are_saved_when_asked(dovecot: Dovecot, tmp_path: Path) -> None:
    await put(dovecot, "ivan", [S.with_attachment()])
    settings = settings_for(dovecot, attachments_dir=str(tmp_path), attachment_max_bytes=100_000)
    sink = EmailSink()
    await sync(build_capture(settings, "ivan"), sink)
    saved = email_touches(sink)["att@example.com"].metadata["saved_attachments"]
    data = await asyncio.to_thread(Path(saved[0]["path"]).read_bytes)
    assert data.startswith(b"%PDF") and len(data) == 3004


async def test_wrong_password_is_an_auth_error_without_retries(dovecot: Dovecot) -> None:
    settings = settings_for(dovecot)
    settings.accounts["ivan"] = AccountSettings.model_validate(
        {**settings.accounts["ivan"].model_dump(), "password": "wrong"}
    )
    capture = build_capture(settings, "ivan")
    with pytest.raises(ChannelAuthError):
        await sync(capture, EmailSink())
    with pytest.raises(ChannelAuthError):
        await asyncio.wait_for(capture.run(EmailSink()), STEP_S)
    assert capture.health.state is AdapterState.FAILED and capture.health.restarts == 0


@contextlib.asynccontextmanager
async def running(capture: ImapCapture, sink: EmailSink) -> AsyncIterator[asyncio.Task[None]]:
    task = asyncio.create_task(capture.run(sink), name=f"{capture.name}:run")
    try:
        yield task
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await asyncio.wait_for(task, STEP_S)


async def test_idle_brings_new_mail_and_survives_a_server_restart(dovecot: Dovecot) -> None:
    await put(dovecot, "ivan", [S.numbered(0)])
    capture = build_capture(settings_for(dovecot, poll_interval_s=30.0), "ivan")
    sink = EmailSink()
    async with running(capture, sink):
        await sink.wait_for(lambda: len(sink.touches) == 1, STEP_S)
        await asyncio.sleep(0.3)  # now in IDLE
        started = time.monotonic()
        await put(dovecot, "ivan", [S.numbered(1)])
        await sink.wait_for(lambda: len(sink.touches) == 2, STEP_S)
        assert time.monotonic() - started < 5  # IDLE, not the 30 s poll

        await asyncio.wait_for(asyncio.to_thread(dovecot.restart, 0.5), STEP_S)
        await put(dovecot, "ivan", [S.numbered(2)])
        await sink.wait_for(lambda: len(sink.touches) == 3, STEP_S)
    assert capture.health.restarts >= 1
    assert capture.health.last_error is not None


async def test_a_letter_landing_between_the_sync_and_idle_is_not_left_for_the_poll(
    dovecot: Dovecot,
) -> None:
    await put(dovecot, "ivan", [S.numbered(0)])
    capture = build_capture(settings_for(dovecot, poll_interval_s=30.0), "ivan")
    sink = EmailSink()
    conn = capture._connection()
    await conn.open()
    try:
        await capture._sync_all(conn, sink)
        assert len(sink.touches) == 1
        await put(dovecot, "ivan", [S.numbered(1)])  # after the search, before IDLE
        started = time.monotonic()
        await asyncio.wait_for(capture._wait_for_news(conn), STEP_S)
        assert time.monotonic() - started < 5  # not the 30 s poll
        await capture._sync_all(conn, sink)
        assert len(sink.touches) == 2
    finally:
        await conn.close()
