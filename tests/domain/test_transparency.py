"""The transparency figures: counted into the commune, its province, its region and the country."""

from __future__ import annotations

from datetime import date

from bot.domain.access_codes import code_hash, code_matches, new_code
from bot.domain.calendar import WorkingCalendar
from bot.domain.directory import Directory, read_aliases, read_collectivities
from bot.domain.transparency import Fact, compute

CALENDAR = WorkingCalendar.morocco(2025, 2028)
DIRECTORY = Directory(read_collectivities(), read_aliases())
TETOUAN = "01.571.01.11"
RECEIVED = date(2026, 11, 16)  # a Monday
DUE = date(2026, 12, 15)


def fact(decision: str | None = None, decided: date | None = None, status: str = "submitted",
         ground: str | None = None, code: str = TETOUAN) -> Fact:
    return Fact(code, "access", status, RECEIVED, DUE, decision, decided, ground)


def test_each_level_counts_received_answered_refused_overdue_and_times() -> None:
    facts = [
        fact("answer", date(2026, 11, 17), "answered"),  # 1 working day
        fact("answer_partially", date(2026, 11, 20), "partially_answered"),  # 3 (the 18th is a holiday)
        fact("refuse", date(2026, 12, 21), "refused", ground="unclear"),  # late
        fact(),  # open and past due on 2026-12-20: overdue
        fact(code="06.141.01.0", status="withdrawn"),  # elsewhere, closed: not overdue
    ]
    figures = compute(facts, DIRECTORY, CALENDAR, today=date(2026, 12, 20))
    for code in (TETOUAN, "01.571", "01"):
        area = figures[code]
        assert (area.received, area.answered, area.refused_total, area.refused["unclear"], area.overdue,
                area.decided) == (4, 2, 1, 1, 1, 3)
        assert area.median_days == 3 and area.on_time_share == 2 / 3
        assert area.months == {"2026-11": [4, 2], "2026-12": [0, 1]}
    assert figures["MA"].received == 5 and figures["MA"].overdue == 1
    assert figures["06.141.01.0"].median_days is None and figures["06.141.01.0"].on_time_share is None
    assert {figures[code].level for code in figures} == {"country", "region", "province", "commune"}


def test_median_of_an_even_count_is_the_mean_of_the_middle_two() -> None:
    facts = [fact("answer", date(2026, 11, 17)), fact("answer", date(2026, 11, 20))]
    assert compute(facts, DIRECTORY, CALENDAR, today=RECEIVED)["MA"].median_days == 2


def test_a_receipt_code_opens_its_request_only() -> None:
    code = new_code()
    stored = code_hash("BAB-7K3MQ9", code)
    assert len(code) == 9 and code[4] == "-" and len(stored) == 64 and code not in stored
    assert code_matches("BAB-7K3MQ9", code.lower().replace("-", " "), stored)
    assert not code_matches("BAB-7K3MQ8", code, stored)  # another reference
    assert not code_matches("BAB-7K3MQ9", "", stored) and not code_matches("BAB-7K3MQ9", code, None)
