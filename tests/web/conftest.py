"""Browser tests: a real Bab (SQLite from the migrations, the dispatcher running) served on 127.0.0.1 from its own
thread, driven by Debian's headless Chromium through its own chromedriver (nothing is downloaded)."""

from __future__ import annotations

import asyncio
import dataclasses
import threading
import time
from collections.abc import Callable, Coroutine, Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, TypeVar

import pytest
from aiohttp import web

from bot.app import Bab, build, web_app
from bot.config import Settings
from bot.domain.directory import Directory
from tests.conftest import MONDAY_MORNING

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
SCREENSHOTS = Path(__file__).resolve().parent.parent.parent / "docs" / "screenshots"
PHONE = (390, 844)
DESKTOP = (1280, 900)
T = TypeVar("T")
S = TypeVar("S", bound="Served")

if not (CHROMIUM.exists() and CHROMEDRIVER.exists()):  # .ci/run installs them
    pytest.skip("Debian's chromium and chromium-driver are not installed", allow_module_level=True)

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.remote.webdriver import WebDriver


class TickingClock:
    """Real time, moved to Monday 16 November 2026 10:00 in Casablanca: turns are milliseconds apart as in use."""

    def __init__(self, start: datetime = MONDAY_MORNING) -> None:
        self.offset = start.astimezone(timezone.utc) - datetime.now(timezone.utc)

    def now(self) -> datetime:
        return datetime.now(timezone.utc) + self.offset

    def advance(self, **delta: float) -> None:
        self.offset += timedelta(**delta)


class Served:
    """An aiohttp application served on 127.0.0.1 from a thread with its own event loop, until `stop`."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.port = 0
        self.ready = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self._stop: asyncio.Event | None = None

    async def app(self) -> web.Application:
        """The application to serve (built in the server's loop)."""
        raise NotImplementedError

    async def closed(self) -> None:
        """What to release once the server stopped."""

    def _serve(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_until_complete(self._main())

    async def _main(self) -> None:
        self._stop = asyncio.Event()
        runner = web.AppRunner(await self.app(), access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.ready.set()
        await self._stop.wait()
        await runner.cleanup()
        await self.closed()

    def start(self: S) -> S:
        self.thread.start()
        assert self.ready.wait(60), "the server did not start"
        return self

    def stop(self) -> None:
        if self._stop is not None:
            self.loop.call_soon_threadsafe(self._stop.set)
        self.thread.join(30)
        self.loop.close()

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"


class Live(Served):
    """Bab on its own thread; `run` executes a coroutine there (database checks)."""

    def __init__(self, settings: Settings, directory: Directory) -> None:
        super().__init__()
        self.clock = TickingClock()
        self.settings, self.directory = settings, directory
        self.bab: Bab | None = None

    async def app(self) -> web.Application:
        self.bab = await build(self.settings, clock=self.clock, directory=self.directory)
        return web_app(self.bab)

    async def closed(self) -> None:
        if self.bab is not None:
            await self.bab.close()

    @property
    def url(self) -> str:
        return self.origin

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(60)


class HostPage(Served):
    """A collectivity's own website on another port of 127.0.0.1, serving one page with the embed snippet."""

    def __init__(self) -> None:
        super().__init__()
        self.html = ""

    async def app(self) -> web.Application:
        app = web.Application()

        async def page(_request: web.Request) -> web.Response:
            return web.Response(text=self.html, content_type="text/html")

        app.router.add_get("/", page)
        return app


@pytest.fixture
def host_page() -> Iterator[HostPage]:
    page = HostPage().start()
    yield page
    page.stop()


@pytest.fixture
def live(settings: Settings, template_db: tuple[Path, Directory], host_page: HostPage) -> Iterator[Live]:
    """Bab on 127.0.0.1, framable by the host page, with figures recomputed on every read."""
    tuned = dataclasses.replace(settings, embed_origins=(host_page.origin,), transparency_cache_seconds=0.0)
    server = Live(tuned, template_db[1]).start()
    yield server
    server.stop()


def chromium(tmp: Path, size: tuple[int, int], language: str = "fr") -> WebDriver:
    """A headless Chromium with its own profile folder, window size and browser language."""
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                     f"--window-size={size[0]},{size[1]}", f"--user-data-dir={tmp}", f"--lang={language}",
                     "--disable-features=Translate", "--no-first-run", "--force-device-scale-factor=1"):
        options.add_argument(argument)
    options.add_experimental_option("prefs", {"intl.accept_languages": language})
    driver = webdriver.Chrome(options=options, service=Service(executable_path=str(CHROMEDRIVER)))
    driver.set_window_size(*size)
    driver.implicitly_wait(0)
    return driver


@pytest.fixture
def browsers(tmp_path: Path) -> Iterator[Callable[..., WebDriver]]:
    """Open browsers (each a separate profile) that are all closed after the test."""
    opened: list[WebDriver] = []

    def open_one(size: tuple[int, int] = PHONE, language: str = "fr") -> WebDriver:
        driver = chromium(tmp_path / f"profile{len(opened)}", size, language)
        opened.append(driver)
        return driver

    yield open_one
    for driver in opened:
        driver.quit()


def shot(driver: WebDriver, name: str) -> Path:
    """Save a screenshot to docs/screenshots/NAME.png (linked from the README)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    time.sleep(0.2)  # let the last scroll and fonts settle
    driver.save_screenshot(str(path))
    return path
