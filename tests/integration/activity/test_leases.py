"""Single-consumer leases on both stores: one holder at a time, freed by death or a lost link."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import text

from hub.activity import ActivityStore, LeaseBoard, ProcessId
from hub.activity.leases import ADVISORY_CLASS, advisory_key
from hub.config import SupervisorSettings
from hub.model import AdapterHealth, Sink
from hub.runtime import HELD, STANDBY, Supervisor

pytestmark = pytest.mark.timeout(60)

NAME = "ami:office"
HOLDER = """
import asyncio, sys
from hub.activity import ActivityStore, LeaseBoard

async def main() -> None:
    store = await ActivityStore.open(sys.argv[1])
    lease = await LeaseBoard(store.engine).try_take(sys.argv[2])
    print("taken" if lease is not None else "refused", flush=True)
    await asyncio.sleep(600)

asyncio.run(main())
"""


def _board(store: ActivityStore, who: str, pid: int) -> LeaseBoard:
    return LeaseBoard(store.engine, me=ProcessId(host=who, pid=pid), heartbeat_s=0.2)


async def test_a_second_holder_is_refused_until_the_first_releases(store: ActivityStore) -> None:
    first, second = _board(store, "alpha", 1), _board(store, "beta", 2)
    try:
        lease = await first.try_take(NAME)
        assert lease is not None
        assert await second.try_take(NAME) is None
        assert await first.try_take(NAME) is None  # not re-entrant, even for its holder
        other = await second.try_take("imap:sales")  # leases are per adapter name
        assert other is not None
        holders = await second.holders()
        assert (holders[NAME].host, holders[NAME].pid) == ("alpha", 1)
        assert (holders["imap:sales"].host, holders["imap:sales"].pid) == ("beta", 2)
        beat = holders[NAME].heartbeat_at
        await asyncio.sleep(0.6)
        assert (await second.holders())[NAME].heartbeat_at > beat  # the holder is alive

        await lease.release()
        assert lease.lost.is_set()
        assert NAME not in await second.holders()
        taken = await second.try_take(NAME)
        assert taken is not None
        assert (await first.holders())[NAME].host == "beta"
        await taken.release()
        await other.release()
    finally:
        await first.close()
        await second.close()


@contextmanager
def _holder_process(store_url: str) -> Iterator[subprocess.Popen[str]]:
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLDER, store_url, NAME],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(10)


async def test_the_lease_of_a_killed_process_is_free_within_seconds(
    store: ActivityStore, store_url: str
) -> None:
    board = _board(store, "standby", 2)
    try:
        with _holder_process(store_url) as proc:
            assert proc.stdout is not None
            line = await asyncio.to_thread(proc.stdout.readline)
            assert line.strip() == "taken", proc.stderr.read() if proc.stderr else ""
            assert await board.try_take(NAME) is None
            assert (await board.holders())[NAME].pid == proc.pid
            proc.kill()  # SIGKILL: nothing of ours runs, the OS / the server frees the lock
            await asyncio.to_thread(proc.wait, 10)
            killed = time.monotonic()
            lease = None
            while lease is None and time.monotonic() - killed < 10:
                lease = await board.try_take(NAME)
                if lease is None:
                    await asyncio.sleep(0.1)
        assert lease is not None, "the dead holder's lease was not freed"
        assert time.monotonic() - killed < 5
        assert (await board.holders())[NAME].host == "standby"
        await lease.release()
    finally:
        await board.close()


async def _backend_of_lock(store: ActivityStore, name: str) -> int:
    async with store.engine.connect() as conn:
        pid = await conn.scalar(
            text(
                "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted "
                "AND classid = :cls AND objid = (:key)::bigint::bit(32)::int::oid "
                "AND objsubid = 2"
            ),
            {"cls": ADVISORY_CLASS, "key": advisory_key(name)},
        )
    assert pid is not None, "no session holds the lock"
    return int(pid)


async def _terminate(store: ActivityStore, pid: int) -> None:
    async with store.engine.connect() as conn:
        assert await conn.scalar(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})


async def test_a_lost_postgresql_session_loses_the_lease_at_once(pg_url: str) -> None:
    store = await ActivityStore.open(pg_url)
    board, other = _board(store, "alpha", 1), _board(store, "beta", 2)
    try:
        lease = await board.try_take(NAME)
        assert lease is not None
        await _terminate(store, await _backend_of_lock(store, NAME))
        await asyncio.wait_for(lease.lost.wait(), 3)
        taken = await other.try_take(NAME)
        assert taken is not None  # the server dropped the lock with the session
        await lease.release()  # releasing a lost lease is harmless
        assert (await other.holders())[NAME].host == "beta"
        await taken.release()
    finally:
        await board.close()
        await other.close()
        await store.close()


class OneConsumer:
    """A single-consumer adapter that counts its runs and runs until cancelled."""

    single_consumer = True

    def __init__(self) -> None:
        self.name = NAME
        self.health = AdapterHealth(name=NAME)
        self.runs = 0
        self.running = asyncio.Event()

    async def run(self, sink: Sink) -> None:
        self.runs += 1
        self.running.set()
        try:
            await asyncio.Event().wait()
        finally:
            self.running.clear()

    async def sync_once(self, sink: Sink) -> None:
        return None


async def _eventually(check: object, limit: float = 5.0) -> None:
    deadline = time.monotonic() + limit
    while not check():  # type: ignore[operator]
        assert time.monotonic() < deadline, "not in time"
        await asyncio.sleep(0.02)


async def test_the_supervisor_stands_by_and_takes_over(store: ActivityStore) -> None:
    writer = store.writer()
    boards = [_board(store, "alpha", 1), _board(store, "beta", 2)]
    adapters = [OneConsumer(), OneConsumer()]
    supervisors = [
        Supervisor([a], writer, SupervisorSettings(), leases=b, lease_retry_s=0.1)  # type: ignore[list-item]
        for a, b in zip(adapters, boards, strict=True)
    ]
    await writer.start()
    try:
        supervisors[0].start()
        await _eventually(lambda: adapters[0].running.is_set())
        supervisors[1].start()
        await _eventually(lambda: supervisors[1].lease_states.get(NAME) == STANDBY)
        await asyncio.sleep(0.3)
        assert adapters[1].runs == 0  # never twice
        assert supervisors[0].health()[0]["lease"] == HELD
        assert supervisors[1].health()[0]["state"] == STANDBY

        await supervisors[0].stop()  # the active process goes away
        await _eventually(lambda: adapters[1].running.is_set(), 3)
        assert supervisors[1].health()[0]["lease"] == HELD
        assert (await boards[1].holders())[NAME].host == "beta"
    finally:
        for supervisor in supervisors:
            await supervisor.stop()
        for board in boards:
            await board.close()
        await writer.stop()


async def test_a_lost_lease_stops_the_adapter_and_it_stands_by_again(pg_url: str) -> None:
    store = await ActivityStore.open(pg_url)
    writer = store.writer()
    board = _board(store, "alpha", 1)
    adapter = OneConsumer()
    supervisor = Supervisor(
        [adapter],  # type: ignore[list-item]
        writer,
        SupervisorSettings(),
        leases=board,
        lease_retry_s=0.5,
    )
    rival = _board(store, "beta", 2)
    await writer.start()
    try:
        supervisor.start()
        await _eventually(lambda: adapter.running.is_set())
        pid = await _backend_of_lock(store, NAME)
        # Another process grabs it the moment the session dies: this one must stop.
        await _terminate(store, pid)
        rival_lease = None
        deadline = time.monotonic() + 5
        while rival_lease is None and time.monotonic() < deadline:
            rival_lease = await rival.try_take(NAME)
        assert rival_lease is not None
        await _eventually(lambda: not adapter.running.is_set(), 3)
        await _eventually(lambda: supervisor.lease_states.get(NAME) == STANDBY, 3)
        await rival_lease.release()
        await _eventually(lambda: adapter.running.is_set(), 3)  # and takes it back later
        assert adapter.runs == 2
    finally:
        await supervisor.stop()
        await board.close()
        await rival.close()
        await writer.stop()
        await store.close()
