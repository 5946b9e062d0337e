"""A real `hawatch serve` under connection and body abuse (issue 10 items 6 and 12).

The red team made the dashboard, the ingest API, /metrics and /healthz unreachable with 120
idle connections that never sent a byte (waitress' default limit is 100 connections and
its idle timeout two minutes), and had unauthenticated bodies of up to 1 GiB buffered to
disk before any check. Raw sockets on 127.0.0.1; every wait has a deadline."""

from __future__ import annotations

import socket
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.test_serve import TOKEN, Server, post
from tests.web_client import WebUser

MIB = 1024 * 1024


def address(running: Server) -> tuple[str, int]:
    host, port = running.url.rsplit("/", 1)[-1].rsplit(":", 1)
    return host, int(port)


def idle_connections(running: Server, count: int) -> list[socket.socket]:
    """`count` connections that are accepted (or queued) and never send a byte."""
    return [socket.create_connection(address(running), timeout=10) for _ in range(count)]


def status_of(url: str, timeout: float = 10) -> int:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def raw_request(
    running: Server, head: str, body: bytes = b"", timeout: float = 10
) -> tuple[str, float]:
    """Send `head` (and `body`), return the status line and when it came."""
    with socket.create_connection(address(running), timeout=timeout) as conn:
        conn.sendall(head.encode() + body)
        answer = conn.recv(4096).decode("latin-1")
        return answer.split("\r\n", 1)[0], time.monotonic()


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Server]:
    running = Server(tmp_path, syslog=False)
    yield running
    if running.proc.poll() is None:
        running.stop()


# -- item 6: idle connections -----------------------------------------------------------


def test_idle_connections_do_not_take_the_service_down(served):
    held = idle_connections(served, 150)
    try:
        time.sleep(0.5)  # all accepted by the server's event loop
        assert status_of(served.url + "/healthz") == 200
        assert status_of(served.url + "/metrics") == 200
        assert WebUser(served.url).get("/login", timeout=10).status == 200
        status, _ = post(served.url, b'{"a": 1}', "application/json", token="wrong")
        assert status == 401
    finally:
        for conn in held:
            conn.close()
    code, output = served.stop()
    assert code == 0 and "Traceback" not in output


def test_idle_connections_beyond_the_limit_are_closed_and_service_resumes(tmp_path):
    running = Server(
        tmp_path,
        syslog=False,
        env={"HAWATCH_SERVE_CONNECTION_LIMIT": "20", "HAWATCH_SERVE_CHANNEL_TIMEOUT_SECONDS": "2"},
    )
    held = idle_connections(running, 40)
    try:
        # the server answers again once it has closed the idle connections it accepted
        assert status_of(running.url + "/healthz", timeout=30) == 200
        closed = 0
        for conn in held[:10]:  # accepted first, so timed out first
            conn.settimeout(10)
            try:
                closed += conn.recv(1) == b""
            except (ConnectionResetError, TimeoutError):
                pass
        assert closed == 10
    finally:
        for conn in held:
            conn.close()
        code, output = running.stop()
    assert code == 0 and "Traceback" not in output


# -- item 12: request bodies ------------------------------------------------------------


def upload_head(length: int, token: str | None, path: str = "/api/v1/ingest") -> str:
    auth = f"Authorization: Bearer {token}\r\n" if token else ""
    return (
        f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\n{auth}"
        f"Content-Length: {length}\r\n\r\n"
    )


@pytest.mark.parametrize(
    ("length", "token", "path"),
    [
        (200 * MIB, None, "/api/v1/ingest"),  # a stranger's large upload
        (2 * MIB, None, "/api/v1/ingest"),  # small for an upload, large for a stranger
        (2 * MIB, "wrong", "/api/v1/ingest"),
        (2 * MIB, None, "/login"),
        (2 * MIB, TOKEN, "/login"),  # the token is for uploads only
        (65 * MIB, TOKEN, "/api/v1/ingest"),  # beyond serve.max_request_megabytes (64)
    ],
)
def test_a_body_over_its_limit_is_refused_before_it_is_sent(served, length, token, path):
    # only the headers are sent: the answer must not wait for the body
    status, _ = raw_request(served, upload_head(length, token, path))
    assert status.startswith("HTTP/1.1 413"), status
    assert status_of(served.url + "/healthz") == 200


def test_a_chunked_body_is_cut_off_at_the_limit(served):
    head = (
        "POST /api/v1/ingest HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\n"
        "Transfer-Encoding: chunked\r\n\r\n"
    )
    chunk = b"x" * 65536
    with socket.create_connection(address(served), timeout=10) as conn:
        conn.sendall(head.encode())
        sent, answer = 0, b""
        try:
            while sent < 64 * MIB and not answer:
                conn.sendall(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
                sent += len(chunk)
                conn.setblocking(False)
                try:
                    answer = conn.recv(4096)
                except BlockingIOError:
                    pass
                conn.setblocking(True)
        except (BrokenPipeError, ConnectionResetError):
            pass
        if not answer:
            conn.settimeout(10)
            answer = conn.recv(4096)
    assert answer.startswith(b"HTTP/1.1 413"), answer[:100]
    # refused after about 1 MiB (plus what the kernel buffers on loopback), not 64
    assert sent < 16 * MIB


def test_an_authenticated_upload_within_the_limit_is_accepted(served):
    line = (
        b'<134>  id=firewall sn=0040103CE114 time="2022-05-16 15:22:26 UTC" fw=10.0.0.96'
        b' pri=6 c=1024 m=537 msg="Connection Closed" n=1\n'
    )
    body = line * (3 * MIB // len(line))  # more than the 1 MiB a stranger may send
    status, report = post(served.url, body, "text/plain")
    assert status == 200 and report["records"] == 3 * MIB // len(line), report
