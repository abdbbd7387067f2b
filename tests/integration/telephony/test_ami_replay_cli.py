"""`touchhub ami replay`: prints the recorded calls; `--record` backfills idempotently."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from hub.cli import cli
from tests.helpers.ami_server import recordings

pytestmark = pytest.mark.timeout(60)


@pytest.mark.parametrize("rec", recordings(), ids=lambda r: r.name)
def test_replay_prints_expected_lines(rec: object) -> None:
    args = [
        "ami",
        "replay",
        *[str(p) for p in rec.parts],  # type: ignore[attr-defined]
        *(["--cdr", str(rec.cdr)] if rec.is_outage and rec.cdr else []),  # type: ignore[attr-defined]
        "--json",
        "--internal-pattern",
        rec.internal_pattern,  # type: ignore[attr-defined]
        "--trunk-pattern",
        rec.trunk_pattern,  # type: ignore[attr-defined]
    ]
    result = CliRunner().invoke(cli, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    got = [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
    want = rec.expected_calls()  # type: ignore[attr-defined]
    assert [(g["external_id"], g["status"], g.get("employee")) for g in got] == [
        (w["external_id"], w["status"], w.get("employee")) for w in want
    ]


def test_replay_record_is_idempotent(tmp_path: Path) -> None:
    rec = next(r for r in recordings() if r.name.startswith("06_"))
    db = f"sqlite:///{tmp_path / 'hub.db'}"
    args = ["--db", db, "ami", "replay", str(rec.raw), "--record", "--pbx", "office"]
    config = tmp_path / "touchhub.toml"
    config.write_text(
        '[telephony.pbx.office]\nami = "ami://hub@127.0.0.1:5038"\npassword = "x"\n'
        "internal_pattern = '^1\\d\\d$'\ntrunk_pattern = '@(from-trunk|pstn-remote)-'\n",
        encoding="utf-8",
    )
    runner = CliRunner()
    first = runner.invoke(cli, ["--config", str(config), *args], catch_exceptions=False)
    second = runner.invoke(cli, ["--config", str(config), *args], catch_exceptions=False)
    assert first.exit_code == second.exit_code == 0
    assert "1 new" in first.stderr and "0 new" in second.stderr
    assert json.loads(first.stdout)["employee"] == "102"
