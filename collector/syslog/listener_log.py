"""The listener child's own log: on stderr, but never at the cost of receiving.

`hawatch serve` reads the child's stderr and relays it (hawatch/listener_supervisor.py). Still,
a log call must never block a receive loop, whatever becomes of that pipe (a parent that
stopped reading it, a terminal paused with Ctrl-S): the child once stopped accepting TCP
connections for good after 64 KiB of warnings nobody read. So records go through a bounded
queue to one writer thread, and when the queue is full they are dropped and counted
(`log_dropped` in the child's stats). Before that, a burst of one message is cut down by a
rate limit: a sender that misbehaves on every frame must not turn stderr into the bottleneck.

Standard library only (the listener child never imports duckdb).
"""

from __future__ import annotations

import logging
import os
import queue
import sys
import threading
import time
from typing import TextIO

QUEUE_RECORDS = 1000
FLUSH_SECONDS = 1.0  # at exit, how long the last records may take to reach stderr


class RateLimit(logging.Filter):
    """At most `burst` records per message template per `window` seconds; the next record
    after a window that suppressed some says how many."""

    def __init__(self, burst: int = 5, window: float = 10.0) -> None:
        super().__init__()
        self.burst, self.window = burst, window
        self._seen: dict[tuple[str, str], list[float]] = {}  # key -> [window start, count]
        self._lock = threading.Lock()

    def filter(self, record: logging.LogRecord) -> bool:
        key, now = (record.name, str(record.msg)), time.monotonic()
        with self._lock:
            entry = self._seen.setdefault(key, [now, 0])
            if now - entry[0] >= self.window:
                suppressed = int(entry[1]) - self.burst
                if suppressed > 0:
                    record.msg = f"{record.msg} [{suppressed} similar messages suppressed]"
                entry[0], entry[1] = now, 0
            entry[1] += 1
            return entry[1] <= self.burst


class QueuedStderr(logging.Handler):
    """Formats in the caller, writes in its own thread; drops (and counts) when behind."""

    def __init__(self, stream: TextIO | None = None, capacity: int = QUEUE_RECORDS) -> None:
        super().__init__()
        self.stream = stream or sys.stderr
        self.dropped = 0
        self._queue: queue.Queue[str] = queue.Queue(capacity)
        self._writer = threading.Thread(target=self._write_loop, name="log-writer", daemon=True)
        self._writer.start()

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self._queue.put_nowait(self.format(record) + "\n")
        except queue.Full:
            self.dropped += 1
        except Exception:  # noqa: BLE001 - a record that cannot be formatted is dropped too
            self.handleError(record)

    def handleError(self, record: logging.LogRecord) -> None:  # noqa: N802 - logging's name
        """Count, never print: the default prints a traceback to stderr, which may block."""
        self.dropped += 1

    def drain(self, seconds: float = FLUSH_SECONDS) -> None:
        """Give the queued records up to `seconds` to be written (at exit)."""
        deadline = time.monotonic() + seconds
        while self._queue.unfinished_tasks and time.monotonic() < deadline:
            time.sleep(0.01)

    def _write_loop(self) -> None:
        while True:
            text = self._queue.get()
            try:
                self.stream.write(text)
                self.stream.flush()
            except (OSError, ValueError):
                self.dropped += 1
            finally:
                self._queue.task_done()


def configure_logging() -> QueuedStderr:
    """The child's logging: INFO and up, rate-limited, through a QueuedStderr."""
    handler = QueuedStderr()
    handler.setFormatter(
        logging.Formatter(f"hawatch-listener[{os.getpid()}] %(levelname)s %(name)s: %(message)s")
    )
    handler.addFilter(RateLimit())
    logging.basicConfig(level=logging.INFO, handlers=[handler])
    return handler


def dropped_records() -> int:
    """Records the child's handler had to drop (0 without one)."""
    return sum(h.dropped for h in logging.getLogger().handlers if isinstance(h, QueuedStderr))
