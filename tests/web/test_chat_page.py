"""The chat page in headless Chromium, as a citizen uses it, at phone and desktop sizes."""

from __future__ import annotations

import base64
import gzip
import re
import struct
import urllib.request
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webdriver import WebDriver
from sqlalchemy import func, select

from bot.storage import tables
from tests.golden.transcript import TRANSCRIPTS, load
from tests.web.chat_page import ChatPage, wait_for
from tests.web.conftest import DESKTOP, PHONE, SCREENSHOTS, HostPage, Live, shot

Browsers = Callable[..., WebDriver]


def count_requests(live: Live) -> int:
    async def count() -> int:
        assert live.bab is not None
        async with live.bab.sessions() as session:
            return int(await session.scalar(select(func.count()).select_from(tables.Request)) or 0)

    return live.run(count())


def test_first_screen_in_the_browser_language_without_and_with_javascript(live: Live, browsers: Browsers) -> None:
    french = browsers(PHONE, "fr-FR")
    page = ChatPage(french, live.url).open()
    welcome = french.find_element(By.ID, "welcome")
    assert french.execute_script("return document.documentElement.lang") == "fr"
    assert "31-13" in welcome.text and "Bab" in french.title
    assert french.find_element(By.CSS_SELECTOR, '#start button[data-start="access"]').is_displayed()
    assert french.find_element(By.CSS_SELECTOR, '#welcome a[href^="/privacy"]').is_displayed()
    names = [a.text for a in french.find_elements(By.CSS_SELECTOR, ".languages a")]
    assert "Français" in names and "العربية الفصحى" in names
    assert page.bots() == []
    # A newcomer on a phone sees, without scrolling, what Bab is (the intro's top), the start buttons and the
    # language choice: the first screen opens at its top, not scrolled to its bottom.
    french.execute_script("return new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")
    seen = french.execute_script(
        "const box = document.getElementById('scroller').getBoundingClientRect();"
        "const top = Math.max(0, box.top), bottom = Math.min(window.innerHeight, box.bottom);"
        "const r = (q) => document.querySelector(q).getBoundingClientRect();"
        "return {scrolled: document.getElementById('scroller').scrollTop, top, bottom,"
        " intro: r('#welcome .three').top, start: r('#start').bottom, languages: r('.languages').bottom};")
    assert seen["top"] <= seen["intro"] < seen["bottom"], seen
    assert seen["start"] <= seen["bottom"] and seen["languages"] <= seen["bottom"], seen
    shot(french, "01-first-screen-fr-phone")
    french.find_element(By.CSS_SELECTOR, '#welcome a[href^="/privacy"]').click()
    assert "09-08" in wait_for(lambda: "CNDP" in french.page_source and french.find_element(By.TAG_NAME, "main").text)

    arabic = browsers(DESKTOP, "ar-MA")
    ChatPage(arabic, live.url).open()
    assert arabic.execute_script("return [document.documentElement.lang, document.documentElement.dir]") == [
        "ary", "rtl"]
    shot(arabic, "02-first-screen-ary-desktop")

    # Without JavaScript: the same first screen is readable, says how to use it, and offers no dead composer.
    arabic.execute_cdp_cmd("Emulation.setScriptExecutionDisabled", {"value": True})
    arabic.get(live.url + "/?lang=fr")
    assert "JavaScript" in arabic.find_element(By.TAG_NAME, "noscript").get_attribute("textContent")
    assert arabic.find_element(By.CSS_SELECTOR, ".three").is_displayed()
    assert not arabic.find_element(By.ID, "composer").is_displayed()
    assert not arabic.find_element(By.ID, "start").is_displayed()
    shot(arabic, "03-no-javascript-fr-desktop")


def grant_clipboard(driver: WebDriver, origin: str) -> None:
    driver.execute_cdp_cmd("Browser.grantPermissions", {"origin": origin,
                                                        "permissions": ["clipboardReadWrite", "clipboardSanitizedWrite"]})


