"""The syslog listener child, for real: a `python3 -m hawatch.collector.syslog.listener`
process, real sockets on 127.0.0.1, real senders (Python's SysLogHandler, util-linux `logger`),
real signals; and the same child inside a real `hawatch serve` (supervision, its log, its
environment, TCP limits).

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
from hawatch.collector.syslog.listener import (
    PORTS_FILE,
    STATS_FILE,
    ListenerConfig,
    listener_argv,
    read_ports,
    read_stats,
)
from hawatch.collector.syslog.spool import SpoolWriter, closed_files, receive_second, recover_parts

from tests.test_parse_sonicos import E_AWS_537

ROOT = Path(__file__).resolve().parent.parent
FORBIDDEN = re.compile(
    r"\|\s+(duckdb|pyarrow|pandas|hawatch\.store|hawatch\.analytics"
    r"|hawatch\.dashboard)(\.|\s*$)",
    re.M,
)


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
    return [
        line for path in closed_files(spool) for line in path.read_bytes().split(b"\n")[:-1]
    ]  # newline-terminated, LF only


class Child:
    """A running listener process and what it tells us through its spool folder."""

    def __init__(self, spool: Path, *extra: str) -> None:
        self.spool = spool
        self.stderr_path = spool.parent / f"{spool.name}-stderr.txt"
        cmd = [
            sys.executable,
            "-X",
            "importtime",
            "-m",
            "hawatch.collector.syslog.listener",
            "--spool",
            str(spool),
            "--udp",
            "127.0.0.1:0",
            "--tcp",
            "127.0.0.1:0",
            *extra,
        ]
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
    pattern = (
        rb"<12>\w{3} [ \d]\d \d\d:\d\d:\d\d fw-relay hawatch-test: "
        if header == "rfc3164"
        else rb"<12>1 \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ fw-relay hawatch-test - - - "
    )
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
        subprocess.run(
            [
                "logger",
                "--server",
                "127.0.0.1",
                "--port",
                str(port),
                *mode,
                header,
                "-p",
                "user.notice",
                "-t",
                "hawatch-test",
                token,
            ],
            check=True,
            timeout=10,
        )
        tokens[header] = token
    (rfc5424,) = shared.lines_with(tokens["--rfc5424"].encode())
    (rfc3164,) = shared.lines_with(tokens["--rfc3164"].encode())
    assert re.fullmatch(
        rb"<13>1 \d{4}-\d\d-\d\dT\S+ \S+ hawatch-test \S+ - .*" + tokens["--rfc5424"].encode(),
        rfc5424,
    ), rfc5424
    assert re.fullmatch(
        rb"<13>\w{3} [ \d]\d \d\d:\d\d:\d\d \S+ hawatch-test(\[\d+\])?: "
        + tokens["--rfc3164"].encode(),
        rfc3164,
    ), rfc3164


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
            conn.sendall(stream[start : start + 7])
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
        [b"<13>long-plain ", b"<13>long-octet "],
        [b"<13>long-octet ", b"<13>long-plain "],
    )
    assert all(len(line) == 65536 for line in lines if b"long-" in line)
    wait_until(
        lambda: child.stats().get("sources", {}).get("tcp", {}).get("frames_cut") == 2,
        5,
        "frames_cut == 2 in the stats",
    )


def octet(body: bytes) -> bytes:
    return b"%d %s" % (len(body), body)


def test_framing_is_decided_per_frame(shared: Child) -> None:
    """Issue 11 item 1: a sender may interleave octet-counted and newline/NUL-terminated frames
    on one connection (RFC 6587; rsyslog's imtcp decides per frame). Every message stays one
    line, whichever framing the connection began with."""
    ends = [octet, lambda m: m + b"\n", lambda m: m + b"\x00", lambda m: m + b"\r\n"]
    expected = []
    for first in range(len(ends)):  # one connection starting with each framing
        stream = b""
        for i in range(12):
            message = b"<134>perframe-%d-%02d id=firewall sn=0040103CE114 m=537" % (first, i)
            stream += ends[(first + i) % len(ends)](message)
            expected.append(message)
        tcp_send(shared.tcp, stream)
    lines = shared.lines_with(b"perframe-", len(expected))
    assert sorted(lines) == sorted(expected)


def test_a_frame_or_datagram_holding_two_messages_is_two_lines(shared: Child) -> None:
    """Issue 11 item 1: whatever the framing, a line break or NUL followed by a `<PRI>` header
    starts a new message (SonicOS text never holds a raw line break); other line breaks keep a
    multi-line message on one line, and a `<PRI>` inside a line is text, not a boundary."""
    tcp_send(
        shared.tcp,
        octet(b"<134>two-a first\n<134>two-b second")
        + octet(b"<12>two-c\x00<12>two-d\x00")
        + b"<13>two-k\r<13>two-l\n",
    )
    udp_send(
        shared.udp,
        b"<134>two-e\n<134>two-f",
        b"<12>two-g\x00<12>two-h\x00",
        b"<13>two-i\r\n<13>two-j",
        b"<13>two-m line one\nline two",
        b"<13>two-n says <134> hi",
    )
    lines = shared.lines_with(b"two-", 14)
    assert sorted(lines) == [
        b"<12>two-c",
        b"<12>two-d",
        b"<12>two-g",
        b"<12>two-h",
        b"<134>two-a first",
        b"<134>two-b second",
        b"<134>two-e",
        b"<134>two-f",
        b"<13>two-i",
        b"<13>two-j",
        b"<13>two-k",
        b"<13>two-l",
        b"<13>two-m line one line two",
        b"<13>two-n says <134> hi",
    ]


def test_a_count_that_is_not_one_does_not_swallow_the_stream(shared: Child) -> None:
    """A newline-framed line that begins with digits is not taken for an octet count when the
    count is beyond any frame and no syslog message follows it: it would swallow megabytes
    of the messages after it."""
    tcp_send(
        shared.tcp,
        b"20261101 digits-first line\n<13>digits-after\n"
        + octet(b"<13>digits-octet")
        + b"2026-11-01 digits-date\n",
    )
    lines = shared.lines_with(b"digits-", 4)
    assert sorted(lines) == sorted(
        [
            b"20261101 digits-first line",
            b"<13>digits-after",
            b"<13>digits-octet",
            b"2026-11-01 digits-date",
        ]
    )


@pytest.mark.parametrize("seed", range(5))
def test_framer_gives_the_same_lines_however_the_stream_is_cut(seed: int) -> None:
    """Mixed framings, cut into random pieces (as TCP delivers them): always the same lines."""
    import random

    from hawatch.collector.syslog.framing import Framer

    rng = random.Random(seed)
    messages = [b"<13>cut-%d %s" % (i, b"x" * rng.randint(0, 300)) for i in range(300)]
    ends = [octet, lambda m: m + b"\n", lambda m: m + b"\x00", lambda m: m + b"\r\n"]
    stream = b"".join(rng.choice(ends)(m) + b"\n" * rng.randint(0, 1) for m in messages)
    framer, lines, pos = Framer(), b"", 0
    while pos < len(stream):
        step = rng.randint(1, 700)
        lines += framer.feed(stream[pos : pos + step])[0]
        pos += step
    lines += framer.finish()[0]
    assert lines.split(b"\n")[:-1] == messages
    assert framer.misframed == framer.frames_cut == 0


# -- volume, stopping, crashing ---------------------------------------------------------------


def test_ten_thousand_udp_datagrams_all_arrive(child: Child) -> None:
    """At a modest rate (about 20k/s in bursts of 100) nothing is lost."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        for start in range(0, 10_000, 100):
            for i in range(start, start + 100):
                sock.sendto(
                    b"<134>  id=firewall sn=0040103CE114 m=537 n=%d\x00" % i,
                    ("127.0.0.1", child.udp),
                )
            time.sleep(0.005)
    wait_until(lambda: child.received("udp") >= 10_000, 10, "10,000 UDP lines received")
    lines = wait_until(
        lambda: (found := spooled(child.spool)) and len(found) >= 10_000 and found,
        5,
        "10,000 lines in closed spool files",
    )
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
    stats = wait_until(
        lambda: (s := child.stats()) and s["sources"]["tcp"]["connections_open"] == 0 and s, 5
    )
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
    assert "collector.syslog.udp" in importtime  # -X importtime did report
    assert not FORBIDDEN.findall(importtime)
    check = subprocess.run(
        [sys.executable, "-m", "hawatch.collector.syslog.listener", "--selftest-imports"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
    )
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
            [
                sys.executable,
                "-m",
                "hawatch.collector.syslog.listener",
                "--spool",
                str(tmp_path / "spool"),
                flag,
                f"127.0.0.1:{port}",
            ],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=30,
        )
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "address already in use" in result.stderr


def test_second_listener_on_the_same_spool_exits_2(child: Child) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "hawatch.collector.syslog.listener",
            "--spool",
            str(child.spool),
            "--udp",
            "127.0.0.1:0",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2
    assert f"in use by another listener (pid {child.proc.pid})" in result.stderr


def test_parent_helpers_start_an_ipv6_tcp_listener(tmp_path: Path) -> None:
    """What `hawatch serve` uses: listener_argv for Popen, read_ports, read_stats."""
    if not socket.has_ipv6:
        pytest.skip("no IPv6 on this machine")
    config = ListenerConfig(
        tmp_path / "spool", udp=("127.0.0.1", 0), tcp=("::1", 0), exit_with_parent=True
    )
    proc = subprocess.Popen(listener_argv(config), cwd=ROOT, stderr=subprocess.DEVNULL)
    try:
        ports = wait_until(lambda: read_ports(config.spool_dir, proc.pid), 10, "the ports")
        assert ports["tcp"]["host"] == "::1"
        with socket.create_connection(("::1", ports["tcp"]["port"]), timeout=5) as conn:
            conn.sendall(b"<13>over ipv6\n")
        wait_until(
            lambda: (
                read_stats(config.spool_dir).get("sources", {}).get("tcp", {}).get("lines") == 1
            ),
            5,
            "one TCP line received",
        )
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
    (first,) = writer.rotate(now=base + 1.9)
    (second,) = writer.close()
    writer.write(b"e\n", 1, when=base + 0.5)  # same second again: another file
    (third,) = writer.close()
    unique = rf"\.\d+-{os.getpid()}-\d+\.log"
    assert re.fullmatch(r"udp-20261101T100003" + unique, first.name)
    assert re.fullmatch(r"udp-20261101T100004" + unique, second.name)
    assert re.fullmatch(r"udp-20261101T100003" + unique, third.name)
    assert closed_files(tmp_path) == [first, third, second]
    assert [p.read_bytes() for p in (first, third, second)] == [b"a\nb\n", b"e\n", b"c\nd\n"]
    assert receive_second(first) == base
    assert (writer.lines, writer.files_closed) == (5, 3)
    (tmp_path / "tcp-20261101T100002.0.part").write_bytes(b"whole line\nhalf a li")
    (tmp_path / "tcp-20261101T100002.1.part").write_bytes(b"")
    assert [p.name for p in recover_parts(tmp_path)] == ["tcp-20261101T100002.0.log"]
    assert (tmp_path / "tcp-20261101T100002.0.log").read_bytes() == b"whole line\n"
    assert closed_files(tmp_path)[0].name == "tcp-20261101T100002.0.log"
    assert not list(tmp_path.glob("*.part"))


def test_spool_files_and_folder_are_private(tmp_path: Path) -> None:
    """Issue 10 item 16: raw syslog is readable by the service's user only."""
    from hawatch.collector.syslog.spool import make_private_dir

    spool = tmp_path / "spool"
    spool.mkdir(mode=0o755)
    make_private_dir(spool)
    writer = SpoolWriter(spool, "tcp")
    writer.write(b"x\n", 1)
    (part,) = spool.glob("*.part")
    assert part.stat().st_mode & 0o777 == 0o600
    (closed,) = writer.close()
    assert closed.stat().st_mode & 0o777 == 0o600
    assert spool.stat().st_mode & 0o777 == 0o700


def _serve_service(tmp_path: Path):
    """serve's ingest side (hawatch.serve.Service) on a real store and spool folder."""
    from hawatch.store import Store

    from hawatch.config import load_config
    from hawatch.serve import Service

    settings = load_config(env={})
    settings["db"] = str(tmp_path / "hawatch.duckdb")
    spool = tmp_path / "spool"
    spool.mkdir()
    return Service(settings, Store(settings["db"]), spool)


def _stored_lines(service) -> int:
    return (
        service.store.cursor()
        .execute("SELECT coalesce(sum(lines), 0) FROM message_counts")
        .fetchone()[0]
    )


def _sonicos(n: int) -> bytes:
    from tests.test_serve import LINE

    return LINE.format(n=n).encode() + b"\n"


def test_spool_names_are_never_reused(tmp_path: Path) -> None:
    """Issue 10 item 10: a write for a second whose file was already published and ingested
    (deleted) - a UDP batch retried after the disk was full - must get a new name, and so
    must a restarted listener's first file."""
    base = 1_793_527_203.0
    writer = SpoolWriter(tmp_path, "udp")
    writer.write(b"a\n", 1, when=base + 0.2)
    (first,) = writer.close()
    first.unlink()  # ingested
    writer.write(b"b\n", 1, when=base + 0.4)  # the delayed write, same second
    (second,) = writer.close()
    restarted = SpoolWriter(tmp_path, "udp")
    restarted.write(b"c\n", 1, when=base + 0.6)
    (third,) = restarted.close()
    assert len({first.name, second.name, third.name}) == 3, (first, second, third)
    assert [receive_second(p) for p in (second, third)] == [base, base]
    assert closed_files(tmp_path) == [second, third]


def test_a_delayed_udp_write_loses_no_line_in_the_store(tmp_path: Path) -> None:
    """Issue 10 item 10 end to end through serve's ingest: the file of a delayed write for an
    already ingested second is stored whole (it was resumed at the old file's offset)."""
    service = _serve_service(tmp_path)
    try:
        base = time.time() - 30
        writer = SpoolWriter(service.spool, "udp")
        writer.write(b"".join(_sonicos(n) for n in range(3)), 3, when=base)
        writer.close()
        assert service.ingest_pending() == 1 and _stored_lines(service) == 3
        writer.write(b"".join(_sonicos(n) for n in range(3, 8)), 5, when=base)
        writer.close()
        assert service.ingest_pending() == 1
        assert _stored_lines(service) == 8
    finally:
        service.store.close()


def test_a_reused_spool_file_name_is_read_from_its_start(tmp_path: Path) -> None:
    """Belt and braces for the same defect: a spool file carrying the name of one already
    ingested (a restored backup, a clock set back) is a new source, not the old one resumed."""
    service = _serve_service(tmp_path)
    try:
        name = service.spool / "udp-20261101T100003.0.log"
        name.write_bytes(b"".join(_sonicos(n) for n in range(3)))
        assert service.ingest_pending() == 1 and not name.exists()
        name.write_bytes(b"".join(_sonicos(n) for n in range(3, 8)))
        assert service.ingest_pending() == 1
        assert _stored_lines(service) == 8
    finally:
        service.store.close()


# -- the listener inside a real `hawatch serve` -----------------------------------------------


def stored(db: Path) -> int:
    from tests.test_serve import sql

    return sql(db, "SELECT coalesce(sum(lines), 0) AS n FROM message_counts")[0]["n"]


def test_mixed_framing_through_serve_stores_every_message(tmp_path: Path) -> None:
    """Issue 11 item 1 against a real server: a fleet whose relay interleaved octet-counted and
    newline-framed messages on one connection lost one message in each merged pair."""
    from tests.test_serve import LINE, Server, sql

    running = Server(tmp_path)
    try:
        stream = b"".join(
            octet(LINE.format(n=n).encode()) if n % 2 else LINE.format(n=n).encode() + b"\n"
            for n in range(72)
        )
        tcp_send(running.ports["tcp"]["port"], stream)
        wait_until(
            lambda: (
                running.proc.poll() is not None
                or (
                    read_stats(running.db.with_suffix(".duckdb.spool"))
                    .get("sources", {})
                    .get("tcp", {})
                    .get("lines", 0)
                    >= 36
                )
            ),
            15,
            "the listener received",
        )
    finally:
        code, output = running.stop()
    assert code == 0, output
    assert stored(running.db) == 72
    assert sql(running.db, "SELECT count(*) AS n FROM quarantine") == [{"n": 0}]


def child_pid(spool: Path) -> int:
    return json.loads((spool / PORTS_FILE).read_text())["pid"]


def threads_of(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(r"^Threads:\s+(\d+)", status, re.M)[1])


def test_idle_tcp_connections_do_not_lock_senders_out(tmp_path: Path) -> None:
    """Issue 10 item 15 against a real server: idle connections past the limit held every slot
    and every new sender was refused. Now the limit is a setting, the connections cost no
    thread each, and when it is reached the longest-idle connection of the address holding
    the most gives way."""
    if shutil.which("logger") is None:
        pytest.skip("the logger command (util-linux / bsdutils) is not installed")
    from tests.test_serve import Server

    running = Server(tmp_path, env={"HAWATCH_SERVE_SYSLOG_TCP_MAX_CONNECTIONS": "64"})
    port = running.ports["tcp"]["port"]
    idle = []
    try:
        for _ in range(300):
            idle.append(socket.create_connection(("127.0.0.1", port), timeout=10))
        spool = Path(str(running.db) + ".spool")

        def handled() -> int:
            tcp = read_stats(spool).get("sources", {}).get("tcp", {})
            return tcp.get("connections_total", 0) + tcp.get("connections_rejected", 0)

        wait_until(lambda: handled() >= 300, 15, "300 connections accepted or refused")
        token = f"idle-slots-{os.getpid()}"
        subprocess.run(
            [
                "logger",
                "--server",
                "127.0.0.1",
                "--port",
                str(port),
                "--tcp",
                "--rfc3164",
                "-t",
                "hawatch-test",
                token,
            ],
            check=True,
            timeout=10,
        )
        wait_until(
            lambda: any(token.encode() in line for line in spooled_or_stored(spool)),
            15,
            "the sender's line",
        )
        assert threads_of(child_pid(spool)) < 10
        stats = read_stats(spool)["sources"]["tcp"]
        assert stats["connections_open"] <= 64 and stats["connections_evicted"] >= 237
    finally:
        for conn in idle:
            conn.close()
        running.stop()


def spooled_or_stored(spool: Path) -> list[bytes]:
    """Lines in closed spool files, plus the quarantine's raw lines once serve ingested them
    (a logger line is no SonicOS line: it is quarantined with its text)."""
    from tests.test_serve import sql

    db = Path(str(spool)[: -len(".spool")])
    return spooled(spool) + [row["raw"].encode() for row in sql(db, "SELECT raw FROM quarantine")]


def test_an_idle_tcp_connection_is_closed_after_the_set_time(tmp_path: Path) -> None:
    """Issue 10 item 15: `serve.syslog_tcp_idle_seconds` closes a connection that sent nothing
    for that long (off by default: a sender may lose the message it writes next)."""
    from tests.test_serve import Server

    running = Server(tmp_path, env={"HAWATCH_SERVE_SYSLOG_TCP_IDLE_SECONDS": "1"})
    try:
        with socket.create_connection(
            ("127.0.0.1", running.ports["tcp"]["port"]), timeout=15
        ) as conn:
            conn.sendall(b"<13>before going quiet\n")
            assert conn.recv(1) == b""  # the server closed it
        spool = Path(str(running.db) + ".spool")
        wait_until(
            lambda: read_stats(spool)["sources"]["tcp"]["connections_idle_closed"] == 1,
            5,
            "the idle close counted",
        )
    finally:
        running.stop()


def get_json(url: str) -> tuple[int, dict]:
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def metrics_of(url: str) -> str:
    import urllib.request

    with urllib.request.urlopen(url + "/metrics", timeout=10) as response:
        return response.read().decode()


def test_the_listeners_log_never_blocks_intake(tmp_path: Path) -> None:
    """Issue 10 item 3 against a real server: the child's stderr was a pipe nobody read, so
    after 64 KiB of log output in the server's life its next log call blocked for ever (and
    with it the connection, or the accept loop, that logged). We write those 64 KiB into
    the pipe ourselves, then a misframing sender makes the child log: its lines must land,
    and the warning must reach serve's own log."""
    from tests.test_serve import LINE, Server

    running = Server(tmp_path)
    spool = Path(str(running.db) + ".spool")
    try:
        pipe = os.open(f"/proc/{child_pid(spool)}/fd/2", os.O_WRONLY | os.O_NONBLOCK)
        try:
            for _ in range(32):  # 64 KiB in 2-KiB lines: what a pipe holds
                os.write(pipe, b"x" * 2047 + b"\n")
        except BlockingIOError:
            pass  # full: nobody reads it
        finally:
            os.close(pipe)
        body = b"".join(LINE.format(n=n).encode() + b"\n" for n in range(20))
        tcp_send(running.ports["tcp"]["port"], b"5x <13>misframed\n" + body)
        wait_until(lambda: stored(running.db) == 20, 20, "the misframing sender's lines")
        assert get_json(running.url + "/healthz")[0] == 200
    finally:
        code, output = running.stop()
    assert code == 0
    assert "sends frames that start with digits but carry no octet count" in output


def test_the_child_keeps_receiving_when_nobody_reads_its_log(tmp_path: Path) -> None:
    """Issue 10 item 3 in the child itself: with its stderr a full pipe that nobody reads,
    a log call queues its record (or drops and counts it when the queue is full) instead of
    blocking the thread that logs."""
    spool = tmp_path / "spool"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "hawatch.collector.syslog.listener",
            "--spool",
            str(spool),
            "--tcp",
            "127.0.0.1:0",
        ],
        cwd=ROOT,
        stderr=subprocess.PIPE,
    )
    try:
        ports = wait_until(lambda: read_ports(spool, proc.pid), 10, "the ports file")
        pipe = os.open(f"/proc/{proc.pid}/fd/2", os.O_WRONLY | os.O_NONBLOCK)
        with pytest.raises(BlockingIOError):
            try:
                while True:
                    os.write(pipe, b"x" * 4095 + b"\n")
            finally:
                os.close(pipe)
        for i in range(20):  # each connection logs its misframing once
            tcp_send(ports["tcp"]["port"], b"5x <13>unread-%d\n<13>unread-ok-%d\n" % (i, i))
        wait_until(
            lambda: len([line for line in spooled(spool) if b"unread-" in line]) == 40,
            10,
            "every line spooled",
        )
    finally:
        proc.kill()
        proc.wait(timeout=5)
        proc.stderr.close()


