"""The Kannel sender's answers it cannot get from a healthy Kannel: retries of "try later",
refused credentials, a rejected request, no answer at all, nobody listening, the rate.

The sendsms side is a loopback HTTP server answering with Kannel 1.4.5's recorded status
lines; the sink is a recording implementation of the `Sink` protocol.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlsplit

import pytest
from aiohttp import web

from hub.channels.sms.factory import build_sender
from hub.channels.sms.kannel_sender import KannelSender
from hub.channels.sms.settings import SmsSettings
from hub.errors import ChannelAuthError, ChannelConnectError, ChannelTimeout, ValidationError
from hub.model import (
    Address,
    AddressKind,
    Channel,
    Checkpoint,
    OutgoingMessage,
    SendOutcome,
    SinkItem,
    Status,
    StatusUpdate,
    Touch,
)
from tests.helpers.postgres import free_port

TOKEN = "hook-token-0123456789abcdef"
#: Kannel 1.4.5's answers, as recorded.
ACCEPTED = (202, "0: Accepted for delivery")
TEMPORARY = (503, "Temporal failure, try again later.")
AUTH = (403, "Authorization failed for sendsms")
REJECTED = (400, "Missing receiver number")


@dataclass
class Recorder:
    """A sink that keeps what it was given, and a log shared with the fake Kannel."""

    log: list[object] = field(default_factory=list)

    async def put(self, item: SinkItem) -> None:
        self.log.append(item)

    async def flush(self) -> None:
        self.log.append("flush")

    async def load_checkpoint(self, source: str, key: str) -> str | None:
        return None

    def updates(self) -> list[StatusUpdate]:
        return [i for i in self.log if isinstance(i, StatusUpdate)]


@dataclass
class FakeKannel:
    """Answers sendsms with the scripted replies, in order; "hang" never answers."""

    script: list[tuple[int, str] | str]
    recorder: Recorder
    queries: list[dict[str, list[str]]] = field(default_factory=list)

    async def sendsms(self, request: web.Request) -> web.Response:
        self.recorder.log.append("request")
        self.queries.append(parse_qs(request.query_string))
        step = self.script.pop(0) if len(self.script) > 1 else self.script[0]
        if step == "hang":
            await asyncio.sleep(30)
        assert not isinstance(step, str)
        return web.Response(status=step[0], text=step[1])


@pytest.fixture
async def kannel_port() -> AsyncIterator[tuple[int, list[FakeKannel]]]:
    holder: list[FakeKannel] = []
    app = web.Application()

    async def handler(request: web.Request) -> web.Response:
        return await holder[0].sendsms(request)

    app.router.add_get("/cgi-bin/sendsms", handler)
    runner = web.AppRunner(app, shutdown_timeout=0.1)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield runner.addresses[0][1], holder
    finally:
        await runner.cleanup()


def sender_for(port: int, recorder: Recorder, **gateway: object) -> KannelSender:
    settings = SmsSettings.model_validate(
        {
            "public_url": "http://hub.example:8080",
            "timeout_s": 0.5,
            "max_attempts": 3,
            "retry_base_s": 0.01,
            "retry_max_s": 0.05,
            "gateways": {
                "main": {
                    "kind": "kannel",
                    "url": f"kannel://tester@127.0.0.1:{port}",
                    "password": "testpw",
                    "sender": "1234",
                    "dlr_secret": TOKEN,
                    **gateway,
                }
            },
        }
    )
    return build_sender(settings, "main", recorder)


def sms(message_id: str = "m-1", body: str = "Code 4821") -> OutgoingMessage:
    return OutgoingMessage(
        channel=Channel.SMS,
        to=(Address(kind=AddressKind.PHONE, value="79001234567"),),
        body=body,
        message_id=message_id,
    )


async def test_try_later_is_retried_and_the_touch_is_committed_before_the_first_submit(
    kannel_port: tuple[int, list[FakeKannel]],
) -> None:
    port, holder = kannel_port
    recorder = Recorder()
    kannel = FakeKannel([TEMPORARY, TEMPORARY, ACCEPTED], recorder)
    holder.append(kannel)
    sender = sender_for(port, recorder)
    try:
        result = await sender.send(sms())
    finally:
        await sender.close()
    assert result.ok and result.attempts == 3 and result.code == 202
    touch = recorder.log[0]
    assert isinstance(touch, Touch) and touch.status is Status.QUEUED
    pending = recorder.log[1]  # the message is pending (sending) in the same commit as its touch
    assert isinstance(pending, Checkpoint) and pending.source == "sms:main/outbox" and pending.key == "m-1"
    assert json.loads(pending.value)["state"] == "sending"
    assert recorder.log[2:6] == ["flush", "request", "request", "request"]
    settled = [i for i in recorder.log if isinstance(i, Checkpoint) and i.source == "sms:main/outbox"]
    assert [c.value for c in settled][1:] == [""]  # answered: no longer pending
    (update,) = recorder.updates()
    assert (update.external_id, update.status) == ("m-1", Status.SENT)
    assert update.detail == "202 0: Accepted for delivery"
    query = kannel.queries[0]
    assert query["dlr-mask"] == ["27"] and query["coding"] == ["0"]
    dlr = urlsplit(query["dlr-url"][0])
    assert dlr.path == "/hooks/sms/main/dlr"
    dlr_query = parse_qs(dlr.query)
    assert dlr_query["token"] == [TOKEN] and dlr_query["id"] == ["m-1"]


@pytest.mark.parametrize(
    ("script", "outcome", "detail", "requests"),
    [
        ([REJECTED], SendOutcome.PERMANENT_FAILURE, "rejected: 400 Missing receiver number", 1),
        ([TEMPORARY], SendOutcome.TEMPORARY_FAILURE, "gave up after 3 attempts: 503 Temporal", 3),
    ],
)
async def test_refusals_are_recorded_as_failed_with_kannels_words(
    kannel_port: tuple[int, list[FakeKannel]],
    script: list[tuple[int, str] | str],
    outcome: SendOutcome,
    detail: str,
    requests: int,
) -> None:
    port, holder = kannel_port
    recorder = Recorder()
    holder.append(FakeKannel(script, recorder))
    sender = sender_for(port, recorder)
    try:
        result = await sender.send(sms())
    finally:
        await sender.close()
    assert result.outcome is outcome and not result.ok
    assert recorder.log.count("request") == requests
    (update,) = recorder.updates()
    assert update.status is Status.FAILED and update.detail is not None
    assert update.detail.startswith(detail)


async def test_refused_credentials_raise_after_recording(
    kannel_port: tuple[int, list[FakeKannel]],
) -> None:
    port, holder = kannel_port
    recorder = Recorder()
    holder.append(FakeKannel([AUTH], recorder))
    sender = sender_for(port, recorder)
    try:
        with pytest.raises(ChannelAuthError, match="tester"):
            await sender.send(sms())
    finally:
        await sender.close()
    assert recorder.log.count("request") == 1  # no retry storm on a wrong password
    assert [u.status for u in recorder.updates()] == [Status.FAILED]


async def test_no_answer_leaves_the_message_unknown_and_does_not_resend(
    kannel_port: tuple[int, list[FakeKannel]],
) -> None:
    port, holder = kannel_port
    recorder = Recorder()
    holder.append(FakeKannel(["hang"], recorder))
    sender = sender_for(port, recorder)
    try:
        with pytest.raises(ChannelTimeout) as caught:
            await sender.send(sms("m-hang"))
    finally:
        await sender.close()
    assert caught.value.external_id == "m-hang"
    assert recorder.log.count("request") == 1
    assert recorder.updates() == []  # still "queued": Kannel may have taken it


async def test_nobody_listening_is_retried_then_failed() -> None:
    recorder = Recorder()
    sender = sender_for(free_port(), recorder)
    try:
        with pytest.raises(ChannelConnectError, match="after 3 attempts"):
            await sender.send(sms())
    finally:
        await sender.close()
    (update,) = recorder.updates()
    assert update.status is Status.FAILED and (update.detail or "").startswith("not submitted")


async def test_the_gateway_rate_spaces_the_submits(
    kannel_port: tuple[int, list[FakeKannel]],
) -> None:
    port, holder = kannel_port
    recorder = Recorder()
    holder.append(FakeKannel([ACCEPTED], recorder))
    sender = sender_for(port, recorder, rate=10)
    started = time.monotonic()
    try:
        results = await asyncio.gather(*(sender.send(sms(f"m-{i}")) for i in range(4)))
    finally:
        await sender.close()
    assert all(r.ok for r in results)
    assert time.monotonic() - started >= 0.28  # 1 at once, then 3 at 10/s


@pytest.mark.parametrize(
    ("message", "field"),
    [
        (OutgoingMessage(channel=Channel.EMAIL, to=sms().to, body="x"), "channel"),
        (OutgoingMessage(channel=Channel.SMS, to=sms().to * 2, body="x"), "to"),
        (OutgoingMessage(channel=Channel.SMS, to=sms().to, body=""), "body"),
    ],
)
async def test_messages_it_cannot_send_are_refused_before_anything_is_recorded(
    message: OutgoingMessage, field: str
) -> None:
    recorder = Recorder()
    sender = sender_for(free_port(), recorder)
    with pytest.raises(ValidationError) as caught:
        await sender.send(message)
    assert caught.value.field == field and recorder.log == []
