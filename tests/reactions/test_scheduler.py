"""The scheduler of periodic jobs on both backends: jobs run on schedule, two schedulers (two
holders, two store connections) on one database run each period once, failures are recorded
and retried the next period, and stop is clean."""

from __future__ import annotations

import asyncio
import threading
import time
from collections import Counter
from datetime import timedelta

import pytest

from cetate.reactions.scheduler import JOB_RUN_KIND, PLATFORM_TENANT, JobContext, Scheduler
from cetate.store.base import ContextStore, open_store

PERIOD = timedelta(seconds=0.2)


def fast(store: ContextStore, holder: str | None = None) -> Scheduler:
    return Scheduler(store, holder=holder, busy_retry=0.02, stop_timeout=5.0)


def test_registration_errors(store: ContextStore) -> None:
    scheduler = Scheduler(store)

    def job(ctx: JobContext) -> None:
        return None

    scheduler.register("cleanup", PERIOD, job)
    with pytest.raises(ValueError, match="already registered"):
        scheduler.register("cleanup", PERIOD, job)
    with pytest.raises(ValueError, match="invalid job name"):
        scheduler.register("", PERIOD, job)
    with pytest.raises(ValueError, match="invalid job name"):
        scheduler.register("has space", PERIOD, job)
    with pytest.raises(ValueError, match="positive"):
        scheduler.register("zero", timedelta(0), job)
    with pytest.raises(ValueError, match="first_delay"):
        scheduler.register("late", PERIOD, job, first_delay=timedelta(seconds=-1))
    with pytest.raises(ValueError, match="not callable"):
        scheduler.register("thing", PERIOD, 42)  # type: ignore[arg-type]
    with pytest.raises(KeyError, match="no job named"):
        scheduler.status("missing")
    assert scheduler.jobs == ["cleanup"]


def test_async_and_sync_jobs_run_on_schedule(store: ContextStore) -> None:
    scheduler = fast(store)
    async_periods: list[int] = []
    sync_runs: list[tuple[int, str]] = []

    async def tick(ctx: JobContext) -> None:
        assert ctx.name == "tick"
        assert ctx.every == PERIOD
        assert ctx.period_start <= ctx.started_at < ctx.period_start + PERIOD
        async_periods.append(ctx.period)

    def sync_tick(ctx: JobContext) -> None:
        sync_runs.append((ctx.period, threading.current_thread().name))

    scheduler.register("tick", PERIOD, tick)
    scheduler.register("sync-tick", PERIOD, sync_tick)

    async def scenario() -> None:
        scheduler.start()
        await asyncio.sleep(1.1)
        await scheduler.stop()

    asyncio.run(scenario())
    assert len(async_periods) >= 4
    assert async_periods == sorted(set(async_periods))
    assert async_periods[-1] - async_periods[0] == len(async_periods) - 1  # no period skipped
    assert len(sync_runs) >= 4
    assert all(name != threading.main_thread().name for _, name in sync_runs)
    status = scheduler.status("tick")
    assert status.recent_periods == tuple(async_periods)
    assert status.runs == len(async_periods)
    assert status.last_period == async_periods[-1]
    assert status.last_outcome == "ok"
    assert status.running is False
    assert status.failures == 0
    assert scheduler.stats("tick").runs == len(async_periods)


def test_first_delay(store: ContextStore) -> None:
    scheduler = fast(store)
    runs: list[float] = []
    started = time.monotonic()

    async def job(ctx: JobContext) -> None:
        runs.append(time.monotonic() - started)

    scheduler.register("delayed", timedelta(seconds=0.1), job, first_delay=timedelta(seconds=0.5))

    async def scenario() -> None:
        scheduler.start()
        await asyncio.sleep(0.8)
        await scheduler.stop()

    asyncio.run(scenario())
    assert runs
    assert runs[0] >= 0.5


