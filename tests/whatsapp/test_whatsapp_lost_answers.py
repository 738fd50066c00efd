"""A send whose answer was lost (timeout, reset, 5xx): its status webhook proves it went, so it is not sent twice.

Every call carries `biz_opaque_callback_data` "bab:<outbox id>:<attempt>:<part>" (ids only, within Meta's 512
characters), which Meta echoes in the message's status webhooks; the fake does the same (`status_webhook`).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.app import Bab
from bot.config import Settings, load_settings
from bot.domain.directory import Directory
from bot.flows.spec import Outbound
from bot.handlers import whatsapp_render
from bot.handlers.whatsapp import WEBHOOK_PATH, callback_data, outbox_id_of
from bot.services.clock import FixedClock
from bot.services.outbox import IN_FLIGHT
from bot.storage import repos, tables
from tests.fakes.chaos import Chaos
from tests.fakes.whatsapp_api import Call, FakeGraphAPI
from tests.whatsapp.conftest import WhatsAppCitizen, make_bab, wa_settings

CLIENT_TIMEOUT = 0.3


@pytest.fixture
async def wa_bab(settings: Settings, graph: FakeGraphAPI, clock: FixedClock,
                 template_db: tuple[Path, Directory]) -> AsyncIterator[Bab]:
    """The conftest's Bab, with a short Graph API timeout (BAB_WHATSAPP_TIMEOUT), so a timeout costs little."""
    bab = await make_bab(wa_settings(settings, graph, whatsapp_timeout=CLIENT_TIMEOUT), clock, template_db[1])
    yield bab
    await bab.close()


async def queue(amina: WhatsAppCitizen, message: Outbound) -> int:
    """Queue a message for Amina (who has written: her window is open); returns its outbox id."""
    async with amina.bab.sessions() as session, session.begin():
        identity = await session.scalar(select(tables.Identity).where(tables.Identity.channel == "whatsapp"))
        assert identity is not None
        await repos.enqueue(session, identity.id, "whatsapp", message, amina.clock.now())
        await session.flush()
        row = await session.scalar(select(tables.OutboxMessage.id).order_by(tables.OutboxMessage.id.desc()))
        assert row is not None
        return row


async def row(amina: WhatsAppCitizen, outbox_id: int) -> tables.OutboxMessage:
    async with amina.bab.sessions() as session:
        found = await session.get(tables.OutboxMessage, outbox_id)
        assert found is not None
        return found


async def deliver(amina: WhatsAppCitizen, graph: FakeGraphAPI) -> list[Call]:
    """Run the outbox, let the fake's status webhooks arrive and be processed; the sends made meanwhile."""
    before = len(graph.calls)
    assert amina.bab.whatsapp is not None
    await amina.bab.dispatcher.dispatch_once()
    await graph.settle()
    await amina.bab.whatsapp.process_pending(amina.bab.conversations)
    return [call for call in graph.calls[before:] if call.is_send]


async def greeted(amina: WhatsAppCitizen, graph: FakeGraphAPI) -> None:
    await amina.say("Bonjour")
    graph.status_webhook = str(amina.client.make_url(WEBHOOK_PATH))


def long_message() -> Outbound:
    """Two calls: a text bubble, then the buttons with the end of the text."""
    message = Outbound(text="Début\n" + "a" * 1000 + "\nFin " + "b" * 60, locale="fr", options=(("ok", "OK"),))
    assert len(whatsapp_render.render(message)) == 2
    return message


async def test_a_lost_answer_proved_by_its_status_is_not_sent_again(amina: WhatsAppCitizen,
                                                                   graph: FakeGraphAPI) -> None:
    await greeted(amina, graph)
    graph.chaos = Chaos(plan=["lost_5xx"])  # accepted, then a 500: Bab cannot know it went
    outbox_id = await queue(amina, Outbound(text="Votre avis", locale="fr", options=(("ok", "OK"),)))
    sends = await deliver(amina, graph)
    assert [call.fault for call in sends] == ["lost_5xx"] and sends[0].ok
    assert sends[0].body["biz_opaque_callback_data"] == f"bab:{outbox_id}:1:0"
    stored = await row(amina, outbox_id)
    assert stored.status == "sent" and "proof" not in stored.payload  # the status webhook proved it
    amina.clock.advance(minutes=5)
    assert await deliver(amina, graph) == []  # never sent again
    async with amina.bab.sessions() as session:  # its later statuses find it: the wamid is known now
        wamids = (await session.scalars(select(tables.ChannelMessage.external_id)
                                        .where(tables.ChannelMessage.outbox_id == outbox_id))).all()
    assert list(wamids) == [sends[0].wamid]


