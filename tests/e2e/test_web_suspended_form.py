"""A notice's button pressed half-way through another form, on the web chat through the real aiohttp server: the
notice's little flow runs, then the menu offers to continue the form, which goes on with every answer kept (they
are in the conversation state, in the database, in between). And "my data" on the menu opens what /mydata opens."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import select

from bot.app import Bab, web_app
from bot.domain.requests import find_reference
from bot.domain.staff import Role
from bot.services.privacy_export import collect
from bot.storage import tables
from tests.e2e.desk_helpers import TETOUAN, file_access, new_user, staff_user, texts


@pytest.fixture
async def server(bab: Bab, aiohttp_server: Any) -> AsyncIterator[Any]:
    yield await aiohttp_server(web_app(bab, dispatch=False))


async def stored_state(bab: Bab) -> list[dict[str, Any]]:
    """Every conversation state in the database."""
    async with bab.sessions() as session:
        return [row.state for row in await session.scalars(select(tables.Conversation))]


async def test_a_clarification_answered_mid_form_then_the_form_goes_on(bab: Bab, server: Any,
                                                                        aiohttp_client: Any) -> None:
    clerk = await staff_user(bab, server, aiohttp_client, Role.CLERK, [TETOUAN], "Fatima")
    citizen = await new_user(bab, server, aiohttp_client)
    first = await file_access(citizen)
    await clerk.replies()
    await clerk.tap(f"go:open:{first}")
    await clerk.tap("a:clarify")
    await clerk.say("Quel conseil : celui de juillet ou celui d'octobre ?")

    # Meanwhile the citizen has started a second request: the topic and the collectivity are given.
    await citizen.say("menu")
    await citizen.tap("access")
    await citizen.say("Le plan d'action communal 2023-2028 et son bilan")
    await citizen.say("Tétouan")
    await citizen.tap(TETOUAN)
    assert citizen.option_ids() == ["no", "yes"]  # the urgency question
    await citizen.replies()
    notice = next(message for message in citizen.messages if f"go:reply:{first}" in
                  [option["id"] for option in message["options"]])
    assert "juillet ou celui d'octobre" in notice["text"]

    # The notice's button, pressed now: its little flow, then the menu with the form kept.
    await citizen.tap(f"go:reply:{first}", version=notice["version"])
    assert any(state.get("suspended") for state in await stored_state(bab))  # kept in the database
    async with bab.sessions() as session:  # and shown by /mydata, like every answer held (law 09-08)
        row = await session.scalar(select(tables.Request).where(tables.Request.reference == first))
        assert row is not None
        held = await collect(session, row.citizen_id, bab.directory)
    assert [form["topic"] for c in held["conversations"] for form in c["kept_forms"]] == [
        "Le plan d'action communal 2023-2028 et son bilan"]
    after = await citizen.say("Celui d'octobre 2026.")
    assert "Votre demande d'information n'est pas encore envoyée" in texts(after)
    assert citizen.option_ids()[0] == "resume"
    assert citizen.prompt["options"][0]["label"] == "Reprendre ma demande"

    back = await citizen.tap("resume")
    assert "Reprenons là où nous en étions." in texts(back)
    assert citizen.option_ids() == ["no", "yes"]  # the urgency question again, the topic and place kept
    await citizen.tap("no")
    await citizen.tap("chat")
    await citizen.tap("reuse")  # the details of the first request, offered again
    summary = citizen.prompt["text"]
    assert "Le plan d'action communal 2023-2028 et son bilan" in summary and "Tétouan" in summary
    receipt = await citizen.tap("send")
    second = find_reference(texts(receipt))
    assert second is not None and second != first
    async with bab.sessions() as session:
        rows = {row.reference: row for row in await session.scalars(select(tables.Request))}
    assert rows[first].status == "in_progress" and rows[second].collectivity_code == TETOUAN
    assert not any(state.get("suspended") for state in await stored_state(bab))


async def test_my_data_on_the_menu(bab: Bab, server: Any, aiohttp_client: Any) -> None:
    citizen = await new_user(bab, server, aiohttp_client)
    await file_access(citizen)
    await citizen.say("menu")
    assert "mydata" in citizen.option_ids()
    by_button = await citizen.tap("mydata")
    await citizen.say("menu")
    by_command = await citizen.say("/mydata")
    # The same messages (the count of messages kept grows by the ones in between, so the first lines only).
    assert [m["text"].splitlines()[0] for m in by_button] == [m["text"].splitlines()[0] for m in by_command]
    assert [[o["id"] for o in m["options"]] for m in by_button] == [[o["id"] for o in m["options"]]
                                                                    for m in by_command]
    assert any(m.get("files") for m in by_button), by_button  # the JSON and the HTML, as /mydata sends them