def hold_spool_lock(spool: Path, pid: int, deadline: float) -> int:
    """SIGKILL the listener `pid` and take its spool lock before serve starts another (so
    that every restart fails); kill a replacement that won the race and try again."""
    import fcntl

    fd = os.open(spool / "listener.lock", os.O_RDWR)
    while time.monotonic() < deadline:
        os.kill(pid, signal.SIGKILL)
        while time.monotonic() < deadline:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return fd
            except BlockingIOError:
                ports = read_ports(spool)
                if ports and ports["pid"] != pid:
                    pid = ports["pid"]  # a replacement got the lock first
                    break
                time.sleep(0.001)
    os.close(fd)
    raise AssertionError("could not take the spool lock from the listener")


def test_a_killed_listener_comes_back_and_nothing_it_spooled_is_lost(tmp_path: Path) -> None:
    """Issue 10 item 4 against a real server: a dead listener child was never restarted, so
    intake stopped, and its last spool file waited until serve restarted. Now it is
    restarted on the same ports, its leftover `.part` file is ingested, and lines sent
    afterwards land."""
    from tests.test_serve import LINE, Server

    running = Server(tmp_path)
    spool = Path(str(running.db) + ".spool")
    try:
        first, sent = child_pid(spool), 0
        for _ in range(10):  # until the child is stopped with its last file still open
            tcp_send(
                running.ports["tcp"]["port"],
                b"".join(LINE.format(n=sent + n).encode() + b"\n" for n in range(50)),
            )
            sent += 50
            token = LINE.format(n=sent - 1).encode()
            wait_until(
                lambda token=token: any(token in p.read_bytes() for p in spool.glob("tcp-*.*")),
                10,
                "the batch in a spool file",
            )
            os.kill(first, signal.SIGSTOP)
            if any(token in p.read_bytes() for p in spool.glob("tcp-*.part")):
                break
            os.kill(first, signal.SIGCONT)
        else:
            raise AssertionError("never caught a spool file open")
        os.kill(first, signal.SIGKILL)
        ports = wait_until(
            lambda: (p := read_ports(spool)) and p["pid"] != first and p, 20, "a new listener"
        )
        assert ports["tcp"] == running.ports["tcp"] and ports["udp"] == running.ports["udp"]
        tcp_send(
            ports["tcp"]["port"],
            b"".join(LINE.format(n=sent + n).encode() + b"\n" for n in range(50)),
        )
        udp_send(ports["udp"]["port"], *(LINE.format(n=sent + 50 + n).encode() for n in range(50)))
        wait_until(lambda: stored(running.db) == sent + 100, 20, "every line stored")
        status, health = get_json(running.url + "/healthz")
        assert status == 200 and health["listener"] == "running"
        assert health["listener_restarts"] == 1 and "SIGKILL" in health["listener_last_exit"]
        metrics = metrics_of(running.url)
        assert "hawatch_listener_up 1\n" in metrics
        assert "hawatch_listener_restarts_total 1\n" in metrics
    finally:
        code, output = running.stop()
    assert code == 0, output


