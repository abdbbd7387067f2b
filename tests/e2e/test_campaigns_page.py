"""The Campaigns page in real headless Chromium: a marketer builds a segment and sees its
size, previews a template on a contact (a broken line shown as such), creates and starts
the campaign, and watches it reach "finished" with the true numbers — the letters going
to the real test SMTP server through the campaign runner `touchhub serve` uses.
Screenshots at 1400 and 390 px in English and Russian; in Russian the page passes the
dashboard's catalogue check (no English words, no raw codes).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from selenium import webdriver
from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait

from hub.activity import ActivityStore
from hub.campaigns.runner import CampaignRunner
from hub.config import Settings
from hub.model import Sender, Sink
from tests.e2e.test_dashboard_i18n import english_fragments, english_left, raw_codes, visible_text
from tests.helpers.browser import (
    WAIT_S,
    LiveApp,
    console_errors,
    horizontal_overflow,
    phone_viewport,
    screenshot,
    wait,
    wait_css,
    wait_page,
)
from tests.helpers.campaign_world import FAST, addresses, seed_contacts
from tests.helpers.smtp_server import SmtpServer, running_smtp
from tests.helpers.web import seed_world
from tests.integration.campaigns.test_engine import received, sender_for

WIDE = (1400, 900)
KAZAN_CLIENTS = 4
TICK_S = 0.2


@dataclass
class CampaignsWorld:
    tokens: dict[str, str] = field(default_factory=dict)
    kazan: list[int] = field(default_factory=list)


async def seed(store: ActivityStore) -> CampaignsWorld:
    seeded = await seed_world(store)
    kazan = await seed_contacts(store, addresses(KAZAN_CLIENTS))
    await seed_contacts(store, addresses(2, start=KAZAN_CLIENTS), city="Москва")
    return CampaignsWorld(tokens=seeded.tokens, kazan=kazan)


@pytest.fixture(scope="module")
def smtp() -> Iterator[SmtpServer]:
    with running_smtp() as server:
        yield server


@pytest.fixture(scope="module")
def live(
    tmp_path_factory: pytest.TempPathFactory, smtp: SmtpServer
) -> Iterator[tuple[LiveApp, CampaignsWorld]]:
    """The app with one e-mail account, and the campaign runner ticking beside it."""

    def senders(sink: Sink) -> dict[str, Sender]:
        return {"email:ivan": sender_for(smtp)}

    app = LiveApp(tmp_path_factory.mktemp("e2e-campaigns") / "touchhub.db", Settings(), senders=senders)
    world: CampaignsWorld = app.start(seed)
    assert app.store is not None
    runner = CampaignRunner(app.store, FAST, lambda key: sender_for(smtp), lambda sender: "acme.ru")

    async def ticking() -> None:
        while True:
            await runner.tick()
            await asyncio.sleep(TICK_S)

    task = asyncio.run_coroutine_threadsafe(ticking(), app.loop)
    try:
        yield app, world
    finally:
        task.cancel()
        with contextlib.suppress(Exception):
            app.run(runner.stop())
        app.stop()


Live = tuple[LiveApp, CampaignsWorld]


def open_as_marketer(driver: webdriver.Chrome, live: Live, locale: str, hash_: str, page: str = "campaigns") -> None:
    app, world = live
    driver.get(f"{app.url}#/my")
    driver.execute_script("localStorage.clear();")
    driver.execute_script("localStorage.setItem('touchhub.token', arguments[0]);", world.tokens["marketer"])
    driver.execute_script("localStorage.setItem('touchhub.locale', arguments[0]);", locale)
    driver.get(f"{app.url}{hash_}")
    driver.refresh()
    wait_page(driver, page)


def typed(driver: webdriver.Chrome, selector: str, text: str) -> None:
    box = wait_css(driver, selector)
    box.clear()
    box.send_keys(text)


def segment_size(driver: webdriver.Chrome, n: int) -> None:
    wait(driver).until(
        lambda d: d.find_elements(By.CSS_SELECTOR, f'.seg-count[data-size="{n}"]'),
        f"the segment's size never showed {n}",
    )


def build_kazan_campaign(driver: webdriver.Chrome, name: str) -> None:
    """Fill the new-campaign page: Kazan's clients, a letter previewed, sender ivan."""
    wait_css(driver, ".seg-row .seg-input")
    Select(driver.find_element(By.CSS_SELECTOR, ".seg-row .seg-field")).select_by_value("city")
    typed(driver, ".seg-row .seg-input", "Казань")
    segment_size(driver, KAZAN_CLIENTS)
    typed(driver, "#tpl-name", f"{name} — шаблон")
    typed(driver, "#tpl-subject", "Новости для {{ contact.name }}")
    typed(driver, "#tpl-html", "<p>Здравствуйте, {{ contact.name }}!</p>")
    wait_css(driver, '.tpl-preview[data-state="ok"] .tpl-subject')
    typed(driver, "#camp-name", name)
    typed(driver, "#camp-sender", "ivan")


