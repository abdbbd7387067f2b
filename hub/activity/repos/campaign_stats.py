"""What became of a campaign's messages after they left: the statements behind its stats.

Each recipient counts once per line. `delivered`: the message's touch (the outgoing
activity the engine wrote, found by the recipient's contact and message id) reached
delivered or read; `replied`: an inbound touch on the same channel from the same contact
after the message's touch; `bounced`: a hard bounce recorded for the recipient (at send
time or later by a DSN or a delivery report), `soft_bounced` only temporary ones;
`unsubscribed`: addresses suppressed by a click in this campaign's letters or an opt-out
naming it. Four statements whatever the size of the campaign.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import and_, case, exists, func, select, union

from hub.activity.repos.campaign_bounces import BounceKind
from hub.activity.repos.campaigns import CampaignRow, CampaignsRepo, RecipientState
from hub.activity.schema import activities, campaign_bounces, campaign_recipients, suppressions
from hub.model import Direction, Status

R = campaign_recipients.c
#: Suppression reasons that mean the person asked for no more messages.
UNSUBSCRIBE_REASONS = ("unsubscribed", "opted_out")


@dataclass(frozen=True, slots=True, kw_only=True)
class Aftermath:
    """Recipients per outcome after sending (each counted once per field)."""

    delivered: int
    replied: int
    bounced: int
    soft_bounced: int
    unsubscribed: int


async def aftermath(repo: CampaignsRepo, campaign: CampaignRow) -> Aftermath:
    """Delivered, replied, bounced and unsubscribed recipients of `campaign`."""
    out = activities.alias("message")
    reply = activities.alias("reply")
    answered = exists().where(
        reply.c.contact_id == out.c.contact_id,
        reply.c.channel == out.c.channel,
        reply.c.direction == Direction.IN.value,
        reply.c.occurred_at > out.c.occurred_at,
    )
    reached = out.c.status.in_([Status.DELIVERED.value, Status.READ.value])
    touches = (
        select(
            func.count(func.distinct(case((reached, R.id)))),
            func.count(func.distinct(case((answered, R.id)))),
        )
        .select_from(
            campaign_recipients.join(
                out,
                and_(
                    out.c.contact_id == R.contact_id,
                    out.c.external_id == R.message_id,
                    out.c.channel == campaign.channel,
                    out.c.direction == Direction.OUT.value,
                ),
            )
        )
        .where(
            R.campaign_id == campaign.id,
            R.state.in_([RecipientState.SENT.value, RecipientState.BOUNCED.value]),
        )
    )
    b = campaign_bounces.c
    hard = union(
        select(b.recipient_id.label("rid")).where(
            b.campaign_id == campaign.id, b.kind == BounceKind.HARD.value
        ),
        select(R.id.label("rid")).where(
            R.campaign_id == campaign.id, R.state == RecipientState.BOUNCED.value
        ),
    ).subquery()
    soft = select(func.count(func.distinct(b.recipient_id))).where(
        b.campaign_id == campaign.id,
        b.kind == BounceKind.SOFT.value,
        b.recipient_id.not_in(select(hard.c.rid)),
    )
    s = suppressions.c
    unsubscribed = select(func.count(func.distinct(s.address))).where(
        s.campaign_id == campaign.id, s.reason.in_(UNSUBSCRIBE_REASONS)
    )
    async with repo.read() as conn:
        delivered, replied = (await conn.execute(touches)).one()
        bounced = int((await conn.execute(select(func.count()).select_from(hard))).scalar_one())
        soft_only = int((await conn.execute(soft)).scalar_one())
        gone = int((await conn.execute(unsubscribed)).scalar_one())
    return Aftermath(
        delivered=int(delivered),
        replied=int(replied),
        bounced=bounced,
        soft_bounced=soft_only,
        unsubscribed=gone,
    )
