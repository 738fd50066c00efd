"""The desk's pure side, without a database: what each step decides and what it shows, for views built by hand.

The service (`bot.services.desk`) loads a `DeskData` (the request being worked on, the requests a message names,
who can be assigned) before the engine decides, runs the commands the flow returns (`DeskAct`, `DeskDenied`,
`CorrectHoliday`) and renders the new step's page. Here each test reads as "given this card, the clerk who
presses that gets this state and these commands".
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime

from bot.domain.directory import Collectivity, Directory
from bot.flows.desk import Standing, available_actions
from bot.flows.desk_render import Outcome, days_left, outcome_text, render, render_inbox, render_request
from bot.flows.desk_views import (
    CalendarView,
    Clerk,
    DeskData,
    HistoryLine,
    InboxRow,
    InboxView,
    OverdueGroup,
    OverdueView,
    RequestCard,
    StatsRow,
    StatsView,
)
from bot.flows.engine import Context, advance, move
from bot.flows.spec import (
    CorrectHoliday,
    DeskAct,
    DeskDenied,
    DeskShow,
    Effect,
    Inbound,
    InboundKind,
    Send,
    State,
)
from bot.i18n import translator

TETOUAN = "01.511.01.01"
MARTIL = "01.511.01.05"
DIRECTORY = Directory([
    Collectivity(TETOUAN, "commune", "Tétouan", "تطوان", None, 380000, 35.57, -5.37, "prefecture", "urbaine"),
    Collectivity(MARTIL, "commune", "Martil", "مرتيل", None, 64000, 35.62, -5.28, "prefecture", "urbaine"),
], chat_words=())
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
        reference="AB12CD", kind="access", urgent=False, place=TETOUAN, status="acknowledged",
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


CARD = RequestCard(
    reference="BAB-AB12CD", kind="access", urgent=False, place=TETOUAN, status="acknowledged",
    received_on=date(2025, 3, 3), due_on=date(2025, 3, 31), today=TODAY, assignee=None, subject="Budget 2024",
    actions=("take", "answer", "clarify", "extend", "refuse", "transfer", "note"),
)


def desk(*cards: RequestCard, unknown: tuple[str, ...] = (), **changes: object) -> DeskData:
    data = DeskData(member_id=7, member_name="Salma", role="clerk", national=False, today=TODAY,
                    filters=("open", "overdue", "mine", "unassigned"),
                    cards={**{card.reference: card for card in cards}, **{ref: None for ref in unknown}})
    return replace(data, **changes)  # type: ignore[arg-type]


def press(state: State, choice: str, data: DeskData, version: int | None = None) -> tuple[State, list[Effect]]:
    inbound = Inbound(kind=InboundKind.CHOICE, choice_id=choice, version=state.version if version is None else version)
    return advance(state, inbound, Context(directory=DIRECTORY, default_locale="fr", staff_role=data.role, desk=data))


def write(state: State, text: str, data: DeskData) -> tuple[State, list[Effect]]:
    inbound = Inbound(kind=InboundKind.TEXT, text=text)
    return advance(state, inbound, Context(directory=DIRECTORY, default_locale="fr", staff_role=data.role, desk=data))


def on_card(**scratch: object) -> State:
    return State(flow="desk", step="open", history=["list"], scratch={"ref": CARD.reference, **scratch},
                 locale="fr", version=10)


def sent(effects: list[Effect]) -> list[str]:
    return [effect.message.text for effect in effects if isinstance(effect, Send)]


def test_a_staff_notice_button_opens_the_request_in_scope_and_asks_the_service_to_show_it() -> None:
    state, effects = press(State(flow="desk", step="list", locale="fr", version=3), "go:open:BAB-AB12CD", desk(CARD),
                           version=0)
    assert (state.step, state.scratch, state.history, state.version) == ("open", {"ref": CARD.reference}, ["list"], 4)
    assert effects == [DeskAct("open", CARD.reference), DeskShow()]
    citizen = Context(directory=DIRECTORY, default_locale="fr")
    inbound = Inbound(kind=InboundKind.CHOICE, choice_id="go:open:BAB-AB12CD", version=0)
    state, _ = advance(State(flow="menu", step="main", locale="fr", version=3), inbound, citizen)
    assert (state.flow, state.version) == ("menu", 3)


def test_a_request_outside_the_scope_looks_unknown_and_is_audited() -> None:
    state, effects = write(State(flow="desk", step="list", locale="fr", version=3), "bab-zz99zz ?",
                           desk(unknown=("BAB-ZZ99ZZ",)))
    assert (state.step, "ref" in state.scratch) == ("list", False)
    assert effects[1:] == [DeskDenied("open", "BAB-ZZ99ZZ"), DeskShow()]
    assert sent(effects) == [FR("I find no request {reference} in your inbox.", reference="BAB-ZZ99ZZ")]


def test_a_refusal_on_an_article_7_exception_goes_ground_exception_reason_then_back_to_the_card() -> None:
    data = desk(CARD)
    state, effects = press(on_card(), "a:refuse", data)
    assert (state.step, state.scratch["pick"], effects) == ("pick", "ground", [DeskShow()])
    state, _ = press(state, "c:article_7", data)
    assert (state.step, state.scratch["pick"]) == ("pick", "exception")
    state, _ = press(state, "c:private_life", data)
    assert (state.step, state.scratch["action"]) == ("compose", "refuse")
    state, effects = write(state, "Ces données concernent la vie privée de tiers.", data)
    assert effects == [DeskAct("refuse", CARD.reference, text="Ces données concernent la vie privée de tiers.",
                               ground="article_7", exception="private_life"), DeskShow()]
    assert (state.step, state.history) == ("open", ["list"])  # 'back' leads to the inbox, not into the refusal


def test_an_action_the_card_does_not_offer_is_a_stale_button_and_nothing_is_done() -> None:
    state, effects = press(on_card(), "a:assign", desk(CARD))  # a clerk cannot assign
    assert (state.step, state.version) == ("open", 10)
    assert not [effect for effect in effects if isinstance(effect, DeskAct)]
    assert effects[-1] == DeskShow()


def test_a_forged_choice_on_a_pick_is_refused_and_asked_again() -> None:
    state = on_card()
    move(state, "pick", scratch={"pick": "reason", "action": "extend"})
    again, effects = press(state, "c:because", desk(CARD))
    assert (again.step, again.version) == ("pick", state.version)
    assert not [effect for effect in effects if isinstance(effect, DeskAct)]
    again, effects = press(state, "c:large_volume", desk(CARD))
    assert effects == [DeskAct("extend", CARD.reference, reason="large_volume"), DeskShow()]


def test_an_answer_collects_documents_then_asks_whether_it_is_complete() -> None:
    data = desk(CARD)
    state, _ = press(on_card(), "a:answer", data)
    for attachment_id in (41, 42):
        state, effects = advance(state, Inbound(kind=InboundKind.DOCUMENT, attachment_id=attachment_id),
                                 Context(directory=DIRECTORY, default_locale="fr", staff_role="clerk", desk=data))
        assert state.step == "compose" and str(attachment_id - 40) in sent(effects)[0]
    state, _ = write(state, "Voici le budget 2024 voté.", data)
    assert (state.step, state.scratch["pick"]) == ("pick", "answer_kind")
    state, effects = press(state, "c:partial", data)
    assert effects == [DeskAct("answer", CARD.reference, text="Voici le budget 2024 voté.", files=(41, 42),
                               partial=True), DeskShow()]


def test_a_transfer_offers_the_other_collectivities_and_ends_on_the_inbox() -> None:
    data = desk(CARD)
    state, _ = press(on_card(), "a:transfer", data)
    state, effects = write(state, "Tétouan", data)  # the request's own collectivity is not offered
    assert state.step == "compose" and effects[-1] == DeskShow()
    state, _ = write(state, "Martil", data)
    assert state.scratch["places"] == [MARTIL]
    state, effects = press(state, f"c:{MARTIL}", data)
    assert effects == [DeskAct("transfer", CARD.reference, to_code=MARTIL), DeskShow()]
    assert (state.step, state.history) == ("list", [])


def test_the_calendar_queues_a_correction_for_an_upcoming_estimated_holiday_and_audits_a_forged_one() -> None:
    eid = date(2025, 3, 31)
    data = desk(role="coordinator", national=True, calendar=CalendarView(True, ((eid, "Eid al-Fitr"),)))
    state = State(flow="desk", step="calendar", locale="fr", version=5)
    again, effects = press(state, "cal:confirm:2025-04-15", data)
    assert DeskDenied("calendar", "cal:confirm:2025-04-15") in effects and again.step == "calendar"
    again, effects = press(state, "cal:later:2025-03-31", data)
    assert effects == [CorrectHoliday(eid, date(2025, 4, 1)), DeskShow()] and again.step == "list"


def test_the_actions_follow_the_lifecycle_and_the_role() -> None:
    opened = Standing("access", "acknowledged", None, extended=False, due_on=TODAY)
    assert available_actions(opened, 7, "clerk", TODAY) == ("take", "answer", "clarify", "extend", "refuse",
                                                             "transfer", "note")
    assert "extend" not in available_actions(opened, 7, "clerk", date(2025, 3, 11))  # past the first deadline
    assert "extend" not in available_actions(replace(opened, extended=True), 7, "clerk", TODAY)
    mine = replace(opened, assigned_staff_id=7)
    assert available_actions(mine, 7, "coordinator", TODAY)[0] == "answer"
    assert "assign" in available_actions(mine, 7, "coordinator", TODAY)
    assert available_actions(replace(opened, status="answered"), 7, "clerk", TODAY) == ("note",)


# ---- what the other steps show ----------------------------------------------------------------------------------


def test_the_overdue_report_groups_by_collectivity_the_busiest_first() -> None:
    rows = (InboxRow("BAB-AAAAAA", False, "access", MARTIL, date(2025, 3, 1), "acknowledged"),
            InboxRow("BAB-BBBBBB", False, "access", TETOUAN, date(2025, 3, 2), "acknowledged"),
            InboxRow("BAB-CCCCCC", True, "complaint", TETOUAN, date(2025, 3, 7), "submitted"))
    view = OverdueView(total=14, groups=(OverdueGroup(TETOUAN, 12, rows[1:]), OverdueGroup(MARTIL, 2, rows[:1])),
                       first=rows, today=TODAY)
    state = State(flow="desk", step="overdue", locale="fr", version=2)
    screen = render(FR, state, desk(page=view), DIRECTORY)
    lines = screen.text.splitlines()
    assert "14" in lines[0] and lines[2] == "Tétouan (12)" and lines[-2] == "Martil (2)"
    assert [option_id for option_id, _ in screen.options] == ["open:BAB-AAAAAA", "open:BAB-BBBBBB", "open:BAB-CCCCCC",
                                                              "list"]
    empty = render(FR, state, desk(page=OverdueView(0, (), (), TODAY)), DIRECTORY)
    assert empty.text == FR("No overdue request in your scope.")


def test_the_figures_show_the_total_first_and_dashes_where_nothing_is_decided() -> None:
    view = StatsView((StatsRow("", 4, 2, 1, 1, 6.5, 50), StatsRow(TETOUAN, 4, 2, 1, 1, None, None)), more=3)
    screen = render(FR, State(flow="desk", step="stats", locale="fr"), desk(page=view), DIRECTORY)
    lines = screen.text.splitlines()
    assert "6.5" in lines[1] and "50" in lines[1]
    assert lines[2].startswith("Tétouan") and "-" in lines[2]
    assert "3" in lines[-1]


def test_only_national_members_see_the_calendar_and_a_clerk_picks_among_the_clerks_and_themself() -> None:
    screen = render(FR, State(flow="desk", step="calendar", locale="fr"), desk(calendar=CalendarView(False)),
                    DIRECTORY)
    assert [option_id for option_id, _ in screen.options] == ["list"]
    state = State(flow="desk", step="pick", scratch={"pick": "clerk", "ref": CARD.reference}, locale="fr")
    screen = render(FR, state, desk(CARD, clerks=(Clerk(3, "Youssef"), Clerk(7, "Salma"))), DIRECTORY)
    assert screen.options == (("c:3", "Youssef"), ("c:7", FR("Me")), ("back", FR("Cancel this action")))


def test_the_member_is_told_how_an_action_went() -> None:
    done = outcome_text(FR, Outcome("transfer", CARD.reference, "done", place=MARTIL), DIRECTORY)
    assert done is not None and "Martil" in done and CARD.reference in done
    late = outcome_text(FR, Outcome("answer", CARD.reference, "no_longer_possible", status="withdrawn"), DIRECTORY)
    assert late is not None and CARD.reference in late
    assert outcome_text(FR, Outcome("open", CARD.reference, "done"), DIRECTORY) is None