def test_a_marketer_builds_previews_starts_and_watches_a_campaign(
    browser: webdriver.Chrome, live: Live, smtp: SmtpServer
) -> None:
    _, world = live
    browser.set_window_size(*WIDE)
    open_as_marketer(browser, live, "en", "#/my")
    # a marketer lands on the campaigns; the nav offers nothing they may not use (call
    # rounds are campaigns too: a marketer follows their progress)
    navs = [a.get_attribute("data-nav") for a in browser.find_elements(By.CSS_SELECTOR, "#nav a")]
    assert navs == ["campaigns", "rounds"]
    browser.find_element(By.CSS_SELECTOR, "#camp-new").click()
    wait_page(browser, "campaigns")
    wait_css(browser, ".seg-row .seg-input")
    Select(browser.find_element(By.CSS_SELECTOR, ".seg-row .seg-field")).select_by_value("city")
    typed(browser, ".seg-row .seg-input", "Казань")
    segment_size(browser, KAZAN_CLIENTS)
    sample = {int(li.get_attribute("data-contact")) for li in browser.find_elements(By.CSS_SELECTOR, ".seg-sample li")}
    assert sample and sample <= set(world.kazan)
    # a second row narrows the segment live: Kazan and not a lead → still 4; Moscow and Kazan → 0
    browser.find_element(By.CSS_SELECTOR, ".seg-add").click()
    rows = browser.find_elements(By.CSS_SELECTOR, ".seg-row")
    Select(rows[1].find_element(By.CSS_SELECTOR, ".seg-field")).select_by_value("city")
    rows[1].find_element(By.CSS_SELECTOR, ".seg-input").send_keys("Москва")
    segment_size(browser, 0)
    Select(browser.find_element(By.CSS_SELECTOR, ".seg-match")).select_by_value("any")
    segment_size(browser, KAZAN_CLIENTS + 2)
    rows[1].find_element(By.CSS_SELECTOR, ".seg-remove").click()
    segment_size(browser, KAZAN_CLIENTS)

    typed(browser, "#tpl-name", "Winter news template")
    typed(browser, "#tpl-subject", "News for {{ contact.name }}")
    typed(browser, "#tpl-html", "<p>Hello,\n{{ contact.nmae }}!</p>")
    error = wait_css(browser, '.tpl-errors li[data-part="html"][data-line="2"]')
    assert "nmae" in error.text
    screenshot(browser, "30-campaigns-template-error-1400")
    typed(browser, "#tpl-html", "<p>Hello, {{ contact.name }} from {{ contact.city }}!</p>")
    subject = wait_css(browser, '.tpl-preview[data-state="ok"] .tpl-subject')
    chosen = int(Select(browser.find_element(By.CSS_SELECTOR, "#tpl-contact")).first_selected_option.get_attribute("value"))
    assert subject.text.endswith(f"News for Клиент {chosen}")
    typed(browser, "#camp-name", "Winter news")
    typed(browser, "#camp-sender", "ivan")
    screenshot(browser, "31-campaigns-new-1400")

    browser.find_element(By.CSS_SELECTOR, "#camp-save-start").click()
    detail = wait_css(browser, '.campaign-detail[data-state="finished"]')
    figures = {
        e.get_attribute("data-figure"): int(e.get_attribute("data-value"))
        for e in detail.find_elements(By.CSS_SELECTOR, ".stat")
    }
    assert figures["total"] == figures["sent"] == KAZAN_CLIENTS
    assert figures["failed"] == figures["pending"] == figures["unknown"] == figures["skipped"] == 0
    got = received(smtp)
    assert sorted(got) == sorted(addresses(KAZAN_CLIENTS)) and set(got.values()) == {1}
    bars = browser.find_elements(By.CSS_SELECTOR, '.stat-bar[data-figure="sent"] .stat-bar-value')
    assert bars[0].text == str(KAZAN_CLIENTS)
    assert browser.find_element(By.CSS_SELECTOR, "#camp-state").text == "Finished"
    screenshot(browser, "32-campaigns-finished-1400")

    browser.find_element(By.CSS_SELECTOR, ".page-head a.button").click()
    row = wait_css(browser, ".campaign-table tr[data-state='finished']")
    assert "Winter news" in row.text and f"{KAZAN_CLIENTS} of {KAZAN_CLIENTS}" in row.text
    assert not [e for e in console_errors(browser) if "Failed to load resource" not in e]


