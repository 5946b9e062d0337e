"""The syslog listener child: receive UDP/TCP syslog and spool raw lines to disk, nothing else.

`hawatch serve` owns the DuckDB file; measured here, receiving in that process loses datagrams
at 50k msg/s because DuckDB work stalls Python threads. So serve starts this module as a child
(`python3 -m hawatch.collector.syslog.listener --spool DIR --udp HOST:PORT --tcp HOST:PORT`),
which never imports duckdb, pyarrow, pandas, store/ or analytics/, and ingests the closed spool
files.

Files in the spool folder (see collector/syslog/spool.py for the spool files themselves):
- `listener-ports.json`: the bound addresses, written as soon as both sockets are bound
  (port 0 picks a free port); removed on a clean exit.
- `listener-stats.json`: counters, rewritten atomically once a second.
- `listener.lock`: one listener per folder (flock, released by the kernel even on SIGKILL).

Its log goes to stderr through collector.syslog.listener_log, which never blocks a receive loop;
`hawatch serve` reads it and relays it, rate-limited, to its own.

Exit codes: 0 after SIGTERM/SIGINT (sockets closed, spool files closed and renamed), 2 when an
address cannot be bound or the folder is in use (a one-line error on stderr).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import resource
import signal
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from hawatch.collector.syslog.listener_log import configure_logging, dropped_records
from hawatch.collector.syslog.spool import (
    SpoolWriter,
    atomic_write_json,
    lock_holder,
    lock_spool,
    make_private_dir,
    publish_leftover_parts,
)
from hawatch.collector.syslog.tcp import MAX_CONNECTIONS, MAX_FRAME, TcpListener
from hawatch.collector.syslog.udp import DEFAULT_RCVBUF, UdpListener

log = logging.getLogger("hawatch.collector.syslog.listener")

PORTS_FILE = "listener-ports.json"
STATS_FILE = "listener-stats.json"
FORBIDDEN_MODULES = (
    "duckdb",
    "pyarrow",
    "pandas",
    "hawatch.store",
    "hawatch.analytics",
    "hawatch.dashboard",
)
TICK_SECONDS = 0.1
STATS_SECONDS = 1.0
JOIN_SECONDS = 1.6  # listeners drain for up to 1 s; the whole stop stays under ~2 s
EXIT_BIND = 2
# The GIL is handed over every 5 ms by default; a TCP thread busy framing then keeps the UDP
# thread (back from its recv syscall) waiting that long while the socket buffer fills. At
# 1 ms, 150k UDP + 150k TCP msg/s on 2 cores went from 0.3 % UDP loss to none.
SWITCH_SECONDS = 0.001
FILES_BESIDES_CONNECTIONS = 64  # spool files, the sockets we listen on, stdio, imports


class ListenerError(Exception):
    """A start-up failure with a one-line message for the parent to show (exit code 2)."""


@dataclass(frozen=True)
class ListenerConfig:
    """What to listen on and where to spool. `udp`/`tcp` are (host, port); None = off."""

    spool_dir: Path
    udp: tuple[str, int] | None = None
    tcp: tuple[str, int] | None = None
    rotate_seconds: float = 1.0
    rcvbuf: int = DEFAULT_RCVBUF
    max_connections: int = MAX_CONNECTIONS
    max_frame: int = MAX_FRAME
    idle_seconds: float = 0.0
    exit_with_parent: bool = False


@dataclass
class _Running:
    """The bound listeners and their writers, for the tick and the shutdown."""

    writers: dict[str, SpoolWriter]
    listeners: dict[str, UdpListener | TcpListener] = field(default_factory=dict)
    started: float = field(default_factory=time.time)


def forbidden_modules() -> list[str]:
    """Modules of the database side loaded in this process (must stay empty)."""
    return sorted(
        name
        for name in sys.modules
        if any(name == f or name.startswith(f + ".") for f in FORBIDDEN_MODULES)
    )


def parse_address(text: str) -> tuple[str, int]:
    """'HOST:PORT', '[v6]:PORT' or 'PORT' (all IPv4 addresses) -> (host, port)."""
    host, sep, port = text.rpartition(":")
    if not sep:
        host, port = "0.0.0.0", text
    host = host.strip("[]") or "0.0.0.0"
    if not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ValueError(f"expected HOST:PORT with a port 0-65535, got {text!r}")
    return host, int(port)


def listener_argv(config: ListenerConfig) -> list[str]:
    """The command line that runs `config` as a child (for subprocess.Popen in the parent)."""
    argv = [
        sys.executable,
        "-m",
        "hawatch.collector.syslog.listener",
        "--spool",
        str(config.spool_dir),
        "--rotate-seconds",
        str(config.rotate_seconds),
        "--rcvbuf",
        str(config.rcvbuf),
        "--max-connections",
        str(config.max_connections),
        "--max-frame",
        str(config.max_frame),
        "--idle-seconds",
        str(config.idle_seconds),
    ]
    for flag, address in (("--udp", config.udp), ("--tcp", config.tcp)):
        if address is not None:
            host = f"[{address[0]}]" if ":" in address[0] else address[0]
            argv += [flag, f"{host}:{address[1]}"]
    return argv + (["--exit-with-parent"] if config.exit_with_parent else [])


def read_ports(spool_dir: Path | str, pid: int | None = None) -> dict | None:
    """The ports file of the running listener (of `pid`, if given); None until written."""
    data = _read_json(Path(spool_dir) / PORTS_FILE)
    return data if data and (pid is None or data.get("pid") == pid) else None


def read_stats(spool_dir: Path | str) -> dict:
    """The last counters the listener wrote ({} if none yet)."""
    return _read_json(Path(spool_dir) / STATS_FILE) or {}


def _read_json(path: Path) -> dict | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _bind(config: ListenerConfig, running: _Running) -> None:
    """Bind every configured socket, or close them all and raise ListenerError."""
    wanted = [("udp", config.udp), ("tcp", config.tcp)]
    for proto, address in wanted:
        if address is None:
            continue
        writer = running.writers[proto]
        try:
            if proto == "udp":
                running.listeners[proto] = UdpListener.bind(*address, writer, config.rcvbuf)
            else:
                running.listeners[proto] = TcpListener.bind(
                    *address,
                    writer,
                    _fit_descriptors(config.max_connections),
                    config.max_frame,
                    config.idle_seconds,
                )
        except OSError as exc:
            for bound in running.listeners.values():
                bound.close()
            reason = (exc.strerror or str(exc)).lower()
            raise ListenerError(
                f"cannot listen on {proto} {address[0]}:{address[1]}: {reason}"
                " (another syslog daemon? pick another port)"
            ) from exc


def _fit_descriptors(connections: int) -> int:
    """Raise this process's open-file limit to hold `connections` sockets (plus the spool's
    and our own); return how many connections fit under the hard limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = connections + FILES_BESIDES_CONNECTIONS
    if hard != resource.RLIM_INFINITY and wanted > hard:
        log.warning(
            "tcp: %d connections do not fit the open-file limit (%d); serving at most"
            " %d (raise LimitNOFILE / ulimit -n)",
            connections,
            hard,
            hard - FILES_BESIDES_CONNECTIONS,
        )
        wanted = hard
    if wanted > soft:
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
    return max(1, min(connections, wanted - FILES_BESIDES_CONNECTIONS))


