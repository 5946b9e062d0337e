"""Syslog over TCP into the spool: a thread per connection, RFC 6587 framing, back-pressure.

Framing (RFC 6587) is chosen per connection from its first byte, as senders use one method
per session: a digit means octet counting (`<len> <msg>`, `logger --tcp --octet-count`), any
other byte non-transparent framing, where LF, CRLF and NUL all end a message (`logger --tcp`
ends lines with LF, Python's SysLogHandler with NUL). A header that is not a valid count drops
the connection back to non-transparent framing rather than losing data. A frame longer than
`max_frame` is cut: its first `max_frame` bytes are spooled and the cut is counted.

Back-pressure: a connection's thread reads, frames and writes to the spool in turn, so when the
disk is slow it stops reading and the kernel's flow control slows the sender; nothing is
dropped. Standard library only (the listener child never imports duckdb).
"""

from __future__ import annotations

import logging
import socket
import threading
import time

from hawatch.collector.spool import SpoolWriter

log = logging.getLogger(__name__)

MAX_FRAME = 64 * 1024
MAX_CONNECTIONS = 256
HEADER_MAX = 11  # up to 10 digits and the space
POLL_SECONDS = 0.25  # how often blocked accept/recv calls look at the stop flag
DRAIN_QUIET = 0.1  # at stop, a connection is drained once nothing arrived for this long
DRAIN_SECONDS = 1.0  # ... or after this long in all
TERMINATORS = (b"\n", b"\x00")
SEPARATORS = (10, 13, 0)  # LF CR NUL, as ints (what indexing a bytearray gives)


def clean(message: bytes | bytearray) -> bytes:
    """One spool line: trailing CR/LF/NUL stripped, embedded LF or CRLF made one space."""
    message = bytes(message).rstrip(b"\r\n\x00")
    if b"\n" in message:
        message = message.replace(b"\r\n", b" ").replace(b"\n", b" ")
    return message + b"\n" if message else b""


class Framer:
    """Turns a TCP byte stream into newline-terminated spool lines (RFC 6587).

    Memory is bounded: `want()` never lets the pending bytes exceed one maximal frame.
    """

    def __init__(self, max_frame: int = MAX_FRAME) -> None:
        self.max_frame = max_frame
        self.octets: bool | None = None  # None until the first byte decides
        self.pending = bytearray()
        self.skip = 0  # bytes of a cut octet-counted frame still to discard
        self.discarding = False  # inside the rest of a cut non-transparent frame
        self.frames_cut = 0
        self.bytes_cut = 0

    def want(self) -> int:
        """How many bytes the next recv may take."""
        return max(1, self.max_frame + HEADER_MAX + 1 - len(self.pending))

    def feed(self, data: bytes) -> tuple[bytes, int]:
        """Add received bytes; return the complete lines they finish and how many."""
        self.pending += data
        out: list[bytes] = []
        if self.octets is None:
            start = self.pending.lstrip(b"\r\n\x00 ")
            if not start:
                return b"", 0
            self.octets = start[:1].isdigit()
        if self.octets:
            self._octet_frames(out)
        if not self.octets:
            self._plain_frames(out)
        block = b"".join(out)
        return block, block.count(b"\n")

    def finish(self, cut: bool = False) -> tuple[bytes, int]:
        """The unterminated rest at end of stream (counted as cut if the stream was stopped
        mid-frame, or an octet-counted frame is short)."""
        if self.octets:  # a short frame: spool its body without the count
            space = self.pending.find(b" ", 0, HEADER_MAX + 1)
            if space > 0 and self.pending[:space].isdigit():
                del self.pending[:space + 1]
        rest = b"" if (self.discarding or self.skip) else clean(self.pending)
        if rest and (cut or self.octets):
            self.frames_cut += 1
        self.pending.clear()
        return rest, rest.count(b"\n")

    def _cut(self, frame_length: int) -> None:
        self.frames_cut += 1
        self.bytes_cut += frame_length - self.max_frame

    def _octet_frames(self, out: list[bytes]) -> None:
        """Take every complete `<len> <msg>` frame; switch to plain framing on a bad header.

        Walks an index and trims the buffer once: deleting per frame would move the rest of
        a 64 KiB buffer for every frame."""
        buf, pos = self.pending, 0
        try:
            while pos < len(buf):
                if self.skip:
                    taken = min(self.skip, len(buf) - pos)
                    pos, self.skip = pos + taken, self.skip - taken
                    continue
                if buf[pos] in SEPARATORS:  # tolerate LF/CR/NUL between frames
                    pos += 1
                    continue
                space = buf.find(b" ", pos, pos + HEADER_MAX + 1)
                head = buf[pos:space] if space > pos else buf[pos:pos + HEADER_MAX + 1]
                if space < 0 and len(buf) - pos <= HEADER_MAX and head.isdigit():
                    return  # the header is still arriving
                if space <= pos or not head.isdigit():
                    log.warning("tcp: octet-count header expected, got %r; reading the rest"
                                " of the connection as newline-framed", bytes(buf[pos:pos + 20]))
                    self.octets = False
                    return
                length, start = int(head), space + 1
                body = min(length, self.max_frame)
                if len(buf) < start + body:
                    return
                out.append(clean(buf[start:start + body]))
                pos = start + body
                if length > body:
                    self._cut(length)
                    self.skip = length - body
        finally:
            del buf[:pos]

    def _plain_frames(self, out: list[bytes]) -> None:
        """Split on LF / CRLF / NUL in bulk (no Python loop per line); cut overlong lines."""
        buf = self.pending
        if self.discarding:
            ends = [i for i in (buf.find(t) for t in TERMINATORS) if i >= 0]
            if not ends:
                self.bytes_cut += len(buf)
                buf.clear()
                return
            self.bytes_cut += min(ends)
            del buf[:min(ends) + 1]
            self.discarding = False
        last = max(buf.rfind(b"\n"), buf.rfind(b"\x00"))
        if last >= 0:
            out.append(_normalise(bytes(buf[:last + 1])))
            del buf[:last + 1]
        if len(buf) > self.max_frame:
            out.append(clean(buf[:self.max_frame]))
            self.frames_cut += 1
            self.bytes_cut += len(buf) - self.max_frame
            buf.clear()
            self.discarding = True


