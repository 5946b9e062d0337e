"""Background work of `hawatch serve` that never dies: a failure is logged with its traceback,
and the work carries on after a pause that grows while the failures go on (like carbon's
writer, which backs off after errors).

Two shapes: a loop in a thread of its own (`run_forever`: the ingester, the drop folder)
waits longer after each failure in a row; a scheduled job (`ScheduledJob`: the analysis, the
alert cycle, the digest) skips more of its runs. A store that cannot write (a full disk, an
I/O error: `store.db.transient_error`) is a condition, not a bug: one line without a
traceback, and /healthz says so.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from hawatch.store.db import transient_error


class Backoff:
    """`first`, then twice as long after each failure in a row, at most `most`."""

    def __init__(self, first: float, most: float) -> None:
        self.first, self.most = first, most
        self.failures = 0

    def failed(self) -> float:
        """Count a failure; the pause before the next try."""
        delay = min(self.first * 2**self.failures, self.most)
        self.failures += 1
        return delay

    def succeeded(self) -> None:
        self.failures = 0


def log_failure(
    log: logging.Logger, what: str, exc: BaseException, failures: int, then: str
) -> None:
    """Call in the `except` block: the traceback comes from there."""
    if transient_error(exc):
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        log.warning("%s failed: the store cannot write now (%s); %s", what, first, then)
    else:
        log.exception("%s failed (%d in a row); %s", what, failures, then)


def run_forever(
    what: str,
    step: Callable[[], object],
    stopping: threading.Event,
    log: logging.Logger,
    idle: float,
    backoff: Backoff | None = None,
) -> None:
    """Call `step()` until `stopping` is set; it returns whether it found work (if not, wait
    `idle` seconds). A failure is logged and waited out, longer each time in a row."""
    backoff = backoff or Backoff(2.0, 60.0)
    while not stopping.is_set():
        try:
            busy = step()
        except Exception as exc:  # noqa: BLE001 - a background loop must carry on
            delay = backoff.failed()
            log_failure(log, what, exc, backoff.failures, f"trying again in {delay:g} s")
            stopping.wait(delay)
            continue
        backoff.succeeded()
        if not busy:
            stopping.wait(idle)


class ScheduledJob:
    """A job for the scheduler that never raises. After failures in a row it skips the next
    1, 3, 7, ... runs (at most `most_skipped`), so a job that cannot work does not fill the
    log at every run; `most_skipped=0` never skips (a daily digest must not skip days)."""

    def __init__(
        self, what: str, run: Callable[[], object], log: logging.Logger, most_skipped: int = 15
    ) -> None:
        self.what, self.run, self.log = what, run, log
        self.most_skipped = most_skipped
        self.failures = 0
        self.skipping = 0

    def __call__(self) -> None:
        if self.skipping:
            self.skipping -= 1
            return
        try:
            self.run()
        except Exception as exc:  # noqa: BLE001 - the scheduler's job must live on
            self.failures += 1
            self.skipping = min(2 ** (self.failures - 1) - 1, self.most_skipped)
            then = (
                "trying again at the next run"
                if not self.skipping
                else f"skipping the next {self.skipping} run{'s' * (self.skipping > 1)}"
            )
            log_failure(self.log, self.what, exc, self.failures, then)
            return
        self.failures = 0
