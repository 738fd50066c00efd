"""Clerks and coordinators on Telegram, through the real python-telegram-bot and the fake Bot API (polling):
linking by deep link, the staff command menu, answering with a Telegram document, /overdue, and the scheduled
overdue notice reaching the citizen once. The web-chat versions are in tests/e2e/test_desk_lifecycle.py."""

from __future__ import annotations

from sqlalchemy import select

from bot.app import Bab
from bot.domain.requests import find_reference
from bot.domain.staff import Role
from bot.services.staff import StaffAdmin
from bot.storage import tables
from tests.fakes import telegram_api as tg
from tests.fakes.telegram_api import Call
from tests.telegram.conftest import TelegramCitizen
from tests.telegram.test_telegram_flows import DUE, file_access_request

TETOUAN = "01.571.01.11"
CLERK_CHAT = 5550101
COORDINATOR_CHAT = 5550202


def callback_ids(calls: list[Call]) -> list[str]:
    """The option ids of every inline button in `calls` (callback data is '<version>|<id>')."""
    return [button["callback_data"].partition("|")[2] for call in calls for button in call.buttons]


async def linked_staff(citizen: TelegramCitizen, chat_id: int, role: Role, scopes: list[str | None],
                       name: str) -> tuple[TelegramCitizen, list[Call]]:
    """Invite a staff member with `bab staff`'s service and link a Telegram chat by the deep link's /start."""
    bab = citizen.bab
    invite = await StaffAdmin(bab.sessions, bab.directory, bab.clock).invite(role, scopes, name)
    member = TelegramCitizen(citizen.api, bab, chat_id=chat_id)
    replies = await member.say(f"/start {invite.code}")
    return member, replies


async def file_for(citizen: TelegramCitizen) -> str:
    receipt = await file_access_request(citizen)
    reference = find_reference(receipt)
    assert reference is not None, receipt
    return reference


async def request_row(bab: Bab, reference: str) -> tables.Request:
    async with bab.sessions() as session:
        row = await session.scalar(select(tables.Request).where(tables.Request.reference == reference))
        assert row is not None
        return row


async def test_clerk_links_by_deep_link_and_gets_the_staff_menu(citizen: TelegramCitizen) -> None:
    clerk, replies = await linked_staff(citizen, CLERK_CHAT, Role.CLERK, [TETOUAN], "Fatima")
    assert replies and "Fatima" in clerk.texts(replies)  # the welcome names the member…
    scoped = [call for call in citizen.api.called("setMyCommands")
              if call.params.get("scope") == {"type": "chat", "chat_id": CLERK_CHAT}]
    assert len(scoped) == 1, citizen.api.called("setMyCommands")
    commands = [command["command"] for command in scoped[0].params["commands"]]
    assert {"start", "menu", "inbox", "overdue", "stats"} <= set(commands)
    assert commands[-3:] == ["inbox", "overdue", "stats"]
    # No other chat got the staff menu; the citizen's default menu is still the four public commands.
    assert all(call.params["scope"] in ({"type": "all_private_chats"}, {"type": "chat", "chat_id": CLERK_CHAT})
               for call in citizen.api.called("setMyCommands"))
    async with citizen.bab.sessions() as session:
        staff = await session.scalar(select(tables.Staff))
        assert staff is not None and staff.identity_id is not None
        identity = await session.get(tables.Identity, staff.identity_id)
        assert identity is not None and (identity.channel, identity.address) == ("telegram", str(CLERK_CHAT))
        assert identity.external_id == tables.identity_key("telegram", str(CLERK_CHAT))  # a hash, not the id
    # …and /inbox answers as a desk (the inbox is empty for now), not as the citizen menu.
    inbox = await clerk.say("/inbox")
    assert inbox
    assert not any(option.startswith("open:") for option in callback_ids(inbox))
    assert "f:overdue" in callback_ids(inbox)  # the desk's filters


