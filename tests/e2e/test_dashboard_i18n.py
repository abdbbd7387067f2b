"""The dashboard in Russian (the default of a Moscow company) and English, in real Chromium.

Every page is opened at 1,400 and 390 CSS pixels in both languages and kept as a
screenshot; in Russian the visible text (and tooltips, labels, placeholders) must hold
no English word of the catalogue and no raw code (``no_answer``, ``outbound_calls``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta

import pytest
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from hub.activity import ActivityStore
from hub.i18n.catalogue import entries
from hub.model import Address, AddressKind, Channel, Direction, Status, Touch, utcnow
from kpi.catalogue import load_catalogue
from tests.e2e.conftest import IVAN_EMAIL, E2EWorld, seed
from tests.helpers.browser import (
    LiveApp,
    chromium,
    console_errors,
    horizontal_overflow,
    phone_viewport,
    screenshot,
    wait,
    wait_css,
    wait_page,
)
from tests.helpers.fake_messenger import incoming
from tests.helpers.web import EXTENSIONS

TASK_RESULT = "Договорились о встрече во вторник"
TASK_NOTE = "Перезвонить после обеда"
MEETING_RESULT = "Подписали договор"
OLD_NAME = "Иван Петров (старая карточка)"
OLD_EMAIL = "i.petrov@old.example.com"
WIDE = (1400, 900)


@dataclass(frozen=True)
class World:
    base: E2EWorld
    merged: int


async def seed_more(store: ActivityStore) -> World:
    """The e2e world, plus Ivan's 30-minute task and a meeting with results, and a
    second card of Ivan's merged into his."""
    base = await seed(store)
    now = utcnow()
    for i, (channel, minutes, result, note) in enumerate(
        [
            (Channel.TASK, 30, TASK_RESULT, TASK_NOTE),
            (Channel.MEETING, 90, MEETING_RESULT, None),
        ]
    ):
        await store.record(
            [
                Touch(
                    source="e2e:manual",
                    external_id=f"i18n-{i}",
                    channel=channel,
                    direction=Direction.OUT,
                    status=Status.COMPLETED,
                    occurred_at=now - timedelta(minutes=3 + i),
                    completed_at=now - timedelta(minutes=2 + i),
                    duration_seconds=minutes * 60.0,
                    counterparts=(Address(kind=AddressKind.EMAIL, value=IVAN_EMAIL),),
                    employee=Address(kind=AddressKind.EXTENSION, value=EXTENSIONS["alice"]),
                    preview=note,
                    result=result,
                )
            ]
        )
    old = await store.contacts.create(
        OLD_NAME,
        addresses=(Address(kind=AddressKind.EMAIL, value=OLD_EMAIL),),
        owner_employee_id=base.employees["alice"],
    )
    await store.contacts.merge(old, base.ivan, by="test")
    # A client's chat nobody has answered, for the Dialogs page.
    await store.record(
        [incoming("telegram", "support", "9009", "Вы доставляете в Казань?", now - timedelta(minutes=7))]
    )
    return World(base=base, merged=old)


@pytest.fixture(scope="module")
def live_ru(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveApp, World]]:
    """The app with default settings: `[kpi] timezone` Europe/Moscow, so Russian."""
    app = LiveApp(tmp_path_factory.mktemp("e2e-ru") / "touchhub.db")
    world = app.start(seed_more)
    try:
        yield app, world
    finally:
        app.stop()


@pytest.fixture(scope="module")
def browser_ru(tmp_path_factory: pytest.TempPathFactory) -> Iterator[webdriver.Chrome]:
    with chromium(tmp_path_factory.mktemp("chrome-ru"), size=WIDE) as driver:
        yield driver


Live = tuple[LiveApp, World]


