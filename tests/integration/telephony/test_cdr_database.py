"""Asterisk's `cdr` table in PostgreSQL as a backfill source: the same calls as its csv,
for the reconnecting adapter and for `touchhub ami backfill --since` (idempotent)."""

from __future__ import annotations

import asyncio
import csv
import io
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pydantic import SecretStr
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from hub.activity import ActivityFilter, ActivityStore
from hub.errors import ConfigError
from hub.model import Channel, Flag
from hub.telephony.ami_adapter import AmiAdapter
from hub.telephony.call_assembler import AssemblerConfig
from hub.telephony.cdr import COLUMNS, read_cdr
from hub.telephony.cdr_source import DbCdrSource, cdr_source, database_url
from hub.telephony.settings import PbxSettings
from tests.helpers.ami_server import FakeAmiServer, StoreTap, outage_plan, recordings
from tests.helpers.cli import Touchhub
from tests.helpers.hub_process import assert_calls_match

pytestmark = pytest.mark.timeout(90)
WITH_CDR = [r for r in recordings() if r.cdr is not None]
OUTAGE = next(r for r in recordings() if r.is_outage)
CONFIG = AssemblerConfig(
    internal_pattern=OUTAGE.internal_pattern, trunk_pattern=OUTAGE.trunk_pattern
)
#: Where a CDR's `answer` is the employee's, not the client's (click-to-call): the truth
#: of those recordings is not what any CDR can give.
CDR_KNOWS = [r for r in WITH_CDR if not r.name.startswith(("P14_", "P15_"))]

#: `cdr_adaptive_odbc` as commonly set up: start/answer/end columns, naive UTC times.
ODBC_TABLE = """
CREATE TABLE {name} (
    accountcode varchar(80), src varchar(80), dst varchar(80), dcontext varchar(80),
    clid varchar(80), channel varchar(80), dstchannel varchar(80), lastapp varchar(80),
    lastdata varchar(80), start timestamp, answer timestamp, "end" timestamp,
    duration integer, billsec integer, disposition varchar(45), amaflags varchar(45),
    uniqueid varchar(150), userfield varchar(255), peeraccount varchar(80),
    linkedid varchar(150), sequence integer
)"""
#: `cdr_pgsql`'s own table: `calldate` (with time zone), no answer or end columns.
PGSQL_TABLE = """
CREATE TABLE {name} (
    calldate timestamp with time zone NOT NULL, clid varchar(80), src varchar(80),
    dst varchar(80), dcontext varchar(80), channel varchar(80), dstchannel varchar(80),
    lastapp varchar(80), lastdata varchar(80), duration bigint, billsec bigint,
    disposition varchar(45), amaflags bigint, accountcode varchar(20),
    uniqueid varchar(150), userfield varchar(255), peeraccount varchar(20),
    linkedid varchar(150), sequence integer
)"""


def _csv_rows() -> list[dict[str, str]]:
    rows = []
    for rec in WITH_CDR:
        assert rec.cdr is not None
        lines = list(csv.reader(io.StringIO(rec.cdr.read_text(encoding="utf-8"))))
        rows += [dict(zip(COLUMNS, line, strict=True)) for line in lines[1:] if line]
    return rows


