"""Campaigns through the real CLI and a real SMTP server: create → start → run, kill -9 of
the worker at random points, two worker processes on one PostgreSQL campaign."""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from hub.activity import ActivityStore
from tests.helpers.campaign_world import addresses, email_template, seed_contacts
from tests.helpers.cli import Touchhub
from tests.helpers.postgres import PostgresServer
from tests.helpers.smtp_server import SmtpServer, running_smtp

pytestmark = pytest.mark.timeout(240)

WINDOW = 20
RUN_TIMEOUT_S = 120.0


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    with running_smtp() as server:
        yield server


def write_config(path: Path, store_url: str, smtp: SmtpServer) -> Path:
    """A touchhub.toml: the store, account ivan on the test SMTP server, quick campaigns."""
    lines = [
        "demo_on_empty = false",
        "[store]",
        f'url = "{store_url}"',
        "[email]",
        'company_domains = ["acme.ru"]',
        "smtp_max_attempts = 1",
        "timeout_s = 5",
        "[email.accounts.ivan]",
        'password = "ivanpw"',
        'addresses = ["ivan@acme.ru"]',
        f'smtp = "{smtp.url()}"',
        f'tls_ca_file = "{smtp.cert}"',
        "[campaigns]",
        'company_name = "Acme"',
        "batch_size = 10",
        f"window = {WINDOW}",
        "lease_s = 1.0",
        "heartbeat_s = 0.25",
        "retry_initial_s = 0.2",
        "retry_max_s = 1.0",
        "poll_s = 0.2",
    ]
    config = path / "touchhub.toml"
    config.write_text("\n".join(lines) + "\n")
    return config


def received(smtp: SmtpServer) -> Counter[str]:
    return Counter(r for letter in smtp.handler.received for r in letter.rcpt_tos)


async def prepare(store_url: str, n: int) -> tuple[list[str], int]:
    """`n` contacts in Казань with addresses, and a template; (addresses, template id)."""
    store = await ActivityStore.open(store_url)
    try:
        emails = addresses(n)
        await seed_contacts(store, emails)
        return emails, await email_template(store)
    finally:
        await store.close()


async def outcomes(url: str, campaign_id: int) -> tuple[set[str], set[str], dict[str, int]]:
    """(unknown addresses, sent addresses, counts per state) of a campaign."""
    store = await ActivityStore.open(url)
    try:
        unknown = {str(a) for a, _ in await store.campaigns.message_ids(campaign_id, "unknown")}
        sent = {str(a) for a, _ in await store.campaigns.message_ids(campaign_id, "sent")}
        return unknown, sent, await store.campaigns.counts(campaign_id)
    finally:
        await store.close()


async def workers_of(url: str, campaign_id: int) -> int:
    store = await ActivityStore.open(url)
    try:
        return await store.campaigns.workers_of(campaign_id)
    finally:
        await store.close()


def create_and_start(cli: Touchhub, template_id: int, *, throttle: float | None = None) -> int:
    args = [
        "campaign", "create", "--name", "winter", "--template", str(template_id),
        "--filter", json.dumps({"field": "city", "op": "eq", "value": "Казань"}),
        "--sender", "ivan", "--json",
    ]  # fmt: skip
    if throttle is not None:
        args += ["--throttle", str(throttle)]
    campaign_id = int(json.loads(cli.ok(*args))["id"])
    started = json.loads(cli.ok("campaign", "start", str(campaign_id), "--json"))
    assert started["state"] == "running"
    return campaign_id


def status(cli: Touchhub, campaign_id: int) -> dict[str, object]:
    data: dict[str, object] = json.loads(cli.ok("campaign", "status", str(campaign_id), "--json"))
    return data


def test_create_start_run_status_through_the_cli(
    tmp_path: Path, smtp_server: SmtpServer
) -> None:
    url = f"sqlite:///{tmp_path}/touchhub.db"
    emails, template_id = asyncio.run(prepare(url, 30))
    cli = Touchhub(config=write_config(tmp_path, url, smtp_server))
    campaign_id = create_and_start(cli, template_id)
    out = cli.run_process("campaign", "run", str(campaign_id), timeout=RUN_TIMEOUT_S)
    assert out.exit_code == 0, out.output
    assert "finished" in out.stdout and "sent 30" in out.stdout
    assert sorted(received(smtp_server)) == sorted(emails)
    data = status(cli, campaign_id)
    assert data["state"] == "finished"
    assert data["counts"] == {**dict.fromkeys(
        ["pending", "sending", "deferred", "failed", "bounced", "skipped", "unknown"], 0), "sent": 30}  # fmt: skip
    assert data["stats"]["sent"] == 30 and data["stats"]["replied"] == data["stats"]["bounced"] == 0
    human = cli.ok("campaign", "status", str(campaign_id))
    assert "figures: total 30, sent 30, delivered 0" in human and "replied 0" in human
    listed = cli.ok("campaign", "list")
    assert "winter" in listed and "finished" in listed
    draft = json.loads(cli.ok("campaign", "create", "--name", "later", "--template",
                              str(template_id), "--filter", '{"all": []}', "--sender", "ivan",
                              "--json"))  # fmt: skip
    unstarted = cli.fails("campaign", "run", str(draft["id"]))
    assert "draft" in unstarted.stderr and len(unstarted.stderr.splitlines()) == 1
    refused = cli.fails("campaign", "start", str(campaign_id))
    assert "only a draft can start" in refused.output and len(refused.stderr.splitlines()) == 1


