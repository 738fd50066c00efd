"""The public transparency page and its open data, for requests this test files through the real web API."""

from __future__ import annotations

import csv
import io
import json
import urllib.request
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from aiohttp import ClientSession, CookieJar
from aiohttp.test_utils import make_mocked_request
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from sqlalchemy import select

from bot.domain.deadlines import CASABLANCA
from bot.domain.directory import Directory
from bot.domain.lifecycle import Action
from bot.handlers.transparency import area_name, page_locale
from bot.i18n import translator
from bot.storage import tables
from tests.conftest import WebUser
from tests.golden.transcript import TRANSCRIPTS, load
from tests.web.conftest import DESKTOP, PHONE, Live, shot

COMMUNE = "01.571.01.11"  # Tétouan, where the golden French request goes


async def file_requests(live: Live, count: int) -> None:
    """`count` citizens each file the French golden request over HTTP, each with their own cookie."""
    assert live.bab is not None
    golden = load(TRANSCRIPTS / "access_request_fr.txt")
    for _ in range(count):
        async with ClientSession(base_url=live.url, cookie_jar=CookieJar(unsafe=True)) as session:
            user = WebUser(session, live.bab)
            await user.open()
            for turn in golden.turns:
                await (user.tap(turn.value) if turn.kind == "tap" else user.say(turn.value))


async def decide(live: Live, index: int, action: Action, data: dict[str, str]) -> None:
    """A clerk's decision on the index-th request, through the one lifecycle (logged in the event log)."""
    bab = live.bab
    assert bab is not None
    async with bab.sessions() as session, session.begin():
        request = list(await session.scalars(select(tables.Request).order_by(tables.Request.id)))[index]
        now = bab.clock.now()
        await bab.lifecycle.apply(session, request, action, "staff:1", now, data)
        request.answered_at = now


def fetch(live: Live, path: str) -> str:
    with urllib.request.urlopen(live.url + path, timeout=30) as response:
        return str(response.read().decode("utf-8"))


def test_transparency_page_and_open_data_show_the_requests_filed(live: Live,
                                                                 browsers: Callable[..., WebDriver]) -> None:
    assert live.bab is not None
    live.run(file_requests(live, 3))
    live.run(decide(live, 0, Action.REFUSE, {"ground": "unclear"}))  # refused on the day it came: on time
    live.clock.advance(days=40)  # past the due date of 15 December 2026
    live.run(decide(live, 1, Action.ANSWER, {"text": ""}))  # answered late; the third is overdue now
    received = live.bab.clock.now().astimezone(CASABLANCA).date() - timedelta(days=40)
    late = live.bab.calendar.working_days_between(received, live.bab.clock.now().astimezone(CASABLANCA).date())

    rows = {row["code"]: row for row in csv.DictReader(io.StringIO(fetch(live, "/transparency.csv")))}
    for code in ("MA", "01", "01.571", COMMUNE):
        row = rows[code]
        assert (row["received"], row["answered"], row["refused"], row["refused_unclear"], row["overdue"],
                row["decided"]) == ("3", "1", "1", "1", "1", "2"), row
        assert float(row["median_working_days"]) == late / 2 and float(row["on_time_share"]) == 0.5
    assert rows[COMMUNE]["level"] == "commune" and rows[COMMUNE]["parent_code"] == "01.571"
    assert len(rows) == 4  # only the areas that received requests
    data = json.loads(fetch(live, "/transparency.json"))
    assert data["licence"].startswith("CC BY 4.0") and "Haut-Commissariat au Plan" in data["attribution"]
    commune = next(area for area in data["areas"] if area["code"] == COMMUNE)
    assert commune["months"] == [{"month": "2026-11", "received": 3, "decided": 1},
                                 {"month": "2026-12", "received": 0, "decided": 1}]
    assert set(data["schema"]) == set(rows[COMMUNE])

    export = list(csv.DictReader(io.StringIO(fetch(live, "/transparency/requests.csv"))))
    assert len(export) == 3 and {row["collectivity_code"] for row in export} == {COMMUNE}
    assert sorted(row["decision"] for row in export) == ["", "answer", "refuse"]
    raw = fetch(live, "/transparency/requests.csv")
    for private in ("Amina", "AB123456", "612345678", "budget"):
        assert private not in raw

    driver = browsers(DESKTOP, "fr-FR")
    driver.get(live.url + f"/transparency/{COMMUNE}?lang=fr")
    summary = [cell.text for cell in driver.find_elements(By.CSS_SELECTOR, "#summary tbody td")]
    assert summary[:4] == ["3", "1", "1", "1"] and summary[5] == "50%"
    chart = driver.find_element(By.CSS_SELECTOR, "svg#chart-months")
    assert chart.get_attribute("role") == "img" and "Tétouan" in chart.find_element(By.TAG_NAME, "title").get_attribute(
        "textContent")
    assert "Le texte de la demande n'est pas clair" in driver.page_source or driver.find_elements(
        By.CSS_SELECTOR, "svg#chart-grounds")
    shot(driver, "13-transparency-commune-fr-desktop")
    # Darija in Latin letters reads the page in Latin letters: the collectivity's French name, not its Arabic one.
    latin = fetch(live, f"/transparency/{COMMUNE}?lang=ary_Latn")
    commune = live.directory.get(COMMUNE)
    assert commune is not None and 'lang="fr"' in latin and "Tétouan" in latin and commune.name_ar not in latin

    phone = browsers(PHONE, "ar-MA")
    phone.get(live.url + "/transparency")
    assert phone.execute_script("return [document.documentElement.lang, document.documentElement.dir]") == ["ar", "rtl"]
    regions = phone.find_elements(By.CSS_SELECTOR, "table.figures:not(#summary) tbody tr")
    assert len(regions) == 1 and "طنجة" in regions[0].text
    shot(phone, "14-transparency-country-ar-phone")


def test_collectivity_names_follow_the_script_of_the_locale(template_db: tuple[Path, Directory]) -> None:
    """Arabic names for ar and ary, the French (Latin-letter) names for fr and ary_Latn (Darija in Arabizi)."""
    directory = template_db[1]
    place = directory.get(COMMUNE)
    assert place is not None and place.name_fr == "Tétouan" and place.name_ar != place.name_fr
    names = {locale: area_name(COMMUNE, directory, translator(locale)) for locale in ("fr", "ary_Latn", "ar", "ary")}
    assert names == {"fr": "Tétouan", "ary_Latn": "Tétouan", "ar": place.name_ar, "ary": place.name_ar}


def test_the_page_for_each_locale_is_the_one_in_its_script() -> None:
    def chosen(query: str, accept: str = "") -> str:
        return page_locale(make_mocked_request("GET", f"/transparency{query}", headers={"Accept-Language": accept}))

    assert [chosen(f"?lang={lang}") for lang in ("fr", "ar", "ary", "ary_Latn")] == ["fr", "ar", "ar", "fr"]
    assert chosen("?lang=xx", "fr-FR,fr;q=0.9") == "fr" and chosen("", "de-DE") == "ar"
