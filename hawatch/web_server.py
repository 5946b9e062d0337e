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

TLS: waitress has none; with serve.tls_cert and serve.tls_key, hawatch.tls_front ends TLS
in front of it. What waitress cannot do, and a reverse proxy in front must (docs/deploy.md):
limit connections per address and time out a client that sends its headers a byte at a time.
"""

from __future__ import annotations

import copy
import hmac
import ipaddress
import resource
import socket
import ssl
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from waitress.channel import HTTPChannel
from waitress.parser import HTTPRequestParser
from waitress.server import create_server

from hawatch.store.errors import HawatchError
from hawatch.store.settings_type import Settings
from hawatch.tls_front import TlsFront, tls_context

THREADS = 8
SMALL_BODY = 1024 * 1024  # the largest body of anything but an authenticated upload
UPLOAD_PATH = "/api/v1/ingest"
SPARE_FILES = 256  # descriptors beyond the connections: the database, spool files, pipes


def body_limits(upload_limit: int, token: str) -> type[HTTPRequestParser]:
    """A waitress request parser whose body limit depends on the request's headers."""

    def allowed(parser: HTTPRequestParser) -> int:
        given = str(parser.headers.get("AUTHORIZATION", ""))
        if (
            parser.command == "POST"
            and parser.path == UPLOAD_PATH
            and token
            and hmac.compare_digest(given.encode(), f"Bearer {token}".encode())
        ):
            return upload_limit
        return SMALL_BODY

    class LimitedParser(HTTPRequestParser):
        def parse_header(self, header_plus: bytes) -> None:
            super().parse_header(header_plus)
            limit = allowed(self)
            # waitress refuses a body of max_request_body_size bytes or more
            self.adj = copy.copy(self.adj)  # type: ignore[has-type]  # waitress is untyped
            self.adj.max_request_body_size = limit + 1

    return LimitedParser


def raise_open_files_limit(wanted: int) -> None:
    """Raise this process' soft limit on open files towards `wanted` (never above the
    hard limit, which only root may raise)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < wanted:
        target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))


def web_server(
    app: Any, host: str, port: int, settings: Settings, unix_socket: str | None = None
) -> Any:
    """A bound (not yet running) waitress server for `app` with hawatch's limits; on
    `unix_socket` instead of host:port when a TLS front feeds it (hawatch.tls_front)."""
    connections = int(settings["serve.connection_limit"])
    idle = max(1, int(settings["serve.channel_timeout_seconds"]))
    upload = int(float(settings["serve.max_request_megabytes"]) * 1024 * 1024)
    raise_open_files_limit(2 * connections + SPARE_FILES)  # a TLS front: two per connection
    where: dict[str, Any] = (
        {"unix_socket": unix_socket, "unix_socket_perms": "600"}
        if unix_socket
        else {"host": host, "port": port}
    )
    server = create_server(
        app,
        threads=THREADS,
        connection_limit=connections,
        channel_timeout=idle,
        cleanup_interval=max(1, min(idle // 2, 30)),
        asyncore_use_poll=True,
        max_request_body_size=max(upload, SMALL_BODY) + 1,
        ident="hawatch",
        **where,
        **proxy_adjustments(settings),
    )
    parser = body_limits(upload, str(settings.get("serve.ingest_token") or ""))
    server.channel_class = type("LimitedChannel", (HTTPChannel,), {"parser_class": parser})
    return server


def proxy_adjustments(settings: Settings) -> dict[str, Any]:
    """Behind a TLS proxy at `serve.trusted_proxy`, believe its X-Forwarded-For and
    -Proto (the client's address for the login throttle, https for the cookie); drop those
    headers from anyone else."""
    proxy = str(settings.get("serve.trusted_proxy") or "").strip()
    if not proxy:
        return {}
    return {
        "trusted_proxy": proxy,
        "trusted_proxy_count": 1,
        "trusted_proxy_headers": {"x-forwarded-for", "x-forwarded-proto"},
        "clear_untrusted_proxy_headers": True,
    }


def is_loopback(http: str) -> bool:
    host = http.rpartition(":")[0].strip("[]")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def plain_http_warning(settings: Settings) -> str | None:
    """The loud warning for a dashboard reachable from the network over plain HTTP (it
    works: the cookie is not HTTPS-only then, but passwords cross the network in clear)."""
    if (
        settings["serve.tls_cert"]
        or settings["serve.trusted_proxy"]
        or is_loopback(str(settings["serve.http"]))
    ):
        return None
    return (
        f"WARNING: the dashboard on {settings['serve.http']} is plain HTTP: passwords and"
        " session cookies cross the network unencrypted; give serve.tls_cert and"
        " serve.tls_key, or a TLS proxy with serve.trusted_proxy (docs/deploy.md)"
    )


@dataclass
class Web:
    """The bound web server: waitress alone (HTTP), or a TLS front feeding it (HTTPS)."""

    server: Any
    url: str
    front: TlsFront | None = None

    def start(self) -> None:
        # daemon: it ends with the process (closing its sockets under its running loop only
        # makes it print EBADF tracebacks)
        threading.Thread(target=self.server.run, name="hawatch-web", daemon=True).start()
        if self.front:
            self.front.start()

    def close(self) -> None:
        self.server.close()
        if self.front:
            self.front.sock.close()


def bind_web(app: Any, host: str, port: int, settings: Settings, private: Path) -> Web:
    """Bind the dashboard's address: HTTPS when serve.tls_cert and serve.tls_key are given
    (waitress then listens on a socket in the private folder `private`), else HTTP."""
    cert, key = str(settings["serve.tls_cert"]), str(settings["serve.tls_key"])
    if bool(cert) != bool(key):
        raise HawatchError("serve.tls_cert and serve.tls_key go together: give both or none")
    shown = f"[{host}]" if ":" in host else host
    if not cert:
        server = web_server(app, host, port, settings)
        return Web(server, f"http://{shown}:{server.effective_port}")
    try:
        context = tls_context(cert, key)
    except (OSError, ssl.SSLError) as exc:
        raise HawatchError(
            f"cannot use the TLS certificate {cert} and key {key}: "
            f"{getattr(exc, 'strerror', None) or exc}"
        ) from None
    sock = socket.create_server(
        (host, port), family=socket.AF_INET6 if ":" in host else socket.AF_INET, backlog=1024
    )
    inner = private / "web.sock"
    inner.unlink(missing_ok=True)
    try:
        server = web_server(app, host, port, settings, unix_socket=str(inner))
    except OSError:
        sock.close()
        raise
    front = TlsFront(server, sock, context, int(settings["serve.connection_limit"]))
    return Web(server, f"https://{shown}:{front.port}", front)
