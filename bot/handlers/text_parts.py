"""Cutting long texts into the pieces a channel accepts, and button ids that carry the state version."""

from __future__ import annotations

from collections.abc import Callable

from bot.flows.spec import Inbound, InboundKind


def split_text(text: str, limit: int, length: Callable[[str], int] = len) -> list[str]:
    """Cut `text` into pieces of at most `limit` (as `length` counts), at line ends, then spaces, then anywhere."""
    if length(text) <= limit:
        return [text] if text else []
    pieces: list[str] = []
    current = ""
    for line in text.split("\n"):
        candidate = f"{current}\n{line}" if current else line
        if length(candidate) <= limit:
            current = candidate
            continue
        if current:
            pieces.append(current)
        current = ""
        while length(line) > limit:
            cut = _cut(line, limit, length)
            pieces.append(line[:cut].rstrip())
            line = line[cut:].lstrip(" ")
        current = line
    if current:
        pieces.append(current)
    return pieces


def _cut(line: str, limit: int, length: Callable[[str], int]) -> int:
    """Where to cut a line longer than `limit`: the last space that keeps the head within it, else the limit."""
    end = 0
    units = 0
    for index, char in enumerate(line):  # lengths add up character by character (code points, UTF-16 units)
        units += length(char)
        if units > limit:
            break
        end = index + 1
    space = line.rfind(" ", 0, end)
    return space if space > end // 2 else end


def choice_id(version: int | None, option_id: str) -> str:
    """'<version>|<option id>': what a button carries, so the core can tell a stale button from a fresh one."""
    return f"{'' if version is None else version}|{option_id}"


def parse_choice(data: str | None) -> Inbound:
    """A button press; anything malformed becomes a choice without version, which the core treats as stale."""
    raw_version, sep, option_id = (data or "").partition("|")
    version = int(raw_version) if sep and raw_version.isdigit() else None
    return Inbound(kind=InboundKind.CHOICE, choice_id=option_id if sep else (data or ""), version=version)
