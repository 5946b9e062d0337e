"""The pollers inside `hawatch serve`: one APScheduler job per unit and protocol, polls in
one asyncio loop of their own thread, results stored in batches.

Why so: a job per unit spreads the polls evenly over the interval (each starts at its own
phase, plus jitter) instead of a burst a minute; the job only hands the poll to the loop,
where `poll.concurrency` caps what is in flight; a unit whose previous poll is still running
is skipped and counted, so a slow fleet never piles polls up. Results are stored once a
second in one transaction (DuckDB is built for batches). A change of a unit's outcome (ok ->
auth, timeout -> ok, ...) is logged once, so a wrong password is seen at once and not
repeated every minute.
"""

from __future__ import annotations

import asyncio
import sys
import threading
from collections.abc import Callable
from concurrent.futures import Future
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from hawatch.collector.inventory import polled_units
from hawatch.collector.pollers.credentials import Profile, default_path, load_profiles
from hawatch.collector.pollers.cycle import Poller, Target, targets
from hawatch.collector.pollers.outcome import PollResult
from hawatch.collector.pollers.store_results import forget_others, store_results
from hawatch.collector.pollers.tls import UNVERIFIED_NOTE
from hawatch.store.db import Store
from hawatch.store.settings_type import Settings


def load_plan(settings: Settings) -> tuple[list[Target], dict[str, Profile]]:
    """The targets of the inventory and the profiles they name (HawatchError on an unsafe
    credentials file or a bad profile: the server must not start half-configured)."""
    if not settings["inventory"]:
        return [], {}
    units = polled_units(settings["inventory"])
    if not units:
        return [], {}
    path = settings["poll.credentials_file"] or str(default_path(settings["db"]))
    profiles = load_profiles(Path(path), {u.profile for u in units})
    return targets(units, profiles), profiles


def describe(result: PollResult) -> str:
    """One line about a poll, for logs and `hawatch poll` (never a secret)."""
    unit = result.unit
    head = f"{unit.pair} {unit.role} {unit.serial} {result.protocol} {result.address}"
    if not result.ok:
        return f"{head}: {result.outcome}: {result.reason}"
    return f"{head}: ok" + "".join(f" ({note})" for note in result.notes)


class PollRunner:
    def __init__(
        self,
        store: Store,
        settings: Settings,
        targets_: list[Target],
        profiles: dict[str, Profile],
        lock: threading.Lock,
        on_result: Callable[[PollResult], None] | None = None,
        on_skip: Callable[[], None] | None = None,
        log: Callable[[str], None] | None = None,
    ) -> None:
        self.store, self.settings, self.targets = store, settings, targets_
        self.profiles, self.lock, self.on_result = profiles, lock, on_result
        self.on_skip = on_skip
        self.log = log or (
            lambda line: print(f"hawatch serve: poll {line}", file=sys.stderr, flush=True)
        )
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(
            target=self.loop.run_forever, name="hawatch-poll", daemon=True
        )
        self.poller = Poller(profiles, settings["poll.timeout_seconds"], settings["poll.retries"])
        self.gate: asyncio.Semaphore | None = None
        self.inflight: set[tuple[str, str]] = set()
        self.pending: list[PollResult] = []
        self.outcomes: dict[tuple[str, str], str] = {}
        self.skipped = 0
        self._guard = threading.Lock()

    def start(self, scheduler: Any) -> None:
        for name, profile in self.profiles.items():
            if not profile.tls_verify:
                self.log(
                    f"profile {name}: {UNVERIFIED_NOTE}: units without a pinned"
                    " certificate or ca_file are polled without checking who answers"
                )
        forget_others(self.store, {t.key for t in self.targets})
        self.thread.start()
        self.gate = asyncio.run_coroutine_threadsafe(self._make_gate(), self.loop).result(10)
        interval = max(1, int(self.settings["poll.interval_seconds"]))
        now = datetime.now(UTC)
        for i, target in enumerate(self.targets):
            phase = timedelta(seconds=interval * i / max(1, len(self.targets)))
            scheduler.add_job(
                self.submit,
                "interval",
                args=[target],
                seconds=interval,
                jitter=self.settings["poll.jitter_seconds"] or None,
                id=f"poll:{target.unit.serial}:{target.protocol}",
                max_instances=1,
                coalesce=True,
                next_run_time=now + phase,
                misfire_grace_time=interval,
            )
        scheduler.add_job(self.flush, "interval", seconds=1, max_instances=1, coalesce=True)

    async def _make_gate(self) -> asyncio.Semaphore:
        return asyncio.Semaphore(max(1, int(self.settings["poll.concurrency"])))

    def submit(self, target: Target) -> Future[None] | None:
        """Start polling `target` (from a scheduler thread); skipped if still in flight."""
        with self._guard:
            if target.key in self.inflight:
                self.skipped += 1
                if self.on_skip is not None:
                    self.on_skip()
                return None
            self.inflight.add(target.key)
        return asyncio.run_coroutine_threadsafe(self._poll(target), self.loop)

    async def _poll(self, target: Target) -> None:
        assert self.gate is not None
        try:
            async with self.gate:
                result = await self.poller.poll(target)
            with self._guard:
                self.pending.append(result)
        finally:
            with self._guard:
                self.inflight.discard(target.key)

    def flush(self) -> int:
        """Store the results waiting (a scheduler job, every second); never raises."""
        with self._guard:
            results, self.pending = self.pending, []
        if not results:
            return 0
        try:
            with self.lock:
                store_results(self.store, results, self.settings["timezone"])
        except Exception as exc:  # noqa: BLE001 - a background job must carry on
            self.log(f"storing {len(results)} results failed: {type(exc).__name__}: {exc}")
        for result in results:
            if self.on_result is not None:
                self.on_result(result)
            before = self.outcomes.get((result.unit.serial, result.protocol))
            self.outcomes[(result.unit.serial, result.protocol)] = result.outcome
            if result.outcome != before and (before is not None or not result.ok):
                self.log(describe(result))
        return len(results)

    def stop(self) -> None:
        """After the scheduler stopped: end polls in flight, store what was read."""
        if self.thread.is_alive():

            async def cancel() -> None:
                tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
                for task in tasks:
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)
                self.poller.close()

            try:
                asyncio.run_coroutine_threadsafe(cancel(), self.loop).result(30)
            finally:
                self.loop.call_soon_threadsafe(self.loop.stop)
                self.thread.join(10)
        self.flush()