def test_full_request_in_french_on_a_phone_with_receipt_copied_printed_and_kept_after_reload(
        live: Live, browsers: Browsers) -> None:
    driver = browsers(PHONE, "fr-FR")
    grant_clipboard(driver, live.url)
    page = ChatPage(driver, live.url).open()
    page.replay(load(TRANSCRIPTS / "access_request_fr.txt"))
    assert count_requests(live) == 1
    # The summary before confirmation: its "Label : value" lines as two columns, the label in bold; the text around
    # them stays text, and other messages with such lines (the text to copy to chafafiya.ma) stay as sent.
    summary = driver.find_element(By.CSS_SELECTOR, "#log li.msg-bot .bubble.summary")
    assert len(driver.find_elements(By.CSS_SELECTOR, "#log dl.pairs")) == 1
    rows = driver.execute_script(
        "const dl = arguments[0].querySelector('dl.pairs');"
        "return [...dl.querySelectorAll('dt')].map(dt => { const dd = dt.nextElementSibling;"
        " const a = dt.getBoundingClientRect(), b = dd.getBoundingClientRect();"
        " return [dt.textContent, dd.textContent, Math.round(a.top) === Math.round(b.top) && a.right <= b.left,"
        " Number(getComputedStyle(dt).fontWeight), Number(getComputedStyle(dd).fontWeight)]; });", summary)
    assert [row[0] for row in rows] == ["Destinataire", "Information demandée", "Urgence", "Mode de réception", "Nom",
                                        "Numéro de carte", "Coordonnées"], rows
    assert {row[0]: row[1] for row in rows}["Nom"] == "Amina El Idrissi"
    assert all(row[2] and row[3] >= 600 > row[4] for row in rows), rows
    paragraphs = [p.text for p in summary.find_elements(By.CSS_SELECTOR, ":scope > p")]
    assert paragraphs[0].startswith("Voici votre demande") and "loi 09-08" in paragraphs[1], paragraphs
    driver.execute_script("arguments[0].scrollIntoView({block: 'start'})", summary)
    shot(driver, "15-summary-fr-phone")
    card = page.card()
    reference = card.find_element(By.CSS_SELECTOR, "dd.ref").text
    code = card.find_element(By.CSS_SELECTOR, "dd.code").text
    assert reference.startswith("BAB-") and len(code) == 9
    # The reference is the largest text of the card, and the card is in view.
    sizes = driver.execute_script("const c = document.querySelector('#log li.receipt .card');"
                                  "return [...c.querySelectorAll('*')].map(e => parseFloat(getComputedStyle(e).fontSize));")
    ref_size = float(driver.execute_script("return parseFloat(getComputedStyle(document.querySelector('dd.ref')).fontSize)"))
    assert ref_size == max(sizes)
    # Two more messages came after it; the header's chip brings it back into view.
    driver.find_element(By.ID, "receipt-link").click()
    wait_for(lambda: driver.execute_script(
        "const r = document.querySelector('#log li.receipt').getBoundingClientRect(); return r.top >= 0 && r.top < 300"),
        what="the receipt scrolled into view")
    shot(driver, "04-receipt-fr-phone")

    card.find_element(By.CSS_SELECTOR, "button.copy").click()
    copied = driver.execute_async_script("navigator.clipboard.readText().then(arguments[0], e => arguments[0](String(e)))")
    assert reference in copied and code in copied and "15 décembre 2026" in copied

    # Print: only the receipt; no header, no composer, no other message.
    driver.execute_script("window.print = () => {};")
    card.find_element(By.CSS_SELECTOR, "button.print").click()
    driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": "print"})
    visible = driver.execute_script(
        "return [...document.querySelectorAll('#log > li, .top, .bottom')].filter(e => e.offsetParent !== null)"
        ".map(e => e.className)")
    assert len(visible) == 1 and "receipt" in visible[0], visible
    pdf = base64.b64decode(driver.execute_cdp_cmd("Page.printToPDF", {"printBackground": True})["data"])
    assert pdf.startswith(b"%PDF") and len(re.findall(rb"/Type\s*/Page[^s]", pdf)) == 1  # the receipt: one page
    (SCREENSHOTS / "05-receipt-printed.pdf").write_bytes(pdf)
    driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": ""})

    before = page.texts()
    driver.refresh()
    page.open()
    after = page.texts()
    assert [line.split("\n")[0] for line in after] == [line.split("\n")[0] for line in before]
    bots = page.bots()
    receipt_at = next(i for i, li in enumerate(bots) if "receipt" in li.get_attribute("class"))
    assert receipt_at < len(bots) - 1, "the menu after the receipt must stay after it"
    live_menus = driver.find_elements(By.CSS_SELECTOR, "#log .options:not(.stale)")
    assert len(live_menus) == 1 and bots[-1].find_elements(By.CSS_SELECTOR, ".options:not(.stale)")
    # Buttons of the newest menu keep a contrast of at least 4.5:1 (no opacity tricks).
    opacity = driver.execute_script("return getComputedStyle(document.querySelector('#log .options button')).opacity")
    assert float(opacity) == 1.0
    assert driver.find_elements(By.CSS_SELECTOR, "#log li.day")
    shot(driver, "06-after-reload-fr-phone")


