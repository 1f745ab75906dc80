"""The scheduler: periodic jobs that domains register, run once per period across processes.

A job is registered by name (:meth:`Scheduler.register`) with a period ``every``. Time is cut
into periods aligned to the Unix epoch (period ``n`` is ``[n·every, (n+1)·every)`` in UTC), so
every process computes the same period numbers. In each process the scheduler runs one asyncio
task per job (started and stopped by the application's lifespan, like the notification
worker); when a period begins, the task

1. takes the store lease ``job:<name>`` (:meth:`ContextStore.acquire_lease`, atomic across
   processes) for ``max(every, last run time) + margin`` with a process-unique holder id;
   when another process holds it, it looks again shortly (that process is running the job or
   has just decided it is not due);
2. reads the job's record (kind ``job-run``, key = name) and, when its ``lastPeriod`` is not
   older than the current period, does nothing — another process already ran this period;
3. claims the period by writing the record with optimistic concurrency (``expected_version``;
   a conflict means someone else claimed it), so a period runs *at most once*, even when a
   lease expired under a slow holder;
4. runs the job (a coroutine function is awaited; a plain function runs in a worker thread),
   renewing the lease while it runs; an exception is logged and recorded (``lastError``) and
   the job runs again the next period;
5. records the outcome and run time, and releases the lease.

A process that crashes during a run loses that period (the record says ``running``); the next
period runs normally once the lease has expired.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import math
import os
import re
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Final, Literal

from cetate.errors import AlreadyExists, InvalidRequest, RecordConflict
from cetate.ngsi.timestamps import format_datetime, parse_datetime, utc_now
from cetate.store.base import ContextStore, Record

logger = logging.getLogger(__name__)

JOB_RUN_KIND: Final = "job-run"
"""The store record kind of a job's run history (key = the job's name)."""
PLATFORM_TENANT: Final = "_platform"
"""The records tenant of platform-wide jobs (not a real tenant; never listed)."""
RECENT_PERIODS: Final = 100
"""How many of the last run periods a job's record keeps (``recentPeriods``)."""

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,99}")

JobFunction = Callable[["JobContext"], Awaitable[None] | None]


def process_holder_id(prefix: str) -> str:
    """A lease holder id unique to this process (and this object): ``<prefix>-<pid>-<random>``."""
    return f"{prefix}-{os.getpid()}-{uuid.uuid4().hex[:8]}"


@dataclass(frozen=True, slots=True)
class JobContext:
    """What a running job is told about its run."""

    name: str
    period: int
    """the period number (``floor(epoch seconds / every)``), the same in every process"""
    period_start: datetime
    started_at: datetime
    every: timedelta
    holder: str
    """the lease holder id of the process running it"""
    store: ContextStore
    previous_run: datetime | None
    """when the previous run (of any process) started, if any"""


@dataclass(frozen=True, slots=True)
class JobStatus:
    """A job's record, as every process sees it."""

    name: str
    last_period: int | None
    last_started: str | None
    last_finished: str | None
    last_duration: float | None
    last_outcome: Literal["ok", "error"] | None
    last_error: str | None
    last_error_at: str | None
    running: bool
    runs: int
    failures: int
    recent_periods: tuple[int, ...]
    holder: str | None

    @classmethod
    def from_record(cls, name: str, record: Record | None) -> JobStatus:
        data: Mapping[str, Any] = record.data if record is not None else {}
        outcome = data.get("lastOutcome")
        return cls(
            name=name,
            last_period=_int_or_none(data.get("lastPeriod")),
            last_started=_str_or_none(data.get("lastStarted")),
            last_finished=_str_or_none(data.get("lastFinished")),
            last_duration=_float_or_none(data.get("lastDuration")),
            last_outcome=outcome if outcome in ("ok", "error") else None,
            last_error=_str_or_none(data.get("lastError")),
            last_error_at=_str_or_none(data.get("lastErrorAt")),
            running=bool(data.get("running", False)),
            runs=_int_or_none(data.get("runs")) or 0,
            failures=_int_or_none(data.get("failures")) or 0,
            recent_periods=tuple(p for p in data.get("recentPeriods", ()) if isinstance(p, int)),
            holder=_str_or_none(data.get("holder")),
        )


@dataclass
class JobStats:
    """What this process did for one job since it started."""

    runs: int = 0
    failures: int = 0
    skipped: int = 0
    """periods found already run by another process"""
    busy: int = 0
    """attempts while another process held the lease"""


@dataclass
class _Job:
    name: str
    every: timedelta
    function: JobFunction
    first_delay: timedelta
    stats: JobStats = field(default_factory=JobStats)
    done_period: int | None = None
    last_duration: float = 0.0
    task: asyncio.Task[None] | None = None

    @property
    def lease(self) -> str:
        return f"job:{self.name}"

    def period_of(self, moment: datetime) -> int:
        return math.floor(moment.timestamp() / self.every.total_seconds())

    def period_start(self, period: int) -> datetime:
        return datetime.fromtimestamp(period * self.every.total_seconds(), tz=UTC)


_Attempt = Literal["ran", "done", "busy"]