def pages(world: World) -> list[tuple[str, str, str]]:
    """(name, page, hash) of every page a head reaches."""
    base = world.base
    alice = base.employees["alice"]
    return [
        ("my", "my", "#/my"),
        ("monitor", "monitor", "#/monitor"),
        (
            "drill-calls",
            "drill",
            f"#/drill?indicator=outbound_calls&employee={alice}&period={base.month}",
        ),
        (
            "drill-contacts",
            "drill",
            f"#/drill?indicator=client_base_quality&employee={alice}&period={base.month}",
        ),
        ("contact", "contact", f"#/contact/{base.ivan}"),
        ("contact-merged", "contact", f"#/contact/{world.merged}"),
        ("plans", "plans", "#/plans"),
        ("dialogs", "dialogs", "#/dialogs"),
        ("previous-month", "my", f"#/my?period={base.previous}"),
    ]


def start(driver: webdriver.Chrome, live: Live, who: str | None, locale: str | None) -> None:
    """A fresh browser state: `who`'s token (None: logged out) and a chosen language."""
    app, world = live
    driver.get(f"{app.url}#/my")
    driver.execute_script("localStorage.clear();")
    if who is not None:
        driver.execute_script(
            "localStorage.setItem('touchhub.token', arguments[0]);", world.base.tokens[who]
        )
    if locale is not None:
        driver.execute_script("localStorage.setItem('touchhub.locale', arguments[0]);", locale)


def show(driver: webdriver.Chrome, live: Live, page: str, hash_: str) -> None:
    app, _ = live
    driver.get(f"{app.url}{hash_}")
    driver.refresh()
    wait_page(driver, page)


def english_fragments() -> set[str]:
    """Pieces of every English message (placeholders cut out) that Russian does not share."""
    pieces: set[str] = set()
    for texts in entries().values():
        en, ru = texts["en"], texts.get("ru")
        en_all = list(en.values()) if isinstance(en, dict) else [en]
        ru_all = " ".join(ru.values()) if isinstance(ru, dict) else str(ru)
        for text in en_all:
            for piece in re.split(r"\{\w+\}", text):
                piece = piece.strip(" ·:().,‹›←…\"")
                if re.search(r"[A-Za-z]{3}", piece) and piece not in ru_all:
                    pieces.add(piece)
    return pieces


def raw_codes() -> set[str]:
    """Codes the API speaks that a person must never read as they are."""
    codes = {s.value for s in Status} | {c.value for c in Channel}
    codes |= {"incoming", "outgoing", "internal", "admin", "head", "employee"}
    codes |= set(load_catalogue())
    return codes


def visible_text(driver: webdriver.Chrome) -> str:
    """What a reader meets: the text, and the tooltips, labels and placeholders."""
    return str(
        driver.execute_script(
            """
            // A command to type (pre.command) is shell, not prose: left out.
            let body = document.body.innerText;
            for (const pre of document.querySelectorAll('pre.command')) body = body.replace(pre.innerText, '');
            const parts = [document.title, body];
            for (const node of document.querySelectorAll('[title],[aria-label],[placeholder]')) {
              for (const name of ['title', 'aria-label', 'placeholder']) {
                const value = node.getAttribute(name);
                if (value) parts.push(value);
              }
            }
            return parts.join('\\n');
            """
        )
    )


def english_left(text: str, fragments: set[str], codes: set[str]) -> list[str]:
    found = [f for f in fragments if re.search(rf"(?<![\w-]){re.escape(f)}(?![\w-])", text)]
    found += [c for c in codes if re.search(rf"(?<![\w.@-]){re.escape(c)}(?![\w.@-])", text)]
    return sorted(found)


def test_the_catalogue_has_every_word_in_both_languages() -> None:
    missing = [key for key, texts in entries().items() if set(texts) != {"en", "ru"}]
    assert not missing
    plural = {k: t for k, t in entries().items() if isinstance(t["en"], dict)}
    for key, texts in plural.items():
        assert isinstance(texts["ru"], dict), key
        assert {"one", "few", "many", "other"} <= set(texts["ru"]), key
    names = {f"indicator.{code}" for code in load_catalogue()}
    assert names <= set(entries()), names - set(entries())


