"""`touchhub campaign …`: create, start, pause, resume, cancel, status, list, run, resend-unknown.

Every rule is `hub.campaigns.manager.CampaignManager`'s, the same the API calls; these
commands only read options and print. `campaign run ID` sends in the foreground with a
progress bar until the campaign is finished, paused or cancelled (``touchhub serve``
sends running campaigns by itself).
"""

from __future__ import annotations

import json
from typing import Any

import click

from hub.activity import ActivityStore
from hub.campaigns.call_rounds import RoundStatus, Started
from hub.campaigns.engine import CampaignWorker, summary_line
from hub.campaigns.manager import CampaignManager, CampaignSpec, Summary
from hub.campaigns.marks import MailMarks
from hub.campaigns.schedule import ScheduleKind
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
from hub.config import Settings
from hub.errors import Conflict, ValidationError
from hub.runtime import campaign_sender, message_id_domain, sender_keys

#: Who the command line acts as in `created_by`.
CLI_USER = "cli"


def _manager(settings: Settings, store: ActivityStore) -> CampaignManager:
    return CampaignManager(store, senders=sender_keys(settings), tz=store.tz)


def _print_summary(summary: Summary, as_json: bool) -> None:
    if as_json:
        emit_json(summary.as_dict())
        return
    c = summary.campaign
    click.echo(f"campaign {c.id} {c.name!r}: {c.state} ({c.channel} via {c.sender})")
    click.echo(f"recipients {summary.total}: {summary_line(summary.counts)}")
    if summary.skipped:
        reasons = ", ".join(f"{k} {v}" for k, v in sorted(summary.skipped.items()))
        click.echo(f"skipped: {reasons}")


@click.group()
def campaign() -> None:
    """Campaigns: a template version sent to a segment through one sender."""


@campaign.command("create")
@click.option("--name", required=True)
@click.option("--channel", type=click.Choice(["email", "sms"]), default="email", show_default=True)
@click.option("--template", "template_id", type=ID, required=True, help="Template id.")
@click.option("--version", "template_version", type=ID, default=None, help="Default: the newest.")
@click.option("--segment", "segment_id", type=ID, default=None, help="A saved segment's id.")
@click.option("--filter", "inline", default=None, help="An inline segment filter (JSON).")
@click.option("--sender", required=True, help="Account or gateway (sales, or email:sales).")
@click.option("--at", "send_at", default=None, help="Send at this ISO time (naive = UTC).")
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
    segment: dict[str, Any] | None = None
    if inline is not None:
        try:
            segment = json.loads(inline)
        except ValueError as exc:
            raise ValidationError(f"--filter is not JSON: {exc}", field="filter") from exc
    when = parse_when(send_at)
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

    _print_summary(run(go()), as_json)


def _action(name: str, help_text: str) -> click.Command:
    @click.command(name, help=help_text)
    @click.argument("campaign_id", type=ID)
    @json_option
    @click.pass_context
    def command(ctx: click.Context, campaign_id: int, as_json: bool) -> None:
        settings = settings_of(ctx)

        async def go() -> Summary | tuple[RoundStatus, Started | None]:
            async with open_store(ctx) as store:
                if await store.call_rounds.is_round(campaign_id):
                    return await round_action(settings, store, name, campaign_id)
                manager = _manager(settings, store)
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
                    click.echo(f"{n} unknown recipient(s) will be offered again", err=True)
                return await manager.summary(campaign_id)

        done = run(go())
        if isinstance(done, Summary):
            _print_summary(done, as_json)
        elif as_json:
            emit_json(done[0].as_dict())
        else:
            print_round(done[0], locale_of(ctx), done[1])

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
    table(
        [
            {
                "id": s.campaign.id,
                "name": s.campaign.name,
                "state": s.campaign.state,
                "channel": s.campaign.channel,
                "sent": s.counts.get("sent", 0),
                "open": s.open,
                "total": s.total,
            }
            for s in summaries
        ],
        ["id", "name", "state", "channel", "sent", "open", "total"],
    )


@campaign.command("run")
@click.argument("campaign_id", type=ID)
@json_option
@click.pass_context
def run_campaign(ctx: click.Context, campaign_id: int, as_json: bool) -> None:
    """Send a running campaign in the foreground until it is finished, paused or cancelled."""
    settings = settings_of(ctx)

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
                with Progress(f"campaign {campaign_id}", before.open) as bar:
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
    _print_summary(summary, as_json)
    if summary.campaign.state not in ("finished", "paused", "cancelled"):
        ctx.exit(1)
