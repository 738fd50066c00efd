"""French writes the first of the month as an ordinal (1er février), every other day as a number."""

from __future__ import annotations

from datetime import date

from bot.i18n import translator


def test_first_of_the_month_in_french() -> None:
    french = translator("fr")
    assert french.date(date(2027, 2, 1)) == "1er février 2027"
    assert french.date(date(2027, 2, 11)) == "11 février 2027"
    assert translator("ar").date(date(2027, 2, 1)).startswith("1 ")
