"""How outbox payloads look on WhatsApp: buttons, lists, numbered menus, limits, merging and templates."""

from __future__ import annotations

from typing import Any

from bot.flows.spec import Outbound
from bot.handlers import whatsapp_render as render
from bot.handlers.text_parts import parse_choice


def payload(text: str, count: int = 0, locale: str = "fr", label: str = "Option {n}", **extra: Any) -> Outbound:
    """An outbox message as the dispatcher hands it over (built from the stored JSON, as the dispatcher does)."""
    options = [{"id": f"opt{n}", "label": label.format(n=n)} for n in range(1, count + 1)]
    return Outbound.from_payload({"text": text, "locale": locale, "options": options,
                                  "version": 7 if options else None, **extra})


def test_plain_text_is_one_text_message() -> None:
    assert render.render(payload("Salam")) == [{"type": "text", "text": {"body": "Salam", "preview_url": False}}]


def test_three_options_are_reply_buttons_carrying_the_version() -> None:
    [body] = render.render(payload("Choose", 3))
    interactive = body["interactive"]
    assert interactive["type"] == "button"
    ids = [button["reply"]["id"] for button in interactive["action"]["buttons"]]
    assert ids == ["7|opt1", "7|opt2", "7|opt3"]
    assert parse_choice(ids[1]).choice_id == "opt2" and parse_choice(ids[1]).version == 7


def test_four_to_ten_options_are_a_list_and_more_a_numbered_menu() -> None:
    [body] = render.render(payload("Choose", 10))
    assert body["interactive"]["type"] == "list"
    rows = body["interactive"]["action"]["sections"][0]["rows"]
    assert len(rows) == 10 and all(len(row["title"]) <= render.ROW_TITLE for row in rows)
    [menu] = render.render(payload("Choose", 12))
    assert menu["type"] == "text"
    assert "12. Option 12" in menu["text"]["body"] and "numéro" in menu["text"]["body"]


def test_long_labels_fit_and_stay_distinct() -> None:
    long = "Commune de Sidi Bennour, province de Sidi Bennour {n}"
    [buttons] = render.render(payload("Où ?", 3, label=long))
    titles = [button["reply"]["title"] for button in buttons["interactive"]["action"]["buttons"]]
    assert all(len(title) <= render.BUTTON_TITLE for title in titles)
    assert len(set(titles)) == 3
    [listing] = render.render(payload("Où ?", 5, label=long))
    rows = listing["interactive"]["action"]["sections"][0]["rows"]
    assert all(len(row["title"]) <= render.ROW_TITLE and len(row["description"]) <= 72 for row in rows)
    assert rows[0]["description"].startswith("Commune de Sidi Bennour")


def test_a_long_text_with_buttons_keeps_the_buttons_on_the_last_part() -> None:
    text = ("Une phrase assez longue pour remplir. " * 60).strip()  # about 2,300 characters
    bodies = render.render(payload(text, 2))
    assert [body["type"] for body in bodies] == ["text", "interactive"]
    assert len(bodies[1]["interactive"]["body"]["text"]) <= render.MAX_BODY
    assert all(len(body["text"]["body"]) <= render.MAX_TEXT for body in bodies[:1])


def test_a_message_that_waited_says_so_in_its_language() -> None:
    [body] = render.render(payload("Votre demande a une réponse.", waited_at="2026-11-16T09:00:00+00:00"))
    assert body["text"]["body"].startswith("Ce message")


def test_merge_joins_texts_and_keeps_the_last_buttons() -> None:
    merged = render.merge([payload("Reçu."), payload("Et ensuite ?", 2)])
    assert merged is not None
    assert merged.text == "Reçu.\n\nEt ensuite ?" and len(merged.options) == 2
    assert render.merge([payload("Choisir", 2), payload("Reçu.")]) is None  # buttons in the middle would be lost
    assert render.merge([payload("x" * 900), payload("y" * 200, 2)]) is None  # too long for a button body


def test_a_notice_becomes_its_template_when_one_is_configured() -> None:
    notice = {"kind": "request_answered", "params": {"reference": "BAB-7K3MQ9", "place": "Agadir"}}
    body = render.template(payload("…", notice=notice, locale="ary"), {"request_answered": "bab_answered"},
                           {"ary": "ar_MA", "fr": "fr"})
    assert body is not None
    template = body["template"]
    assert template["name"] == "bab_answered" and template["language"]["code"] == "ar_MA"
    assert [p["text"] for p in template["components"][0]["parameters"]] == ["Agadir", "BAB-7K3MQ9"]
    assert template["components"][1]["parameters"][0]["payload"] == "go:resume"
    assert render.template(payload("…", notice=notice), {}, {"fr": "fr"}) is None
    assert render.template(payload("…"), {"request_answered": "x"}, {"fr": "fr"}) is None
