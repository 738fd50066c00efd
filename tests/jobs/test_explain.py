"""`explain_due`: the due date explains itself in each language."""

from __future__ import annotations

from datetime import UTC, date, datetime

from bot.domain.calendar import Override, WorkingCalendar
from bot.domain.deadlines import CASABLANCA, RULES, due_date
from bot.flows.explain import HOLIDAY_NAMES, explain_due
from bot.i18n import translator

CAL = WorkingCalendar.morocco(2025, 2028)


def local(y: int, mo: int, d: int, h: int = 10, mi: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, tzinfo=CASABLANCA).astimezone(UTC)


def test_explanation_lists_each_skipped_day() -> None:
    due = due_date(RULES["access"], local(2026, 5, 25, 11), CAL)  # due Thu 25 Jun, over Eid and the New Year
    text = explain_due(translator("fr"), due)
    lines = text.splitlines()
    assert "25 juin 2026" in lines[0]
    assert "25 mai 2026" in lines[1] and "11:00" in lines[1]
    day_lines = [line for line in lines if line.startswith("- ")]
    assert len(day_lines) == len(due.skipped)
    assert sum("27 mai 2026" in line for line in day_lines) == 1
    assert text.count("- ") == len(due.skipped)


def test_estimated_hijri_dates_are_flagged_until_confirmed() -> None:
    fr = translator("fr")
    due = due_date(RULES["access"], local(2026, 5, 25, 11), CAL)
    estimated = explain_due(fr, due)
    confirmed_cal = CAL.with_overrides([Override(date(2026, 6, 16), "holiday", "Islamic New Year", "confirmed")])
    confirmed = explain_due(fr, due_date(RULES["access"], local(2026, 5, 25, 11), confirmed_cal))
    new_year = fr(HOLIDAY_NAMES["Islamic New Year"])
    assert "- 16 juin 2026: Nouvel An de l'Hégire (date estimée, à confirmer par l'observation du croissant)" \
        in estimated.splitlines()
    assert f"- {fr.date(date(2026, 6, 16))}: {new_year}" not in estimated.splitlines()
    assert f"- {fr.date(date(2026, 6, 16))}: {new_year}" in confirmed.splitlines()


def test_shifted_start_and_calendar_rules() -> None:
    fr = translator("fr")
    late = explain_due(fr, due_date(RULES["access"], local(2026, 10, 6, 17), CAL))  # after 16:30: from Wed 7
    assert "7 octobre 2026" in late.splitlines()[2]
    urgent = explain_due(fr, due_date(RULES["urgent"], local(2026, 10, 1), CAL))  # +3 = Sun 4 → Mon 5 Oct
    assert "5 octobre 2026" in urgent.splitlines()[0] and "4 octobre 2026" in urgent


def test_every_locale_explains_in_its_own_script() -> None:
    due = due_date(RULES["access"], local(2026, 11, 13), CAL)
    for locale in ("ary", "ar"):
        text = explain_due(translator(locale), due)
        letters = [c for c in text if c.isalpha()]
        assert sum("\u0600" <= c <= "\u06ff" for c in letters) > len(letters) / 2, locale
