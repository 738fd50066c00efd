"""Composition root: the only place that builds engines, services, channels and the web application.

`build` wires everything once (one lifecycle, one calendar, one dispatcher per running app) and hands each part
what it needs; nothing below this module sees the `Bab` object. The CLI commands sit above: they call `build`
and use the parts it made.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import signal
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot import i18n
from bot.config import Settings
from bot.domain.calendar import WorkingCalendar
from bot.domain.deadlines import Unit, rules_with
from bot.domain.directory import Directory
from bot.domain.intents import understand
from bot.domain.privacy_facts import PrivacyFacts
from bot.handlers import telegram as telegram_handlers
from bot.handlers import transparency as transparency_page
from bot.handlers import web as web_handlers
from bot.services.calendar_admin import CalendarAdmin, load_overrides
from bot.services.channel_locks import ChannelLocks
from bot.services.clock import Clock, SystemClock
from bot.services.conversations import Conversations
from bot.services.directory import directory_from_db, load_directory
from bot.services.jobs import Jobs, JobSettings
from bot.services.lifecycle import Lifecycle
from bot.services.outbox import Dispatcher, Sender
from bot.domain.privacy_facts import RetentionSettings
from bot.services.retention import Retention
from bot.services.scheduler import Scheduler
from bot.services.staff import StaffAdmin
from bot.services.throttle import Throttle
from bot.services.transparency import Transparency
from bot.services.web_chat import WebChat
from bot.storage import crypto, keystore
from bot.storage.db import create_engine, create_sessionmaker
from bot.storage.migrate import upgrade_to_head

if TYPE_CHECKING:
    from bot.handlers.whatsapp import WhatsAppChannel

log = logging.getLogger(__name__)


@dataclass
class Bab:
    """Everything a running Bab holds; built by `build`, closed by `close`."""

    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    directory: Directory
    calendar: WorkingCalendar
    conversations: Conversations
    dispatcher: Dispatcher
    web_channel: web_handlers.WebChannel
    clock: Clock
    lifecycle: Lifecycle  # the one lifecycle: conversations, the calendar admin and the jobs share it
    calendar_admin: CalendarAdmin
    jobs: Jobs  # the deadline sweeps (`bab run` ticks them through the scheduler)
    staff_admin: StaffAdmin
    web_chat: WebChat
    transparency: Transparency  # the public figures, cached
    retention: Retention  # the daily purge of what is kept past its time (law 09-08)
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    telegram: telegram_handlers.TelegramChannel | None = None  # when TELEGRAM_BOT_TOKEN is set
    whatsapp: WhatsAppChannel | None = None  # when WHATSAPP_TOKEN is set

    async def close(self) -> None:
        self.stop.set()
        if self.telegram is not None:
            await self.telegram.close()
        if self.whatsapp is not None:
            await self.whatsapp.close()
        if self.dispatcher.locks is not None:
            await self.dispatcher.locks.close()
        await self.engine.dispose()


async def build(settings: Settings, clock: Clock | None = None, senders: dict[str, Sender] | None = None,
                migrate: bool = True, directory: Directory | None = None) -> Bab:
    """Open the database (migrating it), load the directory on first start, and wire the services."""
    clock = clock or SystemClock()
    # The encrypted columns read the process's one keyring (bot/storage/crypto.py): installed before any query.
    crypto.install(crypto.keyring_for(settings))
    engine = create_engine(settings.database_url)
    sessions = create_sessionmaker(engine)
    try:
        if migrate:
            await upgrade_to_head(engine, settings.uploads_dir)
        await keystore.check_keys(sessions, clock.now())  # other keys than the data's: a clear error, now
    except BaseException:  # a refused start must not leave the database's connections open
        await engine.dispose()
        raise
    await load_directory(sessions)
    if directory is None:  # tests pass a prebuilt index of the same rows, to save half a second per test
        directory, _on_bab = await directory_from_db(sessions)
    year = clock.now().astimezone(UTC).year
    calendar = WorkingCalendar.morocco(year - 1, year + 3)
    async with sessions() as session:  # holidays confirmed or moved by coordinators (issue 4)
        calendar.set_overrides(await load_overrides(session))
    web_channel = web_handlers.WebChannel()
    all_senders: dict[str, Sender] = {"web": web_channel, **(senders or {})}
    telegram = telegram_handlers.TelegramChannel(settings) if settings.telegram_bot_token else None
    if telegram is not None:
        all_senders.setdefault(telegram_handlers.CHANNEL, telegram.sender)
    whatsapp: WhatsAppChannel | None = None
    if settings.whatsapp_token:
        from bot.handlers import (
            whatsapp as whatsapp_handlers,  # only where the channel is on
        )
        from bot.services.whatsapp_inbox import WhatsAppInbox

        whatsapp = whatsapp_handlers.WhatsAppChannel(settings, WhatsAppInbox(sessions, clock), clock)
        all_senders.setdefault(whatsapp_handlers.CHANNEL, whatsapp.sender)
    dispatcher = Dispatcher(sessions, all_senders, clock, max_attempts=settings.outbox_max_attempts,
                            on_delivered=web_channel.delivered, locks=ChannelLocks(engine))

    async def staff_linked(channel: str, external_id: str, locale: str) -> None:
        if telegram is not None and channel == telegram_handlers.CHANNEL:
            await telegram.set_staff_commands(int(external_id), locale)

    rules = rules_with(Unit(settings.urgent_unit))
    job_settings = JobSettings.from_settings(settings)
    lifecycle = Lifecycle(directory, calendar, settings.default_locale, rules)
    calendar_admin = CalendarAdmin(sessions, directory, calendar, job_settings, notify=dispatcher.wake,
                                   lifecycle=lifecycle)
    # Before every full sweep the jobs reload the calendar corrections another process may have written.
    jobs = Jobs(sessions, directory, calendar, job_settings, notify=dispatcher.wake, before=calendar_admin.reload,
                lifecycle=lifecycle)
    transparency = Transparency(sessions, directory, calendar, clock, settings.transparency_cache_seconds)
    conversations = Conversations(sessions, directory, calendar, clock, settings.default_locale,
                                  notify=dispatcher.wake, rules=rules, on_linked=staff_linked,
                                  calendar_admin=calendar_admin, lifecycle=lifecycle, transparency=transparency,
                                  throttle=Throttle(settings.inbound_per_second, settings.inbound_burst)
                                  if settings.inbound_burst > 0 else None, uploads_dir=settings.uploads_dir,
                                  privacy_facts=PrivacyFacts.from_settings(settings))
    return Bab(settings=settings, engine=engine, sessions=sessions, directory=directory, calendar=calendar,
               conversations=conversations, dispatcher=dispatcher, web_channel=web_channel, clock=clock,
               lifecycle=lifecycle, calendar_admin=calendar_admin, jobs=jobs,
               staff_admin=StaffAdmin(sessions, directory, clock), web_chat=WebChat(sessions, directory, clock),
               transparency=transparency,
               retention=Retention(sessions, settings.uploads_dir, RetentionSettings.from_settings(settings)),
               telegram=telegram, whatsapp=whatsapp)


def web_app(bab: Bab, dispatch: bool = True) -> web.Application:
    """The aiohttp application: web chat page and API, health check, and (unless told not to) the dispatcher."""
    app = web.Application(client_max_size=6 * 1024 * 1024, middlewares=[web_handlers.headers_middleware])
    app[web_handlers.CONVERSATIONS] = bab.conversations
    app[web_handlers.WEB_CHAT] = bab.web_chat
    app[web_handlers.WEB_CHANNEL] = bab.web_channel
    app[web_handlers.UPLOADS] = bab.settings.uploads_dir
    app[web_handlers.SECURE_COOKIES] = bab.settings.secure_cookies
    app[web_handlers.WEB_SETTINGS] = web_handlers.WebSettings(default_locale=bab.settings.default_locale,
                                                              embed_origins=bab.settings.embed_origins,
                                                              privacy=PrivacyFacts.from_settings(bab.settings))
    app[transparency_page.TRANSPARENCY] = bab.transparency
    app[transparency_page.DIRECTORY] = bab.directory
    web_handlers.add_routes(app)
    transparency_page.add_routes(app)

    async def end_long_polls(_app: web.Application) -> None:
        bab.web_channel.close()

    app.on_shutdown.append(end_long_polls)

    async def health(_request: web.Request) -> web.Response:
        return web.json_response({"ok": True, "collectivities": len(bab.directory)})

    app.router.add_get("/healthz", health)
    if bab.telegram is not None and bab.telegram.mode == "webhook":
        bab.telegram.add_routes(app, bab.conversations)

    async def dispatcher_ctx(_app: web.Application):  # type: ignore[no-untyped-def]
        task = asyncio.create_task(bab.dispatcher.run(bab.stop))
        yield
        bab.stop.set()
        bab.dispatcher.wake()
        await task

    if dispatch:
        app.cleanup_ctx.append(dispatcher_ctx)
    if bab.whatsapp is not None:
        whatsapp = bab.whatsapp
        whatsapp.add_routes(app)

        async def whatsapp_ctx(_app: web.Application):  # type: ignore[no-untyped-def]
            # Stored webhook bodies are processed here, also those a crash left behind.
            task = asyncio.create_task(whatsapp.run(bab.conversations, bab.stop))
            yield
            bab.stop.set()
            whatsapp.wake()
            await task

        if dispatch:
            app.cleanup_ctx.append(whatsapp_ctx)
    return app


def warm_up(directory: Directory) -> None:
    """Read the catalogues and word tables now, then take what start-up built out of the garbage collector's walks."""
    # Both measured in benchmarks/bench_pacing.py: read lazily, the catalogues and tables made the first turn after a
    # start take 360 ms; and a full collection walking the directory's ~180,000 objects paused the loop up to 140 ms.
    for locale in i18n.LOCALES:  # a short label reads the locale's catalogue and its table of short forms
        i18n.short_label(locale, "menu", 20)
    for name in i18n.KEYWORD_MSGIDS:
        i18n.keywords(name)
    for sample in ("Bonjour, je voudrais le budget de la commune", "salam bghit nchki 3la triq", "السلام عليكم"):
        understand(sample, directory)
    gc.collect()
    gc.freeze()  # what is frozen now stays for the process's life: the directory, catalogues, tables, modules


