"""`bab privacy purge|audit|register`: the personal-data commands for the controller (law 09-08)."""

from __future__ import annotations

import argparse
import os
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.config import Settings

if TYPE_CHECKING:
    from bot.storage.keystore import Rotation


def add_privacy_parser(commands: Any) -> None:
    """Add the `privacy` command and its actions to the `bab` parser."""
    privacy = commands.add_parser("privacy", help="personal data under law 09-08: retention, audit, register")
    actions = privacy.add_subparsers(dest="action", required=True)
    purge = actions.add_parser("purge", help="erase what is past its retention period (as the daily job does)")
    purge.add_argument("--dry-run", action="store_true", help="count what is due, change nothing")
    audit = actions.add_parser("audit", help="the audit log as CSV (staff views of personal details, refusals)")
    audit.add_argument("--since", required=True, help="ISO date or time, like 2026-01-01")
    audit.add_argument("--until", default=None, help="ISO date or time (default: now)")
    actions.add_parser("register", help="the processing register to file with the CNDP (in French)")
    actions.add_parser("keygen", help="print new keys for BAB_DATA_KEYS and BAB_HASH_KEY (touches nothing)")
    rotate = actions.add_parser("rotate-key", help="re-encrypt every stored value and file with the first key of "
                                "BAB_DATA_KEYS (safe to repeat; see docs/deployment.md)")
    rotate.add_argument("--batch", type=int, default=500, help="rows per transaction (default 500)")
    actions.add_parser("rotate-hash-key", help="re-hash every lookup under BAB_NEW_HASH_KEY, with every worker "
                       "stopped (see docs/deployment.md)")


def moment(text: str) -> datetime:
    """An ISO date or datetime; naive values are UTC."""
    found = datetime.fromisoformat(text)
    return found if found.tzinfo is not None else found.replace(tzinfo=UTC)


def rotation_report(done: Rotation, uploads_dir: Path) -> str:
    """What `bab privacy rotate-key` did, for the operator: counts, the uploads folder, and what to do next."""
    changed = ", ".join(f"{name} {count}" for name, count in done.columns.items() if count)
    lines = [f"Re-encrypted with the first key: {done.total} values and files"
             f"{' (' + changed + f', files {done.files})' if done.total else ''}."]
    if done.leftovers:
        lines.append(f"Removed {done.leftovers} temporary files left by an interrupted run.")
    if done.folder_missing and done.files_named:
        lines.append(f"INCOMPLETE: the uploads folder {uploads_dir} does not exist, yet the database names "
                     f"{done.files_named} files. They were not re-encrypted, and the key check stays under the older "
                     "key, so it is still required at start-up. Run it where BAB_DATA_DIR is the workers' one.")
        return "\n".join(lines)
    if done.folder_missing:
        lines.append(f"No uploads folder at {uploads_dir}: the database names no file, so there was none to "
                     "re-encrypt.")
    lines.append("Run it again: 0 means nothing is left under an older key, which can then leave BAB_DATA_KEYS.")
    return "\n".join(lines)


async def run_privacy(settings: Settings, args: argparse.Namespace) -> int:
    """Carry out one `bab privacy` action; returns the exit code."""
    if args.action == "register":
        from bot.domain.privacy_facts import PrivacyFacts
        from bot.domain.privacy_register import register

        print(register(PrivacyFacts.from_settings(settings)), end="")
        return 0
    if args.action == "keygen":
        from bot.storage import crypto

        # Printed for the operator to put in the environment; never logged.
        # The lines can be appended to a .env as they are: the remark sits on its own line, since neither .env
        # readers nor systemd's EnvironmentFile drop a comment at the end of a value.
        print(f"BAB_DATA_KEYS={crypto.new_data_key()}")
        print("# BAB_HASH_KEY changes only with `bab privacy rotate-hash-key`, workers stopped (docs/deployment.md)")
        print(f"BAB_HASH_KEY={crypto.new_hash_key()}")
        return 0
    from bot.app import build

    bab = await build(settings)
    try:
        if args.action == "purge":
            counts = await bab.retention.purge(bab.clock.now(), dry_run=args.dry_run)
            verb = "due (dry run, nothing changed)" if args.dry_run else "erased"
            print(f"Retention purge: {verb}: " + ", ".join(f"{key} {value}" for key, value in
                                                        counts.as_dict().items()))
        elif args.action == "rotate-key":
            from bot.storage import keystore

            done = await keystore.rotate(bab.engine, settings.uploads_dir, batch=max(1, args.batch))
            print(rotation_report(done, settings.uploads_dir))
            if not done.complete:
                return 1
        elif args.action == "rotate-hash-key":
            from bot.storage import crypto, keystore

            new_key = os.environ.get("BAB_NEW_HASH_KEY", "").strip()  # from the environment: never in `ps`
            if not new_key:
                print("bab privacy rotate-hash-key: set BAB_NEW_HASH_KEY to the new key (`bab privacy keygen` "
                      "prints one)", file=sys.stderr)
                return 2
            try:
                rotated = await keystore.rotate_hash_key(bab.sessions, new_key)
            except crypto.KeyringError as error:
                print(f"bab privacy rotate-hash-key: {error}", file=sys.stderr)
                return 1
            print(f"Re-hashed under the new key: {rotated.numbers} WhatsApp numbers, {rotated.identities} identity "
                  f"keys, {rotated.chats} Telegram chats; {rotated.dropped} reopen tries per address dropped. Now "
                  "set BAB_HASH_KEY to the new key (and remove BAB_NEW_HASH_KEY) before starting the workers: the "
                  "old one no longer opens this database.")
        elif args.action == "audit":
            from bot.services.audit_log import events, to_csv

            try:
                since, until = moment(args.since), moment(args.until) if args.until else None
            except ValueError:
                print("bab privacy audit: --since and --until take ISO dates, like 2026-01-01", file=sys.stderr)
                return 2
            async with bab.sessions() as session:
                sys.stdout.write(to_csv(await events(session, since, until)))
    finally:
        await bab.close()
    return 0
