"""`bab whatsapp templates`: the message templates to submit in Meta's WhatsApp Manager, in each language."""

from __future__ import annotations

import argparse
import json
from typing import Any, TextIO

from bot.config import Settings


def add_whatsapp_parser(commands: Any) -> None:
    """Add the `whatsapp` command and its actions to the `bab` parser."""
    whatsapp = commands.add_parser("whatsapp", help="the WhatsApp channel")
    actions = whatsapp.add_subparsers(dest="action", required=True)
    templates = actions.add_parser("templates", help="print the templates to submit to Meta, in each language")
    templates.add_argument("--json", action="store_true", help="as JSON bodies for the message_templates API")


def template_submissions(settings: Settings) -> list[dict[str, Any]]:
    """One submission per template kind and template language, as Meta's message_templates API takes them."""
    from bot.flows.templates import BUTTON, TEMPLATE_KINDS, submission_text
    from bot.i18n import translator

    names = dict(settings.whatsapp_templates)
    languages: dict[str, str] = {}
    for locale, code in settings.whatsapp_template_languages:  # Darija shares Arabic's template
        languages.setdefault(code, "ar" if locale == "ary" else locale)
    submissions: list[dict[str, Any]] = []
    for kind in TEMPLATE_KINDS.values():
        for code, locale in languages.items():
            t = translator(locale)
            example = [value for _name, value in kind.example]
            submissions.append({
                "name": names.get(kind.kind, f"bab_{kind.kind}"),
                "kind": kind.kind,
                "audience": kind.audience,
                "category": "UTILITY",
                "language": code,
                "components": [
                    {"type": "BODY", "text": submission_text(t, kind), "example": {"body_text": [example]}},
                    {"type": "BUTTONS", "buttons": [{"type": "QUICK_REPLY", "text": t(BUTTON)}]},
                ],
            })
    return submissions


def print_templates(settings: Settings, as_json: bool, out: TextIO) -> None:
    """Write the submissions readably (or as JSON) to `out`."""
    submissions = template_submissions(settings)
    if as_json:
        json.dump(submissions, out, ensure_ascii=False, indent=2)
        out.write("\n")
        return
    out.write("Templates to create in WhatsApp Manager (Message templates > Create template), category Utility.\n"
              "Then set WHATSAPP_TEMPLATES=kind=name,… for the ones approved; a notice without an approved\n"
              "template waits until the person writes again.\n")
    for item in submissions:
        body, buttons = item["components"]
        out.write(f"\n== {item['name']}  ({item['kind']}, for {item['audience']})  language: {item['language']}"
                  f"  category: {item['category']}\n")
        out.write(f"Body:    {body['text']}\n")
        out.write(f"Example: {', '.join(body['example']['body_text'][0])}\n")
        out.write(f"Button:  quick reply \"{buttons['buttons'][0]['text']}\"\n")


def run_whatsapp(settings: Settings, args: argparse.Namespace, out: TextIO) -> int:
    """Carry out one `bab whatsapp` action; returns the exit code."""
    if args.action == "templates":
        print_templates(settings, args.json, out)
    return 0
