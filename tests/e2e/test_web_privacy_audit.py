"""Staff views of a requester's details are audited and exported; the web transcript outlives the outbox purge."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from bot.app import Bab, web_app
from bot.domain.staff import Role
from bot.services.audit_log import events, to_csv
from bot.domain.privacy_facts import RetentionSettings
from bot.services.retention import Retention
from bot.storage import tables
from tests.e2e.desk_helpers import TETOUAN, file_access, new_user, staff_user


@pytest.fixture
async def server(bab: Bab, aiohttp_server: Any) -> AsyncIterator[Any]:
    yield await aiohttp_server(web_app(bab, dispatch=False))


async def views(bab: Bab) -> list[tuple[str, str | None]]:
    async with bab.sessions() as session:
        rows = await session.execute(select(tables.AuditEvent.actor, tables.AuditEvent.target).where(
            tables.AuditEvent.action == "view_personal").order_by(tables.AuditEvent.id))
        return [(row[0], row[1]) for row in rows]


async def test_each_view_of_personal_details_is_audited_and_exported(bab: Bab, server: Any,
                                                                     aiohttp_client: Any) -> None:
    clerk = await staff_user(bab, server, aiohttp_client, Role.CLERK, [TETOUAN], "Fatima")
    citizen = await new_user(bab, server, aiohttp_client)
    reference = await file_access(citizen)
    assert await views(bab) == []  # being told of a new request shows no personal details
    await clerk.say("/inbox")
    assert await views(bab) == []  # nor does the inbox
    await clerk.tap(f"open:{reference}", version=clerk.prompt["version"])
    assert "Requester" in clerk.prompt["text"] or reference in clerk.prompt["text"]
    first = await views(bab)
    assert len(first) == 1 and first[0][1] == reference and first[0][0].startswith("staff:")
    await clerk.say(reference)  # looking at it again is another view
    assert len(await views(bab)) == 2

    async with bab.sessions() as session:
        exported = to_csv(await events(session, bab.clock.now() - timedelta(days=1)))
    rows = list(csv.DictReader(io.StringIO(exported)))
    assert [row["target"] for row in rows if row["action"] == "view_personal"] == [reference] * 2
    async with bab.sessions() as session:
        request = await session.scalar(select(tables.Request).where(tables.Request.reference == reference))
    assert request is not None and request.requester_name and request.id_number and request.contact
    for value in (request.requester_name, request.id_number, request.contact):
        assert value not in exported  # ids and references only


async def test_the_transcript_stays_when_delivered_outbox_rows_are_purged(bab: Bab, server: Any,
                                                                          aiohttp_client: Any) -> None:
    citizen = await new_user(bab, server, aiohttp_client)
    reference = await file_access(citizen)
    before = (await (await citizen.client.get("/api/transcript")).json())["messages"]
    assert any(reference in message["text"] for message in before if message["from"] == "bot")
    later = bab.clock.now() + timedelta(days=8)  # past the outbox's 7 days, far within the transcript's 90
    counts = await Retention(bab.sessions, bab.settings.uploads_dir, RetentionSettings()).purge(later)
    assert counts.outbox > 0 and counts.transcript == 0 and counts.personal == 0
    async with bab.sessions() as session:
        left = await session.scalar(select(func.count()).select_from(tables.OutboxMessage).where(
            tables.OutboxMessage.status == "sent"))
    assert left == 0
    after = (await (await citizen.client.get("/api/transcript")).json())["messages"]
    assert after == before


async def test_coordinators_get_the_audit_log_as_a_file_in_the_chat(bab: Bab, server: Any,
                                                                    aiohttp_client: Any) -> None:
    clerk = await staff_user(bab, server, aiohttp_client, Role.CLERK, [TETOUAN], "Fatima")
    coordinator = await staff_user(bab, server, aiohttp_client, Role.COORDINATOR, [None], "Nadia")
    citizen = await new_user(bab, server, aiohttp_client)
    reference = await file_access(citizen)
    await clerk.say(reference)  # one view of the requester's details
    refused = await clerk.say("/audit")
    assert not any(message["files"] for message in refused)  # clerks get no export
    replies = await coordinator.say("/audit")
    files = [file for message in replies for file in message["files"]]
    assert len(files) == 1
    body = await (await coordinator.client.get(files[0]["url"])).text()
    rows = list(csv.DictReader(io.StringIO(body)))
    assert ("view_personal", reference) in [(row["action"], row["target"]) for row in rows]
    on_disk = list(bab.settings.uploads_dir.glob("*.csv"))
    assert len(on_disk) == 1 and reference.encode() not in on_disk[0].read_bytes()  # encrypted like every file
    assert (await clerk.client.get(files[0]["url"])).status == 404  # the file is the coordinator's alone
    async with bab.sessions() as session:
        exports = await session.scalar(select(func.count()).select_from(tables.AuditEvent).where(
            tables.AuditEvent.action == "export_audit"))
    assert exports == 1
