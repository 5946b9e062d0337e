"""The syslog listener child, supervised: started, watched, restarted, its log relayed.

`hawatch serve` runs the listener as a child process (collector/syslog/listener.py). A child that
dies (a crash, the OOM killer, a SIGKILL) is started again on the same ports, after 0.5 s,
then after twice as long on each failure in a row (at most 30 s; a child that ran a minute
counts as a fresh start). Before that, the `.part` files it left are published, so the lines
it had received are ingested while it is down. /healthz answers 503 and /metrics
`hawatch_listener_up 0` while it is down, restarting, or alive but stalled (its receive loops
or its ticker have not moved for STALL_SECONDS).

The child's stderr is a pipe this side reads all the time: once nobody read it, 64 KiB of
warnings over a server's life blocked the child's next log call for good. Its lines are
relayed into serve's log (hawatch/logs.py: its format, the child's levels and logger names),
at most RELAY_LINES per RELAY_SECONDS and RELAY_LINE_BYTES each (a count of the rest is
logged), so a chatty child cannot flood serve's log either.

The child faces the network, so it gets a scrubbed environment: what Python and the C library
need (PATH, PYTHON*, locale, time zone, HOME, TMPDIR, LD_LIBRARY_PATH), none of serve's
settings or secrets (HAWATCH_INGEST_TOKEN, HAWATCH_SMTP_PASSWORD, cloud keys...).
"""

from __future__ import annotations

import collections
import dataclasses
import logging
import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from hawatch.background import Backoff
from hawatch.collector.syslog.listener import (
    PORTS_FILE,
    ListenerConfig,
    listener_argv,
    read_ports,
    read_stats,
)
from hawatch.collector.syslog.spool import recover_parts
from hawatch.logs import relay_line
from hawatch.store.errors import HawatchError

START_SECONDS = 15.0  # a child that has not bound its ports by then failed
WATCH_SECONDS = 0.2
BACKOFF_FIRST, BACKOFF_MAX, HEALTHY_RUN = 0.5, 30.0, 60.0
STALL_SECONDS = 30.0
STOP_SECONDS = 10.0
RELAY_LINES, RELAY_SECONDS, RELAY_LINE_BYTES = 50, 10.0, 2000
ENV_NAMES = ("PATH", "HOME", "LANG", "LANGUAGE", "TZ", "TMPDIR", "LD_LIBRARY_PATH")
ENV_PREFIXES = ("PYTHON", "LC_")

log = logging.getLogger(__name__)


class StartFailed(Exception):
    """The child exited or did not bind in time; the message is its last stderr line."""


def child_environment(environ: dict[str, str] | os._Environ[str]) -> dict[str, str]:
    """The environment the child may see: nothing of serve's own settings or secrets."""
    return {
        name: value
        for name, value in environ.items()
        if name in ENV_NAMES or name.startswith(ENV_PREFIXES)
    }


def describe_exit(code: int, last_line: str) -> str:
    """'killed by SIGKILL', or 'exit 2: <the child's last line>'."""
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit {code}: {last_line}" if last_line else f"exit {code}"


