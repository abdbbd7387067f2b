"""Fixtures of the messenger tests: the fake Bot API, a store on SQLite, bot settings."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from hub.activity import ActivityStore, BatchWriter
from hub.activity.schema import activities, identities
from hub.channels.messengers.settings import MessengersSettings, TelegramBotSettings
from hub.channels.messengers.telegram_shelves import SUFFIX, records_in
from hub.channels.messengers.telegram_spool import SPOOL_PREFIX
from hub.channels.messengers.telegram_updates import updates_in
from tests.helpers.cli import Touchhub
from tests.helpers.fake_telegram import TOKEN, FakeTelegram, running_fake_telegram
from tests.helpers.postgres import free_port

LINK_SECRET = "link-secret-for-tests-0123456789"
WEBHOOK_SECRET = "webhook-secret_0123456789"


@pytest.fixture
async def fake_tg() -> AsyncIterator[FakeTelegram]:
    async with running_fake_telegram() as fake:
        yield fake


@pytest.fixture
async def tg_store(tmp_path: Path, migrated_sqlite: Path) -> AsyncIterator[ActivityStore]:
    shutil.copyfile(migrated_sqlite, tmp_path / "tg.db")
    store = await ActivityStore.open(f"sqlite:///{tmp_path}/tg.db")
    yield store
    await store.close()


@pytest.fixture
async def writer(tg_store: ActivityStore) -> AsyncIterator[BatchWriter]:
    async with tg_store.writer() as w:
        yield w


def folder_batches(folder: Path) -> dict[int, list[int]]:
    """What a folder shelf keeps: each whole batch's next offset → its update ids."""
    if not folder.is_dir():
        return {}
    return {
        record.next_offset: [u["update_id"] for u in updates_in(record.data.decode())]
        for path in sorted(folder.glob(f"*{SUFFIX}"))
        for record in records_in(path.read_bytes(), path.name)
    }


async def kept_batches(store: ActivityStore, source: str = "telegram:main") -> dict[int, list[int]]:
    """What the spool's shelf keeps for `source` in `store` (a folder beside a SQLite file,
    checkpoints otherwise): next offset → update ids."""
    folder = store.spool_folder(source)
    if folder is not None:
        return folder_batches(folder)
    entries = await store.checkpoints_under(source, SPOOL_PREFIX)
    return {int(k.removeprefix(SPOOL_PREFIX)): [u["update_id"] for u in updates_in(v)] for k, v in entries.items()}


def settings_for(fake: FakeTelegram, **bot: object) -> MessengersSettings:
    """`[messengers]` with one bot ``main`` talking to the fake."""
    values: dict[str, object] = {
        "token": TOKEN,
        "api_url": fake.url,
        "poll_timeout_s": 0,
        "per_chat_rate": 50.0,
        "per_chat_burst": 5,
        **bot,
    }
    return MessengersSettings(
        telegram={"main": TelegramBotSettings.model_validate(values)},
        link_secret=LINK_SECRET,
        public_url="http://127.0.0.1:9",
        retry_base_s=0.05,
        retry_max_s=0.2,
    )


def polling_hub(tmp_path: Path, fake: FakeTelegram) -> Touchhub:
    """`touchhub` configured to poll `fake` ten updates at a time into a SQLite store in
    `tmp_path` (hub.db), the bot's token given through the environment."""
    config = tmp_path / "touchhub.toml"
    config.write_text(
        f'demo_on_empty = false\n[store]\nurl = "sqlite:///{tmp_path}/hub.db"\n'
        f"[web]\nport = {free_port()}\n"
        '[messengers.telegram.main]\ntoken = "env:TEST_TG_TOKEN"\n'
        f'api_url = "{fake.url}"\npoll_timeout_s = 1\npoll_limit = 10\n',
        encoding="utf-8",
    )
    return Touchhub(config=config, env={"TEST_TG_TOKEN": TOKEN})


async def activity_rows(store: ActivityStore, source: str = "telegram:main") -> dict[str, dict[str, Any]]:
    """Every activity of `source`, by external id, as stored."""
    async with store.engine.connect() as conn:
        result = await conn.execute(select(activities).where(activities.c.source == source))
        return {row["external_id"]: dict(row) for row in result.mappings()}


async def identity_of(store: ActivityStore, kind: str, value: str) -> dict[str, Any] | None:
    """The identity row (kind, normalised value), or None."""
    async with store.engine.connect() as conn:
        row = (
            await conn.execute(
                select(identities).where(identities.c.kind == kind, identities.c.value == value)
            )
        ).mappings().first()
    return dict(row) if row is not None else None