def _ports(running: _Running) -> dict[str, object]:
    ports: dict[str, object] = {"pid": os.getpid(), "udp": None, "tcp": None}
    for proto, listener in running.listeners.items():
        host, port = listener.address
        ports[proto] = {"host": host, "port": port}
    return ports


def _stats(running: _Running) -> dict[str, object]:
    now = time.time()
    return {
        "pid": os.getpid(),
        "started_at": _iso(running.started),
        "updated_at": _iso(now),
        "updated_unix": round(now, 3),
        "sources": {proto: listener.stats() for proto, listener in running.listeners.items()},
        "log_dropped": dropped_records(),
    }


def _iso(seconds: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))


def _lock(spool: Path) -> int:
    try:
        return lock_spool(spool)
    except BlockingIOError:
        raise ListenerError(
            f"spool folder {spool} is in use by another listener (pid"
            f" {lock_holder(spool)}); stop it or pick another --spool"
        ) from None
    except OSError as exc:
        raise ListenerError(f"cannot use spool folder {spool}: {exc.strerror}") from exc


def run_listener(config: ListenerConfig, stop: threading.Event | None = None) -> None:
    """Listen and spool until SIGTERM/SIGINT (in the main thread) or `stop` is set.

    Raises ListenerError when the folder is in use or an address cannot be bound.
    """
    stop = stop or threading.Event()
    spool = Path(config.spool_dir)
    try:
        make_private_dir(spool)
    except OSError as exc:
        raise ListenerError(f"cannot create spool folder {spool}: {exc.strerror}") from exc
    lock_fd = _lock(spool)
    try:
        (spool / PORTS_FILE).unlink(missing_ok=True)
        for path in publish_leftover_parts(spool):
            log.warning("published %s, left behind by a listener that did not stop", path.name)
        running = _Running(
            {proto: SpoolWriter(spool, proto, config.rotate_seconds) for proto in ("udp", "tcp")}
        )
        _bind(config, running)
        atomic_write_json(spool / PORTS_FILE, _ports(running))
        _serve(config, running, stop)
    finally:
        os.close(lock_fd)


