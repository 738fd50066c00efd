"""`bab whatsapp templates`: what an operator submits to Meta, in each template language, from the catalogues."""

from __future__ import annotations

import dataclasses
import io
import json
import re

from bot.cli import main
from bot.cli_whatsapp import print_templates, template_submissions
from bot.config import Settings
from bot.flows.templates import TEMPLATE_KINDS


def test_every_kind_in_arabic_and_french_with_numbered_placeholders(settings: Settings) -> None:
    submissions = template_submissions(settings)
    assert {(item["kind"], item["language"]) for item in submissions} == {
        (kind, language) for kind in TEMPLATE_KINDS for language in ("ar", "fr")}
    for item in submissions:
        body = item["components"][0]
        kind = TEMPLATE_KINDS[item["kind"]]
        assert item["category"] == "UTILITY"
        # Meta wants {{1}}…{{n}} in order, and one example value for each.
        assert re.findall(r"\{\{(\d+)\}\}", body["text"]) == [str(n) for n in range(1, len(kind.params) + 1)]
        assert len(body["example"]["body_text"][0]) == len(kind.params)
        assert "{" not in body["text"].replace("{{", "").replace("}}", "")
        button = item["components"][1]["buttons"][0]["text"]
        assert 0 < len(button) <= 25
    french = next(item for item in submissions if item["language"] == "fr")
    assert "Touchez" in french["components"][0]["text"]  # translated, not the English msgid
    arabic = next(item for item in submissions if item["language"] == "ar")
    assert re.search("[\u0600-\u06ff]", arabic["components"][0]["text"])


def test_configured_names_and_languages_are_used(settings: Settings) -> None:
    configured = dataclasses.replace(settings, whatsapp_templates=(("deadline_passed", "bab_late_v2"),),
                                     whatsapp_template_languages=(("ary", "ar_MA"), ("ar", "ar_MA"), ("fr", "fr_MA")))
    out = io.StringIO()
    print_templates(configured, as_json=True, out=out)
    submissions = json.loads(out.getvalue())
    assert {item["language"] for item in submissions} == {"ar_MA", "fr_MA"}
    assert {item["name"] for item in submissions if item["kind"] == "deadline_passed"} == {"bab_late_v2"}


def test_the_command_prints_them(capsys: object) -> None:
    assert main(["whatsapp", "templates"]) == 0
    printed = capsys.readouterr().out  # type: ignore[attr-defined]
    assert "bab_request_answered" in printed and "{{2}}" in printed
