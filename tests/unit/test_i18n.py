"""The catalogue and Babel's formats: plurals, numbers, durations, names of codes."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from hub import i18n
from hub.i18n.catalogue import entries
from hub.model import Channel, Direction, Status


@pytest.mark.parametrize(
    ("n", "ru", "en"),
    [
        (1, "1 звонок", "1 call"),
        (2, "2 звонка", "2 calls"),
        (5, "5 звонков", "5 calls"),
        (11, "11 звонков", "11 calls"),
        (21, "21 звонок", "21 calls"),
        (24, "24 звонка", "24 calls"),
        (1000, "1\u00a0000 звонков", "1,000 calls"),
    ],
)
def test_counted_nouns(n: int, ru: str, en: str) -> None:
    assert i18n.counted("ru", "calls", n) == ru
    assert i18n.counted("en", "calls", n) == en


def test_numbers_dates_and_durations() -> None:
    assert i18n.number("ru", 12345.6, 1) == "12\u00a0345,6"
    assert i18n.number("en", 12345.6, 1) == "12,345.6"
    assert i18n.number("ru", None) == "—"
    assert i18n.duration("ru", 1800) == "30 мин"
    assert i18n.duration("en", 1800) == "30 min"
    assert i18n.duration("ru", 3900) == "1 ч 5 мин"
    assert i18n.duration("ru", 45) == "45 с"
    moment = datetime(2026, 12, 6, 7, 5, tzinfo=UTC)
    assert i18n.when("ru", moment, "Europe/Moscow") == "6 дек. 2026\u202fг., 10:05:00"


def test_every_code_has_a_name_in_both_languages() -> None:
    for status in Status:
        assert i18n.status_name(status.value, "ru") != status.value
        assert i18n.status_name(status.value, "en") != status.value
    for channel in Channel:
        assert i18n.channel_name(channel.value, "ru") != channel.value
    for direction in Direction:
        assert i18n.direction_name(direction.value, "ru") != direction.value
    assert i18n.status_name("no_answer", "ru") == "Нет ответа"
    assert i18n.indicator_name("missed_not_called_back", "ru") == (
        "Пропущенные звонки, по которым не перезвонили"
    )
    # An indicator of a company's own file keeps its title; an unknown code shows as itself.
    assert i18n.indicator_name("own_kpi", "ru", "Own KPI") == "Own KPI"
    assert i18n.status_name("brand_new", "ru") == "brand_new"
    assert i18n.column("fact", "ru") == "Факт" and i18n.column("fact", "en") == "Fact"
    assert i18n.colour_name("red", "ru") == "ниже 50%" and i18n.colour_name(None, "ru") == ""
    assert i18n.unit_name("touches", "ru", 1) == "касание"
    assert i18n.unit_name("touches", "ru", 5) == "касаний"
    assert i18n.trend_name("worse", "ru") == "хуже"


def test_russian_plurals_cover_every_category() -> None:
    for key, texts in entries().items():
        if isinstance(texts["en"], dict):
            ru = texts["ru"]
            assert isinstance(ru, dict), key
            for n in (1, 2, 5, 1.5):
                assert i18n.plural_category("ru", n) in ru, (key, n)


@pytest.mark.parametrize(
    ("configured", "zone", "expected"),
    [
        (None, "Europe/Moscow", "ru"),
        (None, "Asia/Vladivostok", "ru"),
        (None, "Europe/Kaliningrad", "ru"),
        (None, "Europe/Minsk", "ru"),
        (None, "Europe/Berlin", "en"),
        (None, "UTC", "en"),
        ("en", "Europe/Moscow", "en"),
        ("ru", "America/New_York", "ru"),
    ],
)
def test_default_locale(configured: str | None, zone: str, expected: str) -> None:
    assert i18n.default_locale(configured, zone) == expected
