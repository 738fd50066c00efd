"""How an outbox message looks on WhatsApp: text, reply buttons (up to 3), a list (up to 10), or a numbered
menu (more), within WhatsApp's limits; and the template that announces a notice outside the 24-hour window.

Pure functions of the payload: no I/O, so every rule here is tested without a server.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from bot.flows.templates import BUTTON, RESUME, TEMPLATE_KINDS, parameters
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


def render(payload: dict[str, Any]) -> list[dict[str, Any]]:
    """The message bodies (without the recipient) for one outbox payload, in sending order; files excluded."""
    locale = str(payload.get("locale") or "fr")
    t = translator(locale)
    text = str(payload.get("text") or "")
    if payload.get("waited_at"):
        text = f"{t(WAITED)}\n\n{text}" if text else t(WAITED)
    options = [option for option in payload.get("options") or [] if isinstance(option, dict)]
    version = payload.get("version")
    if not options:
        return text_bodies(text) if text.strip() else []
    labels = [str(option.get("label") or "") for option in options]
    ids = [choice_id(version if isinstance(version, int) else None, str(option.get("id") or "")) for option in options]
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


def merge(payloads: Sequence[dict[str, Any]]) -> dict[str, Any] | None:
    """Several queued messages to one person as one (the pair rate allows one message every six seconds):
    texts joined, the last one's buttons kept; None when only buttons on the last message can survive."""
    if len(payloads) < 2 or any(payload.get("options") for payload in payloads[:-1]):
        return None
    if len({payload.get("locale") for payload in payloads}) > 1:
        return None
    last = payloads[-1]
    text = "\n\n".join(str(payload.get("text") or "") for payload in payloads if payload.get("text"))
    if len(text) > (MAX_BODY if last.get("options") else MAX_TEXT):
        return None
    merged = {**last, "text": text, "files": [file for payload in payloads for file in payload.get("files") or []]}
    if not merged["files"]:
        merged.pop("files")
    notices = [payload["notice"] for payload in payloads if payload.get("notice")]
    if notices:
        merged["notice"] = notices[-1]
    if any(payload.get("waited_at") for payload in payloads):
        merged["waited_at"] = next(str(payload["waited_at"]) for payload in payloads if payload.get("waited_at"))
    return merged


def template(payload: dict[str, Any], names: dict[str, str], languages: dict[str, str]) -> dict[str, Any] | None:
    """The approved template announcing this notice, or None when it is no notice or none is configured."""
    notice = payload.get("notice")
    if not isinstance(notice, dict):
        return None
    kind = TEMPLATE_KINDS.get(str(notice.get("kind")))
    locale = str(payload.get("locale") or "fr")
    if kind is None or kind.kind not in names or locale not in languages:
        return None
    params = notice.get("params") if isinstance(notice.get("params"), dict) else {}
    assert isinstance(params, dict)
    return {"type": "template", "template": {
        "name": names[kind.kind],
        "language": {"code": languages[locale], "policy": "deterministic"},
        "components": [
            {"type": "body", "parameters": [{"type": "text", "text": value}
                                            for value in parameters(kind, {str(k): str(v) for k, v in
                                                                           params.items()})]},
            {"type": "button", "sub_type": "quick_reply", "index": "0",
             "parameters": [{"type": "payload", "payload": RESUME}]},
        ]}}


def template_button(locale: str) -> str:
    """The quick-reply button text of every template in `locale` (for the submission)."""
    return translator(locale)(BUTTON)
