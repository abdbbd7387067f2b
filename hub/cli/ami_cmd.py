"""`touchhub ami replay` (print or backfill calls from raw AMI bytes), `touchhub ami backfill`
(log what Asterisk's own call records hold and we do not) and `touchhub call`."""

from __future__ import annotations

import codecs
import json
import re
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import click

from hub.errors import ConfigError, ValidationError
from hub.model import AddressKind
from hub.telephony.plugin import PLUGIN as TELEPHONY
from hub.telephony.settings import (
    DEFAULT_INTERNAL_PATTERN,
    DEFAULT_TRUNK_PATTERN,
    PbxSettings,
)
from hub.text import ascii_int

#: Touches written per store transaction during a backfill.
RECORD_BATCH = 500
#: Seconds to log in to the PBX for click-to-call.
CALL_CONNECT_TIMEOUT_S = 10.0


@click.group()
def ami() -> None:
    """Asterisk AMI: replay recorded streams, backfill calls."""


def _pattern(value: str) -> str:
    try:
        re.compile(value)
    except re.error as exc:
        raise click.BadParameter(f"{value!r} is not a regular expression: {exc}") from exc
    return value


def _charset(value: str) -> str:
    try:
        codecs.lookup(value)
    except LookupError as exc:
        raise click.BadParameter(f"{value!r} is not a character set Python knows") from exc
    return value


@ami.command("replay")
@click.argument(
    "files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@click.option(
    "--cdr",
    "cdr_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="Asterisk's Master.csv: calls that ended between two FILES come from it.",
)
@click.option("--json", "as_json", is_flag=True, help="JSON lines (the default output).")
@click.option("--record", is_flag=True, help="Also store the calls (idempotent backfill).")
@click.option("--pbx", default=None, help="Take patterns and source from [telephony.pbx.NAME].")
@click.option(
    "--internal-pattern",
    default=None,
    callback=lambda _c, _p, v: None if v is None else _pattern(v),
    help=f"Regex of internal extensions (default {DEFAULT_INTERNAL_PATTERN}).",
)
@click.option(
    "--trunk-pattern",
    default=None,
    callback=lambda _c, _p, v: None if v is None else _pattern(v),
    help="Regex of trunk channel names.",
)
@click.option(
    "--charset",
    default=None,
    callback=lambda _c, _p, v: None if v is None else _charset(v),
    help="Fallback for non-UTF-8 bytes (default cp1251).",
)
@click.pass_context
def replay_cmd(
    ctx: click.Context,
    files: tuple[Path, ...],
    cdr_file: Path | None,
    as_json: bool,
    record: bool,
    pbx: str | None,
    internal_pattern: str | None,
    trunk_pattern: str | None,
    charset: str | None,
) -> None:
    """Print, one JSON object per line in the order calls end, the calls FILES hold.

    Each FILE holds raw AMI bytes exactly as read from one connection's socket. Several
    FILES are successive connections to one PBX: each reconnect is reconciled with its
    CoreShowChannels answer, and with --cdr the calls that ended in between are taken
    from Asterisk's own records, merged with what was seen by Linkedid.
    """
    from hub.telephony.call_assembler import AssemblerConfig
    from hub.telephony.cdr import CdrReadStats, read_cdr
    from hub.telephony.replay import ReplayStats, chunked, replay, replay_sessions

    pbx_settings = _pbx(ctx, pbx) if (pbx or record) else None
    config = AssemblerConfig(
        internal_pattern=internal_pattern
        or (pbx_settings.internal_pattern if pbx_settings else DEFAULT_INTERNAL_PATTERN),
        trunk_pattern=trunk_pattern
        or (pbx_settings.trunk_pattern if pbx_settings else DEFAULT_TRUNK_PATTERN),
        trunk_context_pattern=pbx_settings.trunk_context_pattern if pbx_settings else None,
    )
    encoding = charset or (pbx_settings.charset if pbx_settings else "cp1251")
    stats = ReplayStats()
    calls = []
    if len(files) == 1 and cdr_file is None:
        found = replay(
            chunked(files[0].read_bytes()), config, fallback_encoding=encoding, stats=stats
        )
    else:
        cdr_stats = CdrReadStats()
        records = (
            read_cdr(cdr_file.read_text(encoding="utf-8", errors="replace"), config, cdr_stats)
            if cdr_file is not None
            else []
        )
        for line, why in cdr_stats.refused:
            click.echo(f"{cdr_file}:{line}: skipped: {why}", err=True)
        sessions = [chunked(f.read_bytes()) for f in files]
        found = replay_sessions(
            sessions, config, records=records, fallback_encoding=encoding, stats=stats
        )
    for call in found:
        calls.append(call)
        click.echo(json.dumps(call.as_replay_dict(), ensure_ascii=False))
    if stats.garbage or stats.refused:
        click.echo(
            f"{len(stats.garbage)} garbage frame(s) and {len(stats.refused)} refused event(s) "
            "skipped",
            err=True,
        )
    if not calls:
        raise ValidationError(
            f"no calls found in {', '.join(str(f) for f in files)} "
            f"({stats.messages} AMI message(s) read); "
            "is it raw AMI bytes as read from the socket?",
            field="file",
        )
    if record:
        source = f"ami:{_pbx_name(ctx, pbx)}"
        _record(ctx, source, calls)


