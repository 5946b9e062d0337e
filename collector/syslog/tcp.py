"""Syslog over TCP into the spool: one thread, a selector over every connection, back-pressure.

Framing (RFC 6587) is decided per frame (collector.syslog.framing): octet counting and LF/CRLF/NUL
terminated frames may be mixed on one connection, and a frame or line that holds several
messages is spooled as several lines.

Connections cost a socket and a framer each, no thread: one loop (epoll) accepts, reads and
spools, so thousands of mostly idle firewalls are cheap, and one sender's connections cannot
take every slot. Up to `max_connections` are open at once; when a new one arrives at that
limit, the longest-idle connection of the peer address holding the most connections is closed
to make room (a flood of idle connections from one host only ever displaces its own). With
`idle_seconds`, a connection that sent nothing for that long is closed. That is off by
default: most senders only notice the close on their next write, and that message is lost.
Memory stays bounded: at most one maximal frame (`max_frame`) pending per connection.

Back-pressure: the loop writes to the spool between reads, so when the disk is slow it reads
less and the kernel's flow control slows the senders; nothing is dropped. Standard library
only (the listener child never imports duckdb).
"""

from __future__ import annotations

import logging
import selectors
import socket
import threading
import time
from collections import Counter, OrderedDict
from dataclasses import dataclass, field

from hawatch.collector.syslog.framing import MAX_FRAME, Framer
from hawatch.collector.syslog.spool import SpoolWriter

log = logging.getLogger(__name__)

MAX_CONNECTIONS = 2048
BACKLOG = 1024  # connections the kernel queues before the loop accepts them
ACCEPTS_PER_ROUND = 64  # a burst of connections cannot starve the reads
POLL_SECONDS = 0.25  # how often an idle loop looks at the stop flag and the idle timeout
DRAIN_QUIET = 0.1  # at stop, connections are drained once nothing arrived for this long
DRAIN_SECONDS = 1.0  # ... or after this long in all


@dataclass(eq=False)
class _Conn:
    """One accepted connection: its socket, its framer, when it last sent something."""

    sock: socket.socket
    peer: str
    last: float
    framer: Framer = field(default_factory=Framer)
    warned: bool = False  # its first misframed frame was logged; later ones are only counted


class _Table:
    """Open connections, least recently active first, and how many each address holds."""

    def __init__(self) -> None:
        self.by_fd: OrderedDict[int, _Conn] = OrderedDict()
        self.per_address: Counter[str] = Counter()

    def __len__(self) -> int:
        return len(self.by_fd)

    def add(self, conn: _Conn) -> None:
        self.by_fd[conn.sock.fileno()] = conn
        self.per_address[conn.peer] += 1

    def touch(self, conn: _Conn, now: float) -> None:
        conn.last = now
        self.by_fd.move_to_end(conn.sock.fileno())

    def remove(self, conn: _Conn) -> None:
        del self.by_fd[conn.sock.fileno()]
        self.per_address[conn.peer] -= 1
        if not self.per_address[conn.peer]:
            del self.per_address[conn.peer]

    def victim(self) -> _Conn | None:
        """The longest-idle connection of the address that holds the most."""
        if not self.per_address:
            return None
        ((address, _),) = self.per_address.most_common(1)
        return next(c for c in self.by_fd.values() if c.peer == address)

    def idle_since(self, before: float) -> list[_Conn]:
        """Connections that sent nothing since `before` (they are at the front)."""
        found = []
        for conn in self.by_fd.values():
            if conn.last >= before:
                break
            found.append(conn)
        return found


