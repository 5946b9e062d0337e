"""The web server of `hawatch serve`: waitress, with limits that keep it answering.

Connections: waitress serves at most `serve.connection_limit` open connections and stops
accepting beyond them; its default of 100 let 120 idle connections that never sent a byte
make the dashboard, the ingest API, /metrics and /healthz unreachable for two minutes (its
default idle timeout). Here the limit is higher (an idle connection costs a few kilobytes,
not a thread), idle connections are closed after `serve.channel_timeout_seconds`, checked
every second or two, the event loop uses poll() (select() fails past 1,024 descriptors) and
the process' open-file limit is raised to fit.

Request bodies: waitress reads a whole body (to a temporary file past 512 kB) before the
application sees the request, and by default accepts 1 GiB from anyone. So the limit is
decided on the request's headers, before any of the body is read: an export upload to
`POST /api/v1/ingest` carrying the ingest token may be `serve.max_request_megabytes`; any
other request (a login form, a query) at most `SMALL_BODY`. A larger Content-Length is
answered 413 at once, and a chunked body is cut off at the limit.

What waitress cannot do, and a reverse proxy in front must (docs/deploy.md): limit
connections per address, time out a client that sends its headers a byte at a time, and
serve TLS.
"""

from __future__ import annotations

import copy
import hmac
import resource
from typing import Any

from waitress.channel import HTTPChannel
from waitress.parser import HTTPRequestParser
from waitress.server import create_server

THREADS = 8
SMALL_BODY = 1024 * 1024  # the largest body of anything but an authenticated upload
UPLOAD_PATH = "/api/v1/ingest"
SPARE_FILES = 256  # descriptors beyond the connections: the database, spool files, pipes


def body_limits(upload_limit: int, token: str) -> type[HTTPRequestParser]:
    """A waitress request parser whose body limit depends on the request's headers."""

    def allowed(parser: HTTPRequestParser) -> int:
        given = str(parser.headers.get("AUTHORIZATION", ""))
        if parser.command == "POST" and parser.path == UPLOAD_PATH and token and \
                hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
            return upload_limit
        return SMALL_BODY

    class LimitedParser(HTTPRequestParser):
        def parse_header(self, header_plus: bytes) -> None:
            super().parse_header(header_plus)
            limit = allowed(self)
            # waitress refuses a body of max_request_body_size bytes or more
            self.adj = copy.copy(self.adj)
            self.adj.max_request_body_size = limit + 1

    return LimitedParser


def raise_open_files_limit(wanted: int) -> None:
    """Raise this process' soft limit on open files towards `wanted` (never above the
    hard limit, which only root may raise)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < wanted:
        target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))


def web_server(app: Any, host: str, port: int, settings: dict[str, Any]) -> Any:
    """A bound (not yet running) waitress server for `app` with hawatch's limits."""
    connections = int(settings["serve.connection_limit"])
    idle = max(1, int(settings["serve.channel_timeout_seconds"]))
    upload = int(float(settings["serve.max_request_megabytes"]) * 1024 * 1024)
    raise_open_files_limit(connections + SPARE_FILES)
    server = create_server(
        app, host=host, port=port, threads=THREADS, connection_limit=connections,
        channel_timeout=idle, cleanup_interval=max(1, min(idle // 2, 30)),
        asyncore_use_poll=True, max_request_body_size=max(upload, SMALL_BODY) + 1,
        ident="hawatch")
    parser = body_limits(upload, str(settings.get("serve.ingest_token") or ""))
    server.channel_class = type("LimitedChannel", (HTTPChannel,), {"parser_class": parser})
    return server