def _record(ctx: click.Context, source: str, calls: list[Any]) -> None:
    from hub.cli.common import open_store, run
    from hub.telephony.ami_adapter import call_to_touch

    touches = [call_to_touch(c, source) for c in calls]
    if any(c.started_at is None for c in calls):
        click.echo("the stream has no Timestamp headers: calls are dated now", err=True)

    async def write() -> tuple[int, int, int]:
        created = updated = unchanged = 0
        async with open_store(ctx) as store:
            for start in range(0, len(touches), RECORD_BATCH):
                result = await store.record(touches[start : start + RECORD_BATCH])
                created += result.created
                updated += result.updated
                unchanged += result.unchanged
        return created, updated, unchanged

    created, updated, unchanged = run(write())
    click.echo(
        f"recorded {len(touches)} call(s) as {source}: {created} new, {updated} updated, "
        f"{unchanged} unchanged",
        err=True,
    )


def _pbx_name(ctx: click.Context, name: str | None) -> str:
    if name:
        return name
    from hub.cli.common import settings_of

    configured = list(TELEPHONY.settings_of(settings_of(ctx)).pbx)
    if len(configured) == 1:
        return configured[0]
    if not configured:
        return "replay"
    raise ConfigError(f"several PBXs configured ({', '.join(configured)}): choose one with --pbx")


def _pbx(ctx: click.Context, name: str | None) -> PbxSettings | None:
    from hub.cli.common import settings_of

    pbxs = TELEPHONY.settings_of(settings_of(ctx)).pbx
    if name is None:
        return next(iter(pbxs.values())) if len(pbxs) == 1 else None
    if name not in pbxs:
        raise ConfigError(f"no [telephony.pbx.{name}] in the config")
    return pbxs[name]


@ami.command("backfill")
@click.option(
    "--since",
    "since_text",
    required=True,
    help='Start of the window: "2026-12-01 00:00" (the company\'s clock, [kpi] timezone, '
    "unless an offset is given).",
)
@click.option(
    "--until", "until_text", default=None, help="End of the window, read as --since (default: now)."
)
@click.option("--pbx", default=None, help="Which [telephony.pbx.NAME] (default: the only one).")
@click.pass_context
def backfill_cmd(
    ctx: click.Context, since_text: str, until_text: str | None, pbx: str | None
) -> None:
    """Log the calls of a window that Asterisk's own records hold and touchhub does not.

    Reads the PBX's `cdr` source ([telephony.pbx.NAME] cdr: csv:PATH or a database
    URL) for calls that ended after --since and began before --until, and records the
    ones not logged yet, as live capture would have (flag "backfilled"). Calls already
    logged are left as they are, so running it again adds nothing.
    """
    from hub.cli.common import open_store, parse_when, run, settings_of
    from hub.telephony.ami_adapter import assembler_config, call_to_touch
    from hub.telephony.cdr_source import cdr_source

    timezone = settings_of(ctx).kpi.timezone
    since = parse_when(since_text, timezone, "--since")
    until = parse_when(until_text, timezone, "--until") or datetime.now(UTC)
    assert since is not None  # a required option
    if until <= since:
        raise click.BadParameter("--until must be after --since", param_hint="--until")
    name = _pbx_name(ctx, pbx)
    pbx_settings = TELEPHONY.settings_of(settings_of(ctx)).pbx.get(name)
    if pbx_settings is None:
        raise ConfigError(f"no [telephony.pbx.{name}] in the config")
    if not pbx_settings.cdr:
        raise ConfigError(
            f"[telephony.pbx.{name}] has no cdr source: set cdr = "
            '"csv:/var/log/asterisk/cdr-csv/Master.csv" or a database URL'
        )
    source_name = f"ami:{name}"
    records = cdr_source(
        pbx_settings.cdr, assembler_config(pbx_settings), where=f"telephony.pbx.{name}.cdr"
    )

    async def go() -> tuple[int, int, int]:
        local = since.astimezone(ZoneInfo(timezone))
        click.echo(f"{source_name}: reading the PBX's records from {local:%Y-%m-%d %H:%M:%S} ({timezone})…", err=True)
        try:
            calls = await records.calls_since(since)
        finally:
            await records.close()
        for line, why in records.stats.refused:
            click.echo(f"record {line}: skipped: {why}", err=True)
        window = [c for c in calls if c.started_at is None or c.started_at <= until]
        async with open_store(ctx) as store:
            logged = await store.activities.logged(source_name, [c.linkedid for c in window])
            missing = [c for c in window if c.linkedid not in logged]
            click.echo(
                f"{len(window)} call(s) in the window, {len(logged)} logged already, "
                f"{len(missing)} to log",
                err=True,
            )
            written = 0
            for start in range(0, len(missing), RECORD_BATCH):
                batch = [call_to_touch(c, source_name) for c in missing[start : start + RECORD_BATCH]]
                result = await store.record(batch)
                written += result.created
                click.echo(f"  {start + len(batch)}/{len(missing)} written", err=True)
        return len(window), len(logged), written

    found, already, written = run(go())
    click.echo(
        f"backfilled {written} call(s) as {source_name}: {found} in the PBX's records for the "
        f"window, {already} logged already"
    )


