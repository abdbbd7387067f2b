"""The Call rounds page in real headless Chromium, in Russian and English, at 1400 and 390 px:
an employee's calls with their scripts, closing one with a result, click-to-call, and the
head's progress table.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from selenium import webdriver
from selenium.webdriver.common.by import By

from hub.activity import ActivityStore
from hub.model import Status, utcnow
from tests.e2e.test_dashboard_i18n import english_fragments, english_left, raw_codes, visible_text
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
from tests.helpers.call_round_world import CLIENTS, RoundWorld, call, seed_round_world, start_round

WIDE = (1400, 900)
ROUND = "Весенний обзвон"


@dataclass(frozen=True)
class World:
    rounds: RoundWorld
    campaign_id: int


async def seed(store: ActivityStore) -> World:
    """Alice's and Bob's round: Ivan reached by the PBX, Petr tried once without answer."""
    rounds = await seed_round_world(store)
    cid = await start_round(store, rounds, name=ROUND, max_attempts=3)
    now = utcnow()
    await store.record(
        [
            call("alice", CLIENTS["Ivan Petrov"][0], now),
            call("bob", CLIENTS["Petr Sokolov"][0], now, status=Status.NO_ANSWER),
        ]
    )
    return World(rounds=rounds, campaign_id=cid)


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveApp, World]]:
    """Default settings: `[kpi] timezone` Europe/Moscow, so Russian unless asked otherwise."""
    app = LiveApp(tmp_path_factory.mktemp("e2e-rounds") / "touchhub.db")
    world: World = app.start(seed)
    try:
        yield app, world
    finally:
        app.stop()


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[webdriver.Chrome]:
    with chromium(tmp_path_factory.mktemp("chrome-rounds"), size=WIDE) as driver:
        yield driver


Live = tuple[LiveApp, World]


def open_rounds(driver: webdriver.Chrome, live: Live, who: str, locale: str) -> None:
    app, world = live
    driver.get(f"{app.url}#/rounds")
    driver.execute_script("localStorage.clear();")
    driver.execute_script(
        "localStorage.setItem('touchhub.token', arguments[0]);", world.rounds.tokens[who]
    )
    driver.execute_script("localStorage.setItem('touchhub.locale', arguments[0]);", locale)
    driver.refresh()
    wait_page(driver, "rounds")


def call_card(driver: webdriver.Chrome, contact: str) -> webdriver.remote.webelement.WebElement:
    for card in driver.find_elements(By.CSS_SELECTOR, ".round-call"):
        if card.find_element(By.CSS_SELECTOR, ".round-who").text == contact:
            return card
    raise AssertionError(f"no call to {contact} on the page")


@pytest.mark.parametrize("locale", ["ru", "en"])
def test_the_page_in_both_languages_and_sizes(
    browser: webdriver.Chrome, live: Live, locale: str
) -> None:
    fragments, codes = english_fragments(), raw_codes()
    for width in (1400, 390):
        phone_viewport(browser, width == 390)
        if width == 1400:
            browser.set_window_size(*WIDE)
        try:
            open_rounds(browser, live, "alice", locale)
            names = [e.text for e in browser.find_elements(By.CSS_SELECTOR, ".round-who")]
            # Alice's open calls only: Ivan's was closed by the PBX, Petr is Bob's
            assert sorted(names) == ["Nikolay Orlov", "Olga Ivanova"]
            olga = call_card(browser, "Olga Ivanova")
            assert "Здравствуйте, Olga Ivanova! Звоним от Acme" in olga.text
            assert ROUND in olga.text
            assert browser.find_elements(By.CSS_SELECTOR, ".round-progress") == []
            if width == 390:
                assert horizontal_overflow(browser) <= 0, "the calls scroll sideways"
            if locale == "ru":
                assert "Позвонить" in olga.text and "Мои звонки" in browser.page_source
                assert english_left(visible_text(browser), fragments, codes) == []
            screenshot(browser, f"rounds-{locale}-{width}-employee")

            open_rounds(browser, live, "head", locale)
            table = wait_css(browser, ".round-progress .round-table")
            rows = {
                r.find_element(By.CSS_SELECTOR, "th").text: {
                    td.get_attribute("data-col"): td.text for td in r.find_elements(By.CSS_SELECTOR, "td")
                }
                for r in table.find_elements(By.CSS_SELECTOR, "tbody tr")
            }
            assert rows["Alice"]["done"] == "1" and rows["Alice"]["open"] == "2"
            assert rows["Bob"]["attempts"] == "1" and rows["Bob"]["open"] == "2"
            total = "итого" if locale == "ru" else "total"
            assert rows[total]["total"] == "5"
            if width == 390:
                assert horizontal_overflow(browser) <= 0, "the progress scrolls sideways"
            if locale == "ru":
                assert "идёт" in browser.find_element(By.CSS_SELECTOR, ".round-progress h3").text
                assert english_left(visible_text(browser), fragments, codes) == []
            screenshot(browser, f"rounds-{locale}-{width}-head")
        finally:
            phone_viewport(browser, False)
    assert not [e for e in console_errors(browser) if "Failed to load resource" not in e]


def test_an_employee_closes_a_call_and_asks_the_pbx_to_dial(
    browser: webdriver.Chrome, live: Live
) -> None:
    app, world = live
    browser.set_window_size(*WIDE)
    open_rounds(browser, live, "bob", "en")
    anna = call_card(browser, "Anna Belova")
    # click-to-call goes through POST /api/v1/calls; this app has no PBX connected, and
    # the server's refusal (not a malformed request) comes back to the card
    anna.find_element(By.CSS_SELECTOR, ".call-button").click()
    error = wait_css(browser, '.round-call[data-contact] .round-status .state.error')
    assert "PBX" in error.text
    # closing needs a result; with one, the call leaves the list
    anna = call_card(browser, "Anna Belova")
    anna.find_element(By.CSS_SELECTOR, '[data-close="done"]').click()
    assert anna.find_element(By.TAG_NAME, "textarea") == browser.switch_to.active_element
    anna.find_element(By.TAG_NAME, "textarea").send_keys("Agreed on a demo on Tuesday")
    anna.find_element(By.CSS_SELECTOR, '[data-close="done"]').click()
    # read in the page, where nothing goes stale while it is drawn again
    wait(browser).until(
        lambda d: d.execute_script(
            "return document.querySelector('main').dataset.state === 'ready'"
            " && [...document.querySelectorAll('.round-who')].map((e) => e.textContent);"
        )
        == ["Petr Sokolov"]
    )
    petr = call_card(browser, "Petr Sokolov")
    assert "1 attempt" in petr.text
    items = app.run(app.store.call_rounds.items(campaign_id=world.campaign_id))  # type: ignore[union-attr]
    closed = next(i for i in items if i.contact_name == "Anna Belova")
    assert closed.state == "done" and closed.result == "Agreed on a demo on Tuesday"
