"""The desk's pure side, without a database: how it navigates and what it shows for the views the service loads.

The service (`bot.services.desk`) loads an inbox page or a request card and hands it to these functions; here
the views are built by hand, so each test reads as "given this page, the clerk sees that".
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from bot.domain.directory import Collectivity, Directory
from bot.flows.desk import (
    HistoryLine,
    InboxRow,
    InboxView,
    RequestCard,
    days_left,
    render_inbox,
    render_request,
)
from bot.flows.engine import Context, advance, move
from bot.flows.spec import DeskShow, Inbound, InboundKind, State
from bot.i18n import translator

TETOUAN = "01.511.01.01"
DIRECTORY = Directory([Collectivity(TETOUAN, "commune", "Tétouan", "تطوان", None, 380000, 35.57, -5.37,
                                    "prefecture", "urbaine")], chat_words=())
TODAY = date(2025, 3, 10)
FR = translator("fr")


def row(reference: str, due_on: date, urgent: bool = False) -> InboxRow:
    return InboxRow(reference, urgent, "access", TETOUAN, due_on, "submitted")


# ---- the inbox ------------------------------------------------------------------------------------------------


def test_an_inbox_page_lists_each_request_with_its_days_left_and_offers_the_next_page() -> None:
    view = InboxView("open", 0, 7, (row("AB12CD", date(2025, 3, 13), urgent=True), row("EF34GH", TODAY)),
                     ("open", "overdue", "mine", "unassigned"), TODAY)
    screen = render_inbox(FR, view, DIRECTORY)
    lines = screen.text.splitlines()
    assert "7" in lines[0]
    assert lines[1].startswith("• AB12CD ⚡ · ") and "Tétouan" in lines[1]
    assert days_left(FR, TODAY, date(2025, 3, 13)) in lines[1]
    assert days_left(FR, TODAY, TODAY) in lines[2]
    assert "1" in lines[-1] and "2" in lines[-1]  # page 1 of 2
    ids = [option_id for option_id, _ in screen.options]
    assert ids == ["open:AB12CD", "open:EF34GH", "p:next", "f:overdue", "f:mine", "f:unassigned"]


def test_an_empty_last_page_says_so_and_only_goes_back() -> None:
    view = InboxView("mine", 1, 5, (), ("open", "overdue", "mine", "unassigned"), TODAY)
    screen = render_inbox(FR, view, DIRECTORY)
    assert len(screen.text.splitlines()) == 2
    assert [option_id for option_id, _ in screen.options] == ["p:prev", "f:open", "f:overdue", "f:unassigned"]


def test_days_left_counts_down_then_counts_the_delay() -> None:
    assert days_left(FR, TODAY, date(2025, 3, 12)) != days_left(FR, TODAY, TODAY)
    assert "2" in days_left(FR, TODAY, date(2025, 3, 12))
    assert "3" in days_left(FR, TODAY, date(2025, 3, 7))


# ---- one request ----------------------------------------------------------------------------------------------


def test_a_request_card_shows_the_requester_the_history_and_the_allowed_actions() -> None:
    card = RequestCard(
        reference="AB12CD", kind="access", urgent=False, place=TETOUAN, status="opened",
        received_on=date(2025, 3, 3), due_on=date(2025, 3, 31), today=TODAY, assignee=None,
        subject="Budget 2024", delivery="email", requester_name="Amina", id_number="K123", contact="a@b.ma",
        history=(HistoryLine(datetime(2025, 3, 3, 9, 0, tzinfo=UTC), "submitted", ""),
                 HistoryLine(datetime(2025, 3, 4, 9, 0, tzinfo=UTC), "note", "call the archive")),
        actions=("take", "answer", "note"),
    )
    screen = render_request(FR, card, DIRECTORY)
    assert "AB12CD" in screen.text and "Tétouan" in screen.text and "Budget 2024" in screen.text
    assert "Amina" in screen.text and "K123" in screen.text
    assert screen.text.splitlines()[-1].endswith(": call the archive")
    assert [option_id for option_id, _ in screen.options] == ["a:take", "a:answer", "a:note", "list"]


# ---- navigation -----------------------------------------------------------------------------------------------


def test_moving_remembers_the_step_for_back_and_makes_earlier_buttons_stale() -> None:
    state = State(flow="desk", step="list", version=4)
    move(state, "open", scratch={"ref": "AB12CD"})
    assert (state.step, state.history, state.scratch, state.version) == ("open", ["list"], {"ref": "AB12CD"}, 5)
    move(state, "pick", scratch={"pick": "ground"})
    move(state, "open", history=["list"])  # after an action: back leads to the inbox, not to the action's steps
    assert (state.step, state.history, state.version) == ("open", ["list"], 7)


def test_a_fresh_start_forgets_the_history_and_the_scratch_even_in_the_same_flow() -> None:
    state = State(flow="desk", step="open", history=["list"], scratch={"ref": "AB12CD"}, version=2)
    move(state, "desk:list", fresh=True)
    assert (state.flow, state.step, state.history, state.scratch, state.version) == ("desk", "list", [], {}, 3)


def test_a_staff_notice_button_opens_the_request_and_hands_the_rendering_to_the_service() -> None:
    inbound = Inbound(kind=InboundKind.CHOICE, choice_id="go:open:AB12CD", version=0)
    staff = Context(directory=DIRECTORY, default_locale="fr", staff_role="clerk")
    state, effects = advance(State(flow="desk", step="list", locale="fr", version=3), inbound, staff)
    assert (state.step, state.scratch, state.version) == ("open", {"ref": "AB12CD"}, 4)
    assert effects == [DeskShow()]
    citizen = Context(directory=DIRECTORY, default_locale="fr")
    state, _ = advance(State(flow="menu", step="main", locale="fr", version=3), inbound, citizen)
    assert (state.flow, state.version) == ("menu", 3)