class LogRelay:
    """Reads a child's stderr to its end in a thread and relays it, rate-limited, to
    `relay` (one call per line: hawatch.logs.relay_line logs it).

    Until `release()` the lines are only kept: a child that fails to start is reported in
    one line by whoever started it, not by its log as well."""

    def __init__(self, pipe: IO[bytes], relay: Callable[[str], None] = relay_line) -> None:
        self.pipe, self.relay = pipe, relay
        self.last: collections.deque[str] = collections.deque(maxlen=20)
        self._held: list[str] | None = []
        self._lock = threading.Lock()  # orders release() against the reader thread
        self._window, self._shown, self._suppressed = 0.0, 0, 0
        self._thread = threading.Thread(target=self._run, name="listener-log", daemon=True)
        self._thread.start()

    def release(self) -> None:
        """Relay what was held back, and every line from now on."""
        with self._lock:
            held, self._held = self._held or [], None
            for text in held:
                self._relay(text)

    def last_line(self, wait: float = 1.0) -> str:
        """The child's last line, once its stderr has ended (waits up to `wait`)."""
        self._thread.join(wait)
        return self.last[-1] if self.last else ""

    def _run(self) -> None:
        rest_of_long_line = False
        try:
            while chunk := self.pipe.readline(RELAY_LINE_BYTES):
                text = chunk.decode("utf-8", "replace").rstrip("\r\n")
                if text and not rest_of_long_line:
                    text += "" if chunk.endswith(b"\n") else " [cut]"
                    self._take_safely(text)
                rest_of_long_line = not chunk.endswith(b"\n")
        except (OSError, ValueError):
            pass  # the pipe was closed under us: the child is gone
        finally:
            with self._lock:
                if self._held is None:
                    self._relay("")  # say what was suppressed

    def _take_safely(self, text: str) -> None:
        """A line that cannot be relayed must not end the reading: an unread pipe blocks
        the child."""
        try:
            self._take(text)
        except Exception:  # noqa: BLE001 - keep draining the pipe
            log.exception("relaying a line of the listener's log failed; carrying on")

    def _take(self, text: str) -> None:
        with self._lock:
            self.last.append(text)
            if self._held is None:
                self._relay(text)
            elif len(self._held) < RELAY_LINES:
                self._held.append(text)

    def _relay(self, text: str) -> None:
        now = time.monotonic()
        lines = []
        if now - self._window >= RELAY_SECONDS or not text:
            if self._suppressed:
                log.warning("%d more lines of the listener's log suppressed", self._suppressed)
            self._window, self._shown, self._suppressed = now, 0, 0
        if text and self._shown < RELAY_LINES:
            self._shown += 1
            lines.append(text)
        elif text:
            self._suppressed += 1
        for line in lines:
            self.relay(line)  # logging never raises: a failed write is its handler's business


@dataclasses.dataclass
class _State:
    """What health and metrics report, shared with the watcher thread."""

    phase: str = "starting"  # starting | running | restarting | stopped
    restarts: int = 0
    last_exit: str | None = None
    started: float = 0.0  # time.time() of the running child's start


