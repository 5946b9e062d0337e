"""Abuse benchmark: what one viewer, or one stranger, can do to a real `hawatch serve`.

Starts `hawatch serve` on an empty database in a temporary folder (loopback, no syslog),
adds a viewer, logs in through the form, then measures:

- `big`: one SQL console query that asks for ~2 GB of text
  (`SELECT repeat('x', 100000) FROM range(20000)`): its wall time and the server's peak
  resident memory (VmHWM) before and after;
- `parallel`: 16 queries at once from the same viewer, each running into the time limit
  on CPU (`SELECT count(*) FROM range(10^12)`), and how long `/healthz` takes meanwhile;
- `idle`: N idle TCP connections that never send a byte, then how long `/healthz` takes.

Each scenario runs against a fresh server (VmHWM is the process' lifetime peak).

    python3 bench/web_abuse_bench.py [--only big,parallel,idle] [--idle 150]
"""

from __future__ import annotations

import argparse
import http.cookiejar
import json
import os
import re
import socket
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

USER, PASSWORD = "abuse-viewer", "abuse-viewer-password-1"
BIG = "SELECT repeat('x', 100000) AS s FROM range(20000)"
# runs into the time limit on CPU, with little memory
SLOW = "SELECT count(*) FROM range(1000000000000)"


def peak_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


class Served:
    def __init__(self, folder: Path, env: dict[str, str]) -> None:
        db = folder / "abuse.duckdb"
        subprocess.run(
            [
                "hawatch",
                "users",
                "add",
                USER,
                "--role",
                "viewer",
                "--password-stdin",
                "--db",
                str(db),
            ],
            input=PASSWORD + "\n",
            text=True,
            check=True,
            capture_output=True,
        )
        self.proc = subprocess.Popen(
            [
                "hawatch",
                "serve",
                "--db",
                str(db),
                "--http",
                "127.0.0.1:0",
                "--syslog-udp",
                "",
                "--syslog-tcp",
                "",
            ],
            env={**os.environ, **env},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        info = Path(str(db) + ".serve.json")
        deadline = time.monotonic() + 60
        while not info.exists():
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise SystemExit("server did not start")
            time.sleep(0.1)
        self.url = json.loads(info.read_text())["url"]

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(60)


def login(url: str) -> tuple[urllib.request.OpenerDirector, str]:
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    opener.open(url + "/login", timeout=30).read()
    page = opener.open(url + "/login", timeout=30).read().decode()
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    form = urllib.parse.urlencode(
        {"username": USER, "password": PASSWORD, "csrf_token": token, "next": "/"}
    ).encode()
    opener.open(url + "/login", data=form, timeout=30).read()
    page = opener.open(url + "/sql", timeout=30).read().decode()
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    return opener, token


def run_sql(
    opener: urllib.request.OpenerDirector, url: str, token: str, query: str
) -> tuple[int, int]:
    form = urllib.parse.urlencode({"q": query, "csrf_token": token}).encode()
    try:
        with opener.open(url + "/sql", data=form, timeout=600) as response:
            return response.status, len(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, len(exc.read())


def healthz_seconds(url: str) -> float:
    began = time.perf_counter()
    try:
        urllib.request.urlopen(url + "/healthz", timeout=120).read()
    except (urllib.error.URLError, OSError):
        return float("inf")
    return time.perf_counter() - began


def big(folder: Path) -> None:
    served = Served(folder, {})
    try:
        opener, token = login(served.url)
        before = peak_rss_mib(served.proc.pid)
        began = time.perf_counter()
        status, size = run_sql(opener, served.url, token, BIG)
        took = time.perf_counter() - began
        print(
            f"big: HTTP {status}, {size / 2**20:.1f} MiB answer in {took:.1f} s; "
            f"server peak RSS {before:.0f} -> {peak_rss_mib(served.proc.pid):.0f} MiB"
        )
    finally:
        served.stop()


def parallel(folder: Path, count: int = 16) -> None:
    served = Served(folder, {})
    try:
        opener, token = login(served.url)
        statuses: list[int] = []
        threads = [
            threading.Thread(
                target=lambda: statuses.append(run_sql(opener, served.url, token, SLOW)[0])
            )
            for _ in range(count)
        ]
        began = time.perf_counter()
        for t in threads:
            t.start()
        time.sleep(1.0)
        health = healthz_seconds(served.url)
        for t in threads:
            t.join()
        took = time.perf_counter() - began
        print(
            f"parallel: {count} queries, statuses {sorted(statuses)}, all done in "
            f"{took:.1f} s; /healthz meanwhile {health:.2f} s; server peak RSS "
            f"{peak_rss_mib(served.proc.pid):.0f} MiB"
        )
    finally:
        served.stop()


def idle(folder: Path, count: int) -> None:
    served = Served(folder, {})
    host, port = served.url.rsplit("/", 1)[-1].split(":")
    sockets = []
    try:
        for _ in range(count):
            sockets.append(socket.create_connection((host, int(port)), timeout=10))
        time.sleep(1.0)
        print(f"idle: {count} idle connections; /healthz took {healthz_seconds(served.url):.2f} s")
    finally:
        for s in sockets:
            s.close()
        served.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="big,parallel,idle")
    parser.add_argument("--idle", type=int, default=150)
    args = parser.parse_args()
    chosen = set(args.only.split(","))
    with tempfile.TemporaryDirectory() as tmp:
        for name in ("big", "parallel", "idle"):
            if name in chosen:
                folder = Path(tmp) / name
                folder.mkdir()
                if name == "idle":
                    idle(folder, args.idle)
                else:
                    {"big": big, "parallel": parallel}[name](folder)


if __name__ == "__main__":
    main()
