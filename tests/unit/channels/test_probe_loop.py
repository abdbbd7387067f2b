"""`probe_forever`: what a watching adapter's health says after each answer of its probe."""

from __future__ import annotations

import asyncio

import pytest

from hub.backoff import BackoffPolicy
from hub.channels.probe_loop import probe_forever
from hub.errors import ChannelAuthError, ChannelConnectError
from hub.model import AdapterHealth, AdapterState

#: No waiting between probes or after a failure: the loop's order is what is tested.
NO_WAIT = BackoffPolicy(initial_s=0.0, max_s=0.0)
WAIT_S = 5.0


class ScriptedProbe:
    """Answers (None) or raises as scripted, noting the health state each call found."""

    def __init__(self, health: AdapterHealth, script: list[Exception | None]) -> None:
        self.health = health
        self.script = list(script)
        self.seen: list[AdapterState] = []
        self.thrice = asyncio.Event()

    async def __call__(self) -> None:
        self.seen.append(self.health.state)
        if len(self.seen) == 3:
            self.thrice.set()
        outcome = self.script.pop(0)
        if outcome is not None:
            raise outcome


async def test_answers_run_failures_back_off_and_a_refusal_stops_it() -> None:
    health = AdapterHealth(name="sms:test")
    health.stopped()
    probe = ScriptedProbe(
        health,
        [None, ChannelConnectError("down"), ChannelConnectError("down"), None,
         ChannelAuthError("wrong password")],
    )  # fmt: skip
    with pytest.raises(ChannelAuthError):
        await probe_forever(probe, health=health, interval_s=0.0, retry=NO_WAIT)
    assert probe.seen == [
        AdapterState.STARTING,
        AdapterState.RUNNING,
        AdapterState.BACKOFF,
        AdapterState.BACKOFF,
        AdapterState.RUNNING,
    ]
    assert health.state is AdapterState.FAILED
    assert health.restarts == 2
    assert health.last_error == "ChannelAuthError: wrong password"


async def test_it_probes_until_cancelled() -> None:
    health = AdapterHealth(name="vk:test")
    probe = ScriptedProbe(health, [None] * 1000)
    task = asyncio.create_task(probe_forever(probe, health=health, interval_s=0.0, retry=NO_WAIT))
    await asyncio.wait_for(probe.thrice.wait(), WAIT_S)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert health.state is AdapterState.RUNNING and health.last_error is None
