"""`touchhub sms send` through real Kannel into a real store, and `touchhub sms segments`."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from hub.activity import ActivityFilter, ActivityStore
from hub.cli import cli
from hub.config import load_settings
from hub.model import Channel
from hub.runtime import sync_once
from tests.helpers.postgres import free_port
from tests.integration.sms.kannel_server import PASSWORD, USERNAME, running_kannel


async def _outgoing(db: str) -> list[dict[str, object]]:
    store = await ActivityStore.open(db)
    try:
        return list((await store.activities.list(ActivityFilter(channel=Channel.SMS))).items)
    finally:
        await store.close()


async def _sync(config: Path, db: str) -> list[dict[str, Any]]:
    """`sync --once`: every gateway probed once; their health."""
    settings = load_settings(config, environ={"KANNEL_PW": PASSWORD})
    store = await ActivityStore.open(db)
    try:
        return await sync_once(settings, store)
    finally:
        await store.close()


#: The gateways' outbox adapters have nothing to catch up on in a sync.
OUTBOXES = {"sms:main:outbox": "stopped", "sms:other:outbox": "stopped"}


def test_send_records_the_sms_and_kannels_answer(tmp_path: Path) -> None:
    sendsms_port = free_port()
    db = f"sqlite:///{tmp_path}/cli.db"
    config = tmp_path / "touchhub.toml"
    config.write_text(
        f'demo_on_empty = false\n[store]\nurl = "{db}"\n'
        f'[sms.gateways.main]\nkind = "kannel"\nurl = "kannel://{USERNAME}@127.0.0.1:{sendsms_port}"\n'
        f'password = "env:KANNEL_PW"\nsender = "1234"\n'
        f'[sms.gateways.other]\nkind = "kannel"\nurl = "kannel://{USERNAME}@127.0.0.1:{sendsms_port}"\n'
        f'password = "wrong"\nsender = "1234"\n',
        encoding="utf-8",
    )
    runner = CliRunner(env={"KANNEL_PW": PASSWORD})
    base = ["--config", str(config)]
    dead_mo = f"http://127.0.0.1:{free_port()}/mo"
    with running_kannel(dead_mo, ("79001112233", "1234", "hi"), sendsms_port=sendsms_port):
        no_default = runner.invoke(cli, [*base, "sms", "send", "--to", "79001234567", "--text", "x"])
        assert no_default.exit_code == 1 and "default_gateway" in no_default.output
        sent = runner.invoke(
            cli,
            [*base, "sms", "send", "--gateway", "main", "--to", "79001234567", "--text", "Код 4821", "--json"],
            catch_exceptions=False,
        )
        assert sent.exit_code == 0, sent.output
        answer = json.loads(sent.stdout)
        assert answer["outcome"] == "sent" and answer["code"] == 202 and answer["gateway"] == "main"
        human = runner.invoke(
            cli,
            [*base, "--lang", "ru", "sms", "send", "--gateway", "main", "--to", "79001234567", "--text", "Счёт"],
            catch_exceptions=False,
        )
        assert human.exit_code == 0, human.output
        said, detail = human.stdout.splitlines()
        assert said.startswith("79001234567: отправлено 202"), said
        assert detail.startswith("№ сообщения: ") and "шлюз: main" in detail and "попыток: 1" in detail
        russian_id = detail.split()[2]
        refused = runner.invoke(
            cli, [*base, "sms", "send", "--gateway", "other", "--to", "79001234567", "--text", "x"]
        )
        assert refused.exit_code == 1 and "Kannel refused user" in refused.output
        health = asyncio.run(_sync(config, db))
        assert {h["name"]: h["state"] for h in health} == {"sms:main": "stopped", "sms:other": "failed", **OUTBOXES}
    down = asyncio.run(_sync(config, db))  # Kannel gone: the gateway is down, said so
    assert {h["name"]: h["state"] for h in down} == {"sms:main": "failed", "sms:other": "failed", **OUTBOXES}
    assert "does not answer" in str(down[0]["last_error"])
    by_id = {a["external_id"]: a for a in asyncio.run(_outgoing(db))}
    assert by_id[answer["message_id"]]["status"] == "sent"
    assert by_id[answer["message_id"]]["preview"] == "Код 4821"
    assert by_id[russian_id]["status"] == "sent"
    others = [a["status"] for k, a in by_id.items() if k not in (answer["message_id"], russian_id)]
    assert others == ["failed"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Hello", {"encoding": "gsm7", "parts": 1, "units": 5, "per_part": 160, "left_in_last_part": 155}),
        ("€" * 80, {"encoding": "gsm7", "parts": 1, "units": 160, "per_part": 160, "left_in_last_part": 0}),
        ("a" * 161, {"encoding": "gsm7", "parts": 2, "units": 161, "per_part": 153, "left_in_last_part": 145}),
        ("Привет", {"encoding": "ucs2", "parts": 1, "units": 6, "per_part": 70, "left_in_last_part": 64}),
        ("я" * 71, {"encoding": "ucs2", "parts": 2, "units": 71, "per_part": 67, "left_in_last_part": 63}),
    ],
)
def test_segments_counts_parts_and_room_left(text: str, expected: dict[str, object]) -> None:
    result = CliRunner().invoke(cli, ["sms", "segments", "--json", text], catch_exceptions=False)
    assert result.exit_code == 0 and json.loads(result.stdout) == expected
    said = CliRunner().invoke(cli, ["--lang", "en", "sms", "segments", text], catch_exceptions=False)
    parts = f"{expected['parts']} part{'s' if expected['parts'] != 1 else ''}"
    assert said.stdout.startswith(f"{expected['encoding']}: {parts}, {expected['units']} units, ")


def test_send_in_the_recipients_quiet_hours_is_refused_unless_urgent(tmp_path: Path) -> None:
    now = datetime.now(UTC)
    window = f"{(now - timedelta(hours=1)):%H:%M}-{(now + timedelta(hours=1)):%H:%M}"
    db = f"sqlite:///{tmp_path}/cli.db"
    config = tmp_path / "touchhub.toml"
    config.write_text(
        f'demo_on_empty = false\n[store]\nurl = "{db}"\n'
        f'[sms]\nquiet_hours = "{window}"\n'
        f'[sms.gateways.op]\nkind = "smpp"\nurl = "smpp://hub@127.0.0.1:{free_port()}"\n'
        'password = "secret"\nsender = "Shop"\n',
        encoding="utf-8",
    )
    base = ["--config", str(config), "sms", "send", "--to", "+442071234567", "--text", "Sale!"]
    refused = CliRunner().invoke(cli, ["--lang", "en", *base])  # London, where it is quiet for another hour
    assert refused.exit_code == 1 and "quiet hours at +442071234567 until" in refused.output
    russian = CliRunner().invoke(cli, ["--lang", "ru", *base])
    assert russian.exit_code == 1 and "у получателя +442071234567 тихие часы до" in russian.output
    assert asyncio.run(_outgoing(db)) == []  # nothing sent, nothing recorded
    urgent = CliRunner().invoke(cli, [*base, "--urgent"])  # goes now: the SMSC is down here
    assert urgent.exit_code != 0 and "quiet hours" not in urgent.output
