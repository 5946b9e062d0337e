"""`hawatch demo`: the README's first command. It ingests and analyses sample_logs/, prints
the fleet, then serves the dashboard on localhost with a `demo` user whose password it prints;
a browser-like client logs in with it and sees the sample pairs. SIGTERM stops it cleanly."""

from __future__ import annotations

import http.cookiejar
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


def test_demo_serves_the_sample_fleet_to_the_printed_user(tmp_path: Path):
    port, db = free_port(), tmp_path / "demo.duckdb"
    proc = subprocess.Popen(["hawatch", "demo", "--db", str(db), "--http", f"127.0.0.1:{port}"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        found = read_until(proc, r"dashboard: (http://\S+)/\s+log in as user demo, password"
                                 r" (\S+)", 120)
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
        form = urllib.parse.urlencode({"username": "demo", "password": password,
                                       "csrf_token": token, "next": "/"}).encode()
        fleet = opener.open(base + "/login", data=form, timeout=10)
        html = fleet.read().decode()
        assert not fleet.url.rstrip("/").endswith("/login")
        inventory = (Path(__file__).parent.parent / "sample_logs" / "inventory.csv").read_text()
        first_pair = inventory.splitlines()[1].split(",")[0]
        assert first_pair in html
        # a wrong password is refused
        other = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
        page = other.open(base + "/login", timeout=5).read().decode()
        token = csrf_token(page)
        bad = urllib.parse.urlencode({"username": "demo", "password": password + "x",
                                      "csrf_token": token, "next": "/"}).encode()
        try:
            refused = other.open(base + "/login", data=bad, timeout=10)
            assert refused.url.rstrip("/").endswith("/login")
        except urllib.error.HTTPError as exc:
            assert exc.code in (401, 429)
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise
        errors = proc.stderr.read()
        proc.stdout.close()
        proc.stderr.close()
    assert proc.returncode == 0, errors
    assert "Traceback" not in errors