def test_full_request_in_darija_right_to_left_on_desktop(live: Live, browsers: Browsers) -> None:
    driver = browsers(DESKTOP, "ar-MA")
    page = ChatPage(driver, live.url).open()
    page.replay(load(TRANSCRIPTS / "access_request_ary.txt"))
    card = page.card()
    assert card.find_element(By.CSS_SELECTOR, "dd.ref").text.startswith("BAB-")
    assert driver.execute_script("return document.documentElement.dir") == "rtl"
    # Right to left: Bab's bubbles on the right, the citizen's on the left.
    bot = page.bots()[0].rect
    user = driver.find_elements(By.CSS_SELECTOR, "#log > li.msg-user")[0].rect
    assert bot["x"] + bot["width"] > user["x"] + user["width"] and user["x"] < bot["x"]
    # The summary's labels sit on the right of their values, in bold.
    columns = driver.execute_script(
        "return [...document.querySelectorAll('#log .bubble.summary dl.pairs dt')].map(dt =>"
        " [dt.textContent, dt.getBoundingClientRect().left >= dt.nextElementSibling.getBoundingClientRect().right,"
        " Number(getComputedStyle(dt).fontWeight)]);")
    assert len(columns) == 7 and columns[0][0] == "موجه لـ" and all(c[1] and c[2] >= 600 for c in columns), columns
    driver.find_element(By.ID, "receipt-link").click()
    shot(driver, "07-receipt-ary-desktop")


def test_html_typed_in_is_shown_as_text(live: Live, browsers: Browsers) -> None:
    driver = browsers(DESKTOP, "fr-FR")
    page = ChatPage(driver, live.url).open()
    page.say("Bonjour <b>gras</b><img src=x onerror=alert(1)>", replies=2)
    assert driver.find_elements(By.CSS_SELECTOR, "#log b, #log img") == []
    assert "<b>gras</b>" in page.items()[0].text


def test_keyboard_only_from_the_first_screen_through_a_step(live: Live, browsers: Browsers) -> None:
    driver = browsers(DESKTOP, "fr-FR")
    page = ChatPage(driver, live.url).open()
    body = driver.find_element(By.TAG_NAME, "body")
    body.send_keys(Keys.TAB)
    for _ in range(12):  # Tab through the first screen to its first start button
        if driver.switch_to.active_element.get_attribute("data-start") == "access":
            break
        driver.switch_to.active_element.send_keys(Keys.TAB)
    assert driver.switch_to.active_element.get_attribute("data-start") == "access"
    driver.switch_to.active_element.send_keys(Keys.ENTER)
    # The start button opens the menu in French and taps "Request information": the topic question comes,
    # and focus goes to the text box.
    wait_for(lambda: any("Quelle information" in li.text for li in page.bots()), what="the topic question")
    wait_for(lambda: driver.switch_to.active_element.get_attribute("id") == "input", what="focus in the text box")
    page.say("Le budget 2025 de la commune")
    page.say("Tétouan")
    # Back from the text box with Shift+Tab: only the newest menu's buttons are on the way, old ones are out.
    walked = []
    for _ in range(8):
        driver.switch_to.active_element.send_keys(Keys.SHIFT, Keys.TAB)
        walked.append(driver.switch_to.active_element.get_attribute("data-id"))
        if walked[-1] == "01.571.01.11":
            break
    assert walked[-1] == "01.571.01.11", walked
    stale = driver.find_elements(By.CSS_SELECTOR, "#log .options.stale button")
    assert stale and all(b.get_attribute("tabindex") == "-1" for b in stale)
    before = len(page.bots())
    driver.switch_to.active_element.send_keys(Keys.ENTER)
    page.wait_bots(before + 1)
    # After a choice, focus moves to the newest question's first button: Enter again completes the step.
    wait_for(lambda: driver.switch_to.active_element.get_attribute("data-id") == "no", what="focus on the new menu")
    before = len(page.bots())
    driver.switch_to.active_element.send_keys(Keys.ENTER)
    page.wait_bots(before + 1)
    assert driver.switch_to.active_element.get_attribute("data-id") == "chat"
    shot(driver, "08-keyboard-desktop")