async def test_clerk_answers_with_a_telegram_document(citizen: TelegramCitizen) -> None:
    clerk, _ = await linked_staff(citizen, CLERK_CHAT, Role.CLERK, [TETOUAN], "Fatima")
    reference = await file_for(citizen)

    notice = await clerk.replies()  # "new in the inbox", with a button to open it
    assert reference in clerk.texts(notice)
    assert f"0|go:open:{reference}" in [button["callback_data"] for call in notice for button in call.buttons]

    await clerk.say("/inbox")
    assert f"open:{reference}" in clerk.option_ids()
    opened = await clerk.tap(f"open:{reference}")
    assert reference in clerk.texts(opened) and "AB123456" in clerk.texts(opened)
    acknowledged = await citizen.replies()  # the citizen is told the request was opened
    assert reference in citizen.texts(acknowledged)
    await clerk.tap("a:take")
    await clerk.tap("a:answer")
    citizen.api.files["DOC-FILE-1"] = tg.PDF
    await clerk.send(tg.document(CLERK_CHAT, "DOC-FILE-1"))  # a PDF sent as a Telegram document
    await clerk.say("Voici le budget 2025 adopté par le conseil, en pièce jointe.")
    await clerk.tap("c:full")

    answer = await citizen.replies()
    assert "Voici le budget 2025" in citizen.texts(answer)
    documents = [call for call in answer if call.method == "sendDocument"]
    # Downloaded when the clerk sent it, uploaded again from Bab's own copy.
    assert len(documents) == 1 and documents[0].params["document"]["content"] == tg.PDF
    assert documents[0].chat_id == citizen.chat_id
    row = await request_row(citizen.bab, reference)
    assert row.status == "answered" and row.answered_at is not None
    async with citizen.bab.sessions() as session:
        refs = (await session.scalars(select(tables.Attachment.ref)
                                      .where(tables.Attachment.request_id == row.id))).all()
    assert len(refs) == 1 and refs[0].startswith("file:")


async def test_coordinator_sees_the_overdue_request(citizen: TelegramCitizen) -> None:
    coordinator, replies = await linked_staff(citizen, COORDINATOR_CHAT, Role.COORDINATOR, [None], "Karim")
    assert "Karim" in coordinator.texts(replies)
    assert any(call.params.get("scope") == {"type": "chat", "chat_id": COORDINATOR_CHAT}
               for call in citizen.api.called("setMyCommands"))
    reference = await file_for(citizen)
    assert (await request_row(citizen.bab, reference)).due_on == DUE  # Tue 15 Dec 2026

    await coordinator.replies()  # no clerk for Tétouan: the national coordinator may be told; drain it
    before = await coordinator.say("/overdue")
    assert reference not in coordinator.texts(before)  # not overdue yet

    citizen.bab.clock.advance(days=31)  # type: ignore[attr-defined]  # Thu 17 Dec 2026
    overdue = await coordinator.say("/overdue")
    assert reference in coordinator.texts(overdue)


async def test_scheduled_overdue_notice_reaches_the_citizen_once(citizen: TelegramCitizen) -> None:
    reference = await file_for(citizen)
    await citizen.replies()
    citizen.bab.clock.advance(days=31)  # type: ignore[attr-defined]  # due 15 Dec; now 17 Dec 10:00
    counts = await citizen.bab.jobs.run_all(citizen.bab.clock.now())
    assert counts["overdue"] >= 1, counts
    notice = await citizen.replies()  # dispatches the outbox to the fake Bot API
    assert reference in citizen.texts(notice), notice
    data = [button["callback_data"] for call in notice for button in call.buttons]
    assert any(item.endswith(f"go:complain:{reference}") for item in data), data
    assert (await request_row(citizen.bab, reference)).overdue_at is not None

    again = await citizen.bab.jobs.run_all(citizen.bab.clock.now())
    assert not any(again.values()), again
    assert await citizen.replies() == []

    # The button starts the complaint to the head.
    complain = next(item for item in data if item.endswith(f"go:complain:{reference}"))
    started = await citizen.send(tg.callback(citizen.chat_id, complain, citizen.language_code))
    assert citizen.prompt.buttons  # a question of the complaint flow
    async with citizen.bab.sessions() as session:
        row = await session.scalar(select(tables.Conversation))
    assert started and row is not None and (row.state["flow"], row.state["step"]) == ("complain", "reason")
