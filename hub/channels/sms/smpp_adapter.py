"""The supervised side of an SMPP gateway: `sms:NAME` in health, running its session's bind."""

from __future__ import annotations

from hub.channels.sms.smpp_session import SmppSession
from hub.model import AdapterHealth, Sink


class SmppAdapter:
    """A `CaptureAdapter` holding one transceiver bind; receipts and incoming SMS come on it.

    `run` binds and serves until cancelled, binding again with backoff when the link drops;
    a refused bind raises `ChannelAuthError` (health `failed`, the supervisor stops it).
    """

    #: One bind per gateway: operators often allow a system id one session, and receipts
    #: must reach the process that knows the message ids. It runs under a lease.
    single_consumer = True

    def __init__(self, session: SmppSession) -> None:
        self.session = session
        self.name = session.source
        self.health: AdapterHealth = session.health
        session.supervised = True  # senders wait for this adapter's bind instead of making one

    async def run(self, sink: Sink) -> None:
        await self.session.run(sink)

    async def sync_once(self, sink: Sink) -> None:
        """One bind and one enquire_link: raises when the gateway is down or refuses us."""
        await self.session.sync_once()
