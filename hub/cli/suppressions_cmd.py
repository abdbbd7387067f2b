"""`touchhub suppressions list|add|lift|fetch-bounces`.

The command line acts as the local administrator; `--token` makes it act as that API
user instead, through the same rule as the API (`hub.activity.suppression_access`):
admins, heads and marketers list, admins and marketers add, only admins lift.
"""

from __future__ import annotations

from dataclasses import asdict

import click

from hub import i18n
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
    locale_of,
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


def _line(s: Suppression, locale: str, tz: str) -> dict[str, object]:
    """A suppression as a table row in `locale`: channel and reason named, time in `tz`."""
    state = (
        i18n.text(locale, "cli_suppressions.active") if s.active
        else i18n.text(locale, "cli_suppressions.lifted_by", who=s.lifted_by)
    )  # fmt: skip
    return {
        **s.as_dict(),
        "channel": i18n.channel_name(str(s.channel), locale),
        "reason": _reason(s.reason, locale),
        "created_at": i18n.when(locale, s.created_at, tz),
        "state": state,
    }


def _reason(reason: str, locale: str) -> str:
    return i18n.text(locale, f"suppression_reason.{reason}", str(reason))


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
    locale = locale_of(ctx)
    tz = settings_of(ctx).kpi.timezone
    table(
        [_line(s, locale, tz) for s in found],
        _COLUMNS,
        titles=[i18n.text(locale, f"cli_suppressions.{c}") for c in _COLUMNS],
        empty=i18n.text(locale, "cli_suppressions.none"),
    )
    if total > len(found):
        shown, all_ = i18n.number(locale, len(found)), i18n.number(locale, total)
        click.echo(i18n.text(locale, "cli_suppressions.page", shown=shown, total=all_))


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
    locale = locale_of(ctx)
    click.echo(
        i18n.text(
            locale,
            "cli_suppressions.suppressed" if created else "cli_suppressions.already",
            channel=i18n.channel_name(str(made.channel), locale),
            address=made.address,
            id=made.id,
            reason=_reason(made.reason, locale),
        )
    )


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
    locale = locale_of(ctx)
    click.echo(
        i18n.text(
            locale,
            "cli_suppressions.lifted",
            id=lifted.id,
            channel=i18n.channel_name(str(lifted.channel), locale),
            address=lifted.address,
            who=lifted.lifted_by,
            when=i18n.when(locale, lifted.lifted_at, settings_of(ctx).kpi.timezone),
        )
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
    locale = locale_of(ctx)
    click.echo(
        i18n.text(
            locale,
            "cli_suppressions.bounces",
            letters=i18n.counted(locale, "cli.letters", report.letters),
            bounces=i18n.counted(locale, "cli.bounces", report.bounces),
            recorded=i18n.number(locale, report.recorded),
            unmatched=i18n.number(locale, report.unmatched),
        )
    )
