"""The `bab` command: run, chat, migrate, and the directory admin commands."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import logging
import sys
from typing import TextIO

from bot.cli_calendar import add_calendar_parser, run_calendar
from bot.cli_privacy import add_privacy_parser, run_privacy
from bot.cli_staff import add_staff_parser, run_staff
from bot.cli_whatsapp import add_whatsapp_parser, run_whatsapp
from bot.config import Settings, load_settings
from bot.storage.crypto import KeyringError

BODY_LOGGERS = ("telegram", "aiosqlite", "httpcore", "asyncpg", "sqlalchemy.engine", "aiohttp.client")


class RedactSecrets(logging.Filter):
    """Replace the configured secrets in every record a handler writes: libraries log URLs (the Bot API puts the
    token in its path), and a secret in a log file is a secret leaked."""

    def __init__(self, secrets: list[str]) -> None:
        super().__init__()
        self.secrets = sorted({secret for secret in secrets if len(secret) >= 8}, key=len, reverse=True)

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if any(secret in message for secret in self.secrets):
            for secret in self.secrets:
                message = message.replace(secret, "[redacted]")
            record.msg, record.args = message, None
        return True


def secrets_of(settings: Settings) -> list[str]:
    """The settings that must never reach a log line."""
    return [value for value in (settings.telegram_bot_token, settings.telegram_webhook_secret,
                                settings.whatsapp_token, settings.whatsapp_app_secret,
                                settings.whatsapp_verify_token, settings.hash_key, *settings.data_keys) if value]


def configure_logging(settings: Settings, stream: TextIO | None = None) -> None:
    """Log to stderr (or `stream`) at the configured level, with the secrets redacted from every line."""
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s",
                        stream=stream or sys.stderr, force=True)
    for handler in logging.getLogger().handlers:
        handler.addFilter(RedactSecrets(secrets_of(settings)))
    logging.getLogger("alembic").setLevel(logging.WARNING)  # its start-up chatter drowns our own lines
    # httpx logs every request line at INFO: for the Bot API that is thousands of lines a day, each with the
    # token in its URL (redacted above, but the volume says nothing an operator needs).
    logging.getLogger("httpx").setLevel(logging.WARNING)
    # Below WARNING these libraries log what passes through them: whole updates (python-telegram-bot), SQL with
    # its parameters (aiosqlite, SQLAlchemy's engine at INFO), request bodies (httpcore). BAB_LOG_LEVEL=DEBUG is
    # for Bab's own lines, which log ids only; the libraries stay at WARNING so that no message body, name or
    # card number reaches a log.
    for name in BODY_LOGGERS:
        logging.getLogger(name).setLevel(max(logging.getLogger().level, logging.WARNING))


async def run_chat(settings: Settings, user: str) -> None:
    from bot.app import build
    from bot.handlers.console import chat

    bab = await build(settings)
    try:
        await chat(bab.conversations, bab.dispatcher, user)
    finally:
        await bab.close()


async def run_migrate(settings: Settings) -> None:
    from datetime import UTC, datetime

    from bot.storage import crypto, keystore
    from bot.storage.db import create_engine, create_sessionmaker
    from bot.storage.migrate import upgrade_to_head

    crypto.install(crypto.keyring_for(settings))  # migration 0006 encrypts the rows and files it finds
    engine = create_engine(settings.database_url)
    try:
        await upgrade_to_head(engine, settings.uploads_dir)
        # As at every start: other keys than the data's are refused now, not when a worker first reads a row.
        await keystore.check_keys(create_sessionmaker(engine), datetime.now(UTC))
    finally:
        await engine.dispose()
    print("Database is at the latest revision.")


async def run_directory(settings: Settings, action: str, query: str | None) -> None:
    from bot.app import build
    from bot.flows.places import place_label
    from bot.i18n import translator
    from bot.services.directory import load_directory

    bab = await build(settings)
    try:
        if action == "load":
            changed = await load_directory(bab.sessions, force=True)
            print(f"Directory up to date: {len(bab.directory)} collectivities, {changed} rows added or changed.")
        else:
            for match in bab.directory.match(query or "", limit=8):
                place = match.collectivity
                print(f"{place.code:14} {match.score:5.1f}  {place_label(place, bab.directory, translator('fr'))}"
                      f"  /  {place_label(place, bab.directory, translator('ar'))}")
    finally:
        await bab.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bab", description="Bab: citizens' requests and complaints to their "
                                     "territorial collectivity, by chat.")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("run", help="serve the web chat and every configured channel (migrates first)")
    chat = commands.add_parser("chat", help="talk to the bot in this terminal, as a citizen")
    chat.add_argument("--user", default=None, help="who you are in the conversation (default: your login name)")
    commands.add_parser("migrate", help="bring the database to the latest schema")
    directory = commands.add_parser("directory", help="the collectivity directory")
    directory_actions = directory.add_subparsers(dest="action", required=True)
    directory_actions.add_parser("load", help="(re)load the HCP list and aliases; safe to repeat")
    search = directory_actions.add_parser("search", help="show how a name resolves")
    search.add_argument("query")
    add_calendar_parser(commands)
    add_privacy_parser(commands)
    add_staff_parser(commands)
    add_whatsapp_parser(commands)
    args = parser.parse_args(argv)

    settings = load_settings()
    configure_logging(settings)
    try:
        return dispatch(settings, args)
    except KeyringError as error:  # missing or wrong keys: say so in one line, not a traceback
        print(f"bab: {error}", file=sys.stderr)
        return 2


def dispatch(settings: Settings, args: argparse.Namespace) -> int:
    """Run the parsed command; returns the exit status."""
    if args.command == "run":
        from bot.app import serve

        asyncio.run(serve(settings))
    elif args.command == "chat":
        logging.getLogger().setLevel(logging.WARNING)
        asyncio.run(run_chat(settings, args.user or getpass.getuser()))
    elif args.command == "migrate":
        asyncio.run(run_migrate(settings))
    elif args.command == "directory":
        asyncio.run(run_directory(settings, args.action, getattr(args, "query", None)))
    elif args.command == "staff":
        return asyncio.run(run_staff(settings, args))
    elif args.command == "calendar":
        return asyncio.run(run_calendar(settings, args))
    elif args.command == "privacy":
        return asyncio.run(run_privacy(settings, args))
    elif args.command == "whatsapp":
        return run_whatsapp(settings, args, sys.stdout)
    return 0
