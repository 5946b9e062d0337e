"""Whether the store takes writes now: back-off after the store failed, and a probe.

When the disk under the database is full (or the file system read-only, or the device
failing), every ingest fails the same way. Files then wait where they are (spool, uploads,
the drop folder) instead of being parked as failed; writers ask `ready()` before trying,
which after a failure answers no until a back-off has passed and a probe (Store.probe) has
succeeded, reopening a database that DuckDB invalidated. /healthz reports `problem()`.
"""

from __future__ import annotations

import threading
import time

from hawatch.store.db import Store, invalidated


class StoreGuard:
    def __init__(
        self,
        store: Store,
        probe_every: float = 5.0,
        first_delay: float = 1.0,
        max_delay: float = 30.0,
    ) -> None:
        self.store = store
        self.probe_every, self.first_delay, self.max_delay = probe_every, first_delay, max_delay
        self._lock = threading.Lock()
        self._trouble: str | None = None  # why writes fail, while they do
        self._delay = first_delay
        self._retry_at = 0.0
        self._probed: tuple[float, str | None] = (-1e9, None)  # when, and what it said

    def failed(self, error: str | None) -> None:
        """A write failed for the store's reasons: wait before anyone tries again."""
        with self._lock:
            self._trouble = error or "the store failed to write"
            self._schedule()

    def succeeded(self) -> None:
        """A write went through: the store writes (whatever an older probe said)."""
        with self._lock:
            self._trouble, self._delay = None, self.first_delay
            self._probed = (time.monotonic(), None)

    def ready(self) -> bool:
        """May a writer try now? Probes (at most every probe_every seconds, or when a retry
        is due) and reopens an invalidated database."""
        with self._lock:
            return self._check() is None

    def problem(self) -> str | None:
        """What is wrong with the store, for /healthz; None: it reads and writes. Asking
        is enough to find out that it recovered, with or without files waiting."""
        with self._lock:
            problem = self._check()
            if problem is None:
                return None
            wait = max(0, round(self._retry_at - time.monotonic()))
            return f"{problem} (ingest waits; next try in {wait} s)"

    def _check(self) -> str | None:
        now = time.monotonic()
        if self._trouble is not None and now < self._retry_at:
            return self._trouble
        problem = self._probe(now, fresh=self._trouble is not None)
        if problem is None:
            self._trouble, self._delay = None, self.first_delay
        else:
            self._trouble = problem
            self._schedule()
        return problem

    def retry_after(self) -> int:
        """Seconds a sender should wait before trying again."""
        with self._lock:
            return max(1, round(self._retry_at - time.monotonic()))

    def _schedule(self) -> None:
        self._retry_at = time.monotonic() + self._delay
        self._delay = min(self._delay * 2, self.max_delay)

    def _probe(self, now: float, fresh: bool) -> str | None:
        at, said = self._probed
        if not fresh and now - at < self.probe_every:
            return said
        said = self.store.probe()
        if said is not None and invalidated(said):
            try:
                self.store.reopen()
                said = self.store.probe()
            except Exception as exc:  # noqa: BLE001 - reported, and tried again later
                said = f"cannot reopen the database: {exc}"
        self._probed = (time.monotonic(), said)
        return said