async def test_without_a_status_the_message_goes_again_after_the_grace_delay(amina: WhatsAppCitizen,
                                                                            graph: FakeGraphAPI) -> None:
    await greeted(amina, graph)
    graph.status_webhook = ""  # the status never comes (or the call never reached Meta)
    graph.chaos = Chaos(plan=["timeout"], delay=CLIENT_TIMEOUT + 0.3)  # longer than the client waits
    outbox_id = await queue(amina, Outbound(text="Votre avis", locale="fr"))
    assert [call.fault for call in await deliver(amina, graph)] == ["timeout"]
    stored = await row(amina, outbox_id)
    assert stored.status == "pending" and stored.payload["proof"]["ref"] == f"bab:{outbox_id}:1:0"
    amina.clock.advance(seconds=19)
    assert await deliver(amina, graph) == []  # it waits the grace delay (20 s) for a status
    amina.clock.advance(seconds=2)
    again = await deliver(amina, graph)
    assert [call.text for call in again] == ["Votre avis"] and again[0].ok
    assert again[0].body["biz_opaque_callback_data"] == f"bab:{outbox_id}:2:0"
    assert (await row(amina, outbox_id)).status == "sent"


async def test_a_long_message_is_not_sent_again_from_its_first_part(amina: WhatsAppCitizen,
                                                                   graph: FakeGraphAPI) -> None:
    await greeted(amina, graph)
    message = long_message()
    bodies = whatsapp_render.render(message)
    graph.status_webhook = ""
    graph.chaos = Chaos(plan=[None, "5xx"])  # the first part goes, the second is refused (not sent)
    outbox_id = await queue(amina, message)
    first = await deliver(amina, graph)
    assert [call.fault for call in first] == [None, "5xx"]
    amina.clock.advance(seconds=21)
    again = await deliver(amina, graph)
    # Only the second part again: its buttons, with the end of the text.
    assert [call.kind for call in again] == ["button"]
    assert again[0].text == bodies[1]["interactive"]["body"]["text"]
    assert (await row(amina, outbox_id)).status == "sent"


async def test_a_proved_first_part_lets_the_rest_go_at_once(amina: WhatsAppCitizen, graph: FakeGraphAPI) -> None:
    await greeted(amina, graph)
    message = long_message()
    graph.chaos = Chaos(plan=["lost_reset"])  # the first part went, the connection dropped before the answer
    outbox_id = await queue(amina, message)
    first = await deliver(amina, graph)
    assert [call.fault for call in first] == ["lost_reset"] and first[0].ok
    stored = await row(amina, outbox_id)
    assert stored.status == "pending" and "resume" in stored.payload  # proved: the rest is due now
    rest = await deliver(amina, graph)
    assert [call.kind for call in rest] == ["button"]
    assert rest[0].body["biz_opaque_callback_data"] == f"bab:{outbox_id}:2:0"
    done = await row(amina, outbox_id)
    assert done.status == "sent" and set(done.payload) >= {"text", "options"} and "resume" not in done.payload
    assert done.payload["text"] == message.text  # what the person was sent stays whole in the record


def test_callback_data_names_ids_only_and_fits_meta_s_limit() -> None:
    assert callback_data("", 0) == {}
    assert callback_data("12:3", 1) == {"biz_opaque_callback_data": "bab:12:3:1"}
    assert outbox_id_of("bab:12:3:1") == 12
    assert outbox_id_of("campaign-7") is None and outbox_id_of(None) is None
    assert callback_data("9" * 600, 0) == {}  # over 512 characters: left out rather than refused


