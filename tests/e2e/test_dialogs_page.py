"""The Dialogs page in real headless Chromium: read a client's chat, answer it, at 1400 and 390 px.

The app's only messenger account is a fake one (`tests/helpers/fake_messenger.py`) whose
sender records the outgoing touch through the store's batch writer, as a real one does;
what reaches "the platform" is in its outbox.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta

import pytest
from selenium import webdriver
from selenium.webdriver.common.by import By

from hub.activity import ActivityStore
from hub.config import Settings
from hub.model import Address, AddressKind, Sender, Sink, utcnow
from tests.helpers.browser import (
    LiveApp,
    console_errors,
    horizontal_overflow,
    phone_viewport,
    screenshot,
    wait,
    wait_css,
    wait_page,
)
from tests.helpers.fake_messenger import FakeMessengerSender, incoming
from tests.helpers.web import seed_world

WIDE = (1400, 900)
LONG_QUESTION = (
    "Good afternoon! We ordered forty-two chairs last week and would like to know whether "
    "the delivery can come on Thursday morning, before ten, to the back entrance."
)


@dataclass
class DialogsWorld:
    """The seeded store: tokens, the dialogs' ids by chat, and the fake account."""

    tokens: dict[str, str] = field(default_factory=dict)
    contacts: dict[str, int] = field(default_factory=dict)
    sender: FakeMessengerSender | None = None


async def seed(store: ActivityStore) -> DialogsWorld:
    """Alice's client Ivan (three unread messages), Bob's client Maria, and a stranger."""
    seeded = await seed_world(store)
    alice, bob = seeded.employees["alice"], seeded.employees["bob"]
    ivan = await store.contacts.create(
        "Ivan Petrov",
        owner_employee_id=alice,
        addresses=[Address(kind=AddressKind.TELEGRAM, value="5001")],
    )
    maria = await store.contacts.create(
        "Maria Sidorova",
        owner_employee_id=bob,
        addresses=[Address(kind=AddressKind.TELEGRAM, value="6001")],
    )
    t0 = utcnow() - timedelta(hours=2)
    await store.record(
        [
            incoming("telegram", "support", "6001", "Thanks, got it.", t0),
            incoming("telegram", "support", "9009", "Do you deliver to Kazan?", t0 + timedelta(minutes=5)),
            incoming("telegram", "support", "5001", "Hello!", t0 + timedelta(minutes=10)),
            incoming("telegram", "support", "5001", LONG_QUESTION, t0 + timedelta(minutes=11)),
            incoming("telegram", "support", "5001", "Are you there?", t0 + timedelta(minutes=40)),
        ]
    )
    return DialogsWorld(tokens=seeded.tokens, contacts={"ivan": ivan, "maria": maria})


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveApp, DialogsWorld]]:
    """The app with one fake Telegram account, over a freshly seeded store."""
    made: list[FakeMessengerSender] = []

    def senders(sink: Sink) -> dict[str, Sender]:
        sender = FakeMessengerSender("telegram", "support", sink)
        made.append(sender)
        return {sender.source: sender}

    # In English: the test reads English words (the Russian pages have tests of their own).
    english = Settings.model_validate({"web": {"locale": "en"}})
    app = LiveApp(tmp_path_factory.mktemp("e2e-dialogs") / "touchhub.db", english, senders=senders)
    world: DialogsWorld = app.start(seed)
    world.sender = made[0]
    try:
        yield app, world
    finally:
        app.stop()


Live = tuple[LiveApp, DialogsWorld]


def log_in(driver: webdriver.Chrome, live: Live, who: str) -> None:
    app, world = live
    driver.get(f"{app.url}#/my")
    driver.execute_script("localStorage.clear();")
    driver.refresh()
    wait_css(driver, "#token").send_keys(world.tokens[who])
    driver.find_element(By.CSS_SELECTOR, ".login-form button[type=submit]").click()
    wait_page(driver, "my")


def dialog_item(driver: webdriver.Chrome, contact: str) -> webdriver.remote.webelement.WebElement:
    for item in driver.find_elements(By.CSS_SELECTOR, ".dialog-item"):
        if item.find_element(By.CSS_SELECTOR, ".dialog-who").text == contact:
            return item
    raise AssertionError(f"no dialog with {contact} in the list")


def send_reply(driver: webdriver.Chrome, text: str) -> None:
    box = wait_css(driver, "#reply-text")
    box.clear()
    box.send_keys(text)
    driver.find_element(By.CSS_SELECTOR, ".reply-form button[type=submit]").click()


