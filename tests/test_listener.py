"""The syslog listener child, for real: a `python3 -m collector.listener` process, real sockets on
127.0.0.1, real senders (Python's SysLogHandler, util-linux `logger`), real signals.

Every wait is a bounded poll with a deadline; nothing is mocked.
"""

from __future__ import annotations

import json
import logging
import logging.handlers
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hawatch.collector.listener import (
    PORTS_FILE,
    STATS_FILE,
    ListenerConfig,
    listener_argv,
    read_ports,
    read_stats,
)
from hawatch.collector.spool import SpoolWriter, closed_files, receive_second, recover_parts

from tests.test_parse_sonicos import E_AWS_537

ROOT = Path(__file__).resolve().parent.parent
FORBIDDEN = re.compile(r"\|\s+(duckdb|pyarrow|pandas|store|analytics)(\.|\s*$)", re.M)


def wait_until(check: Callable[[], object], timeout: float = 8.0, what: str = "") -> object:
    """Poll `check` until it returns something truthy; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout} s waiting for {what or check}")


def spooled(spool: Path) -> list[bytes]:
    """Every line in the closed spool files, oldest file first."""
    return [line for path in closed_files(spool)
            for line in path.read_bytes().split(b"\n")[:-1]]  # newline-terminated, LF only


class Child:
    """A running listener process and what it tells us through its spool folder."""

    def __init__(self, spool: Path, *extra: str) -> None:
        self.spool = spool
        self.stderr_path = spool.parent / f"{spool.name}-stderr.txt"
        cmd = [sys.executable, "-X", "importtime", "-m", "hawatch.collector.listener", "--spool",
               str(spool), "--udp", "127.0.0.1:0", "--tcp", "127.0.0.1:0", *extra]
        with open(self.stderr_path, "wb") as err:
            self.proc = subprocess.Popen(cmd, cwd=ROOT, stderr=err)
        ports = wait_until(self._ports, 10, "the ports file")
        self.udp, self.tcp = ports["udp"]["port"], ports["tcp"]["port"]

    def _ports(self) -> dict | None:
        if self.proc.poll() is not None:
            raise AssertionError(f"listener exited {self.proc.returncode}: {self.stderr()}")
        try:
            ports = json.loads((self.spool / PORTS_FILE).read_text())
        except (OSError, ValueError):
            return None
        return ports if ports["pid"] == self.proc.pid else None

    def stats(self) -> dict:
        try:
            stats = json.loads((self.spool / STATS_FILE).read_text())
        except (OSError, ValueError):
            return {}
        return stats if stats.get("pid") == self.proc.pid else {}

    def received(self, source: str) -> int:
        return self.stats().get("sources", {}).get(source, {}).get("lines", 0)

    def stderr(self) -> str:
        return self.stderr_path.read_text(errors="replace")

    def lines_with(self, token: bytes, count: int = 1) -> list[bytes]:
        """Wait until `count` spooled lines contain `token`; return them."""
        def found() -> list[bytes] | None:
            lines = [line for line in spooled(self.spool) if token in line]
            return lines if len(lines) >= count else None
        return wait_until(found, 8, f"{count} spooled lines with {token!r}")

    def terminate(self) -> int:
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=5)

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=5)


@pytest.fixture
def child(tmp_path: Path) -> Iterator[Child]:
    running = Child(tmp_path / "spool")
    yield running
    running.kill()


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Child]:
    """One listener for the sender-compatibility tests (each uses its own tokens)."""
    running = Child(tmp_path_factory.mktemp("shared") / "spool")
    yield running
    running.kill()


def tcp_send(port: int, payload: bytes) -> None:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as conn:
        conn.sendall(payload)


def udp_send(port: int, *datagrams: bytes) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        for datagram in datagrams:
            sock.sendto(datagram, ("127.0.0.1", port))


# -- senders as they exist in the wild --------------------------------------------------------

HEADERS = {  # what a SysLogHandler formatter puts before the message
    "rfc3164": ("%(asctime)s fw-relay hawatch-test: %(message)s", "%b %d %H:%M:%S"),
    "rfc5424": ("1 %(asctime)s fw-relay hawatch-test - - - %(message)s", "%Y-%m-%dT%H:%M:%SZ"),
}


@pytest.mark.parametrize("transport", ["udp", "tcp"])
@pytest.mark.parametrize("header", sorted(HEADERS))
def test_python_sysloghandler(shared: Child, transport: str, header: str) -> None:
    """SysLogHandler sends `<PRI>message\\0`: the NUL goes, the message stays byte for byte."""
    socktype = socket.SOCK_DGRAM if transport == "udp" else socket.SOCK_STREAM
    port = shared.udp if transport == "udp" else shared.tcp
    handler = logging.handlers.SysLogHandler(("127.0.0.1", port), socktype=socktype)
    handler.setFormatter(logging.Formatter(*HEADERS[header]))
    logger = logging.Logger(f"hawatch-test-{transport}-{header}")
    logger.addHandler(handler)
    token = f"pyhandler-{transport}-{header}-{os.getpid()}"
    for i in range(3):
        logger.warning("%s #%d", token, i)
    handler.close()
    lines = shared.lines_with(token.encode(), 3)
    assert len(lines) == 3
    pattern = (rb"<12>\w{3} [ \d]\d \d\d:\d\d:\d\d fw-relay hawatch-test: " if header == "rfc3164"
               else rb"<12>1 \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ fw-relay hawatch-test - - - ")
    for i, line in enumerate(sorted(lines)):
        assert re.fullmatch(pattern + re.escape(f"{token} #{i}".encode()), line), line


LOGGER_MODES = [["--udp"], ["--tcp"], ["--tcp", "--octet-count"]]


@pytest.mark.parametrize("mode", LOGGER_MODES, ids=lambda mode: "-".join(mode))
def test_logger_command(shared: Child, mode: list[str]) -> None:
    """util-linux `logger`: no newline on UDP, LF on TCP, a byte count with --octet-count."""
    if shutil.which("logger") is None:
        pytest.skip("the logger command (util-linux / bsdutils) is not installed")
    port = shared.udp if mode == ["--udp"] else shared.tcp
    tokens = {}
    for header in ("--rfc5424", "--rfc3164"):
        token = f"logger{''.join(mode)}{header}-{os.getpid()}"
        subprocess.run(["logger", "--server", "127.0.0.1", "--port", str(port), *mode, header,
                        "-p", "user.notice", "-t", "hawatch-test", token], check=True, timeout=10)
        tokens[header] = token
    (rfc5424,) = shared.lines_with(tokens["--rfc5424"].encode())
    (rfc3164,) = shared.lines_with(tokens["--rfc3164"].encode())
    assert re.fullmatch(rb"<13>1 \d{4}-\d\d-\d\dT\S+ \S+ hawatch-test \S+ - .*"
                        + tokens["--rfc5424"].encode(), rfc5424), rfc5424
    assert re.fullmatch(rb"<13>\w{3} [ \d]\d \d\d:\d\d:\d\d \S+ hawatch-test(\[\d+\])?: "
                        + tokens["--rfc3164"].encode(), rfc3164), rfc3164


def test_sonicos_line_arrives_byte_exact(shared: Child) -> None:
    """A real SonicOS line, with every terminator senders use, spools exactly as sent."""
    raw = E_AWS_537.encode()
    udp_send(shared.udp, raw, raw + b"\n", raw + b"\x00", raw + b"\r\n")
    tcp_send(shared.tcp, raw + b"\n" + raw + b"\r\n" + raw + b"\x00" + raw)  # last: ends at EOF
    octets = b"".join(b"%d %s" % (len(body), body) for body in (raw, raw + b"\n"))
    tcp_send(shared.tcp, octets)
    lines = shared.lines_with(raw, 10)
    assert lines == [raw] * 10


def test_octet_counting_keeps_embedded_newlines_on_one_line(shared: Child) -> None:
    """`<len> <msg>` frames may carry newlines: one frame is still one spool line, even when the
    frames arrive in pieces that cut headers and bodies anywhere."""
    bodies = [f"<13>octet-{i} first\nsecond\r\nthird\r{'x' * i} end".encode() for i in range(40)]
    stream = b"".join(b"%d %s" % (len(body), body) for body in bodies)
    with socket.create_connection(("127.0.0.1", shared.tcp), timeout=5) as conn:
        for start in range(0, len(stream), 7):
            conn.sendall(stream[start:start + 7])
    lines = shared.lines_with(b"first second", 40)
    expected = sorted(body.replace(b"\r\n", b" ").replace(b"\n", b" ") for body in bodies)
    assert sorted(line for line in lines if line.startswith(b"<13>octet-")) == expected


def test_overlong_frames_are_cut_and_spooled(child: Child) -> None:
    """A frame over 64 KiB keeps its first 64 KiB as a line; the cut is counted; the next
    frame on the same connection is intact."""
    big = b"<13>long-plain " + b"p" * 70_000
    tcp_send(child.tcp, big + b"\n<13>after-plain\n")
    body = b"<13>long-octet " + b"o" * 70_000
    tcp_send(child.tcp, b"%d %s" % (len(body), body) + b"15 <13>after-octet")
    child.lines_with(b"after-plain")
    child.lines_with(b"after-octet")
    lines = spooled(child.spool)
    assert [line[:15] for line in lines if b"long-" in line] in (
        [b"<13>long-plain ", b"<13>long-octet "], [b"<13>long-octet ", b"<13>long-plain "])
    assert all(len(line) == 65536 for line in lines if b"long-" in line)
    wait_until(lambda: child.stats().get("sources", {}).get("tcp", {}).get("frames_cut") == 2,
               5, "frames_cut == 2 in the stats")


# -- volume, stopping, crashing ---------------------------------------------------------------

def test_ten_thousand_udp_datagrams_all_arrive(child: Child) -> None:
    """At a modest rate (about 20k/s in bursts of 100) nothing is lost."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        for start in range(0, 10_000, 100):
            for i in range(start, start + 100):
                sock.sendto(b"<134>  id=firewall sn=0040103CE114 m=537 n=%d\x00" % i,
                            ("127.0.0.1", child.udp))
            time.sleep(0.005)
    wait_until(lambda: child.received("udp") >= 10_000, 10, "10,000 UDP lines received")
    lines = wait_until(lambda: (found := spooled(child.spool)) and len(found) >= 10_000
                       and found, 5, "10,000 lines in closed spool files")
    assert sorted(int(line.rsplit(b"=", 1)[1]) for line in lines) == list(range(10_000))
    stats = child.stats()["sources"]["udp"]
    assert stats["lines"] == 10_000 and stats["kernel_drops"] == 0


