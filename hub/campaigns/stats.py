"""A campaign's numbers as the marketer reads them: how many were sent, delivered,
bounced, failed, unsubscribed and replied, and how many are still pending, deferred or
unknown — the same figures for `touchhub campaign status`, the API and the Campaigns page.

Recipient states come from the snapshot's rows; what happened after sending from the
store (`hub.activity.repos.campaign_stats`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from hub.activity import ActivityStore
from hub.activity.repos.campaign_stats import Aftermath, aftermath
from hub.activity.repos.campaigns import RecipientState

#: The figures in the order a report lists them.
ORDER = (
    "total",
    "sent",
    "delivered",
    "bounced",
    "failed",
    "unsubscribed",
    "replied",
    "pending",
    "deferred",
    "sending",
    "unknown",
    "skipped",
)


@dataclass(frozen=True, slots=True, kw_only=True)
class CampaignStats:
    """Recipients per state and per outcome after sending."""

    counts: Mapping[str, int]
    after: Aftermath

    def as_dict(self) -> dict[str, int]:
        c = self.counts
        return {
            "total": sum(c.values()),
            # a recipient whose letter bounced later was sent all the same
            "sent": c.get(RecipientState.SENT.value, 0) + c.get(RecipientState.BOUNCED.value, 0),
            "delivered": self.after.delivered,
            "bounced": self.after.bounced,
            "soft_bounced": self.after.soft_bounced,
            "failed": c.get(RecipientState.FAILED.value, 0),
            "unsubscribed": self.after.unsubscribed,
            "replied": self.after.replied,
            "pending": c.get(RecipientState.PENDING.value, 0),
            "deferred": c.get(RecipientState.DEFERRED.value, 0),
            "sending": c.get(RecipientState.SENDING.value, 0),
            "unknown": c.get(RecipientState.UNKNOWN.value, 0),
            "skipped": c.get(RecipientState.SKIPPED.value, 0),
        }


async def campaign_stats(store: ActivityStore, campaign_id: int) -> CampaignStats:
    """The figures of one campaign (`NotFound` if there is none)."""
    campaign = await store.campaigns.get(campaign_id)
    counts = await store.campaigns.counts(campaign_id)
    return CampaignStats(counts=counts, after=await aftermath(store.campaigns, campaign))


def stats_line(stats: CampaignStats, name: Callable[[str], str] = str) -> str:
    """The figures as one line, each called by `name` (the CLI names them in its language)."""
    data = stats.as_dict()
    return ", ".join(f"{name(figure)} {data[figure]}" for figure in ORDER)
