"""What a citizen does on the chat page, as Selenium calls: type, tap, wait for Bab's replies."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement

from tests.golden.transcript import Transcript


def wait_for(check: Callable[[], Any], timeout: float = 15.0, what: str = "condition") -> Any:
    """Poll `check` until it returns something truthy."""
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


class ChatPage:
    def __init__(self, driver: WebDriver, url: str) -> None:
        self.driver = driver
        self.url = url

    def open(self, path: str = "/") -> ChatPage:
        self.driver.get(self.url + path)
        wait_for(lambda: self.driver.execute_script("return document.getElementById('log')"
                                                    ".getAttribute('aria-busy') === 'false'"), what="page boot")
        return self

    def bots(self) -> list[WebElement]:
        return self.driver.find_elements(By.CSS_SELECTOR, "#log > li.msg-bot")

    def items(self) -> list[WebElement]:
        return self.driver.find_elements(By.CSS_SELECTOR, "#log > li.msg")

    def wait_bots(self, count: int) -> list[WebElement]:
        return wait_for(lambda: (found := self.bots()) and len(found) >= count and found, what=f"{count} bot messages")

    def say(self, text: str, replies: int = 1) -> None:
        before = len(self.bots())
        box = self.driver.find_element(By.ID, "input")
        box.send_keys(text)
        box.send_keys(Keys.ENTER)
        self.wait_bots(before + replies)

    def button(self, option_id: str) -> WebElement:
        def newest() -> WebElement | None:
            found = self.driver.find_elements(By.CSS_SELECTOR, f'#log .options:not(.stale) button[data-id="{option_id}"]')
            return found[-1] if found else None

        return wait_for(newest, what=f"button {option_id}")

    def tap(self, option_id: str, replies: int = 1) -> None:
        before = len(self.bots())
        self.button(option_id).click()
        self.wait_bots(before + replies)

    def replay(self, transcript: Transcript) -> None:
        """Play the citizen's turns of a golden transcript, waiting for as many replies as it shows."""
        for turn in transcript.turns:
            if turn.kind == "tap":
                self.tap(turn.value, len(turn.replies))
            else:
                self.say(turn.value, len(turn.replies))

    def settle(self, quiet: float = 1.0) -> None:
        """Wait until no new message arrived for `quiet` seconds."""
        count, since = len(self.items()), time.monotonic()
        while time.monotonic() - since < quiet:
            time.sleep(0.1)
            if len(self.items()) != count:
                count, since = len(self.items()), time.monotonic()

    def card(self) -> WebElement:
        return wait_for(lambda: self.driver.find_elements(By.CSS_SELECTOR, "#log li.receipt .card"), what="receipt")[-1]

    def texts(self) -> list[str]:
        return [item.text for item in self.items()]
