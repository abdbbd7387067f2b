"""A small but real messenger channel plug-in for dialog tests, on the messenger contract.

Every touch it captures or sends is `Channel.MESSENGER` with ``source =
"<platform>:<account>"`` and the chat as an address of the platform's kind; its sender
is keyed like that source, takes an `OutgoingMessage` to one chat, records the outgoing
touch (with the employee the message names) before it "sends", and keeps what it sent
in `outbox`, where a test finds what reached the platform. `refuse` makes it answer
like a platform that would not take the message.

It is registered nowhere: tests hand `messenger_plugin("telegram")`, or senders made by
`FakeMessengerSender`, to `Hub(plugins=…)` or `create_app(senders=…)`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from itertools import count

from pydantic import BaseModel, ConfigDict, Field

from hub.channels.plugin import ChannelPlugin, SenderFactory
from hub.model import (
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

_ids = count(1)


class FakeMessengerSettings(BaseModel):
    """Which accounts (bots) the fake platform has."""

    model_config = ConfigDict(extra="forbid")

    accounts: list[str] = Field(default_factory=list)


def incoming(
    platform: str, account: str, chat: str, text: str, at: datetime, *, message_id: str | None = None
) -> Touch:
    """A client's message as the platform's adapter would report it."""
    return Touch(
        source=f"{platform}:{account}",
        external_id=message_id or f"{chat}:in-{next(_ids)}",
        channel=Channel.MESSENGER,
        direction=Direction.IN,
        status=Status.RECEIVED,
        occurred_at=at,
        counterparts=(Address(kind=AddressKind(platform), value=chat),),
        preview=text,
    )


@dataclass(frozen=True, slots=True)
class Sent:
    """One message that reached the fake platform."""

    chat: str
    text: str
    external_id: str


class FakeMessengerSender:
    """Sends to nowhere but its `outbox`; records the outgoing touch into its sink first."""

    channel = Channel.MESSENGER

    def __init__(self, platform: str, account: str, sink: Sink | None) -> None:
        self.platform = platform
        self.source = f"{platform}:{account}"
        self.sink = sink
        self.outbox: list[Sent] = []
        self.refuse: str | None = None
        self.closed = False

    async def send(self, message: OutgoingMessage) -> SendResult:
        (to,) = message.to
        if self.refuse is not None:
            return SendResult(
                outcome=SendOutcome.PERMANENT_FAILURE,
                code=403,
                reason=self.refuse,
                recipients=(RecipientResult(address=to, outcome=SendOutcome.PERMANENT_FAILURE),),
            )
        external_id = f"{to.value}:out-{next(_ids)}"
        touch = Touch(
            source=self.source,
            external_id=external_id,
            channel=Channel.MESSENGER,
            direction=Direction.OUT,
            status=Status.SENT,
            occurred_at=utcnow(),
            counterparts=(to,),
            preview=message.body,
            metadata=dict(message.metadata),
        )
        if self.sink is not None:
            await self.sink.put(touch)
            await self.sink.flush()
        self.outbox.append(Sent(chat=to.value, text=message.body, external_id=external_id))
        return SendResult(
            outcome=SendOutcome.SENT,
            external_id=external_id,
            recipients=(RecipientResult(address=to, outcome=SendOutcome.SENT),),
            touch=touch,
        )

    async def close(self) -> None:
        self.closed = True


def messenger_plugin(platform: str) -> ChannelPlugin[FakeMessengerSettings]:
    """A plug-in named after `platform` whose senders are keyed ``"<platform>:<account>"``."""

    def adapters(settings: FakeMessengerSettings) -> list[CaptureAdapter]:
        return []

    def accounts(settings: FakeMessengerSettings) -> list[str]:
        return list(settings.accounts)

    def build(settings: FakeMessengerSettings, account: str, sink: Sink | None) -> FakeMessengerSender:
        return FakeMessengerSender(platform, account, sink)

    return ChannelPlugin(
        name=platform,
        section=f"fake_{platform}",
        settings_model=FakeMessengerSettings,
        build_adapters=adapters,
        senders_factory=SenderFactory(keys=accounts, build=build),
    )