def test_grace_and_timeouts_are_settings() -> None:
    settings = load_settings({"BAB_WHATSAPP_RECEIPT_GRACE": "5", "BAB_TELEGRAM_TIMEOUT": "2.5",
                              "BAB_WHATSAPP_TIMEOUT": "12"}, env_file=None)
    assert (settings.whatsapp_receipt_grace, settings.telegram_timeout, settings.whatsapp_timeout) == (5, 2.5, 12)
    defaults = load_settings({}, env_file=None)
    assert (defaults.whatsapp_receipt_grace, defaults.telegram_timeout, defaults.whatsapp_timeout) == (20, 5, 30)
    for bad in ("nan", "-1", "soon"):
        try:
            load_settings({"BAB_WHATSAPP_RECEIPT_GRACE": bad}, env_file=None)
        except ValueError as error:
            assert "BAB_WHATSAPP_RECEIPT_GRACE" in str(error)
        else:
            raise AssertionError(bad)


async def kill_mid_send(amina: WhatsAppCitizen, sent: Callable[[], list[Call]]) -> None:
    """Start delivering, and once the fake has the call, stop every delivery where it stands, as a SIGKILL
    would (the process is gone: no outcome, no release); the in-process way to cut a send off mid-call."""
    dispatch = asyncio.create_task(amina.bab.dispatcher.dispatch_once())
    while not sent():
        await asyncio.sleep(0.01)
    deliveries = list(amina.bab.dispatcher._in_flight.values())
    assert deliveries
    for task in [*deliveries, dispatch]:
        task.cancel()
    await asyncio.gather(*deliveries, dispatch, return_exceptions=True)


async def test_a_send_cut_off_by_a_kill_is_not_sent_again_when_its_status_proves_it(
        amina: WhatsAppCitizen, graph: FakeGraphAPI) -> None:
    await greeted(amina, graph)
    graph.chaos = Chaos(plan=["lost_late"], delay=5.0)  # accepted; the answer would come after the process died
    outbox_id = await queue(amina, Outbound(text="Votre reçu", locale="fr"))
    before = len(graph.calls)
    # The worker is killed in the middle of the send: its task ends there, nothing of the outcome is written.
    await kill_mid_send(amina, lambda: [call for call in graph.calls[before:] if call.is_send])
    stranded = await row(amina, outbox_id)
    assert (stranded.status, stranded.attempts, stranded.last_error) == ("pending", 1, IN_FLIGHT)
    await graph.settle()  # Meta's "sent" status, tagged with that attempt, arrives while the row is leased
    assert amina.bab.whatsapp is not None
    await amina.bab.whatsapp.process_pending(amina.bab.conversations)
    # The lease expires; another worker claims the row: it waits for that status instead of sending again.
    amina.clock.advance(seconds=61)
    assert await deliver(amina, graph) == []
    done = await row(amina, outbox_id)
    assert done.status == "sent" and "proof" not in done.payload and done.last_error is None
    amina.clock.advance(minutes=5)
    assert await deliver(amina, graph) == []  # and never later either


async def test_a_send_cut_off_without_a_status_goes_again_after_the_grace_delay(
        amina: WhatsAppCitizen, graph: FakeGraphAPI) -> None:
    await greeted(amina, graph)
    graph.status_webhook = ""  # the call never reached Meta, or its status never comes
    graph.chaos = Chaos(plan=["lost_late"], delay=5.0)
    outbox_id = await queue(amina, Outbound(text="Votre reçu", locale="fr"))
    await kill_mid_send(amina, lambda: [call for call in graph.calls if call.is_send and call.text == "Votre reçu"])
    amina.clock.advance(seconds=61)
    assert await deliver(amina, graph) == []  # it waits for a status of the cut-off attempt …
    waiting = await row(amina, outbox_id)
    assert waiting.status == "pending" and waiting.payload["proof"]["ref"] == f"bab:{outbox_id}:1:0"
    amina.clock.advance(seconds=21)
    again = await deliver(amina, graph)  # … then sends it again, once
    assert [call.text for call in again] == ["Votre reçu"]
    assert (await row(amina, outbox_id)).status == "sent"