def _normalise(block: bytes) -> bytes:
    """Terminated non-transparent frames -> LF lines, without empty lines."""
    block = block.replace(b"\x00", b"\n").replace(b"\r\n", b"\n")
    while b"\n\n" in block:
        block = block.replace(b"\n\n", b"\n")
    return block[1:] if block.startswith(b"\n") else block


class TcpListener:
    """A listening socket, its accept thread and one thread per connection (bounded)."""

    def __init__(self, sock: socket.socket, writer: SpoolWriter,
                 max_connections: int = MAX_CONNECTIONS, max_frame: int = MAX_FRAME) -> None:
        self.sock = sock
        self.writer = writer
        self.max_connections = max_connections
        self.max_frame = max_frame
        self.bytes = 0
        self.frames_cut = 0
        self.bytes_cut = 0
        self.connections_open = 0
        self.connections_total = 0
        self.connections_rejected = 0
        self.errors = 0
        self.write_errors = 0
        self._lock = threading.Lock()  # guards the counters above and the thread set
        self._threads: set[threading.Thread] = set()
        self._stop = threading.Event()
        self._acceptor = threading.Thread(target=self._accept_loop, name="tcp-accept",
                                          daemon=True)

    @classmethod
    def bind(cls, host: str, port: int, writer: SpoolWriter,
             max_connections: int = MAX_CONNECTIONS, max_frame: int = MAX_FRAME) -> TcpListener:
        """Bind and listen (raises OSError, e.g. address in use)."""
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # restarts: TIME_WAIT
            sock.bind((host, port))
            sock.listen(128)
            sock.settimeout(POLL_SECONDS)
        except OSError:
            sock.close()
            raise
        return cls(sock, writer, max_connections, max_frame)

    @property
    def address(self) -> tuple[str, int]:
        return self.sock.getsockname()[:2]

    def start(self) -> None:
        self._acceptor.start()

    def stop(self) -> None:
        """Stop accepting; connections drain what the kernel holds, spool it and close."""
        self._stop.set()

    def join(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        self._acceptor.join(max(0.0, deadline - time.monotonic()))
        with self._lock:
            threads = list(self._threads)
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))

    def close(self) -> None:
        self.sock.close()

    def stats(self) -> dict[str, object]:
        host, port = self.address
        with self._lock:
            return {
                "bound": f"{host}:{port}", "lines": self.writer.lines, "bytes": self.bytes,
                "spool_bytes": self.writer.bytes, "frames_cut": self.frames_cut,
                "bytes_cut": self.bytes_cut, "connections_open": self.connections_open,
                "connections_total": self.connections_total,
                "connections_rejected": self.connections_rejected,
                "max_connections": self.max_connections, "errors": self.errors,
                "write_errors": self.write_errors,
                "spool_files_closed": self.writer.files_closed,
            }

    def _accept_loop(self) -> None:
        """Accept until stopped; any error (EMFILE, no thread left) is logged and survived."""
        while not self._stop.is_set():
            try:
                conn, peer = self.sock.accept()
            except TimeoutError:
                continue
            except Exception:  # noqa: BLE001 - the loop must never die
                with self._lock:
                    self.errors += 1
                log.exception("tcp %s: accept failed; carrying on", self.address)
                time.sleep(0.05)
                continue
            try:
                self._admit(conn, peer)
            except Exception:  # noqa: BLE001
                with self._lock:
                    self.errors += 1
                    self.connections_open -= 1
                log.exception("tcp %s: could not start a reader for %s", self.address, peer)
                conn.close()

    def _admit(self, conn: socket.socket, peer: tuple) -> None:
        """Start a thread for the connection, or refuse it when at the limit."""
        with self._lock:
            full = self.connections_open >= self.max_connections
            if full:
                self.connections_rejected += 1
            else:
                self.connections_open += 1
                self.connections_total += 1
        if full:
            log.warning("tcp %s: %d connections open, refusing %s", self.address,
                        self.max_connections, peer)
            conn.close()
            return
        thread = threading.Thread(target=self._serve, args=(conn, peer),
                                  name=f"tcp-{peer[0]}:{peer[1]}", daemon=True)
        with self._lock:
            self._threads.add(thread)
        thread.start()

    def _serve(self, conn: socket.socket, peer: tuple) -> None:
        """One connection's life; errors are logged and end only this connection."""
        framer = Framer(self.max_frame)
        try:
            conn.settimeout(POLL_SECONDS)
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
            self._read_until_stop(conn, framer)
        except Exception:  # noqa: BLE001 - one bad connection must not stop the listener
            with self._lock:
                self.errors += 1
            log.exception("tcp %s: connection from %s failed", self.address, peer)
        finally:
            try:
                self._spool(framer.finish(cut=self._stop.is_set()), framer)
            except Exception:  # noqa: BLE001
                log.exception("tcp %s: could not spool the end of %s", self.address, peer)
            conn.close()
            with self._lock:
                self.connections_open -= 1
                self._threads.discard(threading.current_thread())

    def _read_until_stop(self, conn: socket.socket, framer: Framer) -> None:
        """Read, frame, spool, until the peer closes or (after draining) we stop."""
        quiet_until = drain_until = 0.0
        while True:
            try:
                data = conn.recv(framer.want())
            except TimeoutError:
                data = None
            now = time.monotonic()
            if data == b"":
                return  # the peer closed
            if data is not None:
                self._received(data, framer)
                quiet_until = now + DRAIN_QUIET
            if self._stop.is_set():
                if not drain_until:
                    drain_until, quiet_until = now + DRAIN_SECONDS, now + DRAIN_QUIET
                    conn.settimeout(DRAIN_QUIET / 2)
                elif now >= quiet_until or now >= drain_until:
                    return

    def _received(self, data: bytes, framer: Framer) -> None:
        with self._lock:
            self.bytes += len(data)
        self._spool(framer.feed(data), framer)

    def _spool(self, framed: tuple[bytes, int], framer: Framer) -> None:
        """Write whole lines; a failing disk blocks this reader (retrying) rather than drop."""
        block, lines = framed
        cut, cut_bytes = framer.frames_cut, framer.bytes_cut
        framer.frames_cut = framer.bytes_cut = 0
        with self._lock:
            self.frames_cut += cut
            self.bytes_cut += cut_bytes
        while block:
            try:
                self.writer.write(block, lines)
                return
            except OSError:
                with self._lock:
                    self.write_errors += 1
                log.exception("tcp %s: spool write of %d lines failed; retrying",
                              self.address, lines)
                if self._stop.wait(0.5):
                    log.error("tcp %s: stopping; %d unwritten lines lost", self.address, lines)
                    return
