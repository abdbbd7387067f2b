"""`touchhub campaign create-round|close-call`, and what `campaign start|status|…` print for
a call round [обзвон] (decision 0052).

The rules are `hub.campaigns.call_rounds.CallRoundManager`'s, the ones the API calls; the
human output's words are the catalogue's (`rounds`, `round_col`, `round_campaign_state`).
"""

from __future__ import annotations

from typing import Any

import click

from hub import i18n
from hub.activity import ActivityStore
from hub.campaigns.call_rounds import (
    CallRoundManager,
    CallRoundSpec,
    RoundStatus,
    Spread,
    Started,
)
from hub.campaigns.manager import CampaignManager
from hub.cli.common import (
    ID,
    AsciiInt,
    emit_json,
    json_option,
    locale_of,
    open_store,
    parse_when,
    run,
    settings_of,
    table,
)
from hub.cli.options import segment_filter, segment_options, template_options
from hub.config import Settings
from hub.errors import ValidationError
from kpi.periods import WorkCalendar

#: Who the command line acts as in `created_by`.
CLI_USER = "cli"
COLUMNS = ["employee", "done", "open", "attempts", "not_reached", "total"]


def round_manager(settings: Settings, store: ActivityStore) -> CallRoundManager:
    """The manager with the company's calendar (`[kpi] weekends`, `holidays`) and name."""
    calendar = WorkCalendar.from_settings(settings.kpi.weekends, settings.kpi.holidays)
    return CallRoundManager(
        store,
        tz=store.tz,
        is_working=calendar.is_working,
        company=settings.campaigns.company_name,
    )


def print_round(status: RoundStatus, locale: str, started: Started | None = None) -> None:
    """A round, its rules and its progress per employee, in `locale`'s words."""
    c, r = status.campaign, status.rules
    state = i18n.text(locale, f"round_campaign_state.{c.state}", c.state)
    click.echo(i18n.text(locale, "rounds.header", id=c.id, name=c.name, state=state))
    click.echo(
        i18n.text(
            locale,
            "rounds.rules",
            spread=i18n.text(locale, f"round_spread.{r.spread}", r.spread),
            day_start=f"{r.day_start // 60:02d}:{r.day_start % 60:02d}",
            day_end=f"{r.day_end // 60:02d}:{r.day_end % 60:02d}",
            retry=r.retry_minutes,
            attempts=r.max_attempts,
        )
    )
    if started is not None:
        click.echo(
            i18n.text(locale, "rounds.started", items=started.items, no_phone=started.no_phone)
        )
    rows: list[dict[str, Any]] = [
        {
            "employee": p.employee_name or f"#{p.employee_id}",
            "done": p.done,
            "open": p.open,
            "attempts": p.attempts,
            "not_reached": p.not_reached,
            "total": p.total,
        }
        for p in status.progress
    ]
    if rows:
        rows.append({**status.totals, "employee": i18n.text(locale, "rounds.total_row")})
    table(
        rows,
        COLUMNS,
        titles=[i18n.text(locale, f"round_col.{k}") for k in COLUMNS],
        empty=i18n.text(locale, "rounds.none"),
    )


async def round_action(
    settings: Settings, store: ActivityStore, action: str, campaign_id: int
) -> tuple[RoundStatus, Started | None]:
    """`campaign start|pause|resume|cancel|status` of a call round."""
    manager = round_manager(settings, store)
    started = None
    if action == "start":
        started = await manager.start(campaign_id)
    elif action in ("pause", "resume", "cancel"):
        campaigns = CampaignManager(store, senders=(), tz=store.tz)
        await getattr(campaigns, action)(campaign_id)
    elif action != "status":
        raise ValidationError(f"a call round has no {action}", field="campaign_id")
    return await manager.status(campaign_id), started


@click.command("create-round")
@click.option("--name", required=True)
@template_options("The script's template.")
@segment_options
@click.option(
    "--employee", "employees", type=ID, multiple=True, required=True, help="Employee id (repeat)."
)
@click.option(
    "--spread",
    type=click.Choice([s.value for s in Spread]),
    default=Spread.OWNER.value,
    show_default=True,
    help="owner: each contact to its owner when chosen; even: in turn.",
)
@click.option("--start-at", default=None, help="The first call's time (ISO; without an offset: the company's clock).")
@click.option("--day-start", default="09:00", show_default=True, help="Working hours start.")
@click.option("--day-end", default="18:00", show_default=True, help="Working hours end.")
@click.option("--call-minutes", type=AsciiInt(minimum=1), default=10, show_default=True)
@click.option("--retry-minutes", type=AsciiInt(minimum=1), default=120, show_default=True)
@click.option("--max-attempts", type=AsciiInt(minimum=1), default=3, show_default=True)
@json_option
@click.pass_context
def create_round(
    ctx: click.Context,
    name: str,
    template_id: int,
    template_version: int | None,
    segment_id: int | None,
    inline: str | None,
    employees: tuple[int, ...],
    spread: str,
    start_at: str | None,
    day_start: str,
    day_end: str,
    call_minutes: int,
    retry_minutes: int,
    max_attempts: int,
    as_json: bool,
) -> None:
    """Save a draft call round: the segment's contacts become calls for these employees."""
    spec = CallRoundSpec(
        name=name,
        template_id=template_id,
        template_version=template_version,
        segment_id=segment_id,
        segment=segment_filter(inline),
        employees=employees,
        spread=spread,
        starts_at=parse_when(start_at, settings_of(ctx).kpi.timezone, "--start-at"),
        day_start=day_start,
        day_end=day_end,
        call_minutes=call_minutes,
        retry_minutes=retry_minutes,
        max_attempts=max_attempts,
    )
    settings = settings_of(ctx)

    async def go() -> RoundStatus:
        async with open_store(ctx) as store:
            manager = round_manager(settings, store)
            row = await manager.create(spec, created_by=CLI_USER)
            return await manager.status(row.id)

    status = run(go())
    if as_json:
        emit_json(status.as_dict())
    else:
        print_round(status, locale_of(ctx))


@click.command("close-call")
@click.argument("item_id", type=ID)
@click.option("--result", required=True, help="What came of it.")
@click.option("--not-reached", is_flag=True, help="Close as not reached (default: reached).")
@json_option
@click.pass_context
def close_call(ctx: click.Context, item_id: int, result: str, not_reached: bool, as_json: bool) -> None:
    """Close one call of a round by hand, with its result."""
    settings = settings_of(ctx)
    state = "not_reached" if not_reached else "done"

    async def go() -> dict[str, Any]:
        async with open_store(ctx) as store:
            item = await round_manager(settings, store).close(item_id, state, result)
            return {name: getattr(item, name) for name in item.__slots__}

    item = run(go())
    if as_json:
        emit_json(item)
        return
    locale = locale_of(ctx)
    shown = i18n.text(locale, f"round_state.{item['state']}", item["state"])
    click.echo(i18n.text(locale, "rounds.closed", id=item_id, state=shown))
