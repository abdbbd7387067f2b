"""The monitor on the demo store (`touchhub demo seed`), as a head and the admin see it:
it fits a screen at 1,400 px, reads at 390 px, and its exports download."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from selenium import webdriver
from selenium.webdriver.common.by import By

from hub.activity import ActivityStore
from hub.config import Settings
from hub.demo import seed as demo_seed
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

#: The monitor of the demo's biggest group must be shorter than this at 1,400 px wide.
MAX_HEIGHT_PX = 2_500
WIDE = {"width": 1400, "height": 900, "deviceScaleFactor": 1, "mobile": False}
DEMO_ACTIVITIES = 20_000


@dataclass(frozen=True)
class Demo:
    app: LiveApp
    tokens: dict[str, str]
    head: int
    team: int


async def _seed(store: ActivityStore) -> tuple[dict[str, str], int, int]:
    await demo_seed(store.engine, activities=DEMO_ACTIVITIES)
    people = await store.employees.list()
    reports: dict[int, int] = {}
    for person in people:
        if person["head_id"] is not None:
            reports[person["head_id"]] = reports.get(person["head_id"], 0) + 1
    head = max(reports, key=lambda e: reports[e])
    tokens = {
        "admin": await store.tokens.create("demo admin", "admin"),
        "head": await store.tokens.create("demo head", "head", employee_id=head),
    }
    return tokens, head, reports[head]


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    # In English: the test reads English words (the Russian pages have tests of their own).
    english = Settings.model_validate({"web": {"locale": "en"}})
    app = LiveApp(tmp_path_factory.mktemp("demo") / "touchhub.db", english)
    tokens, head, team = app.start(_seed)
    try:
        yield Demo(app, tokens, head, team)
    finally:
        app.stop()


def open_as(driver: webdriver.Chrome, demo: Demo, who: str, hash_: str) -> None:
    driver.get(f"{demo.app.url}#/my")
    driver.execute_script("localStorage.clear();")
    driver.execute_script("localStorage.setItem('touchhub.token', arguments[0]);", demo.tokens[who])
    driver.get(f"{demo.app.url}{hash_}")
    driver.refresh()


def page_height(driver: webdriver.Chrome) -> int:
    return int(driver.execute_script("return document.documentElement.scrollHeight"))


@pytest.mark.parametrize("who", ["head", "admin"])
def test_the_monitor_fits_a_screen(browser: webdriver.Chrome, demo: Demo, who: str) -> None:
    browser.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", WIDE)
    try:
        open_as(browser, demo, who, "#/monitor")
        wait_page(browser, "monitor")
        assert browser.execute_script("return window.innerWidth") == 1400
        height = page_height(browser)
        screenshot(browser, f"20-monitor-demo-{who}-1400")
        assert height < MAX_HEIGHT_PX, f"the monitor is {height} px tall at 1,400 px"
        assert horizontal_overflow(browser) <= 0
        # Critical and Important are listed in full; For information is a count per employee.
        for key in ("critical", "important"):
            group = browser.find_element(By.CSS_SELECTOR, f'.group[data-group="{key}"]')
            shown = len(group.find_elements(By.CSS_SELECTOR, "li[data-indicator]"))
            assert shown == int(group.find_element(By.CSS_SELECTOR, ".count").text)
        info = browser.find_element(By.CSS_SELECTOR, '.group[data-group="information"]')
        summaries = info.find_elements(By.CSS_SELECTOR, "details.person > summary")
        counted = sum(int(s.get_attribute("data-count") or 0) for s in summaries)
        assert counted == int(info.find_element(By.CSS_SELECTOR, ".count").text)
        assert not [li for li in info.find_elements(By.CSS_SELECTOR, "li") if li.is_displayed()]
        if summaries:
            summaries[0].click()
            assert [li for li in info.find_elements(By.CSS_SELECTOR, "li") if li.is_displayed()]
            screenshot(browser, f"21-monitor-demo-{who}-information-open")
        # The subordinates table: the first column stays in view when it scrolls sideways.
        first = browser.find_element(By.CSS_SELECTOR, ".matrix tbody th")
        assert first.value_of_css_property("position") == "sticky"
        assert browser.find_elements(By.CSS_SELECTOR, ".matrix thead tr.groups-row th")
        assert not [e for e in console_errors(browser) if "Failed to load resource" not in e]
    finally:
        browser.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})


def test_the_monitor_reads_on_a_phone(browser: webdriver.Chrome, demo: Demo) -> None:
    open_as(browser, demo, "head", "#/monitor")
    wait_page(browser, "monitor")
    phone_viewport(browser, True)
    try:
        browser.refresh()
        wait_page(browser, "monitor")
        assert browser.execute_script("return window.innerWidth") == 390
        assert horizontal_overflow(browser) <= 0, "the monitor scrolls sideways on a phone"
        screenshot(browser, "22-monitor-demo-head-390")
        scroller = browser.find_element(By.CSS_SELECTOR, ".matrix-scroll")
        browser.execute_script("arguments[0].scrollIntoView(); arguments[0].scrollLeft = 400;", scroller)
        first = browser.find_element(By.CSS_SELECTOR, ".matrix tbody th")
        box = browser.execute_script(
            "const r = arguments[0].getBoundingClientRect(); return [r.left, r.width];", first
        )
        assert box[0] >= -1 and box[1] > 40, box  # still at the left edge, still readable
        screenshot(browser, "23-monitor-demo-head-390-scrolled", full_page=False)
    finally:
        phone_viewport(browser, False)


def test_the_running_month_says_what_it_judges(browser: webdriver.Chrome, demo: Demo) -> None:
    open_as(browser, demo, "head", "#/monitor")
    wait_page(browser, "monitor")
    line = wait_css(browser, ".span-line")
    assert "compare" in line.text
    open_as(browser, demo, "head", "#/my")
    wait_page(browser, "my")
    assert "compare" in wait_css(browser, ".span-line").text


def test_the_table_downloads_as_xlsx(browser: webdriver.Chrome, demo: Demo) -> None:
    """The download link fetches the file with the token and hands it to the browser."""
    open_as(browser, demo, "head", "#/monitor")
    wait_page(browser, "monitor")
    link = wait_css(browser, 'a.download[data-format="xlsx"]')
    browser.execute_script(
        "window.__saved = null;"
        "const orig = URL.createObjectURL;"
        "URL.createObjectURL = (blob) => { window.__saved = blob.size + ':' + blob.type;"
        " return orig(blob); };"
    )
    link.click()
    wait(browser).until(lambda d: d.execute_script("return window.__saved"))
    size, kind = str(browser.execute_script("return window.__saved")).split(":", 1)
    assert int(size) > 1000
    assert kind == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
