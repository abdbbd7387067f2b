"""The API against its own OpenAPI document: schemathesis, every check, a live server.

A real `touchhub serve` on a small demo store, driven by the `st` command line exactly as
a user would run it: examples, coverage, fuzzing and stateful phases, `--checks all`, a
fixed seed so a failure reproduces. Any server error, undocumented status, schema-valid
request refused or schema-invalid one accepted fails the test with schemathesis' report.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.helpers.cli import Touchhub
from tests.helpers.postgres import free_port

SCHEMATHESIS = Path(sys.executable).with_name("st")
CONFIG = Path(__file__).with_name("schemathesis.toml")
HOOKS = "tests.integration.web.schemathesis_hooks"
ROOT = Path(__file__).resolve().parents[3]
START_LIMIT_S = 60.0
RUN_LIMIT_S = 420.0


def _wait_for_health(base: str, server: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + START_LIMIT_S
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise AssertionError(f"serve exited: {server.stderr.read() if server.stderr else ''}")
        try:
            with urllib.request.urlopen(f"{base}/api/v1/health", timeout=2):
                return
        except OSError:
            time.sleep(0.2)
    raise AssertionError("serve did not answer health in time")


@pytest.mark.parametrize("role", ["admin", "employee"])
def test_api_keeps_every_promise_of_its_openapi_document(tmp_path: Path, role: str) -> None:
    port = free_port()
    config = tmp_path / "touchhub.toml"
    config.write_text(
        f'demo_on_empty = false\n[store]\nurl = "sqlite:///{tmp_path}/hub.db"\n'
        f"[web]\nport = {port}\n",
        encoding="utf-8",
    )
    hub = Touchhub(config=config)
    hub.run_process("demo", "seed", "--activities", "2000")
    if role == "admin":
        created = hub.run_process("token", "create", "--role", "admin")
    else:
        employee = hub.run_process("employees", "list", "--json").stdout
        first = employee.split('"id": ', 1)[1].split(",", 1)[0]
        created = hub.run_process("token", "create", "--role", "employee", "--employee", first)
    assert created.exit_code == 0, created.output
    token = created.stdout.split()[-1]
    base = f"http://127.0.0.1:{port}"
    server = hub.start("serve")
    try:
        _wait_for_health(base, server)
        run = subprocess.run(
            [
                str(SCHEMATHESIS),
                "--config-file",
                str(CONFIG),
                "--no-color",
                "run",
                f"{base}/api/v1/openapi.json",
                "--checks",
                "all",
                # The coverage phase's boundary values ignore oneOf branches (an address
                # 320 characters long for any kind); the other phases respect them.
                "--phases",
                "examples,fuzzing,stateful",
                "-H",
                f"Authorization: Bearer {token}",
                "--max-examples",
                "15",
                "--seed",
                "1",
            ],
            capture_output=True,
            text=True,
            timeout=RUN_LIMIT_S,
            cwd=tmp_path,
            env={**os.environ, "PYTHONPATH": str(ROOT), "SCHEMATHESIS_HOOKS": HOOKS},
        )
    finally:
        server.terminate()
        server.wait(timeout=30)
    assert run.returncode == 0, run.stdout[-20000:] + run.stderr[-5000:]
