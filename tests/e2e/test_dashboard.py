"""The dashboard in real headless Chromium: a head and an employee use it as people would."""

from __future__ import annotations

import re

from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import Select

from tests.e2e.conftest import E2EWorld
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

Live = tuple[LiveApp, E2EWorld]


def open_page(driver: webdriver.Chrome, live: Live, hash_: str) -> None:
    """Go to a dashboard page by its hash (a full load, so nothing stale survives)."""
    app, _ = live
    driver.get(f"{app.url}{hash_}")
    driver.refresh()


def log_in(driver: webdriver.Chrome, live: Live, who: str) -> None:
    """Start logged out, paste `who`'s token into the login form, land on My indicators."""
    app, world = live
    driver.get(f"{app.url}#/my")
    driver.execute_script("localStorage.clear();")
    driver.refresh()
    token = wait_css(driver, "#token")
    token.send_keys(world.tokens[who])
    driver.find_element(By.CSS_SELECTOR, ".login-form button[type=submit]").click()
    wait_page(driver, "my")


def card(driver: webdriver.Chrome, indicator: str) -> WebElement:
    return wait_css(driver, f'.card[data-indicator="{indicator}"]')


def number(text: str) -> float:
    found = re.search(r"-?\d+(?:\.\d+)?", text.replace(",", ""))
    assert found, text
    return float(found.group())


def test_login_rejects_a_bad_token(browser: webdriver.Chrome, live: Live) -> None:
    app, _ = live
    browser.get(f"{app.url}#/my")
    browser.execute_script("localStorage.clear();")
    browser.refresh()
    wait_css(browser, "#token").send_keys("th_not-a-real-token")
    browser.find_element(By.CSS_SELECTOR, ".login-form button[type=submit]").click()
    message = wait_css(browser, ".login .state.error")
    assert "unknown or revoked" in message.text
    screenshot(browser, "01-login-bad-token")


def test_head_sees_own_indicators_with_colours(browser: webdriver.Chrome, live: Live) -> None:
    _, world = live
    log_in(browser, live, "head")
    calls = card(browser, "outbound_calls")
    assert "colour-green" in (calls.get_attribute("class") or "")
    assert calls.find_element(By.CSS_SELECTOR, ".fact").text == "3"
    assert calls.find_element(By.CSS_SELECTOR, ".plan").text == "3"
    assert calls.find_element(By.CSS_SELECTOR, ".percent").text == "100%"
    assert "trend-better" in (
        calls.find_element(By.CSS_SELECTOR, ".trend").get_attribute("class") or ""
    )
    meetings = card(browser, "meetings_held")
    assert meetings.get_attribute("data-colour") == "red"
    nav = {a.get_attribute("data-nav") for a in browser.find_elements(By.CSS_SELECTOR, "#nav a")}
    assert nav == {"my", "monitor", "plans", "dialogs", "rounds"}
    assert world.month in (
        browser.find_element(By.CSS_SELECTOR, ".month-input").get_attribute("value") or ""
    )
    screenshot(browser, "02-my-indicators-head")


def test_a_widget_without_a_plan_is_added_and_kept(browser: webdriver.Chrome, live: Live) -> None:
    log_in(browser, live, "head")
    Select(wait_css(browser, ".add-widget-select")).select_by_value("completed_interactions")
    browser.find_element(By.CSS_SELECTOR, ".add-widget button").click()
    added = card(browser, "completed_interactions")
    assert added.get_attribute("data-colour") == "none"
    assert "no plan" in added.text
    browser.refresh()
    wait_page(browser, "my")
    card(browser, "completed_interactions").find_element(By.CSS_SELECTOR, ".remove").click()
    wait_page(browser, "my")
    assert not browser.find_elements(By.CSS_SELECTOR, '.card[data-indicator="completed_interactions"]')


def test_previous_month_shows_its_own_numbers(browser: webdriver.Chrome, live: Live) -> None:
    _, world = live
    log_in(browser, live, "head")
    browser.find_element(By.CSS_SELECTOR, '.period-picker [aria-label="Previous month"]').click()
    wait(browser).until(lambda d: world.previous in d.current_url)
    wait_page(browser, "my")
    assert (
        browser.find_element(By.CSS_SELECTOR, ".month-input").get_attribute("value")
        == world.previous
    )
    # Last month has only the default plans (a tolerated number) and the default widgets.
    overdue = card(browser, "overdue_interactions")
    assert overdue.find_element(By.CSS_SELECTOR, ".plan").text == "3"
    outbound = card(browser, "outbound_calls")
    assert outbound.find_element(By.CSS_SELECTOR, ".plan").text == "no plan"
    assert not browser.find_elements(By.CSS_SELECTOR, '.card[data-indicator="meetings_held"]')