def send_tcp_lines(port: int, prefix: str, count: int, connections: int = 4) -> set[bytes]:
    """`count` distinct lines over several open connections; returns what was sent."""
    sent: set[bytes] = set()
    conns = [socket.create_connection(("127.0.0.1", port), timeout=5) for _ in range(connections)]
    try:
        for i in range(count):
            line = f"<134>  id=firewall sn=0040103CE114 {prefix} n={i}".encode()
            conns[i % connections].sendall(line + b"\n")
            sent.add(line)
    finally:
        for conn in conns:
            conn.close()
    return sent


def test_sigterm_flushes_everything_and_exits_0(child: Child) -> None:
    sent = send_tcp_lines(child.tcp, "sigterm", 5000)
    started = time.monotonic()
    assert child.terminate() == 0
    assert time.monotonic() - started < 3
    assert not list(child.spool.glob("*.part"))
    assert not (child.spool / PORTS_FILE).exists()
    lines = spooled(child.spool)
    assert len(lines) == len(sent) and set(lines) == sent
    final = json.loads((child.spool / STATS_FILE).read_text())
    assert final["sources"]["tcp"]["lines"] == len(sent)


def test_sigkill_then_recover_parts_keeps_every_received_line(tmp_path: Path) -> None:
    """Lines counted as received are in `.part` files, which survive a SIGKILL; recover_parts
    leaves them alone while the listener lives and publishes them once it is gone."""
    listener = Child(tmp_path / "spool", "--rotate-seconds", "3600")
    try:
        sent = send_tcp_lines(listener.tcp, "sigkill", 3000)
        wait_until(lambda: listener.received("tcp") == len(sent), 10, "3000 lines received")
        assert recover_parts(listener.spool) == []  # the live listener holds the lock
        assert list(listener.spool.glob("tcp-*.part"))
    finally:
        listener.proc.kill()
        listener.proc.wait(timeout=5)
    assert not closed_files(listener.spool)
    recovered = recover_parts(listener.spool)
    assert recovered and not list(listener.spool.glob("*.part"))
    lines = spooled(listener.spool)
    assert len(lines) == len(sent) and set(lines) == sent