def png(width: int = 48, height: int = 32) -> bytes:
    """A small valid PNG (solid green), written by hand."""
    raw = b"".join(b"\x00" + b"\xe8\x8a\x1c" * width for _ in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


def test_reload_keeps_order_photos_and_locations(live: Live, browsers: Browsers, tmp_path: Path) -> None:
    driver = browsers(PHONE, "fr-FR")
    driver.execute_cdp_cmd("Browser.grantPermissions", {"origin": live.url, "permissions": ["geolocation"]})
    driver.execute_cdp_cmd("Emulation.setGeolocationOverride", {"latitude": 33.5731, "longitude": -7.5898,
                                                                "accuracy": 10})
    page = ChatPage(driver, live.url).open()
    page.say("Bonjour")
    page.tap("feedback")
    page.tap("complaint")
    before = len(page.bots())
    driver.find_element(By.ID, "locate").click()
    page.wait_bots(before + 1)
    first = wait_for(lambda: driver.find_elements(By.CSS_SELECTOR, "#log .options:not(.stale) button"))[0]
    first.click()
    page.tap("lighting")
    page.say("Les lampadaires de la rue 12 sont éteints depuis deux semaines.")
    photo = tmp_path / "street.png"
    photo.write_bytes(png())
    before = len(page.bots())
    driver.find_element(By.ID, "file").send_keys(str(photo))
    page.wait_bots(before + 1)
    page.settle()
    bots_before = [li.text.split("\n")[0] for li in page.bots()]

    driver.refresh()
    page.open()
    image = wait_for(lambda: driver.find_elements(By.CSS_SELECTOR, "#log li.msg-user img"), what="the photo")[0]
    wait_for(lambda: driver.execute_script("return arguments[0].complete && arguments[0].naturalWidth", image) == 48,
             what="the photo loaded again")
    place = driver.find_element(By.CSS_SELECTOR, "#log li.msg-user a.map")
    assert "Casablanca" in place.text or "Sidi" in place.text or "Anfa" in place.text, place.text
    assert "openstreetmap.org" in place.get_attribute("href")
    # Bab's messages in the same order as before the reload, the photo and the location in their places.
    assert [li.text.split("\n")[0] for li in page.bots()] == bots_before
    users = driver.find_elements(By.CSS_SELECTOR, "#log > li.msg-user")
    kinds = [("img" if u.find_elements(By.TAG_NAME, "img") else "map" if u.find_elements(By.CSS_SELECTOR, "a.map")
              else "text") for u in users]
    assert kinds.index("map") < kinds.index("img")
    shot(driver, "09-reload-photo-location-phone")


def test_leave_this_device_then_reopen_on_another_profile_with_reference_and_code(
        live: Live, browsers: Browsers) -> None:
    first = browsers(PHONE, "fr-FR")
    page = ChatPage(first, live.url).open()
    page.replay(load(TRANSCRIPTS / "access_request_fr.txt"))
    card = page.card()
    reference = card.find_element(By.CSS_SELECTOR, "dd.ref").text
    code = card.find_element(By.CSS_SELECTOR, "dd.code").text

    # Leave this device: the screen is cleared, and a reload shows nothing of the conversation.
    first.find_element(By.ID, "leave").click()
    first.switch_to.alert.accept()
    wait_for(lambda: first.find_element(By.ID, "welcome").is_displayed() and not page.items(), what="a cleared screen")
    shot(first, "10-left-this-device-phone")
    first.refresh()
    page.open()
    assert page.items() == [] and reference not in first.page_source and "Amina" not in first.page_source

    # Another browser profile: the reference alone, or with a wrong code, opens nothing.
    second = browsers(DESKTOP, "fr-FR")
    other = ChatPage(second, live.url).open()
    second.find_element(By.CSS_SELECTOR, '#start button[data-start="follow"]').click()
    second.find_element(By.ID, "reopen-reference").send_keys(reference)
    second.find_element(By.ID, "reopen-code").send_keys("AAAA-AAAA")
    second.find_element(By.CSS_SELECTOR, "#reopen button[type=submit]").click()
    error = wait_for(lambda: (e := second.find_element(By.ID, "reopen-error")).is_displayed() and e.text)
    assert "ne correspondent pas" in error
    code_box = second.find_element(By.ID, "reopen-code")
    code_box.clear()
    code_box.send_keys(code.lower().replace("-", " "))
    second.find_element(By.CSS_SELECTOR, "#reopen button[type=submit]").click()
    found = wait_for(lambda: second.find_elements(By.CSS_SELECTOR, "#log li.receipt .card"), what="the request")[0]
    assert reference in found.text and "reçue, en attente" in found.text.lower() or reference in found.text
    assert "Tétouan" in found.text
    shot(second, "11-reopened-on-another-device-desktop")
    # Its conversation now follows that citizen's requests: "My requests" lists it.
    other.say("menu")
    other.tap("mine")
    assert reference in page_text(second)


def page_text(driver: WebDriver) -> str:
    return str(driver.find_element(By.ID, "log").text)


def test_embed_snippet_opens_with_the_collectivity_preselected(live: Live, browsers: Browsers,
                                                              host_page: HostPage) -> None:
    host_page.html = (f'<!doctype html><html><head><title>Commune de Tétouan</title></head><body>'
                      f'<h1>Commune de Tétouan</h1><script src="{live.url}/embed.js" data-place="01.571.01.11" '
                      f'data-lang="fr" async></script></body></html>')
    driver = browsers(DESKTOP, "fr-FR")
    driver.get(f"http://127.0.0.1:{host_page.port}/")
    frame = wait_for(lambda: driver.find_elements(By.TAG_NAME, "iframe"), what="the iframe")[0]
    driver.switch_to.frame(frame)
    page = ChatPage(driver, live.url)
    wait_for(lambda: driver.find_elements(By.ID, "welcome"), what="the chat in the frame")
    wait_for(lambda: driver.execute_script("return document.getElementById('log').getAttribute('aria-busy')")
             == "false")
    assert "Pour Tétouan" in driver.find_element(By.ID, "welcome").text
    driver.find_element(By.CSS_SELECTOR, '#start button[data-start="access"]').click()
    wait_for(lambda: any("Quelle information" in li.text for li in page.bots()), what="the topic question")
    page.say("Le budget 2025 de la commune")
    chip = wait_for(lambda: driver.find_elements(By.CSS_SELECTOR, "#log .options.suggest button"), what="the chip")[0]
    assert chip.text == "Tétouan"
    before = len(page.bots())
    chip.click()
    # The chip sends the name; the collectivity's own code is then chosen for the citizen: next, urgency.
    wait_for(lambda: any("urgent" in li.text.lower() for li in page.bots()[before:]), what="the urgency question")
    driver.switch_to.default_content()
    shot(driver, "12-embedded-on-a-commune-site-desktop")


def test_security_cache_and_compression_headers(live: Live) -> None:
    def get(path: str, **headers: str) -> Any:
        return urllib.request.urlopen(urllib.request.Request(live.url + path, headers=headers), timeout=10)

    page = get("/", **{"Accept-Encoding": "gzip", "Accept-Language": "fr"})
    csp = page.headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "script-src 'self'" in csp and "object-src 'none'" in csp
    assert "frame-ancestors 'self' http://127.0.0.1:" in csp
    assert page.headers["X-Content-Type-Options"] == "nosniff"
    assert page.headers["Referrer-Policy"] == "no-referrer"
    assert page.headers["Content-Encoding"] == "gzip" and page.headers["Cache-Control"] == "no-cache"
    assert "Bab transmet" in gzip.decompress(page.read()).decode()
    script = get("/static/chat.js", **{"Accept-Encoding": "gzip"})
    assert script.headers["Cache-Control"].startswith("public, max-age=") and script.headers["ETag"]
    assert script.headers["Content-Encoding"] == "gzip"
    api = get("/api/ui")
    assert api.headers["Cache-Control"] == "no-store" and "frame-ancestors 'none'" in api.headers[
        "Content-Security-Policy"] and api.headers["X-Frame-Options"] == "DENY"
    icon = get("/favicon.ico")
    assert icon.headers["Content-Type"].startswith("image/svg+xml")