def test_pause_resume_and_cancel_from_the_page(browser: webdriver.Chrome, live: Live) -> None:
    browser.set_window_size(*WIDE)
    open_as_marketer(browser, live, "en", "#/campaigns/new")
    build_kazan_campaign(browser, "Spring news")
    typed(browser, "#camp-throttle", "0.3")  # a letter every three seconds: time to act
    browser.find_element(By.CSS_SELECTOR, "#camp-save-start").click()
    # the detail view redraws as it polls: every read finds its element afresh
    click_when(browser, '.campaign-detail[data-state="running"] [data-action="pause"]')
    click_when(browser, '.campaign-detail[data-state="paused"] [data-action="resume"]')
    click_when(browser, '.campaign-detail[data-state="running"] [data-action="cancel"]')

    def figure(name: str) -> int:
        value = browser.find_element(
            By.CSS_SELECTOR, f'.campaign-detail .stat[data-figure="{name}"]'
        ).get_attribute("data-value")
        return int(value or 0)

    def settled(_: object) -> bool:
        state = browser.find_element(By.CSS_SELECTOR, ".campaign-detail").get_attribute("data-state")
        return state == "cancelled" and figure("sent") + figure("skipped") == KAZAN_CLIENTS

    # a letter already offered to the server finishes; the rest are skipped as cancelled,
    # and the page follows until nothing is open
    fresh(browser).until(settled)
    assert not browser.find_elements(By.CSS_SELECTOR, ".campaign-detail [data-action]")
    assert figure("pending") == figure("deferred") == figure("failed") == 0
    assert figure("skipped") >= 1, "cancel held back what was not yet sent"


def fresh(browser: webdriver.Chrome) -> WebDriverWait[webdriver.Chrome]:
    """A bounded wait that reads again when the page replaced what it was reading."""
    return WebDriverWait(
        browser, WAIT_S, ignored_exceptions=(StaleElementReferenceException, NoSuchElementException)
    )


def click_when(browser: webdriver.Chrome, selector: str) -> None:
    """Click `selector` once it is there, finding it again if a redraw replaced it."""

    def clicked(_: object) -> bool:
        browser.find_element(By.CSS_SELECTOR, selector).click()
        return True

    fresh(browser).until(clicked)


@pytest.mark.parametrize("locale", ["ru", "en"])
def test_every_campaigns_view_in_both_sizes(browser: webdriver.Chrome, live: Live, locale: str) -> None:
    """Screenshots at 1400 and 390 px; in Russian no English word and no raw code."""
    app, _ = live
    assert app.store is not None
    fragments, codes = english_fragments(), raw_codes()
    assert "Save and start" in fragments  # the check knows this page's words
    finished = app.run(app.store.campaigns.list_all(state="finished"))
    assert finished, "the flow test runs first and leaves a finished campaign"
    views = [
        ("list", "#/campaigns"),
        ("new", "#/campaigns/new"),
        ("detail", f"#/campaigns/{finished[0].id}"),
    ]
    for width in (1400, 390):
        phone_viewport(browser, width == 390)
        if width == 1400:
            browser.set_window_size(*WIDE)
        try:
            for name, hash_ in views:
                open_as_marketer(browser, live, locale, hash_)
                if name == "new":
                    Select(browser.find_element(By.CSS_SELECTOR, ".seg-row .seg-field")).select_by_value("city")
                    typed(browser, ".seg-row .seg-input", "Казань")
                    segment_size(browser, KAZAN_CLIENTS)
                    typed(browser, "#tpl-subject", "{{ contact.name }}")
                    typed(browser, "#tpl-html", "<p>{{ contact.city }}</p>")
                    wait_css(browser, '.tpl-preview[data-state="ok"]')
                if locale == "ru":
                    assert english_left(visible_text(browser), fragments, codes) == [], name
                if width == 390:
                    assert horizontal_overflow(browser) <= 0, f"{name} scrolls sideways"
                screenshot(browser, f"campaigns-{locale}-{width}-{name}")
        finally:
            phone_viewport(browser, False)
