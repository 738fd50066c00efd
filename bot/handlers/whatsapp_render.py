"""How an outbox message looks on WhatsApp: text, reply buttons (up to 3), a list (up to 10), or a numbered
menu (more), within WhatsApp's limits; and the template that announces a notice outside the 24-hour window.

Pure functions of the payload: no I/O, so every rule here is tested without a server.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from bot.flows.spec import Outbound
from bot.flows.templates import RESUME, TEMPLATE_KINDS, parameters
from bot.handlers.text_parts import choice_id, split_text
from bot.i18n import N_, short_label, translator

log = logging.getLogger(__name__)

MAX_TEXT = 4096  # a text message's body
MAX_BODY = 1024  # an interactive message's body
MAX_BUTTONS = 3
MAX_ROWS = 10
BUTTON_TITLE = 20
ROW_TITLE = 24
ROW_DESCRIPTION = 72
MAX_BUTTON_ID = 256
MAX_ROW_ID = 200

LIST_BUTTON = N_("Choose")  # the button that opens a list (20 characters at most)
NUMBERED_HINT = N_("Reply with the number of your choice.")
WAITED = N_("This message waited for you to write again, as WhatsApp asks:")


def text_bodies(text: str, limit: int = MAX_TEXT) -> list[dict[str, Any]]:
    """Plain text messages, cut at WhatsApp's length (counted in characters)."""
    return [{"type": "text", "text": {"body": piece, "preview_url": False}} for piece in split_text(text, limit)]


def _titles(labels: Sequence[str], locale: str, limit: int) -> list[str]:
    """Labels that fit `limit`, in their short form when they have one, kept distinct from each other."""
    titles: list[str] = []
    for label in labels:
        title = short_label(locale, label, limit)
        if title.endswith("…") and not label.endswith("…"):  # no short form: cut, and said so for the translators
            log.info("whatsapp label cut to %s characters", limit)
        number = 2
        while title in titles:  # WhatsApp refuses two buttons with one title
            suffix = f" {number}"
            title = title[: limit - len(suffix)] + suffix
            number += 1
        titles.append(title)
    return titles


def render(message: Outbound) -> list[dict[str, Any]]:
    """The message bodies (without the recipient) for one outbox message, in sending order; files excluded."""
    locale = message.locale
    t = translator(locale)
    text = message.text
    if message.waited_at:
        text = f"{t(WAITED)}\n\n{text}" if text else t(WAITED)
    options = message.options
    if not options:
        return text_bodies(text) if text.strip() else []
    labels = [label for _option_id, label in options]
    ids = [choice_id(message.version, option_id) for option_id, _label in options]
    if len(options) > MAX_ROWS:  # a numbered menu: the number or the words are both understood
        lines = [f"{number}. {label}" for number, label in enumerate(labels, start=1)]
        return text_bodies("\n".join([text, "", *lines, "", t(NUMBERED_HINT)]).strip())
    pieces = split_text(text, MAX_TEXT) or ["…"]
    body = pieces.pop()
    if len(body) > MAX_BODY:  # the last part carries the buttons and must fit an interactive body
        tail = split_text(body, MAX_BODY)
        body = tail.pop()
        pieces += split_text("\n".join(tail), MAX_TEXT)  # as few bubbles as possible: the pair rate counts them
    bodies = [{"type": "text", "text": {"body": piece, "preview_url": False}} for piece in pieces]
    if len(options) <= MAX_BUTTONS and all(len(id_) <= MAX_BUTTON_ID for id_ in ids):
        titles = _titles(labels, locale, BUTTON_TITLE)
        bodies.append({"type": "interactive", "interactive": {
            "type": "button", "body": {"text": body},
            "action": {"buttons": [{"type": "reply", "reply": {"id": id_, "title": title}}
                                   for id_, title in zip(ids, titles, strict=True)]}}})
        return bodies
    titles = _titles(labels, locale, ROW_TITLE)
    rows: list[dict[str, Any]] = []
    for id_, title, label in zip(ids, titles, labels, strict=True):
        if len(id_) > MAX_ROW_ID:
            log.warning("whatsapp option id too long for a list row, left out")
            continue
        row: dict[str, Any] = {"id": id_, "title": title}
        if title != label:  # the whole label stays readable under the short title
            row["description"] = label if len(label) <= ROW_DESCRIPTION else label[: ROW_DESCRIPTION - 1] + "…"
        rows.append(row)
    bodies.append({"type": "interactive", "interactive": {
        "type": "list", "body": {"text": body},
        "action": {"button": short_label(locale, t(LIST_BUTTON), BUTTON_TITLE),
                   "sections": [{"title": short_label(locale, t(LIST_BUTTON), ROW_TITLE), "rows": rows}]}}})
    return bodies


def parts(message: Outbound) -> int:
    """How many calls the message is sent as: its bodies, then its files."""
    return len(render(message)) + len(message.files)


def remainder(message: Outbound, done: int) -> Outbound | None:
    """What is left of `message` once its first `done` calls went (bodies, then files); None when none went.

    The bubbles that went carried the line saying it waited, so what is left goes without it.
    """
    if done <= 0:
        return None
    bodies = render(message)
    if done >= len(bodies):
        return replace(message, text="", options=(), waited_at=None, files=message.files[done - len(bodies):])
    texts = [str((body.get("text") or {}).get("body") or (body.get("interactive") or {}).get("body", {}).get("text")
                 or "") for body in bodies[done:]]
    # Buttons or a list ride on the last body and are drawn again from the options; a numbered menu is all text.
    interactive = bodies[-1]["type"] == "interactive"
    return replace(message, text="\n".join(texts), options=message.options if interactive else (), waited_at=None)


def merge(messages: Sequence[Outbound]) -> Outbound | None:
    """Several queued messages to one person as one (the pair rate allows one message every six seconds):
    texts joined, the last one's buttons kept; None when buttons before the last one would be lost."""
    if len(messages) < 2 or any(message.options for message in messages[:-1]):
        return None
    if len({message.locale for message in messages}) > 1:
        return None
    last = messages[-1]
    text = "\n\n".join(message.text for message in messages if message.text)
    if len(text) > (MAX_BODY if last.options else MAX_TEXT):
        return None
    with_notice = [message for message in messages if message.notice]
    notice = with_notice[-1] if with_notice else last
    return replace(last, text=text, files=tuple(file for message in messages for file in message.files),
                   notice=notice.notice, notice_params=notice.notice_params,
                   waited_at=next((message.waited_at for message in messages if message.waited_at), None))


def template(message: Outbound, names: dict[str, str], languages: dict[str, str]) -> dict[str, Any] | None:
    """The approved template announcing this notice, or None when it is no notice or none is configured."""
    kind = TEMPLATE_KINDS.get(message.notice or "")
    locale = message.locale
    if kind is None or kind.kind not in names or locale not in languages:
        return None
    params = dict(message.notice_params)
    return {"type": "template", "template": {
        "name": names[kind.kind],
        "language": {"code": languages[locale], "policy": "deterministic"},
        "components": [
            {"type": "body", "parameters": [{"type": "text", "text": value}
                                            for value in parameters(kind, params)]},
            {"type": "button", "sub_type": "quick_reply", "index": "0",
             "parameters": [{"type": "payload", "payload": RESUME}]},
        ]}}

