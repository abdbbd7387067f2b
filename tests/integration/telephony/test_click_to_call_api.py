"""`POST /api/v1/calls` through a running hub, with the adapter's real AMI event filter."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest

from hub.activity import ActivityFilter, ActivityStore
from hub.config import load_settings
from hub.model import Address, AddressKind, Channel
from hub.runtime import Hub
from hub.telephony.ami_client import CLIENT_EVENTS, event_filters_for
from hub.telephony.call_assembler import ASSEMBLER_EVENTS
from tests.helpers.ami_server import (
    FakeAmiServer,
    ServerPlan,
    events_only,
    frames,
    recordings,
)
from tests.helpers.postgres import free_port

pytestmark = pytest.mark.timeout(90)
CLIENT = "+74951234567"
BUSY = next(r for r in recordings() if r.name.startswith("P15"))


@dataclass
class Running:
    pbx: FakeAmiServer
    store: ActivityStore
    base: str
    auth: dict[str, str]


@asynccontextmanager
async def running_hub(tmp_path: Path, plan: ServerPlan, extra: str = "") -> AsyncIterator[Running]:
    port = free_port()
    async with FakeAmiServer(plan=plan) as pbx:
        config = tmp_path / "touchhub.toml"
        config.write_text(
            f'demo_on_empty = false\n[store]\nurl = "sqlite:///{tmp_path}/hub.db"\n'
            f"[web]\nport = {port}\n"
            f'[telephony.pbx.office]\nami = "{pbx.url}"\npassword = "{pbx.secret}"\n'
            "internal_pattern = '^1\\d\\d$'\ntrunk_pattern = 'PJSIP/provider-'\n" + extra,
            encoding="utf-8",
        )
        settings = load_settings(config, environ={})
        store = await ActivityStore.open(settings.store_url)
        await store.employees.add(
            "Иван Петров", addresses=[Address(kind=AddressKind.EXTENSION, value="101")]
        )
        token = await store.tokens.create("admin", "admin")
        hub = Hub(settings, store)
        await hub.start()
        try:
            yield Running(pbx, store, f"http://127.0.0.1:{port}/api/v1", {"Authorization": f"Bearer {token}"})
        finally:
            await hub.stop()
            await store.close()


def test_every_event_the_calls_are_built_from_passes_the_adapters_filter() -> None:
    filters = event_filters_for(ASSEMBLER_EVENTS)
    server = FakeAmiServer()
    server.filters[0] = list(filters)
    for name in sorted((ASSEMBLER_EVENTS | CLIENT_EVENTS) - {"VarSet"}):
        assert server.passes(0, f"Event: {name}\r\nUniqueid: 1.1\r\n\r\n".encode()), name
    assert "OriginateResponse" in ASSEMBLER_EVENTS  # click-to-call waits for it
    recording = b"Event: VarSet\r\nVariable: MIXMONITOR_FILENAME\r\nValue: /x.wav\r\n\r\n"
    assert server.passes(0, recording)
    assert not server.passes(0, b"Event: VarSet\r\nVariable: BRIDGEPEER\r\nValue: x\r\n\r\n")
    assert not server.passes(0, b"Event: DeviceStateChange\r\nDevice: PJSIP/101\r\n\r\n")


async def test_click_to_call_answers_201_at_once_under_the_filter(tmp_path: Path) -> None:
    async with running_hub(tmp_path, ServerPlan()) as hub:
        async with aiohttp.ClientSession() as http:
            started = time.monotonic()
            async with http.post(
                f"{hub.base}/calls", json={"employee": "101", "number": CLIENT}, headers=hub.auth
            ) as resp:
                assert resp.status == 201, await resp.text()
            assert time.monotonic() - started < 5
        assert hub.pbx.filters[0], "the adapter installed its event filter"
        (originate,) = hub.pbx.actions_named("Originate")
        assert originate["CallerID"] == '"Иван Петров" <101>'  # never the client's own number
        assert CLIENT not in originate["CallerID"]


async def test_the_company_caller_id_is_used_when_configured(tmp_path: Path) -> None:
    extra = 'originate_callerid = \'"Acme" <+74950000000>\'\n'
    async with running_hub(tmp_path, ServerPlan(), extra) as hub:
        async with aiohttp.ClientSession() as http, http.post(
            f"{hub.base}/calls", json={"employee": "101", "number": CLIENT}, headers=hub.auth
        ) as resp:
            assert resp.status == 201, await resp.text()
        (originate,) = hub.pbx.actions_named("Originate")
        assert originate["CallerID"] == '"Acme" <+74950000000>'


def _busy_plan() -> ServerPlan:
    """The recorded busy click-to-call: the leg, Asterisk's refusal, then the Hangup (cause 17)."""
    fr = frames(events_only(BUSY.read()))
    cut = next(i for i, f in enumerate(fr) if f.startswith(b"Event: OriginateResponse"))
    return ServerPlan(
        originate_response="Failure",
        originate_reason="0",
        originate_before_response=b"".join(fr[:cut]),
        originate_stream=b"".join(fr[cut + 1 :]),
    )


async def test_a_busy_employee_phone_is_said_and_logged_as_their_failed_attempt(
    tmp_path: Path,
) -> None:
    async with running_hub(tmp_path, _busy_plan()) as hub:
        async with aiohttp.ClientSession() as http, http.post(
            f"{hub.base}/calls", json={"employee": "101", "number": CLIENT}, headers=hub.auth
        ) as resp:
            body = await resp.json()
            assert resp.status == 409, body
        assert body["error"]["code"] == "call_refused"
        assert "телефон сотрудника занят" in body["error"]["message"]  # a Moscow store: Russian
        deadline = time.monotonic() + 20
        while True:
            page = await hub.store.activities.list(ActivityFilter(channel=Channel.CALL), limit=10)
            if page.items or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.05)
        (call,) = page.items
        assert (call["direction"], call["status"]) == ("out", "failed")
        assert call["employee_id"] is not None
