"""Runs the timetable: a dated APScheduler job at every instant a room changes state.

Each job calls the same idempotent ``reconcile`` (compare every room with the clock, announce
the differences), never a toggle, so a missed, repeated or late job cannot leave a room wrong,
and start-up runs it once before anything else: a server restarted in the middle of a panel has
the room live again at once. Jobs are keyed by their instant and replaced whenever the running
order changes.

A step of the wall clock (an NTP step, a virtual machine resumed after a pause) leaves every
timer wrong by the size of the step: the runner watches for one, reconciles at once, and places
the jobs again, so no room waits for a timer set before the step.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from scheduler.clock import Clock
from scheduler.clock_watch import ClockWatch
from scheduler.timetable import Timetable

log = logging.getLogger(__name__)

JOB_PREFIX = "transition@"
RETRY_JOB = "retry"
RETRY_SECONDS = 1.0


class TransitionRunner:
    def __init__(
        self,
        clock: Clock,
        reconcile: Callable[[], Awaitable[object]],
        watch: ClockWatch | None = None,
    ) -> None:
        self._clock = clock
        self._reconcile = reconcile
        self._watch = watch or ClockWatch()
        self._watching: asyncio.Task[None] | None = None
        self._timetable: Timetable | None = None
        self._behind = False  # the last reconcile failed (the store could not write, say)
        self._scheduler = AsyncIOScheduler(
            timezone=UTC,
            # A job that fires late (a busy loop, a suspended laptop) still runs, once.
            job_defaults={"misfire_grace_time": None, "coalesce": True, "max_instances": 1},
        )
        self._started = False

    @property
    def running(self) -> bool:
        return self._started

    async def start(self, timetable: Timetable) -> None:
        await self._reconcile()
        self._scheduler.start()
        self._started = True
        self.schedule(timetable)
        self._watch.reset()  # the jobs were placed by the wall clock as it reads now
        self._watching = asyncio.create_task(self._watch_clock(), name="clock-watch")

    def schedule(self, timetable: Timetable) -> None:
        """(Re)place one job per future transition instant; drop jobs no longer wanted."""
        self._timetable = timetable
        now = self._clock.now()
        wanted = {
            f"{JOB_PREFIX}{transition.at.isoformat()}": transition.at
            for transition in timetable.transitions()
            if transition.at > now
        }
        for job in self._scheduler.get_jobs():
            if job.id.startswith(JOB_PREFIX) and job.id not in wanted:
                job.remove()
        existing = {job.id for job in self._scheduler.get_jobs()}
        for job_id, at in wanted.items():
            if job_id in existing:
                continue  # the id names its instant: an existing job is already right
            self._scheduler.add_job(
                self._run,
                "date",
                id=job_id,
                replace_existing=True,
                run_date=self._clock.to_wall(at),
                name=f"reconcile at {at}",
            )

    def problem(self) -> str | None:
        """What keeps the rooms from following the clock, in words (for ``/healthz``); None
        while nothing does."""
        watching = self._watching
        if not self._started:
            return "stopped"
        if not self._scheduler.running:
            return "its job scheduler stopped"
        if watching is None or watching.done():
            return "its clock watch stopped"
        if self._behind:
            return (
                "the rooms could not be brought in line with the clock; "
                f"trying again every {RETRY_SECONDS:g} s"
            )
        return None

    def pending(self) -> int:
        return sum(job.id.startswith(JOB_PREFIX) for job in self._scheduler.get_jobs())

    async def after_step(self, step: timedelta) -> None:
        """The wall clock jumped by ``step``: put the rooms right for the new time, then place
        again the jobs still ahead (a step back brings back ones already run) and set the timer
        anew from the new time."""
        log.warning("the wall clock stepped %+.3f s: reconciling now", step.total_seconds())
        await self._run()
        if self._started and self._timetable is not None:
            self.schedule(self._timetable)
            self._scheduler.wakeup()

    async def stop(self) -> None:
        """Safe to call twice, or before ``start``."""
        watching, self._watching = self._watching, None
        if watching is not None:
            watching.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watching
        if self._started:
            self._started = False
            self._scheduler.shutdown(wait=False)
            # AsyncIOScheduler shuts down in a loop callback; let it run before returning.
            await asyncio.sleep(0)

    async def _watch_clock(self) -> None:
        # Its own loop, on the monotonic clock: an APScheduler interval job counts on the wall.
        while True:
            await asyncio.sleep(self._watch.interval)
            step = self._watch.step()
            if step is not None:
                await self.after_step(step)

    async def _run(self) -> None:
        try:
            await self._reconcile()
        except Exception:
            # A failure must not kill the scheduler, nor leave the rooms behind the clock until
            # the next transition: once a second, until the store can record the change.
            if not self._behind:
                log.exception("reconcile failed; trying again every %g s", RETRY_SECONDS)
            self._behind = True
            self._retry_soon()
            return
        if self._behind:
            log.warning("reconciled again after a failure")
            self._behind = False

    def _retry_soon(self) -> None:
        if self._started:
            self._scheduler.add_job(
                self._run,
                "date",
                id=RETRY_JOB,
                replace_existing=True,
                run_date=datetime.now(UTC) + timedelta(seconds=RETRY_SECONDS),
            )
