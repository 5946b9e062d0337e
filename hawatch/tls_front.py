"""HTTPS for `hawatch serve` without a proxy: TLS ends here, waitress serves the plaintext.

waitress speaks no TLS, and wrapping its non-blocking sockets in `ssl` breaks its event loop
(a handshake would block it, and SSL's want-read/want-write states are not errors it knows).
So an asyncio server, which does TLS well, accepts on the public address, completes each
handshake within `HANDSHAKE_SECONDS` (a client that stalls it costs a coroutine, not a
thread), and hands the decrypted stream to waitress through a socket pair: one end becomes a
waitress channel carrying the client's real address (REMOTE_ADDR, the login throttle), the
other is pumped to and from the TLS stream. waitress keeps every limit it already applies
(idle timeout, body sizes, threads), and the front caps open connections itself.

Every HTTP request then arrives with `wsgi.url_scheme` https (the channel is told so), so
Flask sends the Secure session cookie and builds https URLs.
"""

from __future__ import annotations

import asyncio
import copy
import logging
import socket
import ssl
import threading
from typing import Any

log = logging.getLogger(__name__)

HANDSHAKE_SECONDS = 10.0
CHUNK = 64 * 1024


def tls_context(cert: str, key: str) -> ssl.SSLContext:
    """A server context with Python's secure defaults (TLS 1.2+, no compression)."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(cert, key)
    return context


class TlsFront:
    """Accept TLS connections on `sock` and serve each through `server` (waitress)."""

    def __init__(
        self, server: Any, sock: socket.socket, context: ssl.SSLContext, max_connections: int
    ) -> None:
        self.server, self.sock, self.context = server, sock, context
        self.slots = threading.BoundedSemaphore(max_connections)
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self._run, name="hawatch-tls", daemon=True)

    @property
    def port(self) -> int:
        return int(self.sock.getsockname()[1])

    def start(self) -> None:
        self.thread.start()

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_until_complete(
            asyncio.start_server(
                self._serve,
                sock=self.sock,
                ssl=self.context,
                ssl_handshake_timeout=HANDSHAKE_SECONDS,
                limit=CHUNK,
            )
        )
        self.loop.run_forever()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if not self.slots.acquire(blocking=False):
            writer.close()  # at the limit: refuse rather than queue without bound
            return
        try:
            peer = writer.get_extra_info("peername") or ("unknown", 0)
            inner, outer = socket.socketpair()
            inner.setblocking(False)
            self.server.trigger.pull_trigger(lambda: self._channel(inner, peer))
            plain_reader, plain_writer = await asyncio.open_connection(sock=outer, limit=CHUNK)
            await asyncio.gather(_pump(reader, plain_writer), _pump(plain_reader, writer))
        except (OSError, ssl.SSLError) as exc:
            log.debug("TLS connection ended: %s", exc)
        finally:
            writer.close()
            self.slots.release()

    def _channel(self, sock: socket.socket, peer: tuple[Any, ...]) -> None:
        """Runs in waitress' loop thread, the only thread that may touch its socket map.
        The channel's own adjustments say https: its requests' wsgi.url_scheme."""
        adj = copy.copy(self.server.adj)
        adj.url_scheme = "https"
        self.server.channel_class(self.server, sock, (peer[0], peer[1]), adj, map=self.server._map)

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)


async def _pump(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Copy one direction until its end closes, then close the other side's writing half."""
    try:
        while data := await reader.read(CHUNK):
            writer.write(data)
            await writer.drain()
    except (OSError, ssl.SSLError):
        pass
    finally:
        if writer.can_write_eof():
            try:
                writer.write_eof()
            except (OSError, RuntimeError):
                writer.close()
        else:
            writer.close()
