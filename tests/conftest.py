"""Fixtures shared by every test: the store on SQLite and on a real PostgreSQL server, Dovecot.

Servers are started once per session and only when a test asks for them; each test gets
its own part of the server (a database, a set of mailboxes), so tests stay independent.
"""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from hypothesis import settings
from hypothesis.configuration import set_hypothesis_home_dir
from hypothesis.database import DirectoryBasedExampleDatabase

from hub.activity import ActivityStore
from tests.helpers.dovecot import (
    DEFAULT_USERS,
    Dovecot,
    DovecotServer,
    running_dovecot_server,
)
from tests.helpers.postgres import PostgresServer, running_postgres

ROOT = Path(__file__).resolve().parents[1]
#: The shared folder (recordings, seeds) sits beside the project root.
SHARED = ROOT.parent / "shared"

#: Hypothesis keeps what it stores (failing examples, caches) out of the working tree.
HYPOTHESIS_HOME = Path(
    os.environ.get("HYPOTHESIS_STORAGE_DIRECTORY")
    or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "touchhub" / "hypothesis"
)
set_hypothesis_home_dir(HYPOTHESIS_HOME)
settings.register_profile("dev", database=DirectoryBasedExampleDatabase(HYPOTHESIS_HOME / "examples"))
#: CI (scripts/test.sh) keeps nothing between runs and prints how to reproduce a failure.
settings.register_profile("ci", database=None, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """One PostgreSQL server for the whole session; each test gets its own database."""
    with running_postgres() as server:
        yield server


@pytest.fixture
def pg_url(postgres_server: PostgresServer) -> str:
    """A fresh, empty PostgreSQL database."""
    return postgres_server.create_database()


@pytest.fixture(scope="session")
def dovecot_server() -> Iterator[DovecotServer]:
    """One Dovecot for the whole session; each test gets its own users (see `dovecot`)."""
    with running_dovecot_server() as server:
        yield server


@pytest.fixture
def dovecot(dovecot_server: DovecotServer) -> Iterator[Dovecot]:
    """Users ivan and petr with empty INBOX and SPECIAL-USE Sent, fresh for this test."""
    dovecot_server.ensure_running()
    yield dovecot_server.mailboxes(DEFAULT_USERS)
    dovecot_server.ensure_running()  # a test that stopped the server leaves it up for the next


async def _migrate(url: str) -> None:
    store = await ActivityStore.open(url)
    await store.close()


@pytest.fixture(scope="session")
def migrated_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite store migrated once per session: tests start from copies of it, since
    running every migration costs each test ~0.1 s (tests of migrating open their own)."""
    path = tmp_path_factory.mktemp("migrated") / "touchhub.db"
    asyncio.run(_migrate(f"sqlite:///{path}"))
    assert not path.with_name(path.name + "-wal").exists(), "the store closed with its log"
    return path


@pytest.fixture(scope="session")
def migrated_postgres(postgres_server: PostgresServer) -> str:
    """A PostgreSQL database migrated once per session, the template of each test's (~0.3 s
    saved a test)."""
    name = "t_migrated"
    asyncio.run(_migrate(postgres_server.create_database(name)))
    return name


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The store URL, once per backend: the same tests run on SQLite and PostgreSQL. The
    database is already migrated (a copy of the session's); opening it migrates nothing."""
    if request.param == "sqlite":
        migrated: Path = request.getfixturevalue("migrated_sqlite")
        shutil.copyfile(migrated, tmp_path / "touchhub.db")
        return f"sqlite:///{tmp_path}/touchhub.db"
    server: PostgresServer = request.getfixturevalue("postgres_server")
    return server.create_database(template=request.getfixturevalue("migrated_postgres"))


@pytest.fixture
async def store(store_url: str) -> AsyncIterator[ActivityStore]:
    """A migrated store on each backend."""
    opened = await ActivityStore.open(store_url)
    try:
        yield opened
    finally:
        await opened.close()


@pytest.fixture
async def sqlite_store(tmp_path: Path, migrated_sqlite: Path) -> AsyncIterator[ActivityStore]:
    """A migrated store on SQLite only, for tests about SQLite itself."""
    shutil.copyfile(migrated_sqlite, tmp_path / "touchhub.db")
    opened = await ActivityStore.open(f"sqlite:///{tmp_path}/touchhub.db")
    try:
        yield opened
    finally:
        await opened.close()