def test_bad_input_is_one_line_naming_the_field(
    tmp_path: Path, smtp_server: SmtpServer
) -> None:
    url = f"sqlite:///{tmp_path}/touchhub.db"
    _emails, template_id = asyncio.run(prepare(url, 1))
    cli = Touchhub(config=write_config(tmp_path, url, smtp_server))
    base = ["campaign", "create", "--name", "x", "--template", str(template_id)]
    unknown = cli.fails(*base, "--filter", '{"field": "city", "op": "like", "value": "a"}', "--sender", "ivan")
    assert "like" in unknown.stderr and len(unknown.stderr.strip().splitlines()) == 1
    nosender = cli.fails(*base, "--filter", json.dumps({"all": []}), "--sender", "nobody")
    assert "email:nobody" in nosender.stderr
    assert "Error" in cli.fails("campaign", "status", "999").stderr


def kill_at_random_points(
    cli: Touchhub, smtp: SmtpServer, campaign_id: int, total: int, rounds: int
) -> int:
    """Start the worker, kill -9 it after a random number of letters, `rounds` times."""
    rng = random.Random(os.getpid())
    kills = 0
    for _ in range(rounds):
        already = sum(received(smtp).values())
        if already >= total - WINDOW:
            break
        target = already + rng.randint(1, max(1, (total - already) // (rounds + 1)))
        process = cli.start("campaign", "run", str(campaign_id))
        deadline = time.monotonic() + RUN_TIMEOUT_S
        while sum(received(smtp).values()) < target and process.poll() is None:
            assert time.monotonic() < deadline, "the worker sent too little"
            time.sleep(0.005)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
        assert process.stderr is not None
        process.stderr.close()
        kills += 1
    return kills


def test_kill_9_at_random_points_sends_nobody_twice_and_forgets_nobody(
    tmp_path: Path, smtp_server: SmtpServer
) -> None:
    url = f"sqlite:///{tmp_path}/touchhub.db"
    total = 300
    emails, template_id = asyncio.run(prepare(url, total))
    cli = Touchhub(config=write_config(tmp_path, url, smtp_server))
    campaign_id = create_and_start(cli, template_id, throttle=150.0)
    kills = kill_at_random_points(cli, smtp_server, campaign_id, total, rounds=4)
    assert kills >= 2
    out = cli.run_process("campaign", "run", str(campaign_id), timeout=RUN_TIMEOUT_S)
    assert out.exit_code == 0, out.output
    got = received(smtp_server)
    assert not [a for a, n in got.items() if n > 1], "an address got two letters"
    unknown, sent, counts = asyncio.run(outcomes(url, campaign_id))
    assert sent <= set(got)
    assert set(emails) == sent | unknown
    assert len(unknown) <= WINDOW * kills
    assert counts["sending"] == counts["pending"] == counts["deferred"] == 0
    assert status(cli, campaign_id)["state"] == "finished"
    # the marketer's choice: offer the unknown ones again
    cli.ok("campaign", "resend-unknown", str(campaign_id))
    again = cli.run_process("campaign", "run", str(campaign_id), timeout=RUN_TIMEOUT_S)
    assert again.exit_code == 0, again.output
    assert set(received(smtp_server)) == set(emails)


def test_two_worker_processes_on_postgresql_send_each_letter_once(
    tmp_path: Path, smtp_server: SmtpServer, postgres_server: PostgresServer
) -> None:
    url = postgres_server.create_database()
    total = 400
    emails, template_id = asyncio.run(prepare(url, total))
    cli = Touchhub(config=write_config(tmp_path, url, smtp_server))
    campaign_id = create_and_start(cli, template_id, throttle=100.0)
    workers = [cli.start("campaign", "run", str(campaign_id)) for _ in range(2)]
    for worker in workers:
        assert worker.wait(timeout=RUN_TIMEOUT_S) == 0
        assert worker.stderr is not None
        worker.stderr.close()
    got = received(smtp_server)
    assert sorted(got) == sorted(emails)
    assert set(got.values()) == {1}
    senders = asyncio.run(workers_of(url, campaign_id))
    assert senders == 2, "both processes should have sent part of the campaign"
