"""Delivery on WhatsApp: the 24-hour window and templates, receipts, and recovery from Meta's limits."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import select

from bot.config import Settings
from bot.domain.directory import Directory
from bot.domain.requests import find_reference
from bot.services.clock import FixedClock
from bot.storage import tables
from tests.fakes import whatsapp_payloads as wp
from tests.fakes.whatsapp_api import FakeGraphAPI
from tests.whatsapp.conftest import WhatsAppCitizen, make_bab, wa_settings
from tests.whatsapp.test_whatsapp_flows import file_access_request


async def overdue_after_a_month(amina: WhatsAppCitizen) -> str:
    """File a request, then let it go overdue 31 days later: the overdue notice is queued for Amina."""
    reference = find_reference(await file_access_request(amina))
    assert reference is not None
    amina.clock.advance(days=31)  # due 15 Dec; now 17 Dec: her last message is a month old
    counts = await amina.bab.jobs.run_all(amina.clock.now())
    assert counts["overdue"] >= 1, counts
    return reference


async def outbox_statuses(amina: WhatsAppCitizen) -> list[tuple[str, str | None]]:
    async with amina.bab.sessions() as session:
        rows = (await session.execute(select(tables.OutboxMessage.status, tables.OutboxMessage.delivery_status)
                                      .order_by(tables.OutboxMessage.id))).all()
    return [(row[0], row[1]) for row in rows]


async def test_outside_the_window_a_notice_goes_as_its_template(
        settings: Settings, graph: FakeGraphAPI, clock: FixedClock, template_db: tuple[Path, Directory],
        aiohttp_client: Any) -> None:
    from bot.app import web_app

    configured = wa_settings(settings, graph, whatsapp_templates=(("deadline_passed", "bab_deadline_passed"),))
    bab = await make_bab(configured, clock, template_db[1])
    try:
        graph.templates[("bab_deadline_passed", "fr")] = 2
        amina = WhatsAppCitizen(graph, bab, await aiohttp_client(web_app(bab, dispatch=False)), wp.AMINA, clock)
        reference = await overdue_after_a_month(amina)
        rung = await amina.replies()
        assert [call.kind for call in rung] == ["template"], rung
        assert rung[0].template_name == "bab_deadline_passed" and rung[0].template_language == "fr"
        assert rung[0].template_params == [reference, "15 décembre 2026"]
        assert (await outbox_statuses(amina))[-1][0] == "waiting"  # the notice itself waits for her

        # She taps the template's button: the window opens and the notice comes, saying it waited.
        notice = await amina.send(wp.template_button(amina.user, "go:resume", "Voir", at=clock.now()))
        assert len(notice) == 1 and reference in notice[0].text and notice[0].text.startswith("Ce message")
        assert any(choice.endswith(f"go:complain:{reference}") for choice in notice[0].button_ids)
        assert all(status == "sent" for status, _ in await outbox_statuses(amina))
    finally:
        await bab.close()


async def test_without_a_template_the_notice_waits_for_the_person(amina: WhatsAppCitizen,
                                                                 graph: FakeGraphAPI) -> None:
    reference = await overdue_after_a_month(amina)
    assert await amina.replies() == []  # nothing may go: no free text outside the window, no template set
    assert (await outbox_statuses(amina))[-1][0] == "waiting"
    again = await amina.say("Bonjour")
    assert reference in again[0].text and again[0].text.startswith("Ce message")  # what waited comes first
    assert len(again) >= 2  # then the answer to "Bonjour"
    assert all(status == "sent" for status, _ in await outbox_statuses(amina))


async def test_meta_closing_the_window_early_makes_the_message_wait(amina: WhatsAppCitizen,
                                                                   graph: FakeGraphAPI) -> None:
    await amina.say("Bonjour")
    graph.fail(131047, times=1, recipient=wp.AMINA.address)
    graph.user_wrote(wp.AMINA.address)
    await amina.post(wp.text(amina.user, "menu", at=amina.clock.now()))
    assert await amina.replies() == []
    assert (await outbox_statuses(amina))[-1][0] == "waiting"
    replies = await amina.say("aide")
    assert replies and replies[0].text.startswith("Ce message")


async def test_receipts_only_move_forward(amina: WhatsAppCitizen, graph: FakeGraphAPI) -> None:
    replies = await amina.say("Bonjour")
    wamids = [call.wamid for call in replies]
    assert all(wamids)
    user = amina.user
    await amina.post(*[wp.status(user, wamid or "", "read", at=amina.clock.now()) for wamid in wamids])
    await amina.post(*[wp.status(user, wamid or "", "delivered") for wamid in wamids])  # late, out of order
    await amina.post(*[wp.status(user, wamid or "", "sent") for wamid in wamids])
    await amina.replies()
    async with amina.bab.sessions() as session:
        parts = (await session.scalars(select(tables.ChannelMessage.status))).all()
    assert parts and set(parts) == {"read"}
    assert {delivery for _, delivery in await outbox_statuses(amina)} == {"read"}
    await amina.post(wp.failed(user, wamids[0] or "", 131026))
    await amina.replies()
    assert (await outbox_statuses(amina))[0][1] == "failed"


async def test_rate_limit_errors_are_recovered_in_order(settings: Settings, graph: FakeGraphAPI, clock: FixedClock,
                                                        template_db: tuple[Path, Directory],
                                                        aiohttp_client: Any) -> None:
    from bot.app import web_app

    bab = await make_bab(wa_settings(settings, graph), clock, template_db[1])
    try:
        client = await aiohttp_client(web_app(bab, dispatch=False))
        people = [WhatsAppCitizen(graph, bab, client, wp.user(n), clock) for n in range(1, 6)]
        graph.fail(130429, times=3)  # the number's throughput
        graph.fail(131056, times=2, recipient=people[0].user.address)  # too fast to one person
        graph.fail("http", times=2)
        for person in people:
            graph.user_wrote(person.user.address)
            for words in ("Bonjour", "aide", "menu"):
                await person.post(wp.text(person.user, words, at=clock.now()))
        assert bab.whatsapp is not None
        await bab.whatsapp.process_pending(bab.conversations)
        for _ in range(12):  # let every backoff pass
            await bab.dispatcher.dispatch_once()
            clock.advance(seconds=20)
        async with bab.sessions() as session:
            rows = (await session.execute(select(tables.OutboxMessage.status, tables.OutboxMessage.payload,
                                                 tables.Identity.external_id)
                                          .join(tables.Identity)
                                          .order_by(tables.OutboxMessage.id))).all()
        assert rows and all(row[0] == "sent" for row in rows), [row[0] for row in rows]
        assert graph.refused(130429) and graph.refused(131056)
        for person in people:  # every reply reached its person, in the order it was queued (merged or not)
            delivered = "\n\n".join(call.text for call in graph.messages_to(person.user.address)
                                    if call.ok and call.kind not in ("read", "typing"))
            expected = [row[1]["text"] for row in rows if row[2] == person.user.user_id]
            assert len(expected) >= 5
            position = 0
            for text in expected:
                found = delivered.find(text, position)
                assert found >= position, (text, delivered)
                position = found + len(text)
    finally:
        await bab.close()