class Scheduler:
    """Runs registered periodic jobs, once per period across processes (module docstring)."""

    def __init__(
        self,
        store: ContextStore,
        *,
        holder: str | None = None,
        tenant: str = PLATFORM_TENANT,
        margin: timedelta = timedelta(seconds=30),
        busy_retry: float = 1.0,
        stop_timeout: float = 30.0,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.store = store
        self.holder = holder or process_holder_id("scheduler")
        self.tenant = tenant
        self.margin = margin
        self.busy_retry = busy_retry
        self.stop_timeout = stop_timeout
        self.clock = clock
        self._jobs: dict[str, _Job] = {}
        self._stopping: asyncio.Event | None = None

    # -- registration -------------------------------------------------------------------------
    def register(
        self,
        name: str,
        every: timedelta,
        job: JobFunction,
        *,
        first_delay: timedelta = timedelta(0),
    ) -> None:
        """Run ``job`` once per period ``every`` (in one process at a time). ``first_delay``:
        this process does not look at the job before that long after it starts (or after the
        registration, when the scheduler is already running). Registering while running
        starts the job at once. ``ValueError`` for a bad or already registered name, a period
        that is not positive, a negative delay or a job that is not callable."""
        if not isinstance(name, str) or not _NAME.fullmatch(name):
            raise ValueError(
                f"invalid job name {name!r}: 1-100 characters, letters, digits and . _ : - "
                "(starting with a letter or digit)"
            )
        if name in self._jobs:
            raise ValueError(f"a job named {name!r} is already registered")
        if not isinstance(every, timedelta) or every <= timedelta(0):
            raise ValueError(f"job {name!r}: every must be a positive timedelta, not {every!r}")
        if not isinstance(first_delay, timedelta) or first_delay < timedelta(0):
            raise ValueError(
                f"job {name!r}: first_delay must be a timedelta of zero or more, "
                f"not {first_delay!r}"
            )
        if not callable(job):
            raise ValueError(f"job {name!r}: {job!r} is not callable")
        entry = _Job(name, every, job, first_delay)
        self._jobs[name] = entry
        if self.running:
            self._start_job(entry)

    @property
    def jobs(self) -> list[str]:
        """The registered job names, in registration order."""
        return list(self._jobs)

    def stats(self, name: str) -> JobStats:
        return self._job(name).stats

    def status(self, name: str) -> JobStatus:
        """The job's record as stored (shared by all processes; reads the store)."""
        self._job(name)
        return JobStatus.from_record(name, self.store.get_record(self.tenant, JOB_RUN_KIND, name))

    def _job(self, name: str) -> _Job:
        try:
            return self._jobs[name]
        except KeyError:
            raise KeyError(f"no job named {name!r} is registered") from None

    # -- lifecycle ----------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self._stopping is not None and not self._stopping.is_set()

    def start(self) -> None:
        """Start one task per registered job in the running event loop."""
        if self.running:
            return
        self._stopping = asyncio.Event()
        for job in self._jobs.values():
            self._start_job(job)

    def _start_job(self, job: _Job) -> None:
        job.task = asyncio.create_task(self._run(job), name=f"cetate-job-{job.name}")

    async def stop(self) -> None:
        """Stop: jobs not running stop at once; a running job is awaited up to
        ``stop_timeout`` seconds, then cancelled (a sync job's thread cannot be interrupted:
        its period stays claimed). Leases are released."""
        if self._stopping is None:
            return
        self._stopping.set()
        tasks = [job.task for job in self._jobs.values() if job.task is not None]
        if tasks:
            _, pending = await asyncio.wait(tasks, timeout=self.stop_timeout)
            for task in pending:
                logger.warning("job task %s did not stop in time; cancelled", task.get_name())
                task.cancel()
            for task in pending:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        for job in self._jobs.values():
            job.task = None
        self._stopping = None

    async def _sleep(self, seconds: float) -> bool:
        """Wait ``seconds`` or until stopping; whether the scheduler is stopping."""
        stopping = self._stopping
        if stopping is None or stopping.is_set():
            return True
        if seconds > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stopping.wait(), timeout=seconds)
        return stopping.is_set()

    async def _run(self, job: _Job) -> None:
        if await self._sleep(job.first_delay.total_seconds()):
            return
        while True:
            wait: float
            try:
                now = self.clock()
                period = job.period_of(now)
                if job.done_period is None or period > job.done_period:
                    outcome = await self.run_due(job.name, now=now)
                    if outcome == "busy":
                        boundary = _seconds_until(job, period + 1, self.clock())
                        if await self._sleep(min(self.busy_retry, boundary)):
                            return
                        continue
                # the next period after the one handled; at once when a long run (or a slow
                # store) took us past its start, never for periods further back
                handled = period if job.done_period is None else job.done_period
                wait = _seconds_until(job, handled + 1, self.clock())
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("scheduler: job %s could not be scheduled; trying again", job.name)
                wait = self.busy_retry
            if await self._sleep(wait):
                return

    # -- one attempt --------------------------------------------------------------------------
    async def run_due(self, name: str, *, now: datetime | None = None) -> _Attempt:
        """Run the job for the current period if no process has: ``ran`` (here; also when
        the job failed), ``done`` (already run this period) or ``busy`` (another process
        holds the lease)."""
        job = self._job(name)
        moment = now or self.clock()
        period = job.period_of(moment)
        ttl = timedelta(seconds=max(job.every.total_seconds(), job.last_duration)) + self.margin
        if not await asyncio.to_thread(self.store.acquire_lease, job.lease, self.holder, ttl):
            job.stats.busy += 1
            return "busy"
        try:
            claimed = await asyncio.to_thread(self._claim, job, period, moment)
            if claimed is None:
                job.done_period = period
                job.stats.skipped += 1
                return "done"
            await self._execute(job, period, moment, claimed, ttl)
            job.done_period = period
            return "ran"
        finally:
            with contextlib.suppress(Exception):
                await asyncio.to_thread(self.store.release_lease, job.lease, self.holder)

    def _claim(self, job: _Job, period: int, now: datetime) -> JobContext | None:
        """Mark ``period`` as run in the job's record (optimistic); None when it already was
        (or another process claimed it first)."""
        record = self.store.get_record(self.tenant, JOB_RUN_KIND, job.name)
        data = dict(record.data) if record is not None else {}
        last = data.get("lastPeriod")
        if isinstance(last, int) and last >= period:
            return None
        previous = _str_or_none(data.get("lastStarted"))
        recent = [p for p in data.get("recentPeriods", []) if isinstance(p, int)]
        data.update(
            every=job.every.total_seconds(),
            lastPeriod=period,
            lastStarted=format_datetime(now),
            running=True,
            holder=self.holder,
            recentPeriods=[*recent, period][-RECENT_PERIODS:],
        )
        try:
            self.store.put_record(
                self.tenant,
                JOB_RUN_KIND,
                job.name,
                data,
                expected_version=record.version if record is not None else None,
            )
        except (RecordConflict, AlreadyExists):
            return None
        return JobContext(
            name=job.name,
            period=period,
            period_start=job.period_start(period),
            started_at=now,
            every=job.every,
            holder=self.holder,
            store=self.store,
            previous_run=_parse_time(previous),
        )

    async def _execute(
        self, job: _Job, period: int, started: datetime, ctx: JobContext, ttl: timedelta
    ) -> None:
        renew = asyncio.create_task(self._keep_lease(job, ttl))
        clock_start = time.monotonic()
        error: str | None = None
        try:
            if inspect.iscoroutinefunction(job.function):
                await job.function(ctx)
            else:
                result = await asyncio.to_thread(job.function, ctx)
                if inspect.isawaitable(result):
                    await result
        except asyncio.CancelledError:
            error = "cancelled"
            raise
        except Exception as exc:
            error = f"{type(exc).__name__}: {exc}"
            logger.exception("scheduled job %s (period %d) failed", job.name, period)
        finally:
            renew.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await renew
            duration = time.monotonic() - clock_start
            job.last_duration = duration
            job.stats.runs += 1
            if error is not None:
                job.stats.failures += 1
            await asyncio.shield(
                asyncio.to_thread(self._record_outcome, job, period, duration, error)
            )

    async def _keep_lease(self, job: _Job, ttl: timedelta) -> None:
        """Renew the lease while the job runs (a run longer than the ttl keeps it)."""
        while True:
            await asyncio.sleep(max(ttl.total_seconds() / 3, 0.05))
            try:
                await asyncio.to_thread(self.store.acquire_lease, job.lease, self.holder, ttl)
            except Exception:
                logger.exception("scheduler: renewing the lease of job %s failed", job.name)

    def _record_outcome(self, job: _Job, period: int, duration: float, error: str | None) -> None:
        now = self.clock()
        for _ in range(5):
            try:
                record = self.store.get_record(self.tenant, JOB_RUN_KIND, job.name)
                data = dict(record.data) if record is not None else {}
                if data.get("lastPeriod") == period:
                    data["running"] = False
                data["lastFinished"] = format_datetime(now)
                data["lastDuration"] = round(duration, 6)
                data["lastOutcome"] = "ok" if error is None else "error"
                data["runs"] = int(data.get("runs", 0)) + 1
                if error is not None:
                    data["lastError"] = error
                    data["lastErrorAt"] = format_datetime(now)
                    data["lastErrorPeriod"] = period
                    data["failures"] = int(data.get("failures", 0)) + 1
                self.store.put_record(
                    self.tenant,
                    JOB_RUN_KIND,
                    job.name,
                    data,
                    expected_version=record.version if record is not None else None,
                )
                return
            except (RecordConflict, AlreadyExists):
                continue
            except Exception:
                logger.exception("scheduler: recording the run of job %s failed", job.name)
                return
        logger.error("scheduler: the run of job %s could not be recorded (conflicts)", job.name)


def _seconds_until(job: _Job, period: int, now: datetime) -> float:
    boundary = period * job.every.total_seconds()
    return max(boundary - now.timestamp(), 0.0) + 0.001


def _int_or_none(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _float_or_none(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _str_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _parse_time(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        return parse_datetime(value)
    except InvalidRequest:
        return None
