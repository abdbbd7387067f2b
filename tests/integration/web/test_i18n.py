"""`GET /i18n/{locale}.json`: the dashboard's words, without a token, in the store's language."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from hub.activity import ActivityStore
from hub.config import Settings
from hub.i18n.catalogue import entries
from tests.helpers.web import ApiWorld, api_world


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[ActivityStore]:
    opened = await ActivityStore.open(f"sqlite:///{tmp_path / 'i18n.db'}")
    try:
        yield opened
    finally:
        await opened.close()


async def _catalogue(api: ApiWorld, locale: str) -> dict[str, object]:
    resp = await api.get(f"/i18n/{locale}.json", who=None)
    assert resp.status == 200, await resp.text()
    assert resp.headers["Content-Type"].startswith("application/json")
    assert "default-src 'self'" in resp.headers["Content-Security-Policy"]
    body: dict[str, object] = await resp.json()
    return body


async def test_a_moscow_store_speaks_russian_and_english_on_request(
    store: ActivityStore,
) -> None:
    async with api_world(store) as api:
        default = await _catalogue(api, "default")
        assert default["locale"] == "ru" and default["default"] == "ru"
        assert default["locales"] == ["en", "ru"]
        messages = default["messages"]
        assert isinstance(messages, dict)
        assert messages["status.no_answer"] == "Нет ответа"
        assert messages["indicator.client_base_quality"] == "Качество клиентской базы"
        assert messages["count.calls"] == {
            "one": "{n} звонок",
            "few": "{n} звонка",
            "many": "{n} звонков",
            "other": "{n} звонка",
        }
        assert set(messages) == set(entries())
        english = await _catalogue(api, "en")
        assert english["locale"] == "en" and english["default"] == "ru"
        assert english["messages"]["status.no_answer"] == "No answer"  # type: ignore[index]
        # A locale the hub does not speak gets English, not an error.
        assert (await _catalogue(api, "de-DE"))["locale"] == "en"
        assert (await _catalogue(api, "ru-RU"))["locale"] == "ru"


@pytest.mark.parametrize(
    "section",
    [{"web": {"locale": "en"}}, {"kpi": {"timezone": "Europe/Berlin"}}],
)
async def test_web_locale_or_time_zone_picks_english(
    store: ActivityStore, section: dict[str, dict[str, str]]
) -> None:
    async with api_world(store, settings=Settings.model_validate(section)) as api:
        assert (await _catalogue(api, "default"))["locale"] == "en"