def test_stats_file_reports_counts(child: Child) -> None:
    udp_send(child.udp, b"<13>stats one", b"<13>stats two\n", b"\x00")
    tcp_send(child.tcp, b"<13>stats three\n")
    wait_until(lambda: child.received("udp") == 2 and child.received("tcp") == 1, 5)
    stats = wait_until(lambda: (s := child.stats()) and
                       s["sources"]["tcp"]["connections_open"] == 0 and s, 5)
    udp, tcp = stats["sources"]["udp"], stats["sources"]["tcp"]
    assert stats["pid"] == child.proc.pid
    assert abs(stats["updated_unix"] - time.time()) < 5
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", stats["updated_at"])
    assert udp["bytes"] == 13 + 14 + 1 and udp["empty_datagrams"] == 1
    assert udp["kernel_drops"] == 0 and udp["rcvbuf_requested"] == 8 * 1024 * 1024
    assert udp["rcvbuf_granted"] > 0 and udp["bound"] == f"127.0.0.1:{child.udp}"
    assert tcp["connections_total"] == 1 and tcp["frames_cut"] == 0
    assert tcp["bytes"] == 16
    wait_until(lambda: child.stats()["sources"]["udp"]["spool_files_closed"] >= 1, 5)


def test_child_never_imports_the_database(child: Child) -> None:
    """Even after handling traffic and stopping, duckdb & co. were never loaded in the child."""
    udp_send(child.udp, b"<13>imports")
    tcp_send(child.tcp, b"<13>imports\n")
    child.lines_with(b"imports", 2)
    assert child.terminate() == 0
    importtime = child.stderr()
    assert "collector.syslog_udp" in importtime  # -X importtime did report
    assert not FORBIDDEN.findall(importtime)
    check = subprocess.run([sys.executable, "-m", "hawatch.collector.listener", "--selftest-imports"],
                           cwd=ROOT, capture_output=True, text=True, timeout=30)
    assert check.returncode == 0 and json.loads(check.stdout) == {"forbidden_modules": []}


