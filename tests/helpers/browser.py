"""Real headless Chromium for end-to-end tests, and the real app served on loopback for it.

`chromium(...)` yields a selenium driver on Debian's chromium/chromedriver with a
fresh profile; `LiveApp` runs `create_app` in a background thread with its own event
loop, so synchronous selenium tests can drive it. Every wait here is bounded.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import threading
from collections.abc import Awaitable, Callable, Iterator, Mapping
from concurrent.futures import Future
from pathlib import Path
from typing import Any, TypeVar

from aiohttp import web
from selenium import webdriver
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait

from hub.activity import ActivityStore, BatchWriter
from hub.config import Settings
from hub.model import Sender, Sink
from hub.web.app import create_app

T = TypeVar("T")

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
#: Longest any test waits for the page (the brief: bounded, ≤ 10 s).
WAIT_S = 10.0
#: Longest the server thread may take to start or stop.
SERVER_START_S = 20.0
CHROME_ARGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-extensions",
    "--lang=en-US",
)
DESKTOP = (1280, 900)
#: An iPhone-sized viewport: 390 × 844 CSS pixels at 3× density.
PHONE = {"width": 390, "height": 844, "deviceScaleFactor": 3, "mobile": True}
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"


@contextlib.contextmanager
def chromium(profile_dir: Path, *, size: tuple[int, int] = DESKTOP) -> Iterator[webdriver.Chrome]:
    """A headless Chromium with a fresh profile in `profile_dir`; quit on exit."""
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in CHROME_ARGS:
        options.add_argument(arg)
    options.add_argument(f"--user-data-dir={profile_dir}")
    options.add_argument(f"--window-size={size[0]},{size[1]}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(WAIT_S * 2)
    driver.set_script_timeout(WAIT_S)
    try:
        yield driver
    finally:
        with contextlib.suppress(WebDriverException):
            driver.quit()


def wait(driver: webdriver.Chrome, timeout: float = WAIT_S) -> WebDriverWait[webdriver.Chrome]:
    """A bounded wait."""
    return WebDriverWait(driver, min(timeout, WAIT_S))


def wait_css(driver: webdriver.Chrome, selector: str, *, visible: bool = True) -> WebElement:
    """The first element matching `selector`, once it is there (and visible)."""
    condition = ec.visibility_of_element_located if visible else ec.presence_of_element_located
    element: WebElement = wait(driver).until(condition(("css selector", selector)))
    return element


def wait_page(driver: webdriver.Chrome, page: str, state: str = "ready") -> WebElement:
    """The dashboard's <main> once page `page` is rendered (or failed, with state="error")."""
    return wait_css(driver, f'main[data-page="{page}"][data-state="{state}"]')


def phone_viewport(driver: webdriver.Chrome, on: bool) -> None:
    """Emulate a phone's viewport (mobile meta viewport honoured), or go back to desktop."""
    if on:
        driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", PHONE)
    else:
        driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})


def horizontal_overflow(driver: webdriver.Chrome) -> int:
    """How many CSS pixels the page is wider than the viewport (0 = no horizontal scroll)."""
    value = driver.execute_script(
        "return Math.max(document.documentElement.scrollWidth, document.body.scrollWidth)"
        " - document.documentElement.clientWidth;"
    )
    return int(value)


def screenshot(driver: webdriver.Chrome, name: str, *, full_page: bool = True) -> Path:
    """Save a PNG under test-artifacts/screenshots/ (the whole page height by default)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    if full_page:
        metrics = driver.execute_cdp_cmd("Page.getLayoutMetrics", {})
        size = metrics["cssContentSize"]
        shot = driver.execute_cdp_cmd(
            "Page.captureScreenshot",
            {
                "format": "png",
                "captureBeyondViewport": True,
                "clip": {
                    "x": 0,
                    "y": 0,
                    "width": size["width"],
                    "height": min(size["height"], 4000),
                    "scale": 1,
                },
            },
        )
        path.write_bytes(base64.b64decode(shot["data"]))
    else:
        driver.save_screenshot(str(path))
    return path


def console_errors(driver: webdriver.Chrome) -> list[str]:
    """Severe messages the page logged to the console since the last call."""
    entries: list[dict[str, Any]] = driver.get_log("browser")  # type: ignore[no-untyped-call]
    return [str(e["message"]) for e in entries if e.get("level") == "SEVERE"]


class LiveApp:
    """The real web app over a store file, served on 127.0.0.1 from a background thread."""

    def __init__(
        self,
        db_path: Path,
        settings: Settings | None = None,
        *,
        senders: Callable[[Sink], Mapping[str, Sender]] | None = None,
    ) -> None:
        self.db_path = db_path
        self.settings = settings or Settings()
        #: Makes the app's senders over the store's batch writer (started with the app).
        self.make_senders = senders
        self.writer: BatchWriter | None = None
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="e2e:web", daemon=True)
        self.store: ActivityStore | None = None
        self.runner: web.AppRunner | None = None
        self.port = 0

    @property
    def url(self) -> str:
        """The base URL, ending in a slash."""
        return f"http://127.0.0.1:{self.port}/"

    def run(self, coro: Awaitable[T], timeout: float = SERVER_START_S) -> T:
        """Run a coroutine on the server's loop and wait (bounded) for its result."""

        async def wrapped() -> T:
            return await coro

        future: Future[T] = asyncio.run_coroutine_threadsafe(wrapped(), self.loop)
        return future.result(timeout)

    def start(self, seed: Callable[[ActivityStore], Awaitable[Any]] | None = None) -> Any:
        """Open the store, seed it, and serve the app on a free loopback port."""
        self.thread.start()

        async def boot() -> Any:
            self.store = await ActivityStore.open(f"sqlite:///{self.db_path}")
            seeded = None if seed is None else await seed(self.store)
            senders: Mapping[str, Sender] = {}
            if self.make_senders is not None:
                self.writer = self.store.writer()
                await self.writer.start()
                senders = self.make_senders(self.writer)
            self.runner = web.AppRunner(
                create_app(self.store, self.settings, sink=self.writer, senders=senders)
            )
            await self.runner.setup()
            site = web.TCPSite(self.runner, "127.0.0.1", 0)
            await site.start()
            self.port = int(self.runner.addresses[0][1])  # what port 0 became
            return seeded

        return self.run(boot())

    def stop(self) -> None:
        """Stop serving, close the store and the loop."""

        async def shutdown() -> None:
            if self.runner is not None:
                await self.runner.cleanup()
            if self.writer is not None:
                await self.writer.stop()
            if self.store is not None:
                await self.store.close()

        try:
            self.run(shutdown())
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(SERVER_START_S)
            self.loop.close()
