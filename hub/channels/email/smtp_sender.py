"""SMTP sending over aiosmtplib: a small pool of reused connections, bounded retries of 4xx.

Every letter carries our own Message-ID, so the copy seen later in the Sent folder is
the same activity. The result is per recipient: 2xx sent, 4xx temporary (retried with
backoff), 5xx permanent; a recipient refused with 5xx is reported "bounced" like a DSN
would. The outgoing touch comes back in `SendResult.touch` for the caller to record.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import ssl
from collections import deque
from collections.abc import Awaitable, Callable, Sequence

import aiosmtplib

from hub.backoff import BackoffPolicy
from hub.channels.email.letter_builder import build_letter, letter_of, new_message_id
from hub.channels.email.letter_parser import ParsedLetter, normalize_message_id
from hub.channels.email.meaning import SOURCE, Mailbox, interpret, verp_address
from hub.channels.email.server_url import Security, ServerUrl
from hub.errors import ChannelAuthError, ChannelConnectError, ChannelTimeout, ValidationError
from hub.model import (
    LETTER_REFUSED,
    Address,
    AddressKind,
    Channel,
    OutgoingMessage,
    RecipientResult,
    SendOutcome,
    SendResult,
    Sink,
    Status,
    StatusUpdate,
    Touch,
    utcnow,
)

logger = logging.getLogger(__name__)

#: Errors that mean the link failed, not the letter: the letter is retried.
LINK_ERRORS: tuple[type[BaseException], ...] = (
    aiosmtplib.SMTPServerDisconnected,
    aiosmtplib.SMTPConnectError,
    aiosmtplib.SMTPTimeoutError,
    ChannelConnectError,
    ChannelTimeout,
    ConnectionError,
    OSError,
    TimeoutError,
)

#: The longest wait between two tries of a letter that got a 4xx (greylisting clears in minutes).
RETRY_MAX_S = 120.0

SentCopy = Callable[[bytes], Awaitable[None]]


def outcome_of(code: int | None) -> SendOutcome:
    """2xx sent, 5xx permanent, anything else (4xx, no answer) temporary."""
    if code is not None and 200 <= code < 300:
        return SendOutcome.SENT
    if code is not None and 500 <= code < 600:
        return SendOutcome.PERMANENT_FAILURE
    return SendOutcome.TEMPORARY_FAILURE


def bounces_at_send(result: SendResult) -> list[StatusUpdate]:
    """The "bounced" updates for recipients the server refused with 5xx at RCPT time."""
    if result.external_id is None:
        return []
    updates: list[StatusUpdate] = []
    for rcpt in result.recipients:
        if (
            rcpt.outcome is SendOutcome.PERMANENT_FAILURE
            and rcpt.code is not None
            and not (rcpt.reason or "").startswith(LETTER_REFUSED)
        ):
            updates.append(
                StatusUpdate(
                    source=SOURCE,
                    external_id=result.external_id,
                    status=Status.BOUNCED,
                    at=utcnow(),
                    detail=f"{rcpt.code} {rcpt.reason or ''}".strip(),
                    address=rcpt.address,
                )
            )
    return updates


class _Job:
    """One queued transaction and the future its caller waits on."""

    __slots__ = ("done", "envelope_from", "raw", "recipients")

    def __init__(
        self,
        envelope_from: str,
        recipients: list[str],
        raw: bytes,
        done: asyncio.Future[dict[str, aiosmtplib.SMTPResponse]],
    ) -> None:
        self.envelope_from = envelope_from
        self.recipients = recipients
        self.raw = raw
        self.done = done

    def resolve(self, refused: dict[str, aiosmtplib.SMTPResponse]) -> None:
        if not self.done.done():
            self.done.set_result(refused)

    def fail(self, exc: BaseException) -> None:
        if not self.done.done():
            self.done.set_exception(exc)


class SmtpSender:
    """A `Sender` for one account's SMTP server."""

    channel = Channel.EMAIL

    def __init__(
        self,
        *,
        account: str,
        url: ServerUrl,
        password: str | None,
        mailbox: Mailbox,
        from_address: str,
        pool_size: int,
        timeout: float,
        max_attempts: int,
        retry_base_s: float,
        message_id_domain: str | None = None,
        bounce_address: str | None = None,
        ssl_context: ssl.SSLContext | None = None,
        sink: Sink | None = None,
        sent_copy: SentCopy | None = None,
    ) -> None:
        self.account = account
        self.url = url
        self._password = password
        self.mailbox = mailbox
        self.from_address = from_address
        self.timeout = timeout
        self.max_attempts = max_attempts
        self.retry_base_s = retry_base_s
        self.retry = BackoffPolicy(initial_s=retry_base_s, max_s=RETRY_MAX_S)
        self.message_id_domain = message_id_domain or from_address.rpartition("@")[2]
        self.bounce_address = bounce_address
        self.ssl_context = ssl_context
        self.sink = sink
        self.sent_copy = sent_copy
        self.pool_size = pool_size
        self._jobs: deque[_Job] = deque()
        self._workers: set[asyncio.Task[None]] = set()
        self._running = 0  # workers whose loop has not ended: at most pool_size connections
        self._idle: list[aiosmtplib.SMTP] = []  # open connections no worker holds

    def __repr__(self) -> str:
        return f"SmtpSender({self.account}, {self.url})"

    # ------------------------------------------------------------ connections

    async def _connect(self) -> aiosmtplib.SMTP:
        client = aiosmtplib.SMTP(
            hostname=self.url.host,
            port=self.url.port,
            timeout=self.timeout,
            use_tls=self.url.security is Security.TLS,
            start_tls=self.url.security is Security.STARTTLS,
            tls_context=self.ssl_context if self.url.security is not Security.PLAIN else None,
            username=self.url.user or None,
            password=self._password if self.url.user else None,
        )
        try:
            await client.connect()
        except aiosmtplib.SMTPAuthenticationError as exc:
            raise ChannelAuthError(
                f"SMTP login as {self.url.user} refused: {exc.code} [{self.url}]", channel="email"
            ) from exc
        except (aiosmtplib.SMTPException, OSError, ssl.SSLError, TimeoutError) as exc:
            with contextlib.suppress(Exception):
                client.close()
            raise ChannelConnectError(
                f"SMTP connect failed: {exc} [{self.url}]", channel="email"
            ) from exc
        return client

    async def _transaction(
        self, envelope_from: str, recipients: Sequence[str], raw: bytes
    ) -> dict[str, aiosmtplib.SMTPResponse]:
        """One MAIL/RCPT/DATA on a pooled connection: queue it and wait for a worker to run it."""
        job = _Job(envelope_from, list(recipients), raw, asyncio.get_running_loop().create_future())
        self._jobs.append(job)
        if self._running < self.pool_size:
            self._running += 1  # counted until its loop ends, not until its task is reaped
            worker = asyncio.create_task(self._work(), name=f"smtp:{self.account}:pool")
            self._workers.add(worker)
            worker.add_done_callback(self._workers.discard)
        return await job.done

    async def _work(self) -> None:
        """Run queued transactions on one connection until the queue is empty.

        The next letter's MAIL FROM goes out in the same step that hands the previous
        result to its caller, as a loop over `sendmail` on one connection would do: a
        connection never waits for a caller's task to be scheduled, nor for the
        caller's own work on the result (the touch, the sink), before its next letter.
        """
        client = self._idle.pop() if self._idle else None
        try:
            while self._jobs:
                job = self._jobs.popleft()
                if job.done.done():  # its caller gave up while it was queued
                    continue
                client = await self._run(job, client)
        finally:
            self._running -= 1
            if client is not None:
                if client.is_connected:
                    self._idle.append(client)
                else:
                    client.close()

    async def _run(self, job: _Job, client: aiosmtplib.SMTP | None) -> aiosmtplib.SMTP | None:
        """One transaction; the connection to go on with (None when it broke).

        A pooled connection the server has dropped meanwhile is replaced once at once.
        """
        reused = client is not None
        try:
            while True:
                if client is None or not client.is_connected:
                    client = await self._connect()
                    reused = False
                try:
                    refused, _ = await client.sendmail(job.envelope_from, job.recipients, job.raw)
                except LINK_ERRORS:
                    with contextlib.suppress(Exception):
                        client.close()
                    client = None
                    if reused:  # the server closed an idle connection: try a fresh one at once
                        continue
                    raise
                job.resolve(refused)
                return client
        except (aiosmtplib.SMTPResponseException, aiosmtplib.SMTPRecipientsRefused) as exc:
            job.fail(exc)  # aiosmtplib has sent RSET: the connection goes on
            return client
        except BaseException as exc:  # a broken link, a refused login, a bad address...
            if client is not None:
                with contextlib.suppress(Exception):
                    client.close()
            if isinstance(exc, asyncio.CancelledError):
                job.done.cancel()
                raise
            job.fail(exc)
            if not isinstance(exc, Exception):
                raise
            return None

    async def close(self) -> None:
        """Let letters already queued go out, then QUIT every pooled connection."""
        while self._workers:
            await asyncio.gather(*self._workers, return_exceptions=True)
        idle, self._idle = self._idle, []
        for client in idle:
            try:
                await asyncio.wait_for(client.quit(), self.timeout)
            except (aiosmtplib.SMTPException, OSError, TimeoutError):
                client.close()

    # ------------------------------------------------------------ sending

    async def send(self, message: OutgoingMessage) -> SendResult:
        """Send one letter; per-recipient outcome, the touch, bounced updates to the sink."""
        if message.channel is not Channel.EMAIL:
            raise ValidationError(
                f"{message.channel} message given to the e-mail sender", field="channel"
            )
        if not message.to:
            raise ValidationError("a letter needs at least one recipient", field="to")
        message_id = normalize_message_id(message.message_id) or new_message_id(
            self.message_id_domain
        )
        sender = message.sender or Address(kind=AddressKind.EMAIL, value=self.from_address)
        date = utcnow()
        raw = build_letter(message, sender=sender, message_id=message_id, date=date)
        letter = letter_of(message, sender=sender, message_id=message_id, date=date, size=len(raw))
        envelope_from = message.return_path or (
            verp_address(self.bounce_address, message_id) if self.bounce_address else sender.value
        )
        by_address = {a.value: a for a in message.to}
        results: dict[str, RecipientResult] = {}
        pending = list(by_address)
        attempts = 0
        backoff = None  # made at the first retry: seeding its generator costs more than a letter
        while pending and attempts < self.max_attempts:
            if attempts:
                backoff = backoff or self.retry.start()
                await asyncio.sleep(backoff.next_delay())
            attempts += 1
            for rcpt, code, reason in await self._attempt(envelope_from, pending, raw):
                results[rcpt] = RecipientResult(
                    address=by_address[rcpt], outcome=outcome_of(code), code=code, reason=reason
                )
            pending = [r for r in pending if results[r].outcome is SendOutcome.TEMPORARY_FAILURE]
        ordered = tuple(results[a] for a in by_address)
        result = self._result(message_id, letter, ordered, attempts)
        if self.sink is not None:
            if result.touch is not None:
                await self.sink.put(result.touch)
            for update in bounces_at_send(result):
                await self.sink.put(update)
        if result.ok and self.sent_copy is not None:
            try:
                await self.sent_copy(raw)
            except Exception as exc:  # the letter went out; a missing Sent copy is only logged
                logger.warning(
                    "%s: APPEND to Sent failed for %s: %s", self.account, message_id, exc
                )
        return result

    async def _attempt(
        self, envelope_from: str, recipients: list[str], raw: bytes
    ) -> list[tuple[str, int | None, str | None]]:
        """One try: (recipient, SMTP code or None, reason) for every recipient given."""
        try:
            refused = await self._transaction(envelope_from, recipients, raw)
        except aiosmtplib.SMTPRecipientsRefused as exc:
            by_rcpt = {e.recipient: (e.code, e.message) for e in exc.recipients}
            return [(r, *by_rcpt.get(r, (None, "refused"))) for r in recipients]
        except aiosmtplib.SMTPResponseException as exc:  # MAIL FROM or DATA refused: the letter
            return [(r, exc.code, f"{LETTER_REFUSED}{exc.message}") for r in recipients]
        except LINK_ERRORS as exc:
            logger.info("%s: SMTP link failed: %s", self.account, exc)
            return [(r, None, f"connection: {exc}") for r in recipients]
        out: list[tuple[str, int | None, str | None]] = []
        for rcpt in recipients:
            if rcpt in refused:
                out.append((rcpt, refused[rcpt].code, refused[rcpt].message))
            else:
                out.append((rcpt, 250, None))
        return out

    def _result(
        self,
        message_id: str,
        letter: ParsedLetter,
        recipients: tuple[RecipientResult, ...],
        attempts: int,
    ) -> SendResult:
        outcomes = {r.outcome for r in recipients}
        if SendOutcome.SENT in outcomes:
            outcome, status = SendOutcome.SENT, Status.SENT
        elif SendOutcome.TEMPORARY_FAILURE in outcomes:
            outcome, status = SendOutcome.TEMPORARY_FAILURE, None
        else:
            outcome = SendOutcome.PERMANENT_FAILURE
            letter_refused = all((r.reason or "").startswith(LETTER_REFUSED) for r in recipients)
            status = Status.FAILED if letter_refused else Status.BOUNCED
        failed = [r for r in recipients if r.outcome is not SendOutcome.SENT]
        first = failed[0] if failed and outcome is not SendOutcome.SENT else None
        touch = self._touch(letter, recipients, status) if status is not None else None
        return SendResult(
            outcome=outcome,
            external_id=message_id,
            code=first.code if first else 250,
            reason=first.reason if first else None,
            recipients=recipients,
            attempts=attempts,
            touch=touch,
        )

    def _touch(
        self, letter: ParsedLetter, recipients: tuple[RecipientResult, ...], status: Status
    ) -> Touch:
        """The same touch the Sent-folder copy will give, marked with the send result."""
        extra = {
            "smtp": [
                {
                    "to": r.address.value,
                    "outcome": r.outcome.value,
                    "code": r.code,
                    "reason": r.reason,
                }
                for r in recipients
            ]
        }
        touch = next(
            t for t in interpret(letter, self.mailbox, extra=extra) if isinstance(t, Touch)
        )
        # interpret() already says "sent" for our own letters: copy only when it differs
        return touch if touch.status is status else dataclasses.replace(touch, status=status)
