"""Bad input gets a clear answer in the user's language and the conversation stays where it was."""

from __future__ import annotations

import asyncio

from sqlalchemy import func, select

from bot.storage import tables
from tests.conftest import WebUser


async def at_topic_step(user: WebUser) -> int:
    await user.say("Bonjour")
    await user.tap("access")
    return int(user.prompt["version"])


async def assert_still_at(user: WebUser, version: int, replies: list[dict]) -> None:
    assert replies, "bad input must never be met with silence"
    assert user.prompt["version"] == version
    assert all(message["locale"] == "fr" for message in replies)


async def test_empty_huge_binary_and_emoji_messages(web_user: WebUser) -> None:
    version = await at_topic_step(web_user)
    for text in ["", "   ", "\x00\x01\x02\x7f", "😀😀😀", "x" * 10_000, "🙂" * 5000]:
        replies = await web_user.say(text)
        await assert_still_at(web_user, version, replies)
        assert len(replies) == 2  # the explanation, then the same question again
    # The conversation still works afterwards.
    await web_user.say("Les marchés publics attribués en 2025")
    assert web_user.prompt["version"] == version + 1


async def test_photo_where_text_is_expected(web_user: WebUser) -> None:
    version = await at_topic_step(web_user)
    response = await web_user.client.post("/api/upload", data={"file": b"\xff\xd8\xff\xe0" + b"\x00" * 100})
    assert response.status == 202
    await assert_still_at(web_user, version, await web_user.replies())


async def test_not_an_image_and_malformed_requests(web_user: WebUser) -> None:
    await at_topic_step(web_user)
    response = await web_user.client.post("/api/upload", data={"file": b"MZ\x90\x00 not an image"})
    assert response.status == 415 and (await response.json())["error"]
    for body in [b"not json", b"[1, 2]", b'{"text": 12}', b'{"choice": {"id": 5}}', b"\xff\xfe\x00"]:
        response = await web_user.client.post("/api/messages", data=body,
                                              headers={"Content-Type": "application/json"})
        assert response.status == 400, body
        assert (await response.json())["error"]
    response = await web_user.client.post("/api/messages", data=b'{"text": "' + b"a" * 70_000 + b'"}',
                                          headers={"Content-Type": "application/json"})
    assert response.status == 413
    response = await web_user.client.post("/api/location", json={"lat": "north", "lon": 3})
    assert response.status == 400
    response = await web_user.client.get("/api/messages?after=first")
    assert response.status == 400 and "message" in (await response.json())["error"]
    # Numbers that parse but cannot be used: NaN passes any clamp (the poll would never return), infinities, and
    # ids past what the database holds (an SQL overflow, a 500, before).
    for query in ("wait=nan", "wait=inf", "wait=-inf", "after=-1", f"after={2 ** 64}", "after=1e3"):
        response = await asyncio.wait_for(web_user.client.get(f"/api/messages?{query}"), 5)
        assert response.status == 400, query
    for file_id in (str(2 ** 64), "0", "-3"):
        response = await web_user.client.get(f"/api/files/{file_id}")
        assert response.status == 404, file_id


async def test_without_cookie_nothing_is_accepted(web_user: WebUser, aiohttp_client: object) -> None:
    from bot.app import web_app

    stranger = await aiohttp_client(web_app(web_user.bab, dispatch=False))  # type: ignore[operator]
    for method, path in [("get", "/api/transcript"), ("get", "/api/messages?after=0&wait=0"),
                         ("post", "/api/messages")]:
        response = await getattr(stranger, method)(path)
        assert response.status == 401
        assert "الصفحة" in (await response.json())["error"]  # explained in the default language, Darija


async def test_unknown_collectivity_and_text_instead_of_choice(web_user: WebUser) -> None:
    await at_topic_step(web_user)
    await web_user.say("Les délibérations du conseil communal de 2025")
    version = web_user.prompt["version"]
    for junk in ["qsdfghjklm", "bghit", "🙂"]:
        await assert_still_at(web_user, version, await web_user.say(junk))
    await web_user.say("Agadir")
    assert web_user.option_ids()[0] == "09.001.01.01"
    await web_user.say("1")  # the number of the option
    await web_user.say("peut-être")  # neither yes nor no: re-prompted
    assert {"no", "yes"} <= set(web_user.option_ids())
    await web_user.say("non")  # a typed answer is matched against the options
    assert "chat" in web_user.option_ids()


async def test_stale_and_forged_buttons(web_user: WebUser) -> None:
    await web_user.say("Bonjour")
    menu_version = web_user.prompt["version"]
    await web_user.tap("access")
    version = web_user.prompt["version"]
    # The main-menu button pressed again from the earlier message: a polite re-prompt, nothing moves.
    replies = await web_user.tap("feedback", version=menu_version)
    await assert_still_at(web_user, version, replies)
    # A forged option id with the right version: refused the same way.
    replies = await web_user.tap("../../admin", version=version)
    await assert_still_at(web_user, version, replies)
    async with web_user.bab.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(tables.Request)) == 0


async def test_global_commands_back_cancel_help_menu_language(web_user: WebUser) -> None:
    await web_user.say("Bonjour")
    await web_user.tap("access")
    await web_user.say("Le budget annexe 2025 et ses annexes")
    place_version = web_user.prompt["version"]
    await web_user.say("retour")  # French word for back
    assert web_user.prompt["version"] == place_version + 1
    await web_user.say("Le budget annexe 2025 et ses annexes")
    replies = await web_user.say("/help")
    assert len(replies) == 2
    await web_user.say("/lang")
    assert set(web_user.option_ids()) == {"ary", "ary_Latn", "fr", "ar"}
    replies = await web_user.tap("ar")
    assert all(message["locale"] == "ar" and message["dir"] == "rtl" for message in replies)
    assert (await (await web_user.client.get("/api/ui")).json())["dir"] == "rtl"
    await web_user.say("Rabat")  # the place step resumed, now in Arabic
    assert web_user.option_ids()[0] == "04.421.01.0"
    await web_user.say("/cancel")
    assert "access" in web_user.option_ids()
    await web_user.say("/menu")
    assert "access" in web_user.option_ids()
    async with web_user.bab.sessions() as session:
        citizen = await session.scalar(select(tables.Citizen))
        assert citizen is not None and citizen.locale == "ar"
