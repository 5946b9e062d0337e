"""Regenerate docs/screenshots/*.png: the live demo's dashboard, in Debian's chromium.

    python3 docs/make_screenshots.py [--keep DIR]

Runs `hawatch demo` (the sample fleet live, simulated units polled and logging over UDP)
into a throwaway folder, logs in with the password it prints, waits (at most ten minutes,
about five in practice) until the moment its schedule shows most: a unit that stopped
answering (its pair `stale`) and a failover only the polls saw ("syslog missed a failover"),
then photographs the fleet page (1280x800, and 1024x768: the smallest screen it is made
for), that failover's pair page (the whole page) and the wallboard of a NOC screen
(1920x1080) with Playwright driving /usr/bin/chromium (`apt-get install -y chromium`; never
`playwright install`). With --keep, also the stale pair's page, into DIR.
"""

from __future__ import annotations

import argparse
import http.cookiejar
import json
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "screenshots"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
WAIT_SECONDS = 600
SHOTS = ("fleet.png", "fleet-1024.png", "wallboard.png", "pair.png")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _dashboard_line(proc: subprocess.Popen[str]) -> tuple[str, str]:
    for line in proc.stdout or []:
        found = re.search(r"dashboard: (http://\S+)/\s+log in as user demo, password (\S+)", line)
        if found:
            return found.group(1), found.group(2)
    raise SystemExit("hawatch demo stopped before serving (its log: demo.log)")


def _api(base: str, password: str) -> urllib.request.OpenerDirector:
    opener = urllib.request.build_opener(
        urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
    )
    for _ in range(100):
        try:
            page = opener.open(base + "/login", timeout=5).read().decode()
            break
        except OSError:
            time.sleep(0.2)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)  # type: ignore
    form = urllib.parse.urlencode(
        {"username": "demo", "password": password, "csrf_token": token, "next": "/"}
    ).encode()
    opener.open(base + "/login", data=form, timeout=10).read()
    return opener


def _wait_for_the_moment(base: str, opener: urllib.request.OpenerDirector) -> tuple[str, str]:
    """(the pair whose failover syslog missed, a stale pair) once both are open."""
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        with opener.open(base + "/api/v1/incidents?status=open", timeout=10) as answer:
            open_now = json.loads(answer.read())["incidents"]
        missed = [i["pair"] for i in open_now if i["kind"] == "syslog_missed_failover"]
        with opener.open(base + "/api/v1/pairs", timeout=10) as answer:
            stale = [
                p["pair"] for p in json.loads(answer.read())["pairs"] if p["health"] == "stale"
            ]
        if missed and stale:
            return missed[0], stale[0]
        time.sleep(5)
    raise SystemExit("the demo showed no stale pair and no missed failover in time")


def _photograph(base: str, password: str, missed: str, stale: str, keep: Path | None) -> None:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path="/usr/bin/chromium", args=ARGS, headless=True, timeout=60_000
        )
        context = browser.new_context(base_url=base, viewport={"width": 1280, "height": 800})
        context.set_default_timeout(15_000)
        page = context.new_page()
        page.goto("/login")
        page.fill("input[name=username]", "demo")
        page.fill("input[name=password]", password)
        page.click("button[type=submit]")
        page.wait_for_url(f"{base}/")
        page.screenshot(path=str(OUT / "fleet.png"))
        page.set_viewport_size({"width": 1024, "height": 768})
        page.screenshot(path=str(OUT / "fleet-1024.png"))
        page.set_viewport_size({"width": 1920, "height": 1080})
        page.goto("/wallboard")
        page.screenshot(path=str(OUT / "wallboard.png"))
        page.set_viewport_size({"width": 1280, "height": 800})
        for pair, path in (
            (missed, OUT / "pair.png"),
            *([(stale, keep / "pair-stale.png")] if keep else []),
        ):
            page.goto(f"/pairs/{pair}?days=0.25")
            page.locator(".js-plotly-plot .scatterlayer .trace").first.wait_for()
            page.wait_for_timeout(500)
            page.screenshot(path=str(path), full_page=True)
        browser.close()


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--keep", type=Path, help="also photograph the stale pair, into DIR")
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        log = open(Path(tmp) / "demo.log", "w")  # noqa: SIM115 - closed below
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "hawatch",
                "demo",
                "--db",
                str(Path(tmp) / "demo.duckdb"),
                "--http",
                f"127.0.0.1:{_free_port()}",
                "--lead",
                "5",
            ],
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
        )
        try:
            base, password = _dashboard_line(proc)
            missed, stale = _wait_for_the_moment(base, _api(base, password))
            _photograph(base, password, missed, stale, args.keep)
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=60)
            log.close()
    for name in SHOTS:
        print(OUT / name)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
