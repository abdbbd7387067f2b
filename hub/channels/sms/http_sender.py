"""Sending SMS through an HTTP provider described by a profile, and reading its callbacks.

The order of a send is the Kannel sender's (decision 0028): the outgoing touch (queued) is
committed first, a token is taken from the bucket, then the profile's request goes out.
Only what the provider did not take is retried with backoff (a connection never made, a
status or code the profile calls temporary); a request without an answer leaves the
message unknown (queued) and raises `ChannelTimeout`. The provider's id is remembered to
match later reports (`ReceiptMatcher`, ids as given, and the outbox's gateway-id index for
messages sent before a restart); a report that names our id (a per-message callback URL)
needs no memory at all.

Callbacks (`/hooks/sms/NAME/dlr|mo`) are verified as the profile says — our token, an HMAC
of URL and parameters, or a digest of named fields — and become status updates and
inbound touches (opt-out words marked and confirmed, as for Kannel).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlencode, urlsplit

import aiohttp

from hub.channels.sms.http_profile import (
    AnswerKind,
    CallbackRefused,
    Profile,
    SendAnswer,
    callback_events,
    matches,
    read_answer,
    render,
    verify_signature,
)
from hub.channels.sms.kannel_sender import TOKEN_PARAM, GatewayHooks
from hub.channels.sms.limits import GatewayLimits
from hub.channels.sms.outbox import Outbox, resolve_receipt
from hub.channels.sms.outgoing import check_message, commit_together, outgoing_touch
from hub.channels.sms.quiet_hours import Holder
from hub.channels.sms.smpp_incoming import SmppReceipt
from hub.channels.sms.smpp_receipts import ReceiptMatcher
from hub.errors import (
    ChannelAuthError,
    ChannelConnectError,
    ChannelTimeout,
    ProtocolError,
)
from hub.model import (
    Address,
    AddressKind,
    Channel,
    Direction,
    OutgoingMessage,
    Quarantined,
    RecipientResult,
    SendOutcome,
    SendResult,
    Sink,
    SinkItem,
    Status,
    StatusUpdate,
    Touch,
    utcnow,
)

logger = logging.getLogger(__name__)

#: Header that may carry our token instead of the query.
TOKEN_HEADER = "X-Touchhub-Token"
#: Metadata key the campaign engine reads to suppress a number.
OPT_OUT_KEY = "opt_out"


@dataclass(frozen=True, slots=True, kw_only=True)
class HttpAccount:
    """Where the provider is and who we are to it."""

    base_url: str  # scheme://host[:port], no user
    username: str
    password: str
    sender: str
    public_url: str | None  # where the provider reaches our webhooks


@dataclass(frozen=True, slots=True, kw_only=True)
class CallbackRequest:
    """A callback as the webhook received it."""

    path_kind: str  # "dlr" or "mo"
    url: str  # as the provider called it (our public URL + path and query)
    query: Mapping[str, str]
    form: Mapping[str, str]
    headers: Mapping[str, str]
    body: bytes


@dataclass(slots=True)
class CallbackOutcome:
    """What one callback came to: items for the sink, opt-outs to confirm."""

    items: list[SinkItem] = field(default_factory=list)
    confirm: list[Touch] = field(default_factory=list)
    ignored: int = 0


def digits(number: str) -> str:
    return "".join(c for c in number if c.isdigit())


class HttpSender:
    """A `Sender` over one HTTP provider (``sms:NAME`` in `SENDERS`)."""

    channel = Channel.SMS

    def __init__(
        self,
        *,
        profile: Profile,
        account: HttpAccount,
        hooks: GatewayHooks,
        sink: Sink | None,
        limits: GatewayLimits,
    ) -> None:
        self.profile = profile
        self.account = account
        self.hooks = hooks
        self.sink = sink
        self.limits = limits
        self.matcher = ReceiptMatcher(spellings=False)
        self.outbox = Outbox(hooks.source, sink)
        self._session: aiohttp.ClientSession | None = None

    @property
    def holder(self) -> Holder | None:
        return self.limits.holder

    @property
    def gateway(self) -> str:
        return self.hooks.gateway

    @property
    def source(self) -> str:
        return self.hooks.source

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.limits.timeout_s))
        return self._session

    async def close(self) -> None:
        if self.holder is not None:
            await self.holder.close()
        if self._session is not None:
            await self._session.close()
            self._session = None

    # ------------------------------------------------------------ sending

    def hook_url(self, kind: str, message_id: str | None = None) -> str:
        """Our callback URL of `kind` (dlr/mo), with our id and token where they belong."""
        base = f"{self.account.public_url or ''}/hooks/sms/{self.gateway}/{kind}"
        query: dict[str, str] = {}
        if message_id is not None:
            query["id"] = message_id
        if self.profile.callbacks.verify.kind == "token" and self.hooks.secret:
            query[TOKEN_PARAM] = self.hooks.secret
        return f"{base}?{urlencode(query)}" if query else base

    def values(self, message: OutgoingMessage, message_id: str) -> dict[str, str]:
        to = message.to[0].value
        return {
            "username": self.account.username,
            "password": self.account.password,
            "sender": self.account.sender,
            "to": to,
            "to_digits": digits(to),
            "to_plus": "+" + digits(to),
            "text": message.body,
            "message_id": message_id,
            "dlr_url": self.hook_url("dlr", message_id) if self.account.public_url else "",
            "mo_url": self.hook_url("mo") if self.account.public_url else "",
        }

    async def send(self, message: OutgoingMessage) -> SendResult:
        """Record (queued), submit as the profile says, record the answer."""
        message_id = check_message(message)
        touch = outgoing_touch(
            message, message_id, source=self.source, gateway=self.gateway, sender=self.account.sender,
            extra={"provider": self.profile.name},
        )
        if self.holder is not None:
            held = await self.holder.hold(message, touch, self.sink, self.send, self.outbox)
            if held is not None:
                return held
        if self.sink is not None:
            await self.sink.put(touch)
            await self.outbox.sending(message, message_id)
            await commit_together(self.sink)  # committed before the provider sees it
        async with self.outbox.submitting(message, message_id):
            if self.limits.bucket is not None:
                await self.limits.bucket.acquire()
            values = self.values(message, message_id)
            self.matcher.expect(message_id, 1)
            try:
                answer, attempts = await self._submit(values)
            except ChannelConnectError as exc:
                await self._record(message_id, Status.FAILED, f"not submitted: {exc}")
                raise
            return await self._answer(message, touch, answer, attempts)

    def _request(self, values: Mapping[str, str]) -> tuple[str, str, dict[str, object]]:
        spec = self.profile.send
        path = render(spec.path, values)
        url = path if urlsplit(path).scheme else self.account.base_url + path
        params = {k: render(v, values) for k, v in spec.params.items()}
        params = {k: v for k, v in params.items() if v != ""}
        kwargs: dict[str, object] = {}
        headers: dict[str, str] = {}
        query: dict[str, str] = {}
        auth = spec.auth
        if auth.kind == "basic":
            pair = f"{render(auth.username, values)}:{render(auth.password, values)}"
            headers["Authorization"] = "Basic " + base64.b64encode(pair.encode("utf-8")).decode("ascii")
        elif auth.kind == "bearer":
            headers["Authorization"] = f"Bearer {render(auth.value, values)}"
        elif auth.kind == "header":
            assert auth.name is not None
            headers[auth.name] = render(auth.value, values)
        elif auth.kind == "query":
            assert auth.name is not None
            query[auth.name] = render(auth.value, values)
        if spec.body == "query":
            query.update(params)
        elif spec.body == "form":
            kwargs["data"] = params
        else:
            kwargs["json"] = params
        if query:
            kwargs["params"] = query
        if headers:
            kwargs["headers"] = headers
        return spec.method, url, kwargs

    async def _submit(self, values: Mapping[str, str]) -> tuple[SendAnswer, int]:
        method, url, kwargs = self._request(values)
        backoff = self.limits.retry.start()
        last_error: BaseException | None = None
        answer: SendAnswer | None = None
        max_attempts = self.limits.max_attempts
        for attempt in range(1, max_attempts + 1):
            if attempt > 1:
                await asyncio.sleep(backoff.next_delay())
            try:
                async with self._http().request(method, url, **kwargs) as response:  # type: ignore[arg-type]
                    body = await response.read()
                    status = response.status
            except aiohttp.ClientConnectorError as exc:  # never reached: safe to retry
                last_error = exc
                continue
            except (TimeoutError, aiohttp.ClientError) as exc:
                raise ChannelTimeout(
                    f"{self.profile.name} gave no answer; the message is left unknown: {exc}",
                    channel=self.source,
                    external_id=values["message_id"],
                ) from exc
            try:
                answer = read_answer(self.profile.send, status, body, values)
            except ProtocolError as exc:
                exc.external_id = values["message_id"]
                raise
            if answer.kind is not AnswerKind.TEMPORARY:
                return answer, attempt
            logger.info("%s: provider refused for now (attempt %d): %s", self.source, attempt, answer.detail)
        if answer is not None:
            return answer, max_attempts
        raise ChannelConnectError(
            f"{self.profile.name} not reachable after {max_attempts} attempts: {last_error}",
            channel=self.source,
            external_id=values["message_id"],
        ) from last_error

    async def _record(self, message_id: str, status: Status, detail: str) -> None:
        if self.sink is not None:
            await self.sink.put(
                StatusUpdate(source=self.source, external_id=message_id, status=status, at=utcnow(), detail=detail)
            )

    async def _answer(
        self, message: OutgoingMessage, touch: Touch, answer: SendAnswer, attempts: int
    ) -> SendResult:
        message_id = touch.external_id
        if answer.kind is AnswerKind.ACCEPTED:
            assert answer.provider_id is not None
            outcome = SendOutcome.SENT
            reason = f"accepted: {answer.provider_id}"
            await self._record(message_id, Status.SENT, reason)
            await self.outbox.took(answer.provider_id, message_id, 1)
            for resolved in self.matcher.sent(message_id, answer.provider_id):
                await self._record(resolved.message_id, resolved.status, resolved.detail)
        elif answer.kind is AnswerKind.TEMPORARY:
            outcome = SendOutcome.TEMPORARY_FAILURE
            reason = f"gave up after {attempts} attempts: {answer.detail}"
            await self._record(message_id, Status.FAILED, reason)
        else:
            outcome = SendOutcome.PERMANENT_FAILURE
            reason = f"rejected: {answer.detail}"
            await self._record(message_id, Status.FAILED, reason)
        if answer.kind is AnswerKind.AUTH_FAILED:
            raise ChannelAuthError(
                f"{self.profile.name} refused our credentials: {answer.detail}",
                channel=self.source,
                external_id=message_id,
            )
        code = answer.http_status
        return SendResult(
            outcome=outcome,
            external_id=message_id,
            code=code,
            reason=reason,
            recipients=tuple(RecipientResult(address=a, outcome=outcome, code=code, reason=reason) for a in message.to),
            attempts=attempts,
            touch=touch,
        )

    # ------------------------------------------------------------ callbacks

    def verify(self, request: CallbackRequest, events: list[dict[str, str]]) -> None:
        """Raise `CallbackRefused` unless the callback proves it is the provider's."""
        verify = self.profile.callbacks.verify
        if verify.kind == "token":
            given = request.query.get(TOKEN_PARAM) or request.headers.get(TOKEN_HEADER)
            if not given:
                raise CallbackRefused("token required", unsigned=True)
            if self.hooks.secret is None or not hmac.compare_digest(
                given.encode("utf-8"), self.hooks.secret.encode("utf-8")
            ):
                raise CallbackRefused("token refused", unsigned=False)
            return
        secret = self.account.password if verify.secret == "password" else self.hooks.secret
        callbacks = self.profile.callbacks
        signed: list[tuple[dict[str, str], str | None]] = []
        for event in events:
            kind = self._kind_of(event, request.path_kind)
            mapping = callbacks.dlr if kind == "dlr" else callbacks.mo if kind == "mo" else None
            signed.append((event, mapping.signed if mapping is not None else None))
        verify_signature(
            verify, secret=secret or None, url=request.url, form=request.form, headers=request.headers, events=signed
        )

    def _kind_of(self, event: Mapping[str, str], path_kind: str) -> str | None:
        callbacks = self.profile.callbacks
        order = ("mo", "dlr") if path_kind == "mo" else ("dlr", "mo")
        for kind in order:
            mapping = callbacks.dlr if kind == "dlr" else callbacks.mo
            if mapping is not None and matches(mapping.when, event):
                return kind
        return None

    async def callback(self, request: CallbackRequest) -> CallbackOutcome:
        """Verify and read one callback; raises `CallbackRefused` or `ProtocolError` (400)."""
        params = {**request.query, **request.form}
        params.pop(TOKEN_PARAM, None)
        events = callback_events(self.profile.callbacks, params, request.body)
        self.verify(request, events)
        outcome = CallbackOutcome()
        now = time.monotonic()
        for event in events:
            kind = self._kind_of(event, request.path_kind)
            if kind == "dlr":
                outcome.items.extend(await self._report(event, now))
            elif kind == "mo":
                touch = self._incoming(event)
                outcome.items.append(touch)
                if touch.metadata.get(OPT_OUT_KEY):
                    outcome.confirm.append(touch)
            else:
                outcome.ignored += 1
        if outcome.ignored == len(events):
            raise ProtocolError("callback carries no report or message this profile knows", channel=self.source)
        for stale in self.matcher.expire(now):
            outcome.items.append(
                Quarantined(
                    source=self.source,
                    reason=f"delivery report for a provider id never answered to us: {stale.status}",
                    raw=repr(stale).encode("utf-8"),
                    external_id=stale.message_id,
                )
            )
        return outcome

    async def _report(self, event: Mapping[str, str], now: float) -> list[SinkItem]:
        mapping = self.profile.callbacks.dlr
        assert mapping is not None
        value = event.get(mapping.status, "")
        status = mapping.statuses.get(value, mapping.default)
        if status is None:
            return []
        error = event.get(mapping.error, "") if mapping.error else ""
        detail = f"{self.profile.name} status {value}" + (f" error {error}" if error else "")
        ours = event.get(mapping.our_id) if mapping.our_id else None
        if ours:
            return [StatusUpdate(source=self.source, external_id=ours, status=status, at=utcnow(), detail=detail)]
        provider_id = event.get(mapping.id)
        if not provider_id:
            raise ProtocolError(f"delivery report without {mapping.id}", channel=self.source)
        receipt = SmppReceipt(message_id=provider_id, status=status, source_addr="", destination_addr="")
        return [
            StatusUpdate(source=self.source, external_id=r.message_id, status=r.status, at=utcnow(), detail=detail)
            for r in await resolve_receipt(self.matcher, self.outbox, receipt, now)
        ]

    def _incoming(self, event: Mapping[str, str]) -> Touch:
        mapping = self.profile.callbacks.mo
        assert mapping is not None
        sender = event.get(mapping.sender, "").strip()
        if not sender:
            raise ProtocolError(f"incoming SMS without {mapping.sender}", channel=self.source)
        text = event.get(mapping.text, "")
        external_id = event.get(mapping.id) if mapping.id else None
        if not external_id:
            key = json.dumps(sorted(event.items()), ensure_ascii=False)
            external_id = "http-" + hashlib.sha256(key.encode("utf-8")).hexdigest()[:24]
        metadata: dict[str, object] = {"gateway": self.gateway, "provider": self.profile.name}
        if mapping.to and event.get(mapping.to):
            metadata["to"] = event[mapping.to]
        if self.hooks.is_opt_out(text):
            metadata[OPT_OUT_KEY] = True
        return Touch(
            source=self.source,
            external_id=external_id,
            channel=Channel.SMS,
            direction=Direction.IN,
            status=Status.RECEIVED,
            occurred_at=utcnow(),
            counterparts=(Address(kind=AddressKind.PHONE, value=sender),),
            preview=text,
            metadata=metadata,
        )
