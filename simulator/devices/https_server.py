"""HTTP over TLS for a simulated unit, as the two SonicOS generations speak it.

SonicOS 6.5 answers `HTTP/1.0`, with no Content-Length, and closes the connection after
every answer (mjryan253/homeassistant-sonicwall README; cherpin00/pySonicOSapi's curl trace
shows `HTTP/1.0 200 OK`, `Server: SonicWALL`, `Content-type: application/json;
charset=UTF-8`). For 7.x keep-alive with Content-Length is assumed [inferred]. A pollster
must cope with both; the simulator makes it.
"""

from __future__ import annotations

import asyncio
import ssl
import time
from collections.abc import Callable

from hawatch.simulator.devices.sonicos_api import Answer, ApiState, Request, answer, body_bytes
from hawatch.simulator.devices.timeline import UnitReport

REASONS = {
    200: "OK",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    503: "Service Unavailable",
}
HOLD_SECONDS = 3600.0  # a silent unit keeps the connection and never answers


async def read_request(reader: asyncio.StreamReader, peer: str) -> Request | None:
    """One request (headers lower-cased; a body is read and ignored), None at the end."""
    line = await reader.readline()
    if not line.strip():
        return None
    try:
        method, path, _ = line.decode("latin-1").split(" ", 2)
    except ValueError:
        return None
    headers: dict[str, str] = {}
    while True:
        raw = await reader.readline()
        if raw in (b"\r\n", b"\n", b""):
            break
        name, _, value = raw.decode("latin-1").partition(":")
        headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0") or 0)
    if length:
        await reader.readexactly(min(length, 1 << 20))
    return Request(method.upper(), path, headers, peer)


def render(reply: Answer, gen6: bool) -> bytes:
    body = body_bytes(reply)
    head = [
        f"{'HTTP/1.0' if gen6 else 'HTTP/1.1'} {reply.status} {REASONS.get(reply.status, 'Error')}",
        "Server: SonicWALL",
        "Expires: -1",
        "Cache-Control: no-cache",
        "Content-type: application/json; charset=UTF-8",
        "X-Content-Type-Options: nosniff",
    ]
    if not gen6:
        head.append(f"Content-Length: {len(body)}")
    head += [f"{k}: {v}" for k, v in reply.headers.items()]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


class UnitHttps:
    """Serves one unit's API on one listening socket; `unit()` is None while it is silent."""

    def __init__(
        self, state: ApiState, unit: Callable[[], UnitReport | None], latency: Callable[[], float]
    ) -> None:
        self.state, self.unit, self.latency = state, unit, latency
        self.server: asyncio.Server | None = None
        self.requests = 0

    async def start(self, port: int, context: ssl.SSLContext, host: str = "127.0.0.1") -> int:
        self.server = await asyncio.start_server(
            self._connection, host, port, ssl=context, reuse_address=True, backlog=256
        )
        return int(self.server.sockets[0].getsockname()[1])

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()
            self.server = None

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = (writer.get_extra_info("peername") or ("?",))[0]
        try:
            while True:
                request = await read_request(reader, peer)
                if request is None:
                    return
                report = self.unit()
                if report is None or not report.answering:
                    await asyncio.sleep(HOLD_SECONDS)
                    return
                await asyncio.sleep(self.latency())
                self.requests += 1
                gen6 = report.generation == "gen6"
                writer.write(render(answer(self.state, report, request, time.time()), gen6))
                await writer.drain()
                if gen6 or request.headers.get("connection", "").lower() == "close":
                    return
        except (ConnectionError, asyncio.IncompleteReadError, ssl.SSLError, ValueError):
            return
        except asyncio.CancelledError:
            return  # the farm stops or the unit changes mode: drop the connection
        finally:
            writer.close()