def test_monitor_groups_and_drill_down_to_a_contact(browser: webdriver.Chrome, live: Live) -> None:
    _, world = live
    alice, bob = world.employees["alice"], world.employees["bob"]
    log_in(browser, live, "head")
    browser.find_element(By.CSS_SELECTOR, '#nav a[data-nav="monitor"]').click()
    wait_page(browser, "monitor")
    critical = wait_css(browser, '.group[data-group="critical"]')
    important = browser.find_element(By.CSS_SELECTOR, '.group[data-group="important"]')
    information = browser.find_element(By.CSS_SELECTOR, '.group[data-group="information"]')
    assert critical.find_elements(
        By.CSS_SELECTOR, f'li[data-employee="{bob}"][data-indicator="outbound_calls"]'
    )
    assert important.find_elements(
        By.CSS_SELECTOR, f'li[data-employee="{alice}"][data-indicator="outbound_calls"]'
    )
    assert information.find_elements(
        By.CSS_SELECTOR, f'li[data-employee="{alice}"][data-indicator="outgoing_letters"]'
    )
    rows = browser.find_elements(By.CSS_SELECTOR, ".matrix tbody tr")
    assert [r.find_element(By.TAG_NAME, "th").text for r in rows] == ["Alice", "Bob"]
    cell = browser.find_element(
        By.CSS_SELECTOR, f'.matrix td[data-employee="{alice}"][data-indicator="outbound_calls"]'
    )
    assert cell.get_attribute("data-colour") == "yellow"
    fact = number(cell.text)
    assert fact == 6
    screenshot(browser, "03-monitor-head")

    cell.find_element(By.TAG_NAME, "a").click()
    drill = wait_page(browser, "drill")
    rows = browser.find_elements(By.CSS_SELECTOR, ".drill-row")
    assert len(rows) == fact
    assert drill.find_element(By.CSS_SELECTOR, ".drill-count").text == "6"
    screenshot(browser, "04-drill-down")

    links = browser.find_elements(By.CSS_SELECTOR, ".drill-row .contact-link")
    assert len(links) == fact  # every counted call links to its contact
    link = next(a for a in links if a.text == "Ivan Petrov")
    link.click()
    wait_page(browser, "contact")
    assert wait_css(browser, ".contact h1").text == "Ivan Petrov"
    items = browser.find_elements(By.CSS_SELECTOR, ".timeline-item")
    assert len(items) == 20
    channels = {i.get_attribute("data-channel") for i in items}
    assert {"call", "email", "sms", "messenger"} <= channels
    times = [i.find_element(By.TAG_NAME, "time").get_attribute("datetime") or "" for i in items]
    assert times == sorted(times, reverse=True)  # newest first
    screenshot(browser, "05-contact-timeline")
    more = browser.find_element(By.CSS_SELECTOR, ".load-more")
    more.click()
    wait(browser).until(
        lambda d: len(d.find_elements(By.CSS_SELECTOR, ".timeline-item")) == world.ivan_touches
    )
    assert not more.is_displayed()  # nothing left to load
    ids = [
        i.get_attribute("data-id") for i in browser.find_elements(By.CSS_SELECTOR, ".timeline-item")
    ]
    assert len(ids) == len(set(ids))


def test_drill_pages_through_records(browser: webdriver.Chrome, live: Live) -> None:
    _, world = live
    log_in(browser, live, "head")
    alice = world.employees["alice"]
    open_page(
        browser,
        live,
        f"#/drill?indicator=outbound_calls&employee={alice}&period={world.month}&limit=4",
    )
    wait_page(browser, "drill")
    # Read each page only once it is drawn whole (rows are redrawn after the URL changes).
    first = wait(browser).until(lambda d: _drill_page(d, "Page 1 of 2", 4))
    browser.find_element(By.CSS_SELECTOR, ".pager .next").click()
    wait(browser).until(lambda d: "page=2" in d.current_url)
    second = wait(browser).until(lambda d: _drill_page(d, "Page 2 of 2", 2))
    assert not set(first) & set(second)


def _drill_page(driver: webdriver.Chrome, caption: str, rows: int) -> list[str] | None:
    """The record ids of the drill page once it shows `caption` and `rows` rows; None
    (wait on) while it is still drawing, including when an element goes stale mid-read."""
    try:
        if driver.find_element(By.CSS_SELECTOR, ".page-of").text != caption:
            return None
        ids = [
            str(r.get_attribute("data-id"))
            for r in driver.find_elements(By.CSS_SELECTOR, ".drill-row")
        ]
    except StaleElementReferenceException:
        return None
    return ids if len(ids) == rows else None