def test_health_says_so_while_the_listener_cannot_come_back(tmp_path: Path) -> None:
    """Issue 10 item 4: while the listener is down and its restarts fail, /healthz answers
    503 with the reason and /metrics says it is down; once it can start again, it does."""
    from tests.test_serve import LINE, Server

    running = Server(tmp_path)
    spool = Path(str(running.db) + ".spool")
    try:
        lock = hold_spool_lock(spool, child_pid(spool), time.monotonic() + 20)
        try:
            status, health = wait_until(
                lambda: (
                    (answer := get_json(running.url + "/healthz"))
                    and "in use" in (answer[1].get("listener_last_exit") or "")
                    and answer
                ),
                20,
                "a failed restart in /healthz",
            )
            assert status == 503 and health["status"] == "degraded"
            assert health["listener"] == "restarting"
            assert "hawatch_listener_up 0\n" in metrics_of(running.url)
        finally:
            os.close(lock)
        wait_until(lambda: get_json(running.url + "/healthz")[0] == 200, 40, "healthy again")
        udp_send(read_ports(spool)["udp"]["port"], LINE.format(n=1).encode())
        wait_until(lambda: stored(running.db) == 1, 20, "a line after the restart")
    finally:
        running.stop()


def test_the_listener_child_inherits_no_secrets(tmp_path: Path) -> None:
    """Issue 10 item 16: the child that faces the network gets a scrubbed environment (no
    ingest token, SMTP password or anything else of serve's), and the spool folder and the
    files in it are private."""
    from tests.test_serve import TOKEN, Server

    secrets = {
        "HAWATCH_SMTP_PASSWORD": "smtp-secret-42",
        "AWS_SECRET_ACCESS_KEY": "aws-s3cr3t",
        "HAWATCH_WEBHOOK_URL": "https://hooks.example/T0/B0/secret",
    }
    running = Server(tmp_path, env=secrets)
    spool = Path(str(running.db) + ".spool")
    try:
        environ = Path(f"/proc/{child_pid(spool)}/environ").read_bytes()
        for value in (TOKEN, *secrets.values()):
            assert value.encode() not in environ
        assert b"HAWATCH_" not in environ
        assert spool.stat().st_mode & 0o777 == 0o700
        wait_until(lambda: (spool / "listener-stats.json").exists(), 10, "the stats file")
        for name in ("listener.lock", "listener-ports.json", "listener-stats.json"):
            assert (spool / name).stat().st_mode & 0o777 == 0o600, name
    finally:
        running.stop()
