"""Sending SMS through Kannel's sendsms HTTP interface, with delivery reports to our webhook.

One message, one recipient, keyed by OUR message id (decision 0019). The outgoing touch
(status queued) is committed through the sink *before* the request to Kannel: after a
crash between the request and Kannel's answer the message stays "queued" — unknown — and
is never sent a second time by this sender. Kannel's answer becomes a `StatusUpdate`
(sent, or failed with Kannel's code and words); delivery reports arrive later at
`/hooks/sms/{gateway}/dlr` carrying our id in the dlr-url.

Only refusals that say nothing was taken are retried (a 5xx "try again later", or a
connection that was never made); a request that got no answer is not retried.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from ipaddress import IPv4Network, IPv6Network, ip_address
from urllib.parse import urlencode

import aiohttp
from yarl import URL

from hub.channels.sms.kannel_protocol import (
    DlrType,
    ReplyKind,
    SendsmsReply,
    SendsmsRequest,
    parse_sendsms_reply,
    sendsms_query,
)
from hub.channels.sms.limits import GatewayLimits
from hub.channels.sms.outbox import Outbox
from hub.channels.sms.outgoing import check_message, commit_together, outgoing_touch
from hub.channels.sms.quiet_hours import Holder
from hub.errors import (
    ChannelAuthError,
    ChannelConnectError,
    ChannelTimeout,
    ProtocolError,
)
from hub.model import (
    Channel,
    OutgoingMessage,
    RecipientResult,
    SendResult,
    Sink,
    Status,
    StatusUpdate,
    Touch,
    utcnow,
)

logger = logging.getLogger(__name__)

#: Kannel's sendsms path on the smsbox's sendsms-port.
SENDSMS_PATH = "/cgi-bin/sendsms"
#: Query parameter of our webhooks that carries the gateway's shared token.
TOKEN_PARAM = "token"
#: Reports asked for: delivered, failed, taken by the SMSC, refused by the SMSC. "Buffered"
#: (4) is left out: it says nothing the queued touch does not already say.
DLR_MASK = int(DlrType.DELIVERED | DlrType.FAILED | DlrType.SMSC_SUBMIT | DlrType.SMSC_REJECT)
#: Kannel answers that mean "not taken, try again": retried with backoff.
RETRIED = frozenset({ReplyKind.TEMPORARY})


def source_of(gateway: str) -> str:
    """The touch source of a gateway: ``sms:NAME``."""
    return f"sms:{gateway}"


@dataclass(frozen=True, slots=True, kw_only=True)
class GatewayHooks:
    """What the webhooks of one gateway need: its source, token and opt-out rules."""

    gateway: str
    secret: str | None
    opt_out_words: frozenset[str]
    opt_out_reply: str | None
    #: callbacks only from these networks; empty = from anywhere
    allow_from: tuple[IPv4Network | IPv6Network, ...] = ()

    @property
    def source(self) -> str:
        return source_of(self.gateway)

    def allows(self, remote: str | None) -> bool:
        """True when a callback from `remote` may be heard (no allow-list: any)."""
        if not self.allow_from:
            return True
        try:
            address = ip_address(remote or "")
        except ValueError:
            return False
        return any(address in network for network in self.allow_from)

    def is_opt_out(self, text: str) -> bool:
        """True when the whole text (trimmed, any case) is one of the opt-out words."""
        return text.strip().casefold() in self.opt_out_words


@dataclass(frozen=True, slots=True, kw_only=True)
class KannelEndpoint:
    """Where smsbox takes sendsms, and who we are to it."""

    host: str
    port: int
    username: str
    password: str

    @property
    def sendsms_url(self) -> str:
        return f"http://{self.host}:{self.port}{SENDSMS_PATH}"


class KannelSender:
    """A `Sender` over one Kannel gateway: rate-limited, bounded retries, touches first."""

    channel = Channel.SMS

    def __init__(
        self,
        *,
        endpoint: KannelEndpoint,
        hooks: GatewayHooks,
        sender: str,
        dlr_url: str | None,
        sink: Sink | None,
        limits: GatewayLimits,
        smsc: str | None = None,
    ) -> None:
        self.endpoint = endpoint
        self.hooks = hooks
        self.sender = sender
        self.dlr_url = dlr_url
        self.sink = sink
        self.limits = limits
        self.smsc = smsc
        self.outbox = Outbox(hooks.source, sink)
        self._session: aiohttp.ClientSession | None = None

    @property
    def gateway(self) -> str:
        return self.hooks.gateway

    @property
    def source(self) -> str:
        return self.hooks.source

    @property
    def holder(self) -> Holder | None:
        return self.limits.holder

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=self.limits.timeout_s)
            )
        return self._session

    async def close(self) -> None:
        if self.holder is not None:
            await self.holder.close()
        if self._session is not None:
            await self._session.close()
            self._session = None

    def outgoing_touch(self, message: OutgoingMessage, message_id: str) -> Touch:
        """The touch of `message` as recorded before it is submitted: queued."""
        return outgoing_touch(message, message_id, source=self.source, gateway=self.gateway, sender=self.sender)

    async def send(self, message: OutgoingMessage) -> SendResult:
        """Record the touch (queued), submit to Kannel, record its answer; see the module doc."""
        message_id = check_message(message)
        touch = self.outgoing_touch(message, message_id)
        if self.holder is not None:
            held = await self.holder.hold(message, touch, self.sink, self.send, self.outbox)
            if held is not None:
                return held
        if self.sink is not None:
            await self.sink.put(touch)
            await self.outbox.sending(message, message_id)
            await commit_together(self.sink)  # committed before Kannel sees it: never lost, never twice
        async with self.outbox.submitting(message, message_id):
            if self.limits.bucket is not None:
                await self.limits.bucket.acquire()
            request = SendsmsRequest(
                username=self.endpoint.username,
                password=self.endpoint.password,
                sender=self.sender,
                to=message.to[0].value,
                text=message.body,
                message_id=message_id,
                dlr_url=self.dlr_url,
                dlr_mask=DLR_MASK,
                smsc=self.smsc,
            )
            try:
                reply, attempts = await self._submit(request)
            except ChannelConnectError as exc:
                await self._record(message_id, Status.FAILED, f"not submitted: {exc}")
                raise
            return await self._answer(message, touch, reply, attempts)

    async def _submit(self, request: SendsmsRequest) -> tuple[SendsmsReply, int]:
        """Call sendsms, retrying only what Kannel did not take; (last answer, attempts)."""
        url = URL(f"{self.endpoint.sendsms_url}?{sendsms_query(request)}", encoded=True)
        backoff = self.limits.retry.start()
        last_error: BaseException | None = None
        reply: SendsmsReply | None = None
        max_attempts = self.limits.max_attempts
        for attempt in range(1, max_attempts + 1):
            if attempt > 1:
                await asyncio.sleep(backoff.next_delay())
            try:
                async with self._http().get(url) as response:
                    body = await response.read()
                    status = response.status
            except aiohttp.ClientConnectorError as exc:  # never reached Kannel: safe to retry
                last_error = exc
                logger.info("%s: Kannel not reachable (attempt %d): %s", self.source, attempt, exc)
                continue
            except (TimeoutError, aiohttp.ClientError) as exc:
                # Kannel may have taken it: leave the message queued ("unknown"), do not resend.
                raise ChannelTimeout(
                    f"Kannel gave no answer to sendsms; the message is left unknown: {exc}",
                    channel=self.source,
                    external_id=request.message_id,
                ) from exc
            try:
                reply = parse_sendsms_reply(status, body)
            except ProtocolError as exc:
                exc.external_id = request.message_id
                raise
            if reply.kind not in RETRIED:
                return reply, attempt
            logger.info(
                "%s: Kannel refused for now (attempt %d): %s", self.source, attempt, reply.text
            )
        if reply is not None:
            return reply, max_attempts
        raise ChannelConnectError(
            f"Kannel at {self.endpoint.host}:{self.endpoint.port} not reachable "
            f"after {max_attempts} attempts: {last_error}",
            channel=self.source,
            external_id=request.message_id,
        ) from last_error

    async def _record(self, message_id: str, status: Status, detail: str) -> None:
        if self.sink is not None:
            await self.sink.put(
                StatusUpdate(
                    source=self.source,
                    external_id=message_id,
                    status=status,
                    at=utcnow(),
                    detail=detail,
                )
            )

    async def _answer(
        self, message: OutgoingMessage, touch: Touch, reply: SendsmsReply, attempts: int
    ) -> SendResult:
        """Kannel's answer → the status update and the result, with Kannel's code kept."""
        message_id = touch.external_id
        code_text = f"{reply.http_status} {reply.text}"
        outcome = reply.outcome
        if reply.kind is ReplyKind.ACCEPTED:
            await self._record(message_id, Status.SENT, code_text)
        elif reply.kind is ReplyKind.QUEUED:
            await self._record(message_id, Status.QUEUED, code_text)
        elif reply.kind is ReplyKind.TEMPORARY:
            await self._record(message_id, Status.FAILED, f"gave up after {attempts} attempts: {code_text}")
        else:
            await self._record(message_id, Status.FAILED, f"rejected: {code_text}")
        if reply.kind is ReplyKind.AUTH_FAILED:
            raise ChannelAuthError(
                f"Kannel refused user {self.endpoint.username!r}: {reply.text}",
                channel=self.source,
                external_id=message_id,
            )
        return SendResult(
            outcome=outcome,
            external_id=message_id,
            code=reply.http_status,
            reason=reply.text,
            recipients=tuple(
                RecipientResult(address=a, outcome=outcome, code=reply.http_status, reason=reply.text)
                for a in message.to
            ),
            attempts=attempts,
            touch=touch,
        )


def dlr_url_of(public_url: str | None, gateway: str, secret: str | None) -> str | None:
    """Our DLR webhook for `gateway` with its token, or None (no reports asked) without a URL."""
    if public_url is None:
        return None
    base = f"{public_url}/hooks/sms/{gateway}/dlr"
    return f"{base}?{urlencode({TOKEN_PARAM: secret})}" if secret else base


def mo_url_of(public_url: str, gateway: str, secret: str | None) -> str:
    """Our MO webhook for `gateway` with its token (Kannel's escapes are added by `mo_get_url`)."""
    base = f"{public_url}/hooks/sms/{gateway}/mo"
    return f"{base}?{urlencode({TOKEN_PARAM: secret})}" if secret else base
