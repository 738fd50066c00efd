"""Helpers for the inbox tests: several web-chat users on one real server, staff invites, filed requests."""

from __future__ import annotations

from typing import Any

from bot.app import Bab
from bot.domain.requests import find_reference
from bot.domain.staff import Role
from bot.services.staff import StaffAdmin
from tests.conftest import WebUser
from tests.golden.players import WebPlayer
from tests.golden.script import play
from tests.golden.script import texts as reply_texts

TETOUAN = "01.571.01.11"
PDF = b"%PDF-1.4\n% Bab test document\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


async def new_user(bab: Bab, server: Any, aiohttp_client: Any, greeting: str = "Bonjour") -> WebUser:
    """A browser with its own cookie on the shared server, greeted in French."""
    user = WebUser(await aiohttp_client(server), bab)
    await user.open()
    await user.say(greeting)
    return user


async def staff_user(bab: Bab, server: Any, aiohttp_client: Any, role: Role, scopes: list[str | None],
                     name: str) -> WebUser:
    """A staff member invited with `bab staff`'s service and linked by sending the code from the web chat."""
    invite = await StaffAdmin(bab.sessions, bab.directory, bab.clock).invite(role, scopes, name)
    user = await new_user(bab, server, aiohttp_client)
    replies = await user.say(f"/start {invite.code}")
    assert any(name in message["text"] for message in replies), replies
    return user


async def file_access(citizen: WebUser) -> str:
    """File the golden French access request (to Tétouan) from a citizen already greeted; returns its reference."""
    replies = await play("access_request_fr", WebPlayer(citizen), start=1)
    reference = find_reference(reply_texts(replies))
    assert reference is not None, replies
    return reference


async def upload(user: WebUser, data: bytes, name: str = "answer.pdf") -> list[dict[str, Any]]:
    """Send a file through the web chat's upload route."""
    from aiohttp import FormData

    form = FormData()
    form.add_field("file", data, filename=name, content_type="application/octet-stream")
    response = await user.client.post("/api/upload", data=form)
    assert response.status == 202, await response.text()
    return await user.replies()


def texts(messages: list[dict[str, Any]]) -> str:
    return "\n".join(message["text"] for message in messages)