def test_an_employee_reads_and_answers_a_dialog(browser: webdriver.Chrome, live: Live) -> None:
    _, world = live
    assert world.sender is not None
    browser.set_window_size(*WIDE)
    log_in(browser, live, "alice")
    browser.find_element(By.CSS_SELECTOR, 'a[data-nav="dialogs"]').click()
    wait_page(browser, "dialogs")
    names = [e.text for e in browser.find_elements(By.CSS_SELECTOR, ".dialog-who")]
    # alice sees her client and the stranger nobody owns yet, not Bob's client
    assert names == ["Ivan Petrov", "9009"]
    assert dialog_item(browser, "Ivan Petrov").find_element(By.CSS_SELECTOR, ".unread").text == "3"
    screenshot(browser, "20-dialogs-list-1400")

    dialog_item(browser, "Ivan Petrov").find_element(By.TAG_NAME, "a").click()
    wait_css(browser, ".thread-pane[data-dialog]")
    wait_page(browser, "dialogs")
    bubbles = browser.find_elements(By.CSS_SELECTOR, ".thread .bubble")
    assert [b.get_attribute("data-direction") for b in bubbles] == ["in", "in", "in"]
    assert bubbles[-1].find_element(By.CSS_SELECTOR, ".bubble-text").text == "Are you there?"
    # opening the dialog read it
    assert dialog_item(browser, "Ivan Petrov").find_elements(By.CSS_SELECTOR, ".unread") == []

    send_reply(browser, "Yes! Thursday before ten works.")
    wait(browser).until(
        lambda d: [
            b.text for b in d.find_elements(By.CSS_SELECTOR, '.thread .bubble[data-direction="out"] .bubble-text')
        ]
        == ["Yes! Thursday before ten works."]
    )
    assert [(s.chat, s.text) for s in world.sender.outbox] == [
        ("5001", "Yes! Thursday before ten works.")
    ]
    assert "waiting" not in browser.find_element(By.CSS_SELECTOR, ".thread-head").text
    screenshot(browser, "21-dialogs-thread-1400")

    # the reply is on the client's timeline, as alice's outgoing message
    browser.find_element(By.CSS_SELECTOR, ".thread-head a").click()
    wait_page(browser, "contact")
    first = wait_css(browser, ".timeline-item")
    assert first.get_attribute("data-channel") == "messenger"
    assert "outgoing" in first.text and "Yes! Thursday before ten works." in first.text
    assert console_errors(browser) == []


def test_a_blank_reply_is_refused_with_the_reason(browser: webdriver.Chrome, live: Live) -> None:
    app, world = live
    assert world.sender is not None
    sent_before = len(world.sender.outbox)
    log_in(browser, live, "alice")
    browser.get(f"{app.url}#/dialogs")
    wait_page(browser, "dialogs")
    dialog_item(browser, "9009").find_element(By.TAG_NAME, "a").click()
    wait_css(browser, '.thread-pane[data-dialog]')
    send_reply(browser, "   ")
    error = wait_css(browser, ".reply-status .state.error")
    assert "needs some text" in error.text
    assert len(world.sender.outbox) == sent_before


def test_dialogs_fit_a_phone(browser: webdriver.Chrome, live: Live) -> None:
    app, _ = live
    log_in(browser, live, "head")
    phone_viewport(browser, True)
    try:
        browser.get(f"{app.url}#/dialogs?unanswered=1")
        browser.refresh()
        wait_page(browser, "dialogs")
        assert browser.execute_script("return window.innerWidth") == 390
        assert horizontal_overflow(browser) <= 0, "the list scrolls sideways"
        # the head sees the group's waiting dialogs (Bob's client answered nothing yet)
        names = [e.text for e in browser.find_elements(By.CSS_SELECTOR, ".dialog-who")]
        assert "Maria Sidorova" in names and "Ivan Petrov" not in names
        assert not browser.find_elements(By.CSS_SELECTOR, ".thread-pane:not(.placeholder)")
        screenshot(browser, "22-dialogs-list-390")
        dialog_item(browser, "Maria Sidorova").find_element(By.TAG_NAME, "a").click()
        wait_css(browser, ".thread-pane[data-dialog]")
        wait_page(browser, "dialogs")
        assert not browser.find_element(By.CSS_SELECTOR, ".dialog-list-pane").is_displayed()
        assert browser.find_element(By.CSS_SELECTOR, "#reply-text").is_displayed()
        assert browser.find_element(By.CSS_SELECTOR, ".thread-back").is_displayed()
        assert horizontal_overflow(browser) <= 0, "the thread scrolls sideways"
        screenshot(browser, "23-dialogs-thread-390")
        browser.find_element(By.CSS_SELECTOR, ".thread-back").click()
        # back on the list: it is shown again (checked in the page, where nothing goes stale)
        wait(browser).until(
            lambda d: d.execute_script(
                "const list = document.querySelector('.dialog-list-pane');"
                "return location.hash.startsWith('#/dialogs?') && !!list"
                " && list.offsetParent !== null"
                " && document.querySelector('main').dataset.state === 'ready';"
            )
        )
    finally:
        phone_viewport(browser, False)
