"""A small but real channel plug-in, for tests of the plug-in point: settings, an adapter
that captures, a sender, a webhook that writes through `SINK`, click-to-call and live state.

It is registered nowhere: tests hand it to `settings_model`, `Hub(plugins=…)` and
`load_plugins((("fake", "tests.helpers.fake_channel:PLUGIN"),))`.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from hub.channels.plugin import ChannelPlugin, SenderFactory
from hub.model import (
    AdapterHealth,
    Address,
    AddressKind,
    CaptureAdapter,
    Channel,
    Direction,
    OutgoingMessage,
    RecipientResult,
    SendOutcome,
    SendResult,
    Sink,
    Status,
    Touch,
    utcnow,
)
from hub.web.keys import SENDERS, SINK


class FakeSettings(BaseModel):
    """`[fake]`: which gateways capture and which numbers send."""

    model_config = ConfigDict(extra="forbid")

    gateways: list[str] = Field(default_factory=list)
    senders: list[str] = Field(default_factory=list)


def inbound_touch(source: str, external_id: str, phone: str) -> Touch:
    """An inbound SMS as the fake gateway reports it."""
    return Touch(
        source=source,
        external_id=external_id,
        channel=Channel.SMS,
        direction=Direction.IN,
        status=Status.RECEIVED,
        occurred_at=utcnow(),
        counterparts=(Address(kind=AddressKind.PHONE, value=phone),),
    )


@dataclass(frozen=True, slots=True)
class FakeCall:
    """What the fake PBX answers to click-to-call."""

    extension: str
    number: str
    channel: str | None = "FAKE/1"
    uniqueid: str | None = "fake-1"


class FakeGateway:
    """Captures one inbound message at start, then idles; also places calls and knows states."""

    def __init__(self, gateway: str) -> None:
        self.name = f"fake:{gateway}"
        self.health = AdapterHealth(name=self.name)
        self.calls: list[tuple[str, str]] = []

    async def run(self, sink: Sink) -> None:
        await sink.put(inbound_touch(self.name, "boot", "+79160000001"))
        await asyncio.Event().wait()

    async def sync_once(self, sink: Sink) -> None:
        await sink.put(inbound_touch(self.name, "boot", "+79160000001"))
        await sink.flush()

    async def originate(
        self, extension: str, number: str, caller_name: str | None = None
    ) -> FakeCall:
        self.calls.append((extension, number))
        return FakeCall(extension=extension, number=number)

    def live_state(self) -> dict[str, str]:
        return {"101": "talking"}


class FakeSender:
    """Sends nothing anywhere; records an outgoing touch per message into its sink."""

    channel = Channel.SMS

    def __init__(self, number: str, sink: Sink | None) -> None:
        self.number = number
        self.sink = sink
        self.closed = False
        self.sent = 0

    async def send(self, message: OutgoingMessage) -> SendResult:
        self.sent += 1
        touch = Touch(
            source=f"fake:{self.number}",
            external_id=f"out-{self.sent}",
            channel=Channel.SMS,
            direction=Direction.OUT,
            status=Status.SENT,
            occurred_at=utcnow(),
            counterparts=message.to,
        )
        if self.sink is not None:
            await self.sink.put(touch)
        return SendResult(
            outcome=SendOutcome.SENT,
            external_id=touch.external_id,
            recipients=tuple(
                RecipientResult(address=a, outcome=SendOutcome.SENT) for a in message.to
            ),
            touch=touch,
        )

    async def close(self) -> None:
        self.closed = True


routes = web.RouteTableDef()


@routes.post("/hooks/fake")
async def inbound(request: web.Request) -> web.Response:
    """The gateway's webhook: parse, hand to the writer, answer at once."""
    data = await request.json()
    await request.app[SINK].put(inbound_touch("fake:hook", str(data["id"]), str(data["from"])))
    return web.json_response({"queued": True}, status=202)


@routes.get("/hooks/fake/senders")
async def senders(request: web.Request) -> web.Response:
    """Which senders the app can reach."""
    return web.json_response(sorted(request.app[SENDERS]))


def build_gateways(settings: FakeSettings) -> list[CaptureAdapter]:
    return [FakeGateway(name) for name in settings.gateways]


def sender_numbers(settings: FakeSettings) -> list[str]:
    return list(settings.senders)


def build_sender(settings: FakeSettings, number: str, sink: Sink | None) -> FakeSender:
    return FakeSender(number, sink)


PLUGIN = ChannelPlugin(
    name="fake",
    section="fake",
    settings_model=FakeSettings,
    build_adapters=build_gateways,
    senders_factory=SenderFactory(keys=sender_numbers, build=build_sender),
    routes=lambda: routes,
)