# -- start-up errors --------------------------------------------------------------------------

@pytest.mark.parametrize("kind", [socket.SOCK_DGRAM, socket.SOCK_STREAM])
def test_address_in_use_is_one_line_and_exit_2(tmp_path: Path, kind: int) -> None:
    with socket.socket(socket.AF_INET, kind) as taken:
        taken.bind(("127.0.0.1", 0))
        if kind == socket.SOCK_STREAM:
            taken.listen()
        port = taken.getsockname()[1]
        flag = "--udp" if kind == socket.SOCK_DGRAM else "--tcp"
        result = subprocess.run(
            [sys.executable, "-m", "hawatch.collector.listener", "--spool", str(tmp_path / "spool"),
             flag, f"127.0.0.1:{port}"], cwd=ROOT, capture_output=True, text=True, timeout=30)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "address already in use" in result.stderr


def test_second_listener_on_the_same_spool_exits_2(child: Child) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "hawatch.collector.listener", "--spool", str(child.spool),
         "--udp", "127.0.0.1:0"], cwd=ROOT, capture_output=True, text=True, timeout=30)
    assert result.returncode == 2
    assert f"in use by another listener (pid {child.proc.pid})" in result.stderr


def test_parent_helpers_start_an_ipv6_tcp_listener(tmp_path: Path) -> None:
    """What `hawatch serve` uses: listener_argv for Popen, read_ports, read_stats."""
    if not socket.has_ipv6:
        pytest.skip("no IPv6 on this machine")
    config = ListenerConfig(tmp_path / "spool", udp=("127.0.0.1", 0), tcp=("::1", 0),
                            exit_with_parent=True)
    proc = subprocess.Popen(listener_argv(config), cwd=ROOT, stderr=subprocess.DEVNULL)
    try:
        ports = wait_until(lambda: read_ports(config.spool_dir, proc.pid), 10, "the ports")
        assert ports["tcp"]["host"] == "::1"
        with socket.create_connection(("::1", ports["tcp"]["port"]), timeout=5) as conn:
            conn.sendall(b"<13>over ipv6\n")
        wait_until(lambda: read_stats(config.spool_dir).get("sources", {}).get("tcp", {})
                   .get("lines") == 1, 5, "one TCP line received")
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=5) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=5)
    assert spooled(config.spool_dir) == [b"<13>over ipv6"]
    assert read_ports(config.spool_dir) is None  # removed on a clean exit


# -- the spool on its own ---------------------------------------------------------------------

def test_spool_writer_rotates_by_receive_second(tmp_path: Path) -> None:
    """Files are named by the UTC receive second; closed files sort oldest first; a leftover
    `.part` loses an unfinished last line (never counted as received) and is published."""
    writer = SpoolWriter(tmp_path, "udp", rotate_seconds=1)
    base = 1_793_527_203.0  # 2026-11-01T10:00:03Z
    writer.write(b"a\nb\n", 2, when=base + 0.2)
    writer.write(b"c\n", 1, when=base + 1.5)  # a new second: the first file is handed over
    writer.write(b"d\n", 1, when=base + 1.7)
    assert [p.name for p in writer.rotate(now=base + 1.9)] == ["udp-20261101T100003.0.log"]
    assert [p.name for p in writer.close()] == ["udp-20261101T100004.0.log"]
    writer.write(b"e\n", 1, when=base + 0.5)  # same second again: the next seq
    writer.close()
    names = [p.name for p in closed_files(tmp_path)]
    assert names == ["udp-20261101T100003.0.log", "udp-20261101T100003.1.log",
                     "udp-20261101T100004.0.log"]
    assert receive_second(tmp_path / names[0]) == base
    assert (writer.lines, writer.files_closed) == (5, 3)
    (tmp_path / "tcp-20261101T100002.0.part").write_bytes(b"whole line\nhalf a li")
    (tmp_path / "tcp-20261101T100002.1.part").write_bytes(b"")
    assert [p.name for p in recover_parts(tmp_path)] == ["tcp-20261101T100002.0.log"]
    assert (tmp_path / "tcp-20261101T100002.0.log").read_bytes() == b"whole line\n"
    assert closed_files(tmp_path)[0].name == "tcp-20261101T100002.0.log"
    assert not list(tmp_path.glob("*.part"))