@click.command("call")
@click.argument("target", metavar="CONTACT_OR_NUMBER")
@click.option("--employee", "extension", required=True, help="Extension whose phone rings first.")
@click.option("--pbx", default=None, help="Which [telephony.pbx.NAME] (default: the only one).")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.pass_context
def call(ctx: click.Context, target: str, extension: str, pbx: str | None, as_json: bool) -> None:
    """Ring EMPLOYEE's phone, then dial the client; the call is logged like any other.

    CONTACT_OR_NUMBER is a phone number, a contact id (#12) or a unique contact name.
    """
    from hub.cli.common import emit_json, run, settings_of
    from hub.telephony.ami_client import AmiClient, AmiEndpoint
    from hub.telephony.click_to_call import click_to_call

    settings = settings_of(ctx)
    name = _pbx_name(ctx, pbx)
    pbx_settings = TELEPHONY.settings_of(settings).pbx.get(name)
    if pbx_settings is None:
        raise ConfigError("no [telephony.pbx.NAME] configured: click-to-call needs a PBX")

    async def go() -> dict[str, Any]:
        number = await _number_for(ctx, target)
        endpoint = AmiEndpoint.from_url(
            pbx_settings.ami, pbx_settings.password.get_secret_value(), auth=pbx_settings.auth
        )
        client = AmiClient(
            endpoint,
            name=f"ami:{name}",
            event_filters=(),
            connect_timeout=CALL_CONNECT_TIMEOUT_S,
            fallback_encoding=pbx_settings.charset,
        )
        await client.connect()
        try:
            result = await click_to_call(
                client,
                extension,
                number,
                channel_template=pbx_settings.originate_channel,
                context=pbx_settings.originate_context,
                ring_timeout_s=pbx_settings.originate_timeout_s,
            )
        finally:
            await client.close()
        return {
            "pbx": name,
            "employee": result.extension,
            "number": result.number,
            "channel": result.channel,
            "uniqueid": result.uniqueid,
            "status": "connected",
        }

    outcome = run(go())
    if as_json:
        emit_json(outcome)
    else:
        click.echo(f"{outcome['employee']} answered; dialling {outcome['number']} on {name}")


_PHONE_RE = re.compile(r"^\+?[\d\s\-().]{5,}$")


async def _number_for(ctx: click.Context, target: str) -> str:
    """A number as given, or the first phone of the contact named by id (#12) or name."""
    if _PHONE_RE.match(target) and not target.startswith("#"):
        return target
    from hub.cli.common import open_store

    async with open_store(ctx) as store:
        contact_id = ascii_int(target.lstrip("#"), minimum=1)
        if contact_id is not None:
            contact = await store.contacts.get(contact_id)
        else:
            found = await store.contacts.search(target, limit=2)
            if len(found) != 1:
                raise ValidationError(
                    f"{len(found) or 'no'} contacts match {target!r}; give a number or #id",
                    field="contact",
                )
            contact = found[0]
    phones = [i["value"] for i in contact.get("identities", []) if i["kind"] == AddressKind.PHONE]
    if not phones:
        raise ValidationError(f"contact #{contact.get('id')} has no phone number", field="contact")
    return str(phones[0])


if __name__ == "__main__":  # pragma: no cover
    ami(sys.argv[1:])
