"""The sending loop: claim due recipients, render, send, record each outcome with its touch.

Exactly once, as far as a sender can tell: a recipient is marked `sending` and committed
(`CampaignsRepo.claim`) before its message is offered to the server, and its outcome is
written in the same transaction as the outgoing touch. A worker that dies leaves rows
`sending`; once its heartbeat is older than the lease, any worker turns them `unknown`
(`CampaignsRepo.recover`): reported, never sent again unless the marketer asks
(`resend-unknown`). At most `window` messages are between "asked" and "recorded" at
any time, so a crash hides at most that many outcomes.

Temporary failures (4xx, a lost connection, throttling) defer the recipient with
exponential backoff; after `max_attempts` it fails. The campaign is finished only when
no recipient is pending, deferred or sending.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import logging
import os
import random
import socket
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from hub.activity import ActivityStore
from hub.activity.repos.campaigns import (
    CampaignRow,
    CampaignState,
    Claimed,
    Outcome,
    RecipientState,
)
from hub.activity.repos.templates import TemplateVersion
from hub.activity.writer import collector_paused
from hub.campaigns.marks import MailMarks
from hub.campaigns.message import Recipient, message_for
from hub.campaigns.settings import CampaignSettings
from hub.errors import ChannelAuthError, ChannelError, RateLimited, TemplateError, ValidationError
from hub.model import (
    LETTER_REFUSED,
    Channel,
    Sender,
    SendOutcome,
    SendResult,
    SinkItem,
    Status,
    StatusUpdate,
    utcnow,
)
from hub.templates import (
    CampaignVariables,
    CompanyVariables,
    CompiledTemplate,
    ContactVariables,
    EmailTemplate,
    EmployeeVariables,
    SmsTemplate,
    Template,
    TemplateVariables,
    compile_template,
)

logger = logging.getLogger(__name__)

#: Outcomes are written at least this often while messages complete (seconds).
FLUSH_S = 0.2
#: How often a busy worker re-reads the campaign's state (pause, cancel).
STATE_CHECK_S = 0.5
#: ± fraction of jitter on a deferred recipient's next try.
RETRY_JITTER = 0.2

Progress = Callable[[int], None]


def template_of(version: TemplateVersion) -> Template:
    """The template value of a stored version."""
    if version.channel == Channel.SMS.value:
        return SmsTemplate(text=version.text or "")
    return EmailTemplate(subject=version.subject or "", html=version.html or "", text=version.text)


class Named(Protocol):
    """What a template reads of its campaign: the name (a stored campaign, or a preview's)."""

    @property
    def name(self) -> str: ...


def variables_of(
    claimed: Claimed, campaign: Named, company: str, unsubscribe_url: str | None = None
) -> TemplateVariables:
    """What a template sees for one recipient (None values are "missing", never blanks)."""
    owner = claimed.employee
    return TemplateVariables(
        contact=ContactVariables(
            name=claimed.name,
            organisation=claimed.organisation,
            position=claimed.position,
            city=claimed.city,
            region=claimed.region,
            importance=claimed.importance,
            segment=claimed.segment,
            custom={str(k): str(v) for k, v in claimed.custom.items() if v is not None},
        ),
        company=CompanyVariables(name=company),
        campaign=CampaignVariables(name=campaign.name, unsubscribe_url=unsubscribe_url),
        employee=None
        if owner is None
        else EmployeeVariables(
            name=owner.name, position=owner.position, email=owner.email, phone=owner.phone
        ),
    )


def message_id_of(campaign_id: int, claimed: Claimed, domain: str | None) -> str:
    """Our id of one attempt: the campaign, the recipient and the attempt, so a bounce, a
    delivery report or the Sent folder can name the row it is about."""
    local = f"c{campaign_id}.r{claimed.id}.a{claimed.attempts}"
    return f"{local}@{domain}" if domain else local


@dataclass(frozen=True, slots=True)
class Done:
    """One finished recipient: its outcome and what goes to the store with it."""

    outcome: Outcome
    items: tuple[SinkItem, ...] = ()


@dataclass(slots=True)
class RunReport:
    """What one run of a worker did."""

    recorded: int = 0
    recovered: int = 0
    by_state: dict[str, int] = field(default_factory=dict)
    stopped_by: str = ""  # finished | paused | cancelled | draft | error: …

    def count(self, state: RecipientState) -> None:
        self.by_state[state.value] = self.by_state.get(state.value, 0) + 1


class CampaignWorker:
    """Sends one campaign through one sender until it is finished, paused or cancelled."""

    def __init__(
        self,
        store: ActivityStore,
        sender: Sender,
        settings: CampaignSettings,
        *,
        message_id_domain: str | None = None,
        progress: Progress | None = None,
        marks: MailMarks | None = None,
    ) -> None:
        self.marks = marks
        self.store = store
        self.repo = store.campaigns
        self.sender = sender
        self.settings = settings
        self.message_id_domain = message_id_domain
        self.progress = progress
        self.worker_id = 0
        self._next_slot = 0.0
        self._pace_lock = asyncio.Lock()
        self._fatal: BaseException | None = None
        #: Set when the campaign stops running: claimed messages still waiting for their
        #: throttle slot go back to pending instead of out (a pause must not keep sending).
        self._halt = asyncio.Event()

    # -- the loop ----------------------------------------------------------------------

    async def run(self, campaign_id: int) -> RunReport:
        """Send until nothing is left to send, or the campaign stops being `running`."""
        campaign = await self.repo.get(campaign_id)
        version = await self.store.templates.version(
            campaign.template_id, campaign.template_version
        )
        compiled = compile_template(template_of(version))
        self.worker_id = await self.repo.register_worker(socket.gethostname(), os.getpid())
        heart = asyncio.create_task(self._beat(), name=f"campaign:{campaign_id}:heartbeat")
        report = RunReport()
        try:
            await self._loop(campaign, compiled, report)
        finally:
            heart.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await heart
            with contextlib.suppress(Exception):
                await self.repo.forget_worker(self.worker_id)
        if self._fatal is not None:
            raise self._fatal
        return report

    async def _beat(self) -> None:
        while True:
            await asyncio.sleep(self.settings.heartbeat_s)
            try:
                await self.repo.heartbeat(self.worker_id)
            except Exception as exc:  # the store is away: the loop will meet it too
                logger.warning("campaign worker %s: heartbeat failed: %s", self.worker_id, exc)

    async def _recover(self, campaign_id: int, report: RunReport) -> None:
        cutoff = utcnow() - timedelta(seconds=self.settings.lease_s)
        found = await self.repo.recover(cutoff, campaign_id=campaign_id)
        if found:
            logger.warning(
                "campaign %s: %d recipients left sending by a lost worker are unknown",
                campaign_id,
                found,
            )
            report.recovered += found

    async def _loop(
        self, campaign: CampaignRow, compiled: CompiledTemplate, report: RunReport
    ) -> None:
        settings = self.settings
        in_flight: set[asyncio.Task[Done]] = set()
        buffer: list[Done] = []
        first_buffered = 0.0
        last_state = 0.0
        stopping = ""
        wake = asyncio.Event()
        released: list[int] = []
        self._halt.clear()
        # Outcomes go to the store in transactions of up to half the window (at least a
        # claim): the store's cost per transaction is large beside its cost per row, and
        # half the window stays free for sending while a transaction is written.
        flush_at = max(min(settings.batch_size, settings.window), settings.window // 2)

        def finished(task: asyncio.Task[Done], claimed: Claimed) -> None:
            # O(1) per message: a done callback, not asyncio.wait over the whole window
            nonlocal first_buffered
            in_flight.discard(task)
            if task.cancelled():
                return
            error = task.exception()
            done = task.result() if error is None else _lost(claimed, error)
            if done.outcome.state is RecipientState.PENDING:  # never offered: see _halt
                released.append(claimed.id)
                wake.set()
                return
            if not buffer:
                first_buffered = time.monotonic()
            buffer.append(done)
            # The loop has something to do only when a transaction is due (the time is
            # its own wake-up) or sending must stop; room to claim comes from a flush.
            if len(buffer) >= flush_at or not in_flight or self._fatal is not None:
                wake.set()

        await self._recover(campaign.id, report)
        try:
            while True:
                now = time.monotonic()
                if not stopping and now - last_state >= STATE_CHECK_S:
                    last_state = now
                    state = (await self.repo.get(campaign.id)).state
                    if state != CampaignState.RUNNING.value:
                        stopping = state
                if self._fatal is not None and not stopping:
                    stopping = f"error: {self._fatal}"
                if stopping:
                    self._halt.set()
                if released:
                    await self._release(campaign.id, released, stopping)
                room = settings.window - len(in_flight) - len(buffer)
                claimed: list[Claimed] = []
                if not stopping and room >= min(settings.batch_size, settings.window):
                    claimed = await self.repo.claim(
                        campaign.id, self.worker_id, min(settings.batch_size, room)
                    )
                    for item in claimed:
                        task = asyncio.create_task(
                            self._one(campaign, compiled, item),
                            name=f"campaign:{campaign.id}:r{item.id}",
                        )
                        in_flight.add(task)
                        task.add_done_callback(functools.partial(finished, claimed=item))
                if buffer and (
                    len(buffer) >= flush_at
                    or not in_flight
                    or time.monotonic() - first_buffered >= FLUSH_S
                ):
                    flushing, buffer = buffer, []
                    await self._flush(flushing, report)
                    continue
                if in_flight:
                    wake.clear()
                    wait = FLUSH_S
                    if buffer:
                        wait = max(0.0, first_buffered + FLUSH_S - time.monotonic())
                    with contextlib.suppress(TimeoutError):
                        async with asyncio.timeout(wait):
                            await wake.wait()
                    continue
                if claimed:
                    continue
                if stopping:
                    report.stopped_by = stopping
                    return
                await self._recover(campaign.id, report)
                if await self.repo.finish_if_done(campaign.id):
                    report.stopped_by = CampaignState.FINISHED.value
                    logger.info("campaign %s finished", campaign.id)
                    return
                await self._idle(campaign.id)
                last_state = 0.0
        finally:
            if in_flight:  # cancelled: let offered messages finish, so their outcome is known
                self._halt.set()
                await asyncio.gather(*in_flight, return_exceptions=True)
            if buffer:
                with contextlib.suppress(Exception):
                    await self._flush(buffer, report)
            if released:
                with contextlib.suppress(Exception):
                    await self._release(campaign.id, released, stopping)

    async def _release(self, campaign_id: int, ids: list[int], stopping: str) -> None:
        """Claimed but never offered: pending again (skipped as cancelled if cancelled)."""
        taken = list(ids)
        ids.clear()
        await self.repo.release(self.worker_id, taken)
        if stopping == CampaignState.CANCELLED.value:
            await self.repo.cancel_open(campaign_id)

    async def _idle(self, campaign_id: int) -> None:
        """Sleep until the next deferred or scheduled recipient is due (at most `poll_s`)."""
        due = await self.repo.next_due(campaign_id)
        wait = self.settings.poll_s
        if due is not None:
            wait = min(wait, max(0.05, (due - utcnow()).total_seconds()))
        await asyncio.sleep(wait)

    async def _flush(self, buffer: list[Done], report: RunReport) -> None:
        """Outcomes and their touches, one transaction.

        Without cyclic garbage collection while it is written, as the batch writer does
        (`collector_paused`): the transaction's rows, and the letters still in flight
        meanwhile, would be walked by every collection and pushed into the older
        generations that full collections walk again (about 60 µs a letter collecting).
        """
        items = [item for done in buffer for item in done.items]
        with collector_paused():
            async with self.store.writing() as work:
                await self.repo.record(work.conn, self.worker_id, [d.outcome for d in buffer])
                if items:
                    await self.store.write(work, items)
        report.recorded += len(buffer)
        for done in buffer:
            report.count(done.outcome.state)
        if self.progress is not None:
            self.progress(
                sum(1 for d in buffer if d.outcome.state is not RecipientState.DEFERRED)
            )

    # -- one recipient -------------------------------------------------------------------

    async def _pace(self, rate: float | None) -> bool:
        """Hold messages to `rate` per second (the campaign's throttle), in arrival order;
        False when the campaign stopped meanwhile, so the message must not go out."""
        if self._halt.is_set():
            return False
        if not rate:
            return True
        async with self._pace_lock:
            now = time.monotonic()
            if self._next_slot > now:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._halt.wait(), self._next_slot - now)
                if self._halt.is_set():
                    return False
            self._next_slot = max(now, self._next_slot) + 1.0 / rate
        return True

    def _retry_at(self, attempts: int, at_least: float = 0.0) -> datetime:
        base = self.settings.retry_initial_s * 2 ** max(0, attempts - 1)
        delay = min(self.settings.retry_max_s, base)
        delay *= 1 + random.uniform(-RETRY_JITTER, RETRY_JITTER)
        return utcnow() + timedelta(seconds=max(at_least, delay))

    def _temporary(self, claimed: Claimed, message_id: str, detail: str, **kw: Any) -> Done:
        if claimed.attempts >= self.settings.max_attempts:
            return Done(
                Outcome(
                    id=claimed.id,
                    state=RecipientState.FAILED,
                    message_id=message_id,
                    reason="gave_up",
                    detail=f"gave up after {claimed.attempts} attempts: {detail}",
                    code=kw.get("code"),
                )
            )
        return Done(
            Outcome(
                id=claimed.id,
                state=RecipientState.DEFERRED,
                message_id=message_id,
                detail=detail,
                code=kw.get("code"),
                due_at=self._retry_at(claimed.attempts, kw.get("retry_after", 0.0)),
            )
        )

    async def _one(self, campaign: CampaignRow, compiled: CompiledTemplate, claimed: Claimed) -> Done:
        message_id = message_id_of(campaign.id, claimed, self.message_id_domain)
        recipient = Recipient(
            campaign_id=campaign.id,
            recipient_id=claimed.id,
            contact_id=claimed.contact_id,
            channel=Channel(campaign.channel),
            address=claimed.address,
            message_id=message_id,
        )
        link = None if self.marks is None else self.marks.unsubscribe_url(recipient)
        try:
            rendered = compiled.render(
                variables_of(claimed, campaign, self.settings.company_name, link)
            )
        except TemplateError as exc:  # this recipient's data, not the campaign's fault
            return Done(
                Outcome(
                    id=claimed.id, state=RecipientState.FAILED, reason="template", detail=str(exc)
                )
            )
        message = (
            message_for(recipient, rendered)
            if self.marks is None
            else message_for(
                recipient,
                rendered,
                headers=self.marks.headers(link),
                return_path=self.marks.return_path(recipient),
            )
        )
        if not await self._pace(campaign.throttle_per_s):
            return Done(Outcome(id=claimed.id, state=RecipientState.PENDING))
        try:
            result = await self.sender.send(message)
        except ChannelAuthError as exc:  # nothing was taken; stop rather than storm
            self._fatal = exc
            return self._temporary(claimed, message_id, str(exc))
        except RateLimited as exc:
            return self._temporary(claimed, message_id, str(exc), retry_after=exc.retry_after)
        except ChannelError as exc:
            return self._temporary(claimed, message_id, str(exc))
        except ValidationError as exc:  # e.g. an address the channel cannot take
            return Done(
                Outcome(
                    id=claimed.id,
                    state=RecipientState.FAILED,
                    message_id=message_id,
                    reason="invalid",
                    detail=str(exc),
                )
            )
        return self._outcome(campaign, claimed, message_id, result)

    def _outcome(
        self, campaign: CampaignRow, claimed: Claimed, message_id: str, result: SendResult
    ) -> Done:
        first = result.recipients[0] if result.recipients else None
        code = first.code if first is not None else result.code
        reason = (first.reason if first is not None else result.reason) or ""
        detail = f"{code or ''} {reason}".strip() or None
        external_id = result.external_id or message_id
        marks = {"campaign_id": campaign.id, "campaign_recipient_id": claimed.id}
        if result.outcome is SendOutcome.TEMPORARY_FAILURE:
            return self._temporary(claimed, external_id, detail or "temporary failure", code=code)
        items: list[SinkItem] = []
        sent = result.outcome is SendOutcome.SENT
        if result.touch is not None:
            touch = result.touch
            status = Status.SENT if sent else touch.status
            if not sent and status in (Status.QUEUED, Status.SENT):
                status = Status.FAILED
            items.append(
                dataclasses.replace(touch, status=status, metadata={**touch.metadata, **marks})
            )
            refused_address = (
                first is not None
                and not sent
                and campaign.channel == Channel.EMAIL.value
                and not reason.startswith(LETTER_REFUSED)
            )
            if refused_address and first is not None:
                items.append(
                    StatusUpdate(
                        source=touch.source,
                        external_id=touch.external_id,
                        status=Status.BOUNCED,
                        at=utcnow(),
                        detail=detail,
                        address=first.address,
                    )
                )
        state = RecipientState.SENT if sent else RecipientState.FAILED
        return Done(
            Outcome(
                id=claimed.id,
                state=state,
                message_id=external_id,
                code=code,
                detail=None if sent else detail,
                reason=None if sent else "refused",
            ),
            tuple(items),
        )


def _lost(claimed: Claimed, error: BaseException) -> Done:
    """A send that failed in a way we did not foresee: the server may have the message."""
    logger.error("campaign recipient %s: %s", claimed.id, error, exc_info=error)
    return Done(
        Outcome(
            id=claimed.id,
            state=RecipientState.UNKNOWN,
            detail=f"{type(error).__name__}: {error}",
        )
    )


def summary_line(counts: Mapping[str, int]) -> str:
    """Counts as one line, in the order recipients move."""
    order = [s.value for s in RecipientState]
    return ", ".join(f"{name} {counts.get(name, 0)}" for name in order)
