"""`touchhub campaign …`: create, start, pause, resume, cancel, status, list, run, resend-unknown.

Every rule is `hub.campaigns.manager.CampaignManager`'s, the same the API calls; these
commands only read options and print. `campaign run ID` sends in the foreground with a
progress bar until the campaign is finished, paused or cancelled (``touchhub serve``
sends running campaigns by itself).
"""

from __future__ import annotations

from collections.abc import Mapping

import click

from hub import i18n
from hub.activity import ActivityStore
from hub.activity.repos.campaigns import RecipientState
from hub.campaigns.call_rounds import RoundStatus, Started
from hub.campaigns.engine import CampaignWorker
from hub.campaigns.manager import CampaignManager, CampaignSpec, Summary
from hub.campaigns.marks import MailMarks
from hub.campaigns.schedule import ScheduleKind
from hub.campaigns.stats import CampaignStats, campaign_stats, stats_line
from hub.cli.call_round_cmd import close_call, create_round, print_round, round_action
from hub.cli.common import (
    ID,
    AsciiInt,
    Progress,
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
from hub.errors import Conflict
from hub.runtime import campaign_sender, message_id_domain, sender_keys

#: Who the command line acts as in `created_by`.
CLI_USER = "cli"


def _manager(settings: Settings, store: ActivityStore) -> CampaignManager:
    return CampaignManager(store, senders=sender_keys(settings), tz=store.tz)


def _counts(locale: str, counts: Mapping[str, int]) -> str:
    """Recipients per state, in the order they move: «в очереди 2, отправлено 28, …»."""
    return ", ".join(
        f"{i18n.text(locale, f'recipient_state.{s.value}', s.value)} "
        f"{i18n.number(locale, counts.get(s.value, 0))}"
        for s in RecipientState
    )


def state_word(locale: str, state: str) -> str:
    """A campaign's state as a line or a table cell says it: the page's word in lower case."""
    return i18n.text(locale, f"campaign_state.{state}", state).lower()


def _print_summary(summary: Summary, as_json: bool, locale: str) -> None:
    if as_json:
        emit_json(summary.as_dict())
        return
    c = summary.campaign
    click.echo(
        i18n.text(
            locale,
            "cli_campaign.summary",
            id=c.id,
            name=c.name,
            state=state_word(locale, c.state),
            channel=i18n.channel_name(c.channel, locale),
            sender=c.sender,
        )
    )
    recipients = i18n.counted(locale, "cli.recipients", summary.total)
    click.echo(
        i18n.text(
            locale, "cli_campaign.recipients", recipients=recipients,
            counts=_counts(locale, summary.counts),
        )
    )  # fmt: skip
    if summary.skipped:
        reasons = ", ".join(
            f"{i18n.text(locale, f'skip_reason.{k}', k)} {i18n.number(locale, v)}"
            for k, v in sorted(summary.skipped.items())
        )
        click.echo(i18n.text(locale, "cli_campaign.skipped", reasons=reasons))


@click.group()
def campaign() -> None:
    """Campaigns: a template version sent to a segment through one sender."""


@campaign.command("create")
@click.option("--name", required=True)
@click.option("--channel", type=click.Choice(["email", "sms"]), default="email", show_default=True)
@template_options("Template id.")
@segment_options
@click.option("--sender", required=True, help="Account or gateway (sales, or email:sales).")
@click.option("--at", "send_at", default=None, help="Send at this ISO time (without an offset: the company's clock, [kpi] timezone).")
@click.option(
    "--local-hour",
    type=AsciiInt(minimum=0, maximum=23),
    default=None,
    help="Send at this hour in each recipient's time zone.",
)
@click.option("--throttle", type=float, default=None, help="Messages per second at most.")
@json_option
@click.pass_context
def create(
    ctx: click.Context,
    name: str,
    channel: str,
    template_id: int,
    template_version: int | None,
    segment_id: int | None,
    inline: str | None,
    sender: str,
    send_at: str | None,
    local_hour: int | None,
    throttle: float | None,
    as_json: bool,
) -> None:
    """Save a draft campaign (checked now: template, segment, sender, schedule)."""
    segment = segment_filter(inline)
    when = parse_when(send_at, settings_of(ctx).kpi.timezone, "--at")
    schedule = (
        ScheduleKind.AT if when is not None else
        ScheduleKind.LOCAL_HOUR if local_hour is not None else ScheduleKind.NOW
    )  # fmt: skip
    spec = CampaignSpec(
        name=name,
        channel=channel,
        template_id=template_id,
        template_version=template_version,
        segment_id=segment_id,
        segment=segment,
        sender=sender,
        schedule=schedule.value,
        send_at=when,
        local_hour=local_hour,
        throttle_per_s=throttle,
    )
    settings = settings_of(ctx)

    async def go() -> Summary:
        async with open_store(ctx) as store:
            manager = _manager(settings, store)
            row = await manager.create(spec, created_by=CLI_USER)
            return await manager.summary(row.id)

    _print_summary(run(go()), as_json, locale_of(ctx))


def _action(name: str, help_text: str) -> click.Command:
    @click.command(name, help=help_text)
    @click.argument("campaign_id", type=ID)
    @json_option
    @click.pass_context
    def command(ctx: click.Context, campaign_id: int, as_json: bool) -> None:
        settings = settings_of(ctx)

        async def go() -> tuple[Summary, CampaignStats | None] | tuple[RoundStatus, Started | None]:
            async with open_store(ctx) as store:
                if await store.call_rounds.is_round(campaign_id):
                    return await round_action(settings, store, name, campaign_id)
                manager = _manager(settings, store)
                if name == "status":
                    summary = await manager.summary(campaign_id)
                    return summary, await campaign_stats(store, campaign_id)
                if name == "start":
                    await manager.start(campaign_id)
                elif name == "pause":
                    await manager.pause(campaign_id)
                elif name == "resume":
                    await manager.resume(campaign_id)
                elif name == "cancel":
                    await manager.cancel(campaign_id)
                elif name == "resend-unknown":
                    n = await manager.resend_unknown(campaign_id)
                    click.echo(i18n.text(locale, "cli_campaign.resend", n=n), err=True)
                return await manager.summary(campaign_id), None

        locale = locale_of(ctx)
        done = run(go())
        if isinstance(done[0], RoundStatus):
            status, started = done
            if as_json:
                emit_json(status.as_dict())
            else:
                print_round(status, locale, started)
            return
        summary, stats = done
        if stats is not None and as_json:
            emit_json({**summary.as_dict(), "stats": stats.as_dict()})
            return
        _print_summary(summary, as_json, locale)
        if stats is not None:
            line = stats_line(stats, lambda n: i18n.text(locale, f"cli_campaign_stat.{n}", n))
            click.echo(i18n.text(locale, "cli_campaign.figures", figures=line))

    return command


for _name, _help in (
    ("start", "Snapshot the recipients and start sending (serve or `campaign run` sends)."),
    ("pause", "Stop sending; what was offered is recorded."),
    ("resume", "Go on sending a paused campaign."),
    ("cancel", "Send nothing more; pending and deferred recipients are skipped."),
    ("status", "The campaign and its recipients per state."),
    (
        "resend-unknown",
        "Offer again the recipients whose outcome a crash hid (some may get a second copy).",
    ),
):
    campaign.add_command(_action(_name, _help))
campaign.add_command(create_round)
campaign.add_command(close_call)


@campaign.command("list")
@click.option("--state", default=None, help="Only campaigns in this state.")
@json_option
@click.pass_context
def list_campaigns(ctx: click.Context, state: str | None, as_json: bool) -> None:
    """Every campaign, newest first."""
    settings = settings_of(ctx)

    async def go() -> list[Summary]:
        async with open_store(ctx) as store:
            manager = _manager(settings, store)
            rows = await store.campaigns.list_all(state=state)
            return [await manager.summary(r.id) for r in rows]

    summaries = run(go())
    if as_json:
        emit_json([s.as_dict() for s in summaries])
        return
    locale = locale_of(ctx)
    columns = ["id", "name", "state", "channel", "sent", "open", "total"]
    table(
        [
            {
                "id": s.campaign.id,
                "name": s.campaign.name,
                "state": state_word(locale, s.campaign.state),
                "channel": i18n.channel_name(s.campaign.channel, locale),
                "sent": i18n.number(locale, s.counts.get("sent", 0)),
                "open": i18n.number(locale, s.open),
                "total": i18n.number(locale, s.total),
            }
            for s in summaries
        ],
        columns,
        titles=[i18n.text(locale, f"cli_campaign.{c}") for c in columns],
        empty=i18n.text(locale, "cli_campaign.none"),
    )


@campaign.command("run")
@click.argument("campaign_id", type=ID)
@json_option
@click.pass_context
def run_campaign(ctx: click.Context, campaign_id: int, as_json: bool) -> None:
    """Send a running campaign in the foreground until it is finished, paused or cancelled."""
    settings = settings_of(ctx)
    locale = locale_of(ctx)

    async def go() -> Summary:
        async with open_store(ctx) as store:
            manager = _manager(settings, store)
            before = await manager.summary(campaign_id)
            if before.campaign.state in ("draft", "paused", "cancelled"):
                raise Conflict(
                    f"campaign {campaign_id} is {before.campaign.state}; only a running campaign"
                    " is sent (start or resume it first)",
                    field="state",
                )
            sender = campaign_sender(settings, before.campaign.sender)
            try:
                label = i18n.text(locale, "cli_campaign.progress", id=campaign_id)
                with Progress(label, before.open) as bar:
                    worker = CampaignWorker(
                        store,
                        sender,
                        settings.campaigns,
                        message_id_domain=message_id_domain(sender),
                        progress=bar.advance,
                        marks=MailMarks.of(settings.campaigns, settings.web.public_url),
                    )
                    await worker.run(campaign_id)
            finally:
                await sender.close()
            return await manager.summary(campaign_id)

    summary = run(go())
    _print_summary(summary, as_json, locale)
    if summary.campaign.state not in ("finished", "paused", "cancelled"):
        ctx.exit(1)
