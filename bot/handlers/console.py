"""The console channel (`bab chat`): talk to the bot in a terminal, as a citizen or staff, through the same core.

Choices print as a numbered list; typing a number presses that button, anything else is sent as text.
"""

from __future__ import annotations

import asyncio
import sys
from typing import TextIO

from bot.flows.spec import Inbound, InboundKind, Outbound
from bot.services.conversations import Conversations
from bot.services.outbox import Dispatcher

CHANNEL = "console"


class ConsoleSender:
    """Prints delivered messages and remembers the buttons of the last one that had any."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.options: list[str] = []
        self.version: int | None = None

    async def send(self, external_id: str, message: Outbound) -> None:
        self.out.write("\n" + message.text + "\n")
        for file in message.files:
            self.out.write(f"  [{file.kind} {file.id}]\n")
        if message.options:
            self.options = [option_id for option_id, _label in message.options]
            self.version = message.version
            for number, (_option_id, label) in enumerate(message.options, start=1):
                self.out.write(f"  {number}. {label}\n")
        self.out.flush()

    def parse(self, line: str) -> Inbound:
        """A typed number that names a shown option is a button press; the rest is text."""
        text = line.rstrip("\n")
        if text.strip().isdigit() and 1 <= int(text.strip()) <= len(self.options):
            return Inbound(kind=InboundKind.CHOICE, choice_id=self.options[int(text.strip()) - 1],
                           version=self.version)
        return Inbound(kind=InboundKind.TEXT, text=text)


async def chat(conversations: Conversations, dispatcher: Dispatcher, user: str, stdin: TextIO = sys.stdin,
               out: TextIO = sys.stdout) -> None:
    """Read lines until end of input; each goes through the core, replies come back through the outbox."""
    sender = ConsoleSender(out)
    dispatcher.senders[CHANNEL] = sender
    dispatcher.only[CHANNEL] = user  # other console users' messages wait for their own terminal
    await dispatcher.dispatch_once()  # anything left from an earlier session
    loop = asyncio.get_running_loop()
    interactive = stdin.isatty()
    while True:
        if interactive:
            out.write("> ")
            out.flush()
        line = await loop.run_in_executor(None, stdin.readline)
        if not line:
            break
        await conversations.handle(CHANNEL, user, sender.parse(line))
        await dispatcher.dispatch_once()