def test_two_schedulers_run_each_period_once(store: ContextStore, database_url: str) -> None:
    other_store = open_store(database_url)
    try:
        first = fast(store, holder="process-a")
        second = fast(other_store, holder="process-b")
        runs: list[tuple[int, str]] = []
        lock = threading.Lock()

        def job(ctx: JobContext) -> None:
            time.sleep(0.03)  # long enough for the other scheduler to try meanwhile
            with lock:
                runs.append((ctx.period, ctx.holder))

        async def async_job(ctx: JobContext) -> None:
            await asyncio.sleep(0.03)
            with lock:
                runs.append((-ctx.period, ctx.holder))

        for scheduler in (first, second):
            scheduler.register("shared", PERIOD, job)
            scheduler.register("shared-async", PERIOD, async_job)

        async def scenario() -> None:
            first.start()
            second.start()
            await asyncio.sleep(1.5)
            await asyncio.gather(first.stop(), second.stop())

        asyncio.run(scenario())
        sync_periods = [period for period, _ in runs if period > 0]
        async_periods = [-period for period, _ in runs if period < 0]
        for periods, name in ((sync_periods, "shared"), (async_periods, "shared-async")):
            twice = [p for p, n in Counter(periods).items() if n > 1]
            assert twice == [], f"{name}: periods run twice: {twice}"
            assert len(periods) >= 5
            status = first.status(name)
            assert sorted(status.recent_periods) == sorted(periods)
            assert status.runs == len(periods)
        # both processes saw the periods the other one ran and skipped or waited on them
        stats = [s.stats(n) for s in (first, second) for n in ("shared", "shared-async")]
        assert sum(st.runs for st in stats) == len(runs)
        assert sum(st.skipped + st.busy for st in stats) > 0
        # the leases are released on stop
        assert store.acquire_lease("job:shared", "someone-else", timedelta(seconds=5))
    finally:
        other_store.close()


def test_a_failing_job_is_recorded_and_retried_next_period(store: ContextStore) -> None:
    scheduler = fast(store)
    attempts: list[int] = []

    def flaky(ctx: JobContext) -> None:
        attempts.append(ctx.period)
        if len(attempts) == 1:
            raise RuntimeError("the sensor archive is not reachable")

    ticks: list[int] = []

    async def neighbour(ctx: JobContext) -> None:
        ticks.append(ctx.period)

    scheduler.register("flaky", PERIOD, flaky)
    scheduler.register("neighbour", PERIOD, neighbour)

    async def scenario() -> None:
        scheduler.start()
        await asyncio.sleep(0.9)
        await scheduler.stop()

    asyncio.run(scenario())
    assert len(attempts) >= 3
    assert len(set(attempts)) == len(attempts)
    status = scheduler.status("flaky")
    assert status.failures == 1
    assert status.last_error == "RuntimeError: the sensor archive is not reachable"
    assert status.last_error_at is not None
    assert status.last_outcome == "ok"  # the next period ran and succeeded
    assert status.runs == len(attempts)
    assert scheduler.stats("flaky").failures == 1
    record = store.get_record(PLATFORM_TENANT, JOB_RUN_KIND, "flaky")
    assert record is not None
    assert record.data["lastErrorPeriod"] == attempts[0]
    assert len(ticks) >= 3  # the failure did not disturb other jobs


def test_stop_is_clean(store: ContextStore) -> None:
    scheduler = fast(store)
    finished: list[int] = []
    started = threading.Event()

    def slow(ctx: JobContext) -> None:
        started.set()
        time.sleep(0.3)
        finished.append(ctx.period)

    scheduler.register("slow", timedelta(seconds=60), slow)
    late_runs: list[int] = []

    async def scenario() -> None:
        scheduler.start()
        assert scheduler.running
        while not started.is_set():
            await asyncio.sleep(0.01)
        await scheduler.stop()  # waits for the running job
        assert not scheduler.running
        assert finished  # the run completed and was recorded
        status = scheduler.status("slow")
        assert status.running is False
        assert status.last_outcome == "ok"
        # registering after stop does not run anything until started again
        scheduler.register("after", PERIOD, lambda ctx: late_runs.append(ctx.period))
        await asyncio.sleep(0.3)
        # a second stop is harmless
        await scheduler.stop()

    asyncio.run(scenario())
    assert late_runs == []
    assert len(finished) == 1
    assert store.acquire_lease("job:slow", "someone-else", timedelta(seconds=5))


def test_stop_cancels_an_async_job_that_overruns(store: ContextStore) -> None:
    scheduler = Scheduler(store, busy_retry=0.02, stop_timeout=0.2)
    state: dict[str, bool] = {"cancelled": False}

    async def endless(ctx: JobContext) -> None:
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            state["cancelled"] = True
            raise

    scheduler.register("endless", timedelta(seconds=60), endless)

    async def scenario() -> None:
        scheduler.start()
        await asyncio.sleep(0.2)
        began = time.monotonic()
        await scheduler.stop()
        assert time.monotonic() - began < 2.0

    asyncio.run(scenario())
    assert state["cancelled"]
    status = scheduler.status("endless")
    assert status.last_error == "cancelled"
    assert status.running is False
    assert store.acquire_lease("job:endless", "someone-else", timedelta(seconds=5))