async def serve(settings: Settings, stopped: asyncio.Event | None = None) -> None:
    """`bab run`: migrate, load, serve the web chat and dispatch the outbox until SIGINT/SIGTERM (or `stopped`)."""
    bab = await build(settings)
    warm_up(bab.directory)
    runner = web.AppRunner(web_app(bab), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, settings.host, settings.port)
    await site.start()
    # The stored transparency figures are served at once; counted again now only when old or missing.
    figures = asyncio.create_task(bab.transparency.warm())
    if bab.telegram is not None:  # polling, or setWebhook; stopped by bab.close()
        bab.telegram.start(bab.conversations)
    scheduler = Scheduler(bab.jobs, bab.clock, retention=bab.retention, purge_hour=settings.purge_hour) \
        if settings.scheduler else None
    if scheduler is not None:  # deadline jobs; runs every sweep once now, to catch up after downtime
        scheduler.start()
    print(f"Bab is running: open http://{settings.host}:{settings.port}/ to chat "
          f"(database: {bab.engine.url.render_as_string(hide_password=True)}). Ctrl+C stops it.", flush=True)
    if stopped is None:
        stopped = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stopped.set)
    await stopped.wait()
    log.info("stopping at %s", datetime.now(UTC).isoformat())
    if scheduler is not None:
        await scheduler.stop()
    figures.cancel()
    await runner.cleanup()
    await bab.close()