class TcpListener:
    """A listening socket and the loop thread that serves every connection (bounded)."""

    def __init__(
        self,
        sock: socket.socket,
        writer: SpoolWriter,
        max_connections: int = MAX_CONNECTIONS,
        max_frame: int = MAX_FRAME,
        idle_seconds: float = 0.0,
    ) -> None:
        self.sock = sock
        self.writer = writer
        self.max_connections = max(1, max_connections)
        self.max_frame = max_frame
        self.idle_seconds = idle_seconds
        self.bytes = self.frames_cut = self.bytes_cut = self.misframed = 0
        self.connections_total = self.connections_rejected = 0
        self.connections_evicted = self.connections_idle_closed = 0
        self.errors = self.write_errors = 0
        self.alive = time.time()  # the loop's last round: a watchdog tells a hung loop
        self._table = _Table()
        self._selector = selectors.DefaultSelector()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="tcp-listener", daemon=True)

    @classmethod
    def bind(
        cls,
        host: str,
        port: int,
        writer: SpoolWriter,
        max_connections: int = MAX_CONNECTIONS,
        max_frame: int = MAX_FRAME,
        idle_seconds: float = 0.0,
    ) -> TcpListener:
        """Bind and listen (raises OSError, e.g. address in use)."""
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # restarts: TIME_WAIT
            sock.bind((host, port))
            sock.listen(BACKLOG)
            sock.setblocking(False)
        except OSError:
            sock.close()
            raise
        return cls(sock, writer, max_connections, max_frame, idle_seconds)

    @property
    def address(self) -> tuple[str, int]:
        return self.sock.getsockname()[:2]

    def start(self) -> None:
        self._selector.register(self.sock, selectors.EVENT_READ, None)
        self._thread.start()

    def stop(self) -> None:
        """Stop accepting; connections drain what the kernel holds, spool it and close."""
        self._stop.set()

    def join(self, timeout: float) -> None:
        self._thread.join(timeout)

    def close(self) -> None:
        self.sock.close()
        self._selector.close()

    def stats(self) -> dict[str, object]:
        host, port = self.address
        return {
            "bound": f"{host}:{port}",
            "lines": self.writer.lines,
            "bytes": self.bytes,
            "spool_bytes": self.writer.bytes,
            "frames_cut": self.frames_cut,
            "bytes_cut": self.bytes_cut,
            "frames_misframed": self.misframed,
            "connections_open": len(self._table),
            "connections_total": self.connections_total,
            "connections_rejected": self.connections_rejected,
            "connections_evicted": self.connections_evicted,
            "connections_idle_closed": self.connections_idle_closed,
            "max_connections": self.max_connections,
            "idle_seconds": self.idle_seconds,
            "errors": self.errors,
            "write_errors": self.write_errors,
            "spool_files_closed": self.writer.files_closed,
            "alive_unix": round(self.alive, 3),
        }

    # -- the loop ------------------------------------------------------------------------
    def _run(self) -> None:
        """The loop; it outlives every error (logged with context)."""
        while True:
            try:
                self._serve()
                return
            except Exception:  # noqa: BLE001 - the loop must never die
                self.errors += 1
                log.exception("tcp %s: loop failed; carrying on", self.address)
                time.sleep(0.05)

    def _serve(self) -> None:
        """Accept, read and spool until stopped; then drain and close every connection."""
        drain_until = quiet_until = 0.0
        while True:
            now = time.monotonic()
            if self._stop.is_set() and not drain_until:
                drain_until, quiet_until = now + DRAIN_SECONDS, now + DRAIN_QUIET
                self._selector.unregister(self.sock)
            received = False
            for key, _ in self._selector.select(DRAIN_QUIET / 2 if drain_until else POLL_SECONDS):
                if key.data is None:
                    self._accept(now)
                else:
                    received = self._read(key.data, now) or received
            self.alive = time.time()
            if drain_until:
                quiet_until = now + DRAIN_QUIET if received else quiet_until
                if now >= quiet_until or now >= drain_until:
                    for conn in list(self._table.by_fd.values()):
                        self._close(conn, cut=True)
                    return
            elif self.idle_seconds:
                for conn in self._table.idle_since(now - self.idle_seconds):
                    self.connections_idle_closed += 1
                    self._close(conn)

    def _accept(self, now: float) -> None:
        """Take the connections the kernel queued; a failure (EMFILE) is logged and survived."""
        for _ in range(ACCEPTS_PER_ROUND):
            try:
                sock, peer = self.sock.accept()
            except BlockingIOError:
                return
            except OSError:
                self.errors += 1
                log.exception("tcp %s: accept failed; carrying on", self.address)
                time.sleep(0.05)  # out of descriptors: do not spin on a readable socket
                return
            self._admit(sock, str(peer[0]), now)

    def _admit(self, sock: socket.socket, peer: str, now: float) -> None:
        """Serve the connection, making room at the limit (module docstring)."""
        if len(self._table) >= self.max_connections:
            victim = self._table.victim()
            if victim is None:
                self.connections_rejected += 1
                sock.close()
                return
            self.connections_evicted += 1
            log.warning(
                "tcp %s: %d connections open; closing the longest idle of %s (the"
                " address holding the most) to let %s in",
                self.address,
                len(self._table),
                victim.peer,
                peer,
            )
            self._close(victim)
        try:
            sock.setblocking(False)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
            conn = _Conn(sock, peer, now, Framer(self.max_frame))
            self._selector.register(sock, selectors.EVENT_READ, conn)
        except (OSError, ValueError):
            self.errors += 1
            log.exception("tcp %s: could not serve a connection from %s", self.address, peer)
            sock.close()
            return
        self._table.add(conn)
        self.connections_total += 1

    def _read(self, conn: _Conn, now: float) -> bool:
        """One read from a ready connection; True if it brought data."""
        try:
            data = conn.sock.recv(conn.framer.want())
        except (BlockingIOError, InterruptedError):
            return False
        except OSError as exc:  # a reset: the peer is gone, like a close
            if not isinstance(exc, ConnectionResetError):
                self.errors += 1
                log.warning("tcp %s: reading from %s failed: %s", self.address, conn.peer, exc)
            self._close(conn)
            return False
        if not data:
            self._close(conn)
            return False
        self.bytes += len(data)
        self._table.touch(conn, now)
        self._spool(conn.framer.feed(data), conn)
        return True

    def _close(self, conn: _Conn, cut: bool = False) -> None:
        """Spool what the connection left unterminated, and close it."""
        try:
            self._spool(conn.framer.finish(cut=cut), conn)
        finally:
            self._table.remove(conn)
            try:
                self._selector.unregister(conn.sock)
            except (KeyError, ValueError):
                pass
            conn.sock.close()

    def _spool(self, framed: tuple[bytes, int], conn: _Conn) -> None:
        """Write whole lines; a failing disk holds the loop (retrying) rather than drop."""
        framer = conn.framer
        self.frames_cut += framer.frames_cut
        self.bytes_cut += framer.bytes_cut
        self.misframed += framer.misframed
        if framer.misframed and not conn.warned:
            conn.warned = True
            log.warning(
                "tcp %s: %s sends frames that start with digits but carry no octet"
                " count (the first: %r); reading them as newline-framed",
                self.address,
                conn.peer,
                framer.misframe_sample,
            )
        framer.frames_cut = framer.bytes_cut = framer.misframed = 0
        block, lines = framed
        while block:
            try:
                self.writer.write(block, lines)
                return
            except OSError:
                self.write_errors += 1
                log.exception(
                    "tcp %s: spool write of %d lines failed; retrying", self.address, lines
                )
                if self._stop.wait(0.5):
                    log.error("tcp %s: stopping; %d unwritten lines lost", self.address, lines)
                    return