def test_russian_pages_show_no_english_and_no_codes(browser_ru: webdriver.Chrome, live_ru: Live) -> None:
    _, world = live_ru
    fragments, codes = english_fragments(), raw_codes()
    assert "No answer" in fragments and "no_answer" in codes  # the check can fail
    start(browser_ru, live_ru, None, None)
    browser_ru.refresh()
    wait_css(browser_ru, "#token")
    assert browser_ru.execute_script("return document.documentElement.lang") == "ru"
    text = visible_text(browser_ru)
    assert "Вход в touchhub" in text
    assert english_left(text, fragments, codes) == []
    start(browser_ru, live_ru, "head", None)
    for name, page, hash_ in pages(world):
        show(browser_ru, live_ru, page, hash_)
        text = visible_text(browser_ru)
        assert english_left(text, fragments, codes) == [], name
    assert not [e for e in console_errors(browser_ru) if "Failed to load resource" not in e]


def test_contact_page_in_russian(browser_ru: webdriver.Chrome, live_ru: Live) -> None:
    _, world = live_ru
    start(browser_ru, live_ru, "head", None)
    show(browser_ru, live_ru, "contact", f"#/contact/{world.base.ivan}")
    main = browser_ru.find_element(By.TAG_NAME, "main").text
    assert "Назад" in main
    task = wait_css(browser_ru, '.timeline-item[data-channel="task"]').text
    assert "30 мин" in task and "Выполнено" in task
    assert TASK_RESULT in task and TASK_NOTE in task
    assert MEETING_RESULT in wait_css(browser_ru, '.timeline-item[data-channel="meeting"]').text
    assert "Пропущен" not in task
    call = browser_ru.find_element(By.CSS_SELECTOR, '.timeline-item[data-channel="call"]').text
    assert "Звонок" in call and ("исходящий" in call or "входящий" in call)
    show(browser_ru, live_ru, "contact", f"#/contact/{world.merged}")
    note = wait_css(browser_ru, ".merged-from").text
    assert OLD_NAME in note and f"№{world.base.ivan}" in note and "Ivan Petrov" in note
    # The way back leads where the reader came from.
    show(browser_ru, live_ru, "contact", f"#/contact/{world.base.ivan}")
    browser_ru.find_element(By.CSS_SELECTOR, "a.back").click()
    wait(browser_ru).until(lambda d: f"contact/{world.merged}" in d.current_url)


def test_language_switch_is_remembered(browser_ru: webdriver.Chrome, live_ru: Live) -> None:
    start(browser_ru, live_ru, "head", None)
    show(browser_ru, live_ru, "my", "#/my")
    assert "Мои показатели" in wait_css(browser_ru, "h1").text
    Select(browser_ru.find_element(By.ID, "lang")).select_by_value("en")
    wait(browser_ru).until(lambda d: "My indicators" in d.find_element(By.TAG_NAME, "h1").text)
    wait_page(browser_ru, "my")
    browser_ru.refresh()
    wait_page(browser_ru, "my")
    assert "My indicators" in browser_ru.find_element(By.TAG_NAME, "h1").text
    assert browser_ru.execute_script("return document.documentElement.lang") == "en"


@pytest.mark.parametrize("locale", ["ru", "en"])
def test_every_page_in_both_sizes(
    browser_ru: webdriver.Chrome, live_ru: Live, locale: str
) -> None:
    """Screenshots of every page at 1,400 and 390 px, kept under test-artifacts/."""
    _, world = live_ru
    for width in (1400, 390):
        if width == 390:
            phone_viewport(browser_ru, True)
        else:
            phone_viewport(browser_ru, False)
            browser_ru.set_window_size(*WIDE)
        try:
            start(browser_ru, live_ru, None, locale)
            browser_ru.refresh()
            wait_css(browser_ru, "#token")
            screenshot(browser_ru, f"i18n-{locale}-{width}-login")
            start(browser_ru, live_ru, "head", locale)
            for name, page, hash_ in pages(world):
                show(browser_ru, live_ru, page, hash_)
                assert browser_ru.execute_script("return document.documentElement.lang") == locale
                if width == 390:
                    assert horizontal_overflow(browser_ru) <= 0, f"{name} scrolls sideways"
                screenshot(browser_ru, f"i18n-{locale}-{width}-{name}")
            start(browser_ru, live_ru, "alice", locale)
            show(browser_ru, live_ru, "my", "#/my")
            screenshot(browser_ru, f"i18n-{locale}-{width}-my-employee")
        finally:
            phone_viewport(browser_ru, False)
