"""The transition table, the remedies' windows and staff scopes over the real directory."""

from __future__ import annotations

from datetime import date

import pytest

from bot.domain.calendar import WorkingCalendar
from bot.domain.directory import Directory
from bot.domain.lifecycle import (
    TRANSITIONS,
    Action,
    InvalidTransition,
    allowed,
    next_status,
)
from bot.domain.remedies import can_complain_to_head, can_go_to_cdai
from bot.domain.requests import OPEN_STATUSES, Status
from bot.domain.staff import (
    Role,
    StaffMember,
    covers,
    handlers_of,
    one_level_up,
    responsible_coordinators,
)

TETOUAN = "01.571.01.11"


def test_access_request_paths() -> None:
    status = Status.SUBMITTED
    for action, expected in [(Action.OPEN, Status.ACKNOWLEDGED), (Action.TAKE, Status.IN_PROGRESS),
                             (Action.ASK_CLARIFICATION, Status.CLARIFICATION), (Action.CLARIFIED, Status.IN_PROGRESS),
                             (Action.EXTEND, Status.EXTENDED), (Action.ANSWER_PARTIALLY, Status.PARTIALLY_ANSWERED),
                             (Action.CLOSE, Status.CLOSED)]:
        status = next_status("access", status, action)
        assert status is expected


@pytest.mark.parametrize("kind", ["complaint", "observation", "suggestion"])
def test_decree_complaints_follow_their_own_path(kind: str) -> None:
    assert allowed(kind, "submitted") == {Action.OPEN, Action.TAKE, Action.ANSWER, Action.TRANSFER, Action.WITHDRAW}
    for action in (Action.EXTEND, Action.REFUSE, Action.ASK_CLARIFICATION, Action.ANSWER_PARTIALLY):
        with pytest.raises(InvalidTransition):
            next_status(kind, "in_progress", action)


def test_no_way_out_of_final_statuses_and_one_extension_only() -> None:
    for kind, table in TRANSITIONS.items():
        for final in ("withdrawn", "closed"):
            assert not allowed(kind, final), kind
        assert (Status.EXTENDED, Action.EXTEND) not in table
        # Only open requests can be withdrawn; answered ones can only be closed.
        assert all(status in OPEN_STATUSES for status, action in table if action is Action.WITHDRAW)
    assert Action.EXTEND not in allowed("head_complaint", "submitted")
    assert Action.TRANSFER not in allowed("head_complaint", "submitted")


def test_remedy_windows() -> None:
    calendar = WorkingCalendar.morocco(2026, 2027)
    due = date(2026, 12, 15)
    args = dict(answered_on=None, due_on=due, calendar=calendar, already_complained=False)
    assert not can_complain_to_head("access", "in_progress", today=due, **args)  # not late yet
    assert can_complain_to_head("access", "in_progress", today=date(2026, 12, 16), **args)
    # 20 working days after Tue 15 Dec: 16–18, 21–25, 28–31 Dec (12), 4–8 Jan (17), 12, 13 and 15 Jan (20):
    # 1, 11 and 14 Jan 2027 are holidays. The last day is Friday 15 Jan; Monday 18 is too late.
    assert can_complain_to_head("access", "submitted", today=date(2027, 1, 15), **args)
    assert not can_complain_to_head("access", "submitted", today=date(2027, 1, 18), **args)
    assert not can_complain_to_head("complaint", "submitted", today=date(2026, 12, 16), **args)
    assert not can_complain_to_head("access", "refused", today=date(2026, 12, 1), due_on=due, calendar=calendar,
                                    answered_on=date(2026, 12, 1), already_complained=True)
    assert can_go_to_cdai("head_complaint", "refused", date(2026, 12, 1), due, date(2026, 12, 31))
    assert not can_go_to_cdai("head_complaint", "refused", date(2026, 12, 1), due, date(2027, 1, 1))
    assert not can_go_to_cdai("access", "refused", date(2026, 12, 1), due, date(2026, 12, 2))


def member(staff_id: int, role: Role, *scopes: str | None) -> StaffMember:
    return StaffMember(id=staff_id, role=role, name=str(staff_id), identity_id=staff_id, channel="web",
                       external_id=str(staff_id), locale="fr", scopes=tuple(scopes))


def test_scopes_and_routing(directory: Directory) -> None:
    province = directory.get(TETOUAN).parent_code  # type: ignore[union-attr]
    region = directory.get(province or "").parent_code  # type: ignore[union-attr]
    clerk = member(1, Role.CLERK, TETOUAN)
    provincial = member(2, Role.COORDINATOR, province)
    regional = member(3, Role.COORDINATOR, region)
    national = member(4, Role.COORDINATOR, None)
    martil = directory.match("martil", levels={"commune"})[0].collectivity.code
    assert covers(clerk, directory, TETOUAN) and not covers(clerk, directory, martil)
    assert not covers(clerk, directory, province or "")  # a clerk covers exactly their collectivities
    assert covers(provincial, directory, TETOUAN) and covers(regional, directory, TETOUAN)
    assert all(covers(national, directory, code) for code in directory.codes())
    everyone = [clerk, provincial, regional, national]
    assert handlers_of(everyone, directory, TETOUAN) == [clerk]
    assert responsible_coordinators(everyone, directory, TETOUAN) == [provincial]
    assert one_level_up(everyone, directory, TETOUAN) == [regional]
    assert one_level_up([clerk, provincial, national], directory, TETOUAN) == [national]
    assert responsible_coordinators([clerk, national], directory, TETOUAN) == [national]


@pytest.fixture(scope="module")
def directory(template_db: tuple[object, Directory]) -> Directory:
    return template_db[1]
