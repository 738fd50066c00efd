"""The golden transcript format: parse a file into turns, write turns back (see tests/golden/__init__.py)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

TRANSCRIPTS = Path(__file__).parent / "transcripts"
CITIZEN = "citizen"  # the person whose lines have no name before `>` / `<`

REFERENCE = re.compile(r"BAB-[2-9A-Z]{6}")
INBOUND = re.compile(r"^(\w*)> (.*)$")
REPLY = re.compile(r"^(\w*)<(?: (.*))?$")
OPTION = re.compile(r"^    \[(.+?)\] ?(.*)$")
TAP = "[tap] "


@dataclass
class Reply:
    actor: str
    text: str
    options: list[tuple[str, str]] = field(default_factory=list)  # (option id, label)


@dataclass
class Turn:
    actor: str
    kind: str  # "say" or "tap"
    value: str  # the words, or the option id
    replies: list[Reply] = field(default_factory=list)


@dataclass
class Transcript:
    name: str
    header: list[str]  # comments and @directives, kept as written
    turns: list[Turn]

    @property
    def directives(self) -> list[list[str]]:
        return [line[1:].split() for line in self.header if line.startswith("@")]

    @property
    def actors(self) -> list[str]:
        found: list[str] = []
        for turn in self.turns:
            if turn.actor not in found:
                found.append(turn.actor)
        return found


def parse(text: str, name: str = "") -> Transcript:
    header: list[str] = []
    turns: list[Turn] = []
    reply: Reply | None = None
    for number, line in enumerate(text.splitlines(), start=1):
        if not turns and (line.startswith("#") or line.startswith("@")):
            header.append(line)
        elif not line.strip():
            reply = None
        elif match := INBOUND.match(line):
            actor, words = match.group(1) or CITIZEN, match.group(2)
            if words.startswith(TAP):
                turns.append(Turn(actor, "tap", words[len(TAP):].strip()))
            else:
                turns.append(Turn(actor, "say", words))
            reply = None
        elif match := REPLY.match(line):
            actor, words = match.group(1) or CITIZEN, match.group(2) or ""
            assert turns, f"{name}:{number}: a reply before any message"
            if reply is not None and reply.actor == actor and not reply.options:
                reply.text += "\n" + words
            else:
                reply = Reply(actor, words)
                turns[-1].replies.append(reply)
        elif match := OPTION.match(line):
            assert reply is not None, f"{name}:{number}: an option outside a reply"
            reply.options.append((match.group(1), match.group(2)))
        else:
            raise ValueError(f"{name}:{number}: cannot read {line!r}")
    return Transcript(name, header, turns)


def prefix(actor: str) -> str:
    return "" if actor == CITIZEN else actor


def render(transcript: Transcript, labels: bool = True) -> str:
    """The file text; without labels (for WhatsApp, which shortens them) option lines keep only the ids."""
    lines = list(transcript.header)
    for turn in transcript.turns:
        if lines:
            lines.append("")
        words = TAP + turn.value if turn.kind == "tap" else turn.value
        lines.append(f"{prefix(turn.actor)}> {words}")
        for reply in turn.replies:
            lines.append("")
            for text_line in reply.text.split("\n"):
                lines.append(f"{prefix(reply.actor)}<" + (f" {text_line}" if text_line else ""))
            for option_id, label in reply.options:
                lines.append(f"    [{option_id}] {label}".rstrip() if labels else f"    [{option_id}]")
    return "\n".join(lines) + "\n"


def load(path: Path) -> Transcript:
    return parse(path.read_text(encoding="utf-8"), path.stem)


def all_paths() -> list[Path]:
    return sorted(TRANSCRIPTS.glob("*.txt"))


class Placeholders:
    """Random values (references, invite codes) written as {ref1}, {invite}… in the files."""

    def __init__(self) -> None:
        self.values: dict[str, str] = {}  # placeholder name -> actual value

    def add(self, name: str, value: str) -> None:
        self.values[name] = value

    def hide(self, text: str) -> str:
        """Actual text → file text."""
        for reference in REFERENCE.findall(text):
            if reference not in self.values.values():
                count = sum(1 for name in self.values if name.startswith("ref"))
                self.values[f"ref{count + 1}"] = reference
        for name, value in self.values.items():
            text = text.replace(value, "{" + name + "}")
        return text

    def fill(self, text: str) -> str:
        """File text → what to send."""
        for name, value in self.values.items():
            text = text.replace("{" + name + "}", value)
        return text
