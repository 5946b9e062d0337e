"""`hawatch demo`: the README's first command. It runs the sample fleet live (simulated units
answering polls and sending syslog), serves the dashboard on localhost with a `demo` user
whose password it prints; a browser-like client logs in with it, sees the sample pairs, and
sees incidents open on live data. SIGTERM stops it cleanly."""

from __future__ import annotations

import http.cookiejar
import json
import re
import select
import signal
import socket
import subprocess
import time
import urllib.parse
import urllib.request
from pathlib import Path

from tests.conftest import csrf_token


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def read_until(proc: subprocess.Popen[str], pattern: str, seconds: float) -> re.Match[str]:
    """Lines of the demo's stdout until one matches; bounded, so a hang fails the test."""
    deadline, seen = time.monotonic() + seconds, []
    while time.monotonic() < deadline:
        ready, _, _ = select.select([proc.stdout], [], [], 0.5)
        if not ready:
            continue
        line = proc.stdout.readline()
        if not line:
            break
        seen.append(line)
        match = re.search(pattern, line)
        if match:
            return match
    raise AssertionError(f"no {pattern!r} in {''.join(seen)[-2000:]}")


def start_demo(tmp_path: Path, *extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            "hawatch",
            "demo",
            "--db",
            str(tmp_path / "demo.duckdb"),
            "--http",
            f"127.0.0.1:{free_port()}",
            *extra,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def log_in_as_printed(
    proc: subprocess.Popen[str],
) -> tuple[str, str, urllib.request.OpenerDirector, str]:
    """Wait for the demo's dashboard line, log in with the password it printed; returns the
    base URL, the password, a logged-in opener and the page the login led to."""
    found = read_until(
        proc,
        r"dashboard: (http://\S+)/\s+log in as user demo, password"
        r" (\S+)",
        120,
    )
    base, password = found.group(1), found.group(2)
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    for _ in range(100):  # the server starts right after the line is printed
        try:
            page = opener.open(base + "/login", timeout=5).read().decode()
            break
        except OSError:
            time.sleep(0.1)
    token = csrf_token(page)
    form = urllib.parse.urlencode(
        {"username": "demo", "password": password, "csrf_token": token, "next": "/"}
    ).encode()
    fleet = opener.open(base + "/login", data=form, timeout=10)
    assert not fleet.url.rstrip("/").endswith("/login")
    return base, password, opener, fleet.read().decode()


def stop_demo(proc: subprocess.Popen[str]) -> str:
    """SIGTERM, as Ctrl-C would; the demo must stop cleanly. Returns its stderr."""
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise
    errors = proc.stderr.read()
    proc.stdout.close()
    proc.stderr.close()
    return errors


def test_demo_serves_the_sample_fleet_to_the_printed_user(tmp_path: Path):
    proc = start_demo(tmp_path)
    try:
        base, password, _, html = log_in_as_printed(proc)
        inventory = (Path(__file__).parent.parent / "sample_logs" / "inventory.csv").read_text()
        first_pair = inventory.splitlines()[1].split(",")[0]
        assert first_pair in html
        # a wrong password is refused
        other = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
        )
        page = other.open(base + "/login", timeout=5).read().decode()
        token = csrf_token(page)
        bad = urllib.parse.urlencode(
            {"username": "demo", "password": password + "x", "csrf_token": token, "next": "/"}
        ).encode()
        try:
            refused = other.open(base + "/login", data=bad, timeout=10)
            assert refused.url.rstrip("/").endswith("/login")
        except urllib.error.HTTPError as exc:
            assert exc.code in (401, 429)
    finally:
        errors = stop_demo(proc)
    assert proc.returncode == 0, errors
    assert "Traceback" not in errors


def test_the_demo_runs_live_and_incidents_open_while_watching(tmp_path: Path):
    """The simulated fleet runs now: its first scenario (an unsynced failover) starts 5 s
    after the demo, the server polls the units and takes their syslog over UDP, and the
    JSON API a logged-in user sees shows the incident open, on live data."""
    proc = start_demo(tmp_path, "--lead", "5")
    try:
        base, _, opener, _ = log_in_as_printed(proc)
        deadline, found = time.monotonic() + 240, []
        while time.monotonic() < deadline and not found:
            with opener.open(base + "/api/v1/incidents?status=open", timeout=10) as answer:
                found = json.loads(answer.read())["incidents"]
            time.sleep(2)
        assert found, "no open incident within 240 s"
        kinds = {i["kind"] for i in found}
        assert kinds & {"unsynced_failover", "unit_unreachable"}, kinds
        with opener.open(base + "/api/v1/pairs", timeout=10) as answer:
            pairs = {p["pair"]: p for p in json.loads(answer.read())["pairs"]}
        opened = {i["pair"] for i in found}
        assert all(pairs[p]["health"] in ("critical", "stale", "warning") for p in opened)
        # live: the pairs were heard from just now, over syslog and polls
        assert {p["last_source"] for p in pairs.values()} & {"syslog", "poll"}
        assert all(
            p["last_seen"] and p["last_seen"] >= found[0]["opened_at"][:10] for p in pairs.values()
        )
    finally:
        errors = stop_demo(proc)
    assert proc.returncode == 0, errors
    assert "Traceback" not in errors
