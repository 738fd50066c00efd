"""`bab calendar …`: confirm, move or add a public holiday, list them, and explain a due date."""

from __future__ import annotations

import argparse
import getpass
from datetime import date, datetime, time
from typing import Any

from bot.config import Settings
from bot.domain.deadlines import CASABLANCA, due_date, rules_with


def add_calendar_parser(commands: Any) -> None:
    """Add the `calendar` command and its subcommands to the `bab` subparsers."""
    calendar = commands.add_parser("calendar", help="public holidays and legal due dates")
    actions = calendar.add_subparsers(dest="action", required=True)
    confirm = actions.add_parser("confirm", help="moon sighting confirmed the holiday on DATE (all its days)")
    confirm.add_argument("date", type=date.fromisoformat, help="YYYY-MM-DD")
    confirm.add_argument("--name", default=None, help="which holiday, when the day has two")
    move = actions.add_parser("move", help="the holiday on DATE falls on --to instead (all its days shift)")
    move.add_argument("date", type=date.fromisoformat, help="YYYY-MM-DD")
    move.add_argument("--to", required=True, type=date.fromisoformat, help="YYYY-MM-DD")
    move.add_argument("--name", default=None, help="which holiday, when the day has two")
    add = actions.add_parser("add", help="an exceptional public holiday")
    add.add_argument("date", type=date.fromisoformat, help="YYYY-MM-DD")
    add.add_argument("--name", required=True)
    listing = actions.add_parser("list", help="the holidays of a year, estimated or confirmed")
    listing.add_argument("--year", type=int, default=None)
    due = actions.add_parser("due", help="compute and explain a due date")
    due.add_argument("--from", dest="received", required=True, type=parse_moment,
                     help="receipt moment: YYYY-MM-DD (noon), YYYY-MM-DDTHH:MM (Moroccan time) or with an offset")
    due.add_argument("--rule", required=True, choices=sorted(rules_with()))
    due.add_argument("--lang", default="fr", choices=("fr", "ary", "ary_Latn", "ar"))
    due.add_argument("--extended", action="store_true", help="add the extension (access and urgent rules)")
    for sub in (confirm, move, add):
        sub.add_argument("--actor", default=None, help="who made the change, for the log (default: your login)")


def parse_moment(text: str) -> datetime:
    """A receipt moment: a date alone is noon; a time without offset is Moroccan time (Africa/Casablanca)."""
    if len(text) == 10:
        return datetime.combine(date.fromisoformat(text), time(12, 0), tzinfo=CASABLANCA)
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=CASABLANCA)


async def run_calendar(settings: Settings, args: argparse.Namespace) -> int:
    """Carry out one `bab calendar` subcommand; prints for a person, returns the exit status."""
    from bot.app import build
    from bot.domain.deadlines import request_due
    from bot.flows.explain import explain_due
    from bot.i18n import translator
    from bot.services.calendar_admin import CalendarError, Change

    bab = await build(settings)
    try:
        admin = bab.calendar_admin
        now = bab.clock.now()
        actor = f"cli:{getattr(args, 'actor', None) or getpass.getuser()}"
        change: Change | None = None
        try:
            if args.action == "confirm":
                change = await admin.confirm(args.date, actor, now, name=args.name)
            elif args.action == "move":
                change = await admin.move(args.date, args.to, actor, now, name=args.name)
            elif args.action == "add":
                change = await admin.add(args.date, args.name, actor, now)
        except CalendarError as error:
            print(f"Nothing changed: {error}.")
            return 1
        if change is not None:
            for override in change.overrides:
                what = "no longer a holiday" if override.kind == "working" else f"{override.name} ({override.source})"
                print(f"{override.day.isoformat()}  {what}")
            print(f"{len(change.moved)} open request(s) got a new due date; citizens and clerks are told.")
            for moved in change.moved:
                print(f"  {moved.reference}  {moved.old.isoformat()} -> {moved.new.isoformat()}")
        elif args.action == "list":
            year = args.year or now.astimezone(CASABLANCA).year
            for line in await admin.listing(year):
                if not line.off:
                    print(f"{line.day.isoformat()}  {line.day:%a}  (working: {line.name} moved away)")
                    continue
                state = "estimated" if line.estimated else (line.source or "fixed")
                print(f"{line.day.isoformat()}  {line.day:%a}  {line.name}  [{state}]")
        elif args.action == "due":
            rules = bab.lifecycle.rules  # the rules in force (the urgent unit is a setting)
            due = (request_due(args.rule, args.received, bab.calendar, rules, extended=True) if args.extended
                   else due_date(rules[args.rule], args.received, bab.calendar))
            print(explain_due(translator(args.lang), due))
        return 0
    finally:
        await bab.close()