def test_head_sets_a_plan_and_sees_it(browser: webdriver.Chrome, live: Live) -> None:
    _, world = live
    bob = world.employees["bob"]
    log_in(browser, live, "head")
    browser.find_element(By.CSS_SELECTOR, '#nav a[data-nav="plans"]').click()
    wait_page(browser, "plans")
    labels = [e.text.strip() for e in browser.find_elements(By.CSS_SELECTOR, ".checks .check")]
    assert labels == ["Alice", "Bob"]  # only people below the head
    browser.find_element(By.CSS_SELECTOR, f'.checks input[value="{bob}"]').click()
    Select(browser.find_element(By.CSS_SELECTOR, 'select[name="indicator"]')).select_by_value(
        "outbound_calls"
    )
    value = browser.find_element(By.CSS_SELECTOR, 'input[name="value"]')

    value.send_keys("-1")
    browser.find_element(By.CSS_SELECTOR, ".plan-form button[type=submit]").click()
    message = wait_css(browser, ".plan-result .state.error")
    assert "greater than or equal to 0" in message.text and "value" in message.text
    assert "invalid" in (value.get_attribute("class") or "")
    screenshot(browser, "06-plan-error")

    value.clear()
    value.send_keys("2")
    browser.find_element(By.CSS_SELECTOR, ".plan-form button[type=submit]").click()
    done = wait_css(browser, ".plan-result .state.ok")
    assert "Plan set for 1 employee" in done.text and "was 10" in done.text
    wait(browser).until(
        lambda d: (
            d.find_element(By.CSS_SELECTOR, f'.plans-table tr[data-employee="{bob}"] .plan').text
            == "2"
        )
    )
    screenshot(browser, "07-plan-set")

    browser.find_element(By.CSS_SELECTOR, '#nav a[data-nav="monitor"]').click()
    wait_page(browser, "monitor")
    cell = wait_css(browser, f'.matrix td[data-employee="{bob}"][data-indicator="outbound_calls"]')
    assert cell.get_attribute("data-colour") == "green"  # 2 of a plan of 2


def test_employee_sees_only_their_own_numbers(browser: webdriver.Chrome, live: Live) -> None:
    _, world = live
    log_in(browser, live, "alice")
    nav = {a.get_attribute("data-nav") for a in browser.find_elements(By.CSS_SELECTOR, "#nav a")}
    assert nav == {"my", "dialogs", "rounds"}
    calls = card(browser, "outbound_calls")
    assert calls.get_attribute("data-colour") == "yellow"
    assert calls.find_element(By.CSS_SELECTOR, ".fact").text == "6"
    assert "Alice" in browser.find_element(By.CSS_SELECTOR, "#who").text
    screenshot(browser, "08-my-indicators-employee")
    assert "Bob" not in browser.find_element(By.TAG_NAME, "main").text

    open_page(browser, live, "#/monitor")
    assert "heads and admins" in wait_css(browser, "main .state.error").text
    bob = world.employees["bob"]
    open_page(
        browser, live, f"#/drill?indicator=outbound_calls&employee={bob}&period={world.month}"
    )
    wait_page(browser, "drill", "error")
    error = browser.find_element(By.CSS_SELECTOR, "main .state.error")
    assert "outside what you may see" in error.text and "403" in error.text
    screenshot(browser, "09-employee-forbidden")


def test_failing_calls_show_a_message_not_a_blank_page(
    browser: webdriver.Chrome, live: Live
) -> None:
    log_in(browser, live, "head")
    open_page(browser, live, "#/contact/999999")
    wait_page(browser, "contact", "error")
    assert "does not exist" in browser.find_element(By.CSS_SELECTOR, "main .state.error").text
    open_page(browser, live, "#/nowhere")
    wait_page(browser, "nowhere", "error")
    assert "no page" in browser.find_element(By.CSS_SELECTOR, "main .state.error").text
    # Refused API calls are logged by the browser itself; no script error may be.
    assert not [e for e in console_errors(browser) if "Failed to load resource" not in e]


def test_phone_sized_window_has_no_horizontal_scroll(browser: webdriver.Chrome, live: Live) -> None:
    _, world = live
    alice = world.employees["alice"]
    log_in(browser, live, "head")
    phone_viewport(browser, True)
    try:
        pages = [
            ("my", "#/my", "10-phone-my"),
            ("monitor", "#/monitor", "11-phone-monitor"),
            (
                "drill",
                f"#/drill?indicator=outbound_calls&employee={alice}&period={world.month}",
                "12-phone-drill",
            ),
            ("contact", f"#/contact/{world.ivan}", "13-phone-contact"),
            ("plans", "#/plans", "14-phone-plans"),
        ]
        for page, hash_, name in pages:
            open_page(browser, live, hash_)
            wait_page(browser, page)
            assert browser.execute_script("return window.innerWidth") == 390
            assert horizontal_overflow(browser) <= 0, f"{page} scrolls sideways"
            screenshot(browser, name)
    finally:
        phone_viewport(browser, False)
