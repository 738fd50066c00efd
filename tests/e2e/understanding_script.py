"""Two complete conversations that start from what the citizen writes (issue 11), for any channel's test user:
a complaint in Arabizi and an access request in MSA, each said in one first message and ending at the receipt."""

from __future__ import annotations

import re
from typing import Any, Protocol

from sqlalchemy import select

from bot.app import Bab
from bot.storage import tables

ARABIC = re.compile(r"[\u0600-\u06ff]")


class ChatUser(Protocol):
    """What the web and Telegram test users both do."""

    async def say(self, text: str) -> Any: ...

    async def tap(self, option_id: str) -> Any: ...

    def option_ids(self) -> list[str]: ...


async def arabizi_complaint(user: ChatUser, casablanca: str) -> None:
    """"3ndi chikaya 3la zbel f casa…": the kind, the service and the description come from the first message."""
    await user.say("salam, 3ndi chikaya 3la zbel f casa, kayn bzaf f derb dyalna men simana")
    assert user.option_ids()[0] == casablanca  # the place named, to confirm with one tap
    await user.tap(casablanca)
    assert user.option_ids() == ["skip"]  # photo or location: service and description are not asked again
    await user.tap("skip")
    await user.tap("skip")  # no contact: answer here
    assert user.option_ids() == ["send", "edit", "cancel"]
    await user.tap("send")


async def msa_access_request(user: ChatUser, rabat: str) -> None:
    """"أريد الحصول على محضر الدورة الأخيرة لجماعة الرباط": the topic and the place from the first message."""
    await user.say("أريد الحصول على محضر الدورة الأخيرة لجماعة الرباط من فضلكم")
    assert user.option_ids()[0] == rabat
    await user.tap(rabat)
    await user.tap("no")
    await user.tap("chat")
    await user.say("أمينة الإدريسي")
    await user.say("AB123456")
    await user.say("0612345678")
    assert user.option_ids() == ["send", "edit", "cancel"]
    await user.tap("send")


async def filed(bab: Bab) -> tables.Request:
    """The one request filed."""
    async with bab.sessions() as session:
        request = await session.scalar(select(tables.Request))
        assert request is not None
        return request


def commune(bab: Bab, name: str) -> str:
    """The HCP code of the commune of that French name."""
    directory = bab.conversations.directory
    return next(code for code in directory.codes()
                if (place := directory.get(code)) and place.level == "commune" and place.name_fr == name)
