"""Sending running campaigns inside `touchhub serve`: one worker task per running campaign.

`tick()` (an APScheduler job) starts a `CampaignWorker` for every running campaign that
has none here and reaps workers that ended (finished, paused, cancelled). `stop()` cancels
them; each lets the messages it has offered finish and records them before it ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable

from hub.activity import ActivityStore
from hub.activity.repos.campaigns import CampaignRow, CampaignState
from hub.campaigns.engine import CampaignWorker
from hub.campaigns.marks import MailMarks
from hub.campaigns.settings import CampaignSettings
from hub.errors import TouchhubError
from hub.model import Sender

logger = logging.getLogger(__name__)

#: Builds the sender a campaign names (``email:sales``), recording nothing itself.
SenderFor = Callable[[str], Sender]
#: The Message-ID domain of a sender, when it has one (e-mail).
DomainOf = Callable[[Sender], str | None]
#: A campaign whose worker failed (refused credentials, a broken store) waits this long
#: before this process tries it again: no retry storm on a wrong password.
REST_AFTER_FAILURE_S = 300.0


class CampaignRunner:
    """Keeps one worker per running campaign in this process."""

    def __init__(
        self,
        store: ActivityStore,
        settings: CampaignSettings,
        sender_for: SenderFor,
        domain_of: DomainOf,
        marks: MailMarks | None = None,
    ) -> None:
        self.marks = marks
        self.store = store
        self.settings = settings
        self.sender_for = sender_for
        self.domain_of = domain_of
        self._tasks: dict[int, asyncio.Task[None]] = {}
        self._resting: dict[int, float] = {}  # campaign id → monotonic time to try again
        self._stopped = False

    @property
    def running(self) -> frozenset[int]:
        """Campaigns this process is sending now."""
        return frozenset(cid for cid, task in self._tasks.items() if not task.done())

    async def tick(self) -> None:
        """Start workers for running campaigns that have none here."""
        for cid in [cid for cid, task in self._tasks.items() if task.done()]:
            del self._tasks[cid]
        now = time.monotonic()
        for campaign in await self.store.campaigns.list_all(state=CampaignState.RUNNING.value):
            if self._stopped:  # stopped while the list was read: start nothing more
                return
            if self._resting.get(campaign.id, 0.0) > now or campaign.channel == "call":
                continue  # resting; or a call round, which the employees work through
            if campaign.id not in self._tasks:
                self._tasks[campaign.id] = asyncio.create_task(
                    self._send(campaign), name=f"campaign:{campaign.id}:worker"
                )

    async def _send(self, campaign: CampaignRow) -> None:
        try:
            sender = self.sender_for(campaign.sender)
        except TouchhubError as exc:
            logger.error("campaign %s: no sender %s: %s", campaign.id, campaign.sender, exc)
            self._rest(campaign.id)
            return
        try:
            worker = CampaignWorker(
                self.store,
                sender,
                self.settings,
                message_id_domain=self.domain_of(sender),
                marks=self.marks,
            )
            report = await worker.run(campaign.id)
            logger.info(
                "campaign %s: worker stopped (%s) after recording %d",
                campaign.id,
                report.stopped_by,
                report.recorded,
            )
        except asyncio.CancelledError:
            raise
        except Exception:
            logger.exception("campaign %s: the worker failed; it starts again later", campaign.id)
            self._rest(campaign.id)
        finally:
            with contextlib.suppress(Exception):
                await sender.close()

    def _rest(self, campaign_id: int) -> None:
        self._resting[campaign_id] = time.monotonic() + REST_AFTER_FAILURE_S

    async def stop(self) -> None:
        """Cancel every worker and wait for each to record what it had offered."""
        self._stopped = True
        tasks = list(self._tasks.values())
        self._tasks.clear()
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
