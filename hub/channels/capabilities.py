"""Optional features an adapter may offer, as Protocols the runtime checks by capability.

The runtime never asks "is this an AMI adapter?"; it asks "can this adapter place a call?"
(`ClickToCall`) or "does it know what an extension is doing?" (`LiveCallState`), and
hands the web app one function over every adapter that can.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Protocol, runtime_checkable

from hub.errors import ChannelConnectError


class PlacedCall(Protocol):
    """What a PBX answered to a click-to-call: who was rung, what is dialled."""

    @property
    def extension(self) -> str: ...

    @property
    def number(self) -> str: ...

    @property
    def channel(self) -> str | None: ...

    @property
    def uniqueid(self) -> str | None: ...


#: Click-to-call over every adapter that can: rings `extension`, then dials `number`,
#: showing the client the caller's name (the third argument, when known) or the company ID.
Originate = Callable[[str, str, str | None], Awaitable[PlacedCall]]
#: Extension → its live state ("ringing", "talking"), None when no adapter knows it.
LiveCalls = Callable[[str], str | None]


@runtime_checkable
class ClickToCall(Protocol):
    """An adapter that can ring an employee's phone, then dial a client."""

    name: str

    async def originate(
        self, extension: str, number: str, caller_name: str | None = None
    ) -> PlacedCall: ...


@runtime_checkable
class LiveCallState(Protocol):
    """An adapter that knows what each extension is doing now."""

    def live_state(self) -> Mapping[str, str]: ...


@runtime_checkable
class SingleConsumer(Protocol):
    """An adapter that must run in one process at a time per store (one AMI connection per
    PBX, one IMAP mailbox): the runtime runs it only while it holds a lease named after it."""

    name: str
    single_consumer: bool


def is_single_consumer(adapter: object) -> bool:
    """Whether `adapter` declares itself single-consumer."""
    return isinstance(adapter, SingleConsumer) and adapter.single_consumer


def originate_over(callers: Sequence[ClickToCall]) -> Originate:
    """Click-to-call through the first adapter that can place calls."""

    async def originate(extension: str, number: str, caller_name: str | None) -> PlacedCall:
        if not callers:
            raise ChannelConnectError("no adapter that can place calls is configured")
        return await callers[0].originate(extension, number, caller_name)

    return originate


def live_calls_over(sources: Sequence[LiveCallState]) -> LiveCalls:
    """An extension's live state from the first adapter that knows it."""

    def lookup(extension: str) -> str | None:
        for source in sources:
            state = source.live_state().get(extension)
            if state is not None:
                return state
        return None

    return lookup