def _serve(config: ListenerConfig, running: _Running, stop: threading.Event) -> None:
    """Start the threads, tick (rotate, stats, parent check) until stopped, shut down.

    The signal handler only records the signal: setting an Event from a handler can deadlock
    if the signal lands while the main thread holds the Event's lock.
    """
    spool, signalled = Path(config.spool_dir), []
    if threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda signum, _frame: signalled.append(signum))
    for proto, listener in running.listeners.items():
        listener.start()
        host, port = listener.address
        log.info("listening on %s %s:%d, spooling to %s", proto, host, port, spool)
        if isinstance(listener, UdpListener):
            log.info(
                "udp receive buffer: requested %d bytes, kernel reports %d (Linux doubles"
                " it for bookkeeping)",
                listener.rcvbuf_requested,
                listener.rcvbuf_granted,
            )
    parent, next_stats = os.getppid(), 0.0
    while not (stop.is_set() or signalled):
        time.sleep(TICK_SECONDS)
        try:
            for writer in running.writers.values():
                writer.rotate()
            if time.monotonic() >= next_stats:
                next_stats = time.monotonic() + STATS_SECONDS
                atomic_write_json(spool / STATS_FILE, _stats(running))
            if config.exit_with_parent and os.getppid() != parent:
                log.warning("parent process %d is gone; stopping", parent)
                stop.set()
        except Exception:  # noqa: BLE001 - the ticker must never die
            log.exception("listener tick failed (rotating spool files, writing stats)")
    _shutdown(spool, running)


def _shutdown(spool: Path, running: _Running) -> None:
    """Stop accepting, let connections drain, close the spool files, final stats."""
    deadline = time.monotonic() + JOIN_SECONDS
    for listener in running.listeners.values():
        listener.stop()
    for listener in running.listeners.values():
        listener.join(max(0.0, deadline - time.monotonic()))
    for writer in running.writers.values():
        try:
            writer.close()
        except OSError:
            log.exception("closing spool file of %s failed", writer.source)
    try:
        atomic_write_json(spool / STATS_FILE, _stats(running))
    except OSError:
        log.exception("writing the final stats failed")
    for listener in running.listeners.values():
        listener.close()
    (spool / PORTS_FILE).unlink(missing_ok=True)
    log.info("stopped")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python3 -m hawatch.collector.syslog.listener",
        description="Receive syslog over UDP/TCP and spool raw lines to DIR (no database).",
    )
    parser.add_argument("--spool", type=Path, help="spool folder (created if missing)")
    parser.add_argument(
        "--udp",
        type=parse_address,
        metavar="HOST:PORT",
        help="listen for UDP syslog (port 0: any free port)",
    )
    parser.add_argument(
        "--tcp",
        type=parse_address,
        metavar="HOST:PORT",
        help="listen for TCP syslog, RFC 6587 framing (port 0: any free port)",
    )
    parser.add_argument(
        "--rotate-seconds",
        type=float,
        default=1.0,
        help="close and publish spool files this often (default 1)",
    )
    parser.add_argument(
        "--rcvbuf",
        type=int,
        default=DEFAULT_RCVBUF,
        help="UDP receive buffer to request, bytes (default 8 MiB)",
    )
    parser.add_argument(
        "--max-connections",
        type=int,
        default=MAX_CONNECTIONS,
        help="TCP connections served at once; at the limit the longest idle"
        f" of the busiest address gives way (default {MAX_CONNECTIONS})",
    )
    parser.add_argument(
        "--max-frame",
        type=int,
        default=MAX_FRAME,
        help="longer TCP frames are cut to this many bytes (default 65536)",
    )
    parser.add_argument(
        "--idle-seconds",
        type=float,
        default=0.0,
        help="close a TCP connection that sent nothing for this long (default 0: never)",
    )
    parser.add_argument(
        "--exit-with-parent",
        action="store_true",
        help="stop (cleanly) when the process that started us exits",
    )
    parser.add_argument(
        "--selftest-imports",
        action="store_true",
        help="print the database-side modules loaded (must be none) and exit",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.selftest_imports:
        found = forbidden_modules()
        print(json.dumps({"forbidden_modules": found}))
        return 1 if found else 0
    if args.spool is None or (args.udp is None and args.tcp is None):
        parser.error("--spool DIR and at least one of --udp/--tcp are required")
    handler = configure_logging()
    sys.setswitchinterval(SWITCH_SECONDS)
    config = ListenerConfig(
        args.spool,
        args.udp,
        args.tcp,
        args.rotate_seconds,
        args.rcvbuf,
        args.max_connections,
        args.max_frame,
        args.idle_seconds,
        args.exit_with_parent,
    )
    try:
        run_listener(config)
    except ListenerError as exc:
        handler.drain()
        print(f"hawatch listener: {exc}", file=sys.stderr)  # the last line: the parent shows it
        return EXIT_BIND
    handler.drain()
    return 0


if __name__ == "__main__":
    sys.exit(main())
