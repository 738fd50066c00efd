"""`bab staff invite|list|revoke`: staff accounts from the command line."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from bot.config import Settings


def add_staff_parser(commands: Any) -> None:
    """Add the `staff` command and its actions to the `bab` parser."""
    staff = commands.add_parser("staff", help="clerks, coordinators and admins")
    actions = staff.add_subparsers(dest="action", required=True)
    invite = actions.add_parser("invite", help="create a staff member and print their one-time link code")
    invite.add_argument("--role", required=True, choices=("clerk", "coordinator", "admin"))
    invite.add_argument("--collectivity", action="append", default=[], metavar="CODE",
                        help="HCP code of a collectivity they cover (repeat for a clerk of several)")
    invite.add_argument("--national", action="store_true", help="a coordinator of the whole country")
    invite.add_argument("--name", default="", help="how they appear to colleagues (default: role and place)")
    actions.add_parser("list", help="every staff member, linked or not")
    revoke = actions.add_parser("revoke", help="take a staff member's access away")
    revoke.add_argument("staff_id", type=int)


async def run_staff(settings: Settings, args: argparse.Namespace) -> int:
    """Carry out one `bab staff` action; returns the exit code."""
    from bot.app import build
    from bot.domain.staff import Role

    bab = await build(settings)
    try:
        admin = bab.staff_admin
        if args.action == "invite":
            scopes: list[str | None] = [None] if args.national else list(args.collectivity)
            places = [bab.directory.get(code) for code in args.collectivity]
            name = args.name or f"{args.role} {' '.join(p.name_fr for p in places if p) or 'national'}"
            try:
                invite = await admin.invite(Role(args.role), scopes, name)
            except ValueError as error:
                print(f"bab staff invite: {error}", file=sys.stderr)
                return 2
            username = settings.telegram_bot_username
            link = f"https://t.me/{username}?start={invite.code}" if username else \
                f"https://t.me/<your bot>?start={invite.code}"
            print(f"Staff member {invite.staff_id} ({name}) invited; the code works once, until "
                  f"{invite.expires_at:%Y-%m-%d %H:%M} UTC.\n"
                  f"  Telegram: {link}\n"
                  f"  Any chat (web, WhatsApp, console): send the message  {invite.code}")
        elif args.action == "list":
            for staff, scopes, channel in await admin.list():
                status = "revoked" if staff.revoked_at else ("linked on " + str(channel) if channel else "invited")
                where = ", ".join(code or "national" for code in scopes) or "-"
                print(f"{staff.id:4}  {staff.role:11}  {status:18}  {where:30}  {staff.name}")
        elif args.action == "revoke":
            if not await admin.revoke(args.staff_id):
                print(f"bab staff revoke: no active staff member {args.staff_id}", file=sys.stderr)
                return 2
            print(f"Staff member {args.staff_id} revoked.")
    finally:
        await bab.close()
    return 0