class ListenerSupervisor:
    """Starts the listener child, restarts it when it dies, reports how it is doing."""

    def __init__(self, config: ListenerConfig) -> None:
        self.config = config
        self.state = _State()
        self._child: subprocess.Popen[bytes] | None = None
        self._relay: LogRelay | None = None
        self._stopping = threading.Event()
        self._watcher = threading.Thread(
            target=self._watch, name="listener-supervisor", daemon=True
        )

    # -- starting and stopping ------------------------------------------------------------
    def start(self) -> dict[str, Any]:
        """Start the child and the watcher; the bound addresses. Raises HawatchError."""
        deadline = time.monotonic() + START_SECONDS
        while True:
            try:
                ports = self._spawn()
                break
            except StartFailed as exc:
                # the listener of a killed server stops within a second of noticing
                if "in use by another listener" in str(exc) and time.monotonic() < deadline - 1:
                    time.sleep(0.5)
                    continue
                raise HawatchError(f"syslog listener: {exc}") from None
        bound = {p: ports[p] for p in ("udp", "tcp") if ports.get(p)}
        # a restart must come back where the senders send: the ports bound, not port 0
        addresses: dict[str, Any] = {
            proto: (address["host"], address["port"]) for proto, address in bound.items()
        }
        self.config = dataclasses.replace(self.config, **addresses)
        self._watcher.start()
        return bound

    def stop(self) -> None:
        """No more restarts; SIGTERM the child (it closes its spool files), wait for it."""
        self._stopping.set()
        if self._watcher.is_alive():
            self._watcher.join()
        child = self._child
        if child is not None and child.poll() is None:
            child.send_signal(signal.SIGTERM)
            try:
                child.wait(STOP_SECONDS)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait(5)
        if self._relay is not None:
            self._relay.last_line(wait=1.0)
        self.state.phase = "stopped"

    def _spawn(self) -> dict[str, Any]:
        """Start one child and wait until it has bound its ports; StartFailed if not."""
        child = subprocess.Popen(
            listener_argv(self.config),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            env=child_environment(os.environ),
        )
        assert child.stderr is not None
        relay = LogRelay(child.stderr)
        self._child, self._relay = child, relay
        deadline = time.monotonic() + START_SECONDS
        while time.monotonic() < deadline:
            if child.poll() is not None:
                raise StartFailed(relay.last_line() or describe_exit(child.returncode, ""))
            ports = read_ports(self.config.spool_dir, child.pid)
            if ports:
                self.state.phase, self.state.started = "running", time.time()
                relay.release()
                return ports
            time.sleep(0.05)
        child.kill()
        child.wait(5)
        raise StartFailed(f"did not start within {START_SECONDS:g} s")

    # -- watching -------------------------------------------------------------------------
    def _watch(self) -> None:
        """Until stopped: notice a dead child, publish its files, start another. Never dies:
        a failure of its own is logged with its traceback and the watch goes on."""
        delay, backoff = BACKOFF_FIRST, Backoff(BACKOFF_FIRST, BACKOFF_MAX)
        while not self._stopping.wait(WATCH_SECONDS):
            try:
                delay = self._check(delay)
            except Exception:  # noqa: BLE001 - the supervisor must outlive its errors
                pause = backoff.failed()
                log.exception(
                    "watching the syslog listener failed (%d in a row); looking again in %g s",
                    backoff.failures,
                    pause,
                )
                self._stopping.wait(pause)
            else:
                backoff.succeeded()

    def _check(self, delay: float) -> float:
        """Restart a dead child (after `delay`); the delay before the next restart."""
        child, relay = self._child, self._relay
        if child is None or child.poll() is None:
            return delay
        ran = time.time() - self.state.started
        self._died(describe_exit(child.returncode, relay.last_line() if relay else ""))
        delay = BACKOFF_FIRST if ran >= HEALTHY_RUN else delay
        return self._restart(delay)

    def _died(self, how: str) -> None:
        self.state.phase, self.state.last_exit = "restarting", how
        log.warning("the syslog listener died (%s); restarting it", how)
        (Path(self.config.spool_dir) / PORTS_FILE).unlink(missing_ok=True)  # names a dead pid
        self._publish_leftovers()

    def _publish_leftovers(self) -> None:
        """The dead child's last `.part` files hold received lines: ingest them now."""
        try:
            recover_parts(self.config.spool_dir)
        except OSError as exc:
            log.error("publishing the listener's last spool files failed: %s", exc)

    def _restart(self, delay: float) -> float:
        """Start a child again after `delay`, doubling it on each failure; the next delay."""
        while not self._stopping.wait(delay):
            try:
                self._spawn()
            except StartFailed as exc:
                self.state.last_exit = str(exc)
                delay = min(delay * 2, BACKOFF_MAX)
                log.warning(
                    "the syslog listener did not start (%s); trying again in %g s", exc, delay
                )
                self._publish_leftovers()
                continue
            self.state.restarts += 1
            log.warning("the syslog listener is back")
            return min(delay * 2, BACKOFF_MAX)
        return delay

    # -- reporting ------------------------------------------------------------------------
    def phase(self) -> str:
        """running | stalled | restarting | starting | stopped."""
        phase = self.state.phase
        if phase == "running" and self._child is not None and self._child.poll() is not None:
            return "restarting"  # dead; the watcher has not noticed yet
        if phase == "running" and self._stalled():
            return "stalled"
        return phase

    def _stalled(self) -> bool:
        """Whether the child's ticker or a receive loop has not moved for STALL_SECONDS."""
        stats = read_stats(self.config.spool_dir)
        if self._child is None or stats.get("pid") != self._child.pid:
            beats = [self.state.started]  # no stats of this child yet
        else:
            beats = [stats.get("updated_unix", 0.0)] + [
                source.get("alive_unix", stats.get("updated_unix", 0.0))
                for source in stats.get("sources", {}).values()
            ]
        return time.time() - min(beats) > STALL_SECONDS

    def health(self) -> dict[str, Any]:
        return {
            "listener": self.phase(),
            "listener_restarts": self.state.restarts,
            "listener_last_exit": self.state.last_exit,
        }

    def metrics_text(self) -> str:
        up = 1 if self.phase() == "running" else 0
        return "\n".join(
            [
                "# HELP hawatch_listener_up Whether the syslog listener child runs and answers.",
                "# TYPE hawatch_listener_up gauge",
                f"hawatch_listener_up {up}",
                "# HELP hawatch_listener_restarts_total Times the syslog listener child was"
                " started again after it died.",
                "# TYPE hawatch_listener_restarts_total counter",
                f"hawatch_listener_restarts_total {self.state.restarts}",
                "",
            ]
        )
