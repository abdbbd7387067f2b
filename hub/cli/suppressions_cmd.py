"""`touchhub suppressions list|add|lift|fetch-bounces`.

The command line acts as the local administrator; `--token` makes it act as that API
user instead, through the same rule as the API (`hub.activity.suppression_access`):
admins, heads and marketers list, admins and marketers add, only admins lift.
"""

from __future__ import annotations

from dataclasses import asdict

import click

from hub.activity import ActivityStore, Principal
from hub.activity.repos import Reason, Suppression
from hub.activity.repos.base import MAX_PAGE
from hub.activity.suppression_access import SuppressionAction, check
from hub.campaigns.bounces import SyncReport
from hub.cli.common import (
    ID,
    AsciiInt,
    acting_principal,
    emit_json,
    json_option,
    open_store,
    run,
    settings_of,
    table,
    token_option,
)
from hub.model import Channel
from hub.runtime import bounce_mailbox

_STATE = {"active": True, "lifted": False, "all": None}
_COLUMNS = ["id", "channel", "address", "reason", "campaign_id", "contact_id", "created_at", "state"]
#: Reasons a person may give by hand (bounces come from the bounce mailbox).
MANUAL_REASONS = ("manual", "unsubscribed", "complained", "opted_out")


@click.group()
@token_option
def suppressions() -> None:
    """Addresses campaigns do not send to (unsubscribed, bounced, opted out)."""


async def caller(ctx: click.Context, store: ActivityStore, action: SuppressionAction) -> Principal:
    """Whoever runs the command (admin, or the `--token` user), if allowed `action`."""
    return check(await acting_principal(ctx, store), action)


def _line(s: Suppression) -> dict[str, object]:
    return {**s.as_dict(), "state": "active" if s.active else f"lifted by {s.lifted_by}"}


@suppressions.command(name="list")
@click.option("--channel", type=click.Choice(["email", "sms"]), default=None)
@click.option("--address", default=None, help="An address in any spelling.")
@click.option("--state", type=click.Choice(sorted(_STATE)), default="active", show_default=True)
@click.option("--campaign", type=ID, default=None, help="Only those this campaign caused.")
@click.option("--limit", default=50, show_default=True, type=AsciiInt(1, MAX_PAGE))
@click.option("--offset", default=0, show_default=True, type=AsciiInt(0))
@json_option
@click.pass_context
def list_(
    ctx: click.Context,
    channel: str | None,
    address: str | None,
    state: str,
    campaign: int | None,
    limit: int,
    offset: int,
    as_json: bool,
) -> None:
    """List suppressions, newest first."""

    async def main() -> tuple[list[Suppression], int]:
        async with open_store(ctx) as store:
            await caller(ctx, store, SuppressionAction.READ)
            return await store.suppressions.search(
                channel=Channel(channel) if channel else None,
                address=address,
                active=_STATE[state],
                campaign_id=campaign,
                limit=limit,
                offset=offset,
            )

    found, total = run(main())
    if as_json:
        emit_json({"items": [s.as_dict() for s in found], "total": total})
        return
    table([_line(s) for s in found], _COLUMNS)
    if total > len(found):
        click.echo(f"({len(found)} of {total}; see --offset)")


@suppressions.command()
@click.argument("address")
@click.option("--channel", type=click.Choice(["email", "sms"]), required=True)
@click.option("--reason", type=click.Choice(MANUAL_REASONS), default="manual", show_default=True)
@click.option("--detail", default=None, help="Why, for whoever reads it later.")
@json_option
@click.pass_context
def add(
    ctx: click.Context, address: str, channel: str, reason: str, detail: str | None, as_json: bool
) -> None:
    """Stop campaigns to ADDRESS on a channel."""

    async def main() -> tuple[Suppression, bool]:
        async with open_store(ctx) as store:
            who = await caller(ctx, store, SuppressionAction.ADD)
            done = await store.suppressions.suppress(
                channel=Channel(channel),
                address=address,
                reason=Reason(reason),
                detail=detail,
                by=who.name,
            )
            return done.suppression, done.created

    made, created = run(main())
    if as_json:
        emit_json({**made.as_dict(), "created": created})
        return
    verb = "suppressed" if created else "already suppressed"
    click.echo(f"{verb}: {made.channel} {made.address} (#{made.id}, {made.reason})")


@suppressions.command()
@click.argument("suppression_id", type=ID)
@json_option
@click.pass_context
def lift(ctx: click.Context, suppression_id: int, as_json: bool) -> None:
    """Lift suppression SUPPRESSION_ID (admins only): campaigns may send there again."""

    async def main() -> Suppression:
        async with open_store(ctx) as store:
            who = await caller(ctx, store, SuppressionAction.LIFT)
            return await store.suppressions.lift(suppression_id, by=who.name)

    lifted = run(main())
    if as_json:
        emit_json(lifted.as_dict())
        return
    click.echo(
        f"lifted #{lifted.id}: {lifted.channel} {lifted.address} "
        f"(by {lifted.lifted_by} at {lifted.lifted_at:%Y-%m-%d %H:%M} UTC)"
    )


@suppressions.command(name="fetch-bounces")
@json_option
@click.pass_context
def fetch_bounces(ctx: click.Context, as_json: bool) -> None:
    """Read new DSNs from [campaigns] bounce_mailbox now; hard bounces suppress."""
    settings = settings_of(ctx)

    async def main() -> SyncReport:
        async with open_store(ctx) as store:
            await caller(ctx, store, SuppressionAction.ADD)
            reader = bounce_mailbox(settings, store)
            return await reader.sync_once()

    report = run(main())
    if as_json:
        emit_json(asdict(report))
        return
    click.echo(
        f"{report.letters} letters read, {report.bounces} bounces, {report.recorded} recorded, "
        f"{report.unmatched} not ours"
    )