def _time(value: str) -> datetime | None:
    return datetime.strptime(value, "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC) if value else None


async def _fill(url: str, *, layout: str, name: str = "cdr") -> int:
    """Asterisk's table `name` in `url`, holding every shared recording's CDR lines."""
    engine = create_async_engine(url.replace("postgresql://", "postgresql+asyncpg://"))
    rows = _csv_rows()
    try:
        async with engine.begin() as conn:
            await conn.execute(text((ODBC_TABLE if layout == "odbc" else PGSQL_TABLE).format(name=name)))
            for row in rows:
                values: dict[str, object] = dict(row)
                for key in ("duration", "billsec", "sequence"):
                    values[key] = int(row[key])
                if layout == "odbc":
                    for key in ("start", "answer", "end"):
                        moment = _time(row[key])
                        values[key] = None if moment is None else moment.replace(tzinfo=None)
                    columns = list(COLUMNS)
                else:
                    values["calldate"] = _time(row["start"])
                    values["amaflags"] = 3
                    columns = [c for c in COLUMNS if c not in ("start", "answer", "end")]
                    columns.append("calldate")
                quoted = ", ".join(f'"{c}"' for c in columns)
                params = ", ".join(f":{c}" for c in columns)
                await conn.execute(
                    text(f"INSERT INTO {name} ({quoted}) VALUES ({params})"),
                    {c: values[c] for c in columns},
                )
    finally:
        await engine.dispose()
    return len(rows)


def _all_records() -> list[object]:
    found = []
    for rec in WITH_CDR:
        assert rec.cdr is not None
        found += read_cdr(rec.cdr.read_text(encoding="utf-8"), CONFIG)
    return found


@pytest.mark.parametrize("layout", ["odbc", "pgsql"])
async def test_the_cdr_table_gives_the_same_calls_as_the_csv(pg_url: str, layout: str) -> None:
    assert await _fill(pg_url, layout=layout) > 10
    source = cdr_source(pg_url, CONFIG, where="test")
    assert isinstance(source, DbCdrSource)
    try:
        calls = await source.calls_since(datetime(2026, 12, 6, 0, 0, tzinfo=UTC))
        later = await source.calls_since(datetime(2026, 12, 6, 14, 31, 44, tzinfo=UTC))
    finally:
        await source.close()
    want = sorted(_all_records(), key=lambda c: c.linkedid)  # type: ignore[attr-defined]
    assert sorted(calls, key=lambda c: c.linkedid) == want
    assert source.stats.refused == []
    # a window: only the calls that ended after its start (P16's third)
    assert [c.linkedid for c in later] == ["1796567505.18"]


def test_database_urls_take_an_async_driver_and_a_table() -> None:
    url, name = database_url("postgresql://pbx:secret@db/asterisk", where="x")
    assert (url.drivername, url.database, name) == ("postgresql+asyncpg", "asterisk", "cdr")
    url, name = database_url("postgresql+asyncpg://db/asteriskcdrdb?table=cdr_2026", where="x")
    assert (url.drivername, name, dict(url.query)) == ("postgresql+asyncpg", "cdr_2026", {})
    url, name = database_url("mysql://freepbx@localhost/asteriskcdrdb", where="x")
    assert (url.drivername, name) == ("mysql+aiomysql", "cdr")
    with pytest.raises(ConfigError, match="table"):
        database_url("postgresql://db/x?table=cdr;drop", where="x")
    with pytest.raises(ConfigError, match="not a CDR database"):
        database_url("oracle://db/x", where="x")
    with pytest.raises(ConfigError, match="secret") as refused:
        cdr_source("ftp-secret", CONFIG, where="telephony.pbx.office.cdr")
    assert "csv:" in str(refused.value)


async def test_a_missing_table_is_a_clear_error_naming_no_password(pg_url: str) -> None:
    with_password = pg_url.replace("postgres@", "postgres:hunter2@")
    source = cdr_source(with_password + "?table=nowhere", CONFIG, where="test")
    try:
        with pytest.raises(Exception, match="nowhere") as failed:
            await source.calls_since(datetime(2026, 12, 6, tzinfo=UTC))
    finally:
        await source.close()
    assert "hunter2" not in str(failed.value)


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[ActivityStore]:
    opened = await ActivityStore.open(f"sqlite:///{tmp_path}/ami.db")
    yield opened
    await opened.close()


async def test_a_reconnect_backfills_the_outage_from_the_cdr_table(
    pg_url: str, store: ActivityStore
) -> None:
    await _fill(pg_url, layout="pgsql")
    pbx = PbxSettings.model_validate(
        {
            "ami": "ami://hub@127.0.0.1:1",
            "password": SecretStr("s3cret"),
            "internal_pattern": OUTAGE.internal_pattern,
            "trunk_pattern": OUTAGE.trunk_pattern,
            "cdr": pg_url,
        }
    )
    tap = StoreTap(store)
    await tap.writer.start()
    try:
        async with FakeAmiServer(plan=outage_plan(OUTAGE)) as server:
            pbx.ami = server.url
            adapter = AmiAdapter("office", pbx, backoff_initial=0.01, backoff_max=0.05)
            task = asyncio.create_task(adapter.run(tap))
            try:
                for _ in range(200):
                    if len(await tap.stored_calls()) >= 3:
                        break
                    await asyncio.sleep(0.05)
                await asyncio.sleep(0.3)
            finally:
                task.cancel()
                with pytest.raises(asyncio.CancelledError):
                    await task
        calls = await tap.stored_calls()
    finally:
        await tap.writer.stop()
    assert_calls_match(calls, OUTAGE.expected_calls())
    gap = OUTAGE.expected_calls()[1]["external_id"]
    (logged,) = [c for c in calls if c["external_id"] == gap]
    assert Flag.BACKFILLED.value in logged["flags"]


async def _stored_calls(url: str) -> list[dict[str, object]]:
    store = await ActivityStore.open(url)
    try:
        page = await store.activities.list(ActivityFilter(channel=Channel.CALL), limit=100)
    finally:
        await store.close()
    return list(page.items)


def test_ami_backfill_logs_the_window_once_and_keeps_live_calls(
    pg_url: str, tmp_path: Path
) -> None:
    asyncio.run(_fill(pg_url, layout="odbc"))
    db = tmp_path / "hub.db"
    config = tmp_path / "touchhub.toml"
    config.write_text(
        f'demo_on_empty = false\n[store]\nurl = "sqlite:///{db}"\n'
        '[telephony.pbx.office]\nami = "ami://hub@127.0.0.1:5038"\npassword = "x"\n'
        f"internal_pattern = '{OUTAGE.internal_pattern}'\n"
        f"trunk_pattern = '{OUTAGE.trunk_pattern}'\n"
        f'cdr = "{pg_url.replace("postgresql://", "postgresql+asyncpg://")}"\n',
        encoding="utf-8",
    )
    touchhub = Touchhub(config=config)
    live = next(r for r in CDR_KNOWS if r.name.startswith("P13_"))
    touchhub.ok("ami", "replay", str(live.raw), "--record", "--pbx", "office")

    first = touchhub.run("ami", "backfill", "--since", "2026-12-06 00:00", "--pbx", "office")
    assert first.exit_code == 0, first.output
    total = len(_all_records())
    assert f"backfilled {total - 1} call(s) as ami:office" in first.stdout
    assert "1 logged already" in first.stdout and "written" in first.stderr
    again = touchhub.ok("ami", "backfill", "--since", "2026-12-06 00:00")
    assert f"backfilled 0 call(s) as ami:office: {total} in the PBX's records" in again

    calls = asyncio.run(_stored_calls(f"sqlite:///{db}"))
    assert len(calls) == total
    truth = [w for r in CDR_KNOWS for w in r.expected_calls()]
    known = {str(w["external_id"]) for w in truth}
    assert_calls_match([c for c in calls if c["external_id"] in known], truth)
    (kept,) = [c for c in calls if c["external_id"] == live.expected_calls()[0]["external_id"]]
    assert Flag.BACKFILLED.value not in kept["flags"]  # live capture's exact times stay
    assert json.dumps(kept["ended_at"]).count(".") == 1  # not a whole-second CDR time

    narrow = touchhub.ok(
        "ami", "backfill", "--since", "2026-12-06 14:31:44+00:00", "--until", "2026-12-06 14:32+00:00"
    )
    assert "backfilled 0 call(s) as ami:office: 1 in the PBX's records" in narrow
    # Without an offset, the company's clock ([kpi] timezone, Moscow by default): the same window.
    local = touchhub.run("ami", "backfill", "--since", "2026-12-06 17:31:44", "--until", "2026-12-06 17:32")
    assert "backfilled 0 call(s) as ami:office: 1 in the PBX's records" in local.stdout
    assert "from 2026-12-06 17:31:44 (Europe/Moscow)" in local.stderr


def test_ami_backfill_without_a_cdr_source_says_what_to_set(tmp_path: Path) -> None:
    config = tmp_path / "touchhub.toml"
    config.write_text(
        f'[store]\nurl = "sqlite:///{tmp_path}/hub.db"\n'
        '[telephony.pbx.office]\nami = "ami://hub@127.0.0.1:5038"\npassword = "x"\n',
        encoding="utf-8",
    )
    refused = Touchhub(config=config).fails("ami", "backfill", "--since", "2026-12-06")
    assert "has no cdr source" in refused.output
    bad = Touchhub(config=config).fails("ami", "backfill", "--since", "yesterday")
    assert "'--since'" in bad.output and "is not an ISO date or date-time" in bad.output
