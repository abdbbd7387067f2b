"""Sending through a bot against the fake Bot API: touches first, replies, limits,
RetryAfter, a blocked client, a refused text."""

from __future__ import annotations

import time

import pytest

from hub.activity import ActivityStore, BatchWriter
from hub.channels.messengers.factory import build_capture, build_sender
from hub.errors import ChannelAuthError, RateLimited, ValidationError
from hub.model import Address, AddressKind, Channel, OutgoingMessage, SendOutcome
from tests.helpers.fake_telegram import FakeTelegram
from tests.integration.messengers.conftest import activity_rows, identity_of, settings_for


def reply(chat: str, text: str, **metadata: object) -> OutgoingMessage:
    return OutgoingMessage(
        channel=Channel.MESSENGER,
        to=(Address(kind=AddressKind.TELEGRAM, value=chat),),
        body=text,
        metadata=metadata,
    )


async def test_a_reply_is_recorded_as_the_employees_outgoing_touch(
    fake_tg: FakeTelegram, tg_store: ActivityStore, writer: BatchWriter
) -> None:
    employee = await tg_store.employees.add("Anna")
    sender = build_sender(settings_for(fake_tg), "telegram:main", writer)
    try:
        result = await sender.send(reply("501", "Да, доставляем", employee_id=employee, reply_to="501:7"))
    finally:
        await sender.close()
    await writer.flush()
    assert result.ok and result.external_id is not None and result.attempts == 1
    [sent] = fake_tg.sent
    assert (sent["chat"]["id"], sent["text"]) == (501, "Да, доставляем")
    assert sent["reply_parameters"]["message_id"] == 7
    row = (await activity_rows(tg_store))[result.external_id]
    assert (row["direction"], row["status"], row["channel"]) == ("out", "sent", "messenger")
    assert row["employee_id"] == employee and row["counterpart"] == "501"
    assert row["meta"]["telegram_message_id"] == sent["message_id"]
    assert row["thread_key"] == "telegram:main:501"


async def test_the_touch_is_committed_before_telegram_is_asked(
    fake_tg: FakeTelegram, tg_store: ActivityStore, writer: BatchWriter
) -> None:
    fake_tg.fail("sendMessage", 500, "Internal Server Error")
    sender = build_sender(settings_for(fake_tg), "telegram:main", writer)
    try:
        with pytest.raises(Exception, match="not reachable"):
            await sender.send(reply("502", "hello"))
    finally:
        await sender.close()
    await writer.flush()
    [row] = (await activity_rows(tg_store)).values()
    assert row["status"] == "failed" and row["preview"] == "hello"


async def test_retry_after_is_waited_out_then_the_message_goes(
    fake_tg: FakeTelegram, tg_store: ActivityStore, writer: BatchWriter
) -> None:
    fake_tg.fail("sendMessage", 429, "Too Many Requests: retry after 1", retry_after=1)
    sender = build_sender(settings_for(fake_tg), "telegram:main", writer)
    started = time.monotonic()
    try:
        result = await sender.send(reply("503", "after the flood"))
    finally:
        await sender.close()
    assert result.ok and result.attempts == 2
    assert time.monotonic() - started >= 0.95
    assert [m["text"] for m in fake_tg.sent] == ["after the flood"]


async def test_a_retry_after_beyond_the_limit_fails_the_send_clearly(
    fake_tg: FakeTelegram, tg_store: ActivityStore, writer: BatchWriter
) -> None:
    fake_tg.fail("sendMessage", 429, "Too Many Requests: retry after 600", retry_after=600)
    sender = build_sender(settings_for(fake_tg, max_retry_after_s=5), "telegram:main", writer)
    try:
        with pytest.raises(RateLimited) as caught:
            await sender.send(reply("504", "later"))
    finally:
        await sender.close()
    assert caught.value.retry_after == 600
    await writer.flush()
    [row] = (await activity_rows(tg_store)).values()
    assert row["status"] == "failed" and "retry after 600" in row["meta"]["failed_detail"]
    assert fake_tg.sent == []


async def test_a_client_who_blocked_the_bot_is_marked_unreachable(
    fake_tg: FakeTelegram, tg_store: ActivityStore, writer: BatchWriter
) -> None:
    fake_tg.send_text(505, 1, "hi")  # the client wrote once: a lead with this chat exists
    await build_capture(settings_for(fake_tg), "main").sync_once(writer)
    fake_tg.blocked.add(505)
    sender = build_sender(settings_for(fake_tg), "telegram:main", writer)
    try:
        result = await sender.send(reply("505", "are you there?"))
    finally:
        await sender.close()
    await writer.flush()
    assert result.outcome is SendOutcome.PERMANENT_FAILURE and result.code == 403
    assert result.reason is not None and "blocked" in result.reason
    out = [r for r in (await activity_rows(tg_store)).values() if r["direction"] == "out"]
    assert [r["status"] for r in out] == ["failed"]
    identity = await identity_of(tg_store, "telegram", "505")
    assert identity is not None and identity["bouncing_at"] is not None


async def test_a_refused_text_is_a_permanent_failure(
    fake_tg: FakeTelegram, writer: BatchWriter
) -> None:
    fake_tg.fail("sendMessage", 400, "Bad Request: chat not found")
    sender = build_sender(settings_for(fake_tg), "telegram:main", writer)
    try:
        result = await sender.send(reply("506", "x"))
    finally:
        await sender.close()
    assert result.outcome is SendOutcome.PERMANENT_FAILURE and result.code == 400
    assert "chat not found" in (result.reason or "").casefold()


async def test_per_chat_limit_spaces_messages_to_one_chat(
    fake_tg: FakeTelegram, writer: BatchWriter
) -> None:
    sender = build_sender(
        settings_for(fake_tg, per_chat_rate=2.0, per_chat_burst=1), "telegram:main", writer
    )
    try:
        started = time.monotonic()
        for n in range(4):
            await sender.send(reply("507", f"m{n}"))
        one_chat = time.monotonic() - started
        started = time.monotonic()
        for n in range(4):
            await sender.send(reply(str(600 + n), f"m{n}"))
        many_chats = time.monotonic() - started
    finally:
        await sender.close()
    assert one_chat >= 1.45  # 3 waits of 0.5 s (a little slack for the clock)
    assert many_chats < one_chat  # no waits: far under 1.5 s even on a loaded machine


async def test_a_message_that_is_not_for_telegram_is_refused_before_anything_is_recorded(
    fake_tg: FakeTelegram, tg_store: ActivityStore, writer: BatchWriter
) -> None:
    sender = build_sender(settings_for(fake_tg), "telegram:main", writer)
    bad = OutgoingMessage(
        channel=Channel.MESSENGER, to=(Address(kind=AddressKind.PHONE, value="+79161234567"),), body="x"
    )
    try:
        with pytest.raises(ValidationError):
            await sender.send(bad)
    finally:
        await sender.close()
    await writer.flush()
    assert await activity_rows(tg_store) == {}


async def test_a_refused_token_fails_the_send_and_says_so(
    fake_tg: FakeTelegram, tg_store: ActivityStore, writer: BatchWriter
) -> None:
    sender = build_sender(settings_for(fake_tg, token="999:wrong-token"), "telegram:main", writer)
    try:
        with pytest.raises(ChannelAuthError):
            await sender.send(reply("508", "hello"))
    finally:
        await sender.close()
    await writer.flush()
    [row] = (await activity_rows(tg_store)).values()
    assert row["status"] == "failed" and "not sent" in row["meta"]["failed_detail"]
    assert fake_tg.sent == []
