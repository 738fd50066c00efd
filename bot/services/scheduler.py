"""The deadline jobs inside `bab run`: APScheduler 3 (AsyncIOScheduler, in-memory job store) ticking the sweeps.

Schedules live in code, not in a job store: the database holds only facts (requests, the alert ledger), so a
restart loses nothing. The sweep also runs once as soon as the scheduler starts, which is how sweeps missed during
downtime catch up; the ledger makes that catch-up send each missed notice exactly once. The coordinators' digest
is one of the sweeps: it goes out on the first sweep after `digest_hour`, once a day. The retention purge runs
daily at `purge_hour`, and once at start for the same catch-up (it is idempotent too: bot.services.retention).
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime

from apscheduler.schedulers.asyncio import AsyncIOScheduler  # type: ignore[import-untyped]
from apscheduler.triggers.cron import CronTrigger  # type: ignore[import-untyped]
from apscheduler.triggers.interval import IntervalTrigger  # type: ignore[import-untyped]

from bot.domain.deadlines import CASABLANCA
from bot.services.clock import Clock
from bot.services.jobs import Jobs
from bot.services.retention import Retention

log = logging.getLogger(__name__)

SWEEP_MINUTES = 10.0


class Scheduler:
    """Runs `jobs.run_all` every few minutes (Moroccan time for the hours the sweeps look at)."""

    def __init__(self, jobs: Jobs, clock: Clock, sweep_minutes: float = SWEEP_MINUTES,
                 retention: Retention | None = None, purge_hour: int = 3) -> None:
        self.jobs = jobs
        self.retention = retention
        self.purge_hour = purge_hour
        self.purges = 0  # purges that completed (the failures count with the sweeps')
        self._purging = asyncio.Lock()  # one purge at a time; a long first purge does not hold the sweeps
        self.clock = clock
        self.sweep_minutes = sweep_minutes
        self._scheduler: AsyncIOScheduler | None = None
        self.sweeps = 0  # sweeps that completed, for health checks and tests
        self.failures = 0  # sweeps that raised (logged); a health check should watch this one too
        # One sweep at a time, and `stop` waits for the one in progress.
        self._busy = asyncio.Lock()

    async def sweep(self) -> None:
        """One full sweep at the clock's now; errors are logged, never raised into the scheduler."""
        async with self._busy:
            try:
                await self.jobs.run_all(self.clock.now())
            except Exception:  # a bad row or a lost connection must not stop later sweeps
                self.failures += 1
                log.exception("deadline sweep failed")
            else:
                self.sweeps += 1

    async def purge(self) -> None:
        """One retention purge at the clock's now; errors are logged, never raised into the scheduler."""
        if self.retention is None:
            return
        async with self._purging:
            try:
                await self.retention.purge(self.clock.now())
            except Exception:  # a bad row or a lost connection must not stop tomorrow's purge
                self.failures += 1
                log.exception("retention purge failed")
            else:
                self.purges += 1

    def start(self) -> None:
        """Start on the running event loop; the sweep fires at once (catch-up), then every `sweep_minutes`."""
        if self._scheduler is not None:
            return
        # APScheduler logs every run at INFO; our own sweep logs what it queued, which is what matters.
        logging.getLogger("apscheduler").setLevel(logging.WARNING)
        scheduler = AsyncIOScheduler(timezone=CASABLANCA)
        # coalesce + one instance: a slow sweep is never run twice at once, and missed runs collapse into one.
        scheduler.add_job(self.sweep, IntervalTrigger(minutes=self.sweep_minutes, timezone=CASABLANCA),
                          id="deadline-sweep", coalesce=True, max_instances=1, misfire_grace_time=None,
                          next_run_time=datetime.now(UTC))
        if self.retention is not None:
            scheduler.add_job(self.purge, CronTrigger(hour=self.purge_hour, timezone=CASABLANCA), id="retention-purge",
                              coalesce=True, max_instances=1, misfire_grace_time=None,
                              next_run_time=datetime.now(UTC))
        scheduler.start()
        self._scheduler = scheduler
        log.info("scheduler started: sweep every %s min, digest from %02d:00 Africa/Casablanca", self.sweep_minutes,
                 self.jobs.settings.digest_hour)

    async def stop(self) -> None:
        """Stop scheduling, then wait for a job in progress to finish (so the engine can be closed after)."""
        if self._scheduler is not None:
            self._scheduler.shutdown(wait=False)
            self._scheduler = None
        async with self._busy, self._purging:
            pass

    @property
    def running(self) -> bool:
        return self._scheduler is not None and self._scheduler.running
