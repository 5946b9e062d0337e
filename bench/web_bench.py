"""Web benchmark: the dashboard served by waitress over a 2,000-pair x 30-day store, then
over a 20,000-pair store (2 days: the fleet page's cost grows with pairs, not days).

Each store is filled in SQL (bench/analytics_bench.py's `fill`) and analysed (a full pass);
a viewer logs in through the real login form (CSRF token, session cookie) and then 10
client threads, each on its own keep-alive connection with the session cookie, request one
URL for a fixed time, accepting gzip as browsers do: the fleet page `/` (worst first, one
page of `dashboard.fleet_page_size` pairs), the wallboard, a pair page `/pairs/<pair>` (a
flapping pair with incidents), the incidents API `/api/v1/incidents` and, first, the
baseline `/healthz` (no store, no template). The server is `create_app` under
`waitress.create_server(..., threads=8)` in a thread of this process, as `hawatch serve`
runs it.

Prints p50/p95/max latency in ms, requests/s and the p95 as a multiple of the /healthz
baseline's (measured in the same run, on the same store) for each URL, with the targets
(fleet page p95 < 100 ms, pair page p95 < 300 ms), and the bytes of the fleet page as sent
(gzipped). Pages are cached per data version (dashboard/cache.py), so those rows measure
the NOC's usual case: many screens, data unchanged between refreshes. Three more rows
measure the cold path: the fleet page and the wallboard with their caches turned off (as
if the data changed before every request), and pair pages of 500 different pairs in turn
(each one a miss).

    python3 bench/web_bench.py [--pairs 2000] [--days 30] [--big-pairs 20000]
        [--big-days 2] [--clients 10] [--seconds 10]   (--big-pairs 0: one store only)
"""

from __future__ import annotations

import argparse
import gzip
import http.client
import http.cookiejar
import logging
import re
import statistics
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from datetime import timedelta
from pathlib import Path

from waitress import create_server

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from analytics_bench import fill  # noqa: E402
from hawatch.analytics.analyze import analyze  # noqa: E402
from hawatch.dashboard.app import create_app  # noqa: E402
from hawatch.dashboard.credentials import Credentials  # noqa: E402
from hawatch.store import Store  # noqa: E402

from hawatch.config import load_config  # noqa: E402

USER, PASSWORD = "bench-viewer", "bench-viewer-password-1"
TARGETS = {"fleet": 100.0, "pair": 300.0}


def login(base: str) -> str:
    """Logs in through the form; returns the Cookie header value of the session."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    page = opener.open(base + "/login").read().decode()
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    form = urllib.parse.urlencode(
        {"username": USER, "password": PASSWORD, "csrf_token": token, "next": "/"}
    ).encode()
    final = opener.open(base + "/login", data=form)
    if final.url.rstrip("/").endswith("/login"):
        raise SystemExit("login failed")
    return "; ".join(f"{c.name}={c.value}" for c in jar)


def hammer(
    port: int, cookie: str, paths: list[str], clients: int, seconds: float
) -> tuple[list[float], float, int]:
    """`clients` threads GET `paths` in turn (each client from its own place in the list)
    until `seconds` pass; returns latencies (s), wall time and the count of non-200s."""
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    start = threading.Barrier(clients + 1)

    def client(offset: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        mine, bad, turn = [], 0, offset
        start.wait()
        deadline = time.perf_counter() + seconds
        while time.perf_counter() < deadline:
            began = time.perf_counter()
            path = paths[turn % len(paths)]
            turn += 1
            # as a browser asks, and unzipping is part of the client's wait
            conn.request("GET", path, headers={"Cookie": cookie, "Accept-Encoding": "gzip"})
            response = conn.getresponse()
            body = response.read()
            if response.getheader("Content-Encoding") == "gzip":
                gzip.decompress(body)
            mine.append(time.perf_counter() - began)
            bad += response.status != 200
        conn.close()
        with lock:
            latencies.extend(mine)
            errors[0] += bad

    threads = [
        threading.Thread(target=client, args=(i * len(paths) // clients,)) for i in range(clients)
    ]
    for t in threads:
        t.start()
    start.wait()
    began = time.perf_counter()
    for t in threads:
        t.join()
    return latencies, time.perf_counter() - began, errors[0]


def measure(args: argparse.Namespace, pairs: int, days: int) -> None:
    """Fill a store of `pairs` x `days`, serve it, and print one row per URL."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        with Store(folder / "bench.duckdb") as store:
            started = time.perf_counter()
            fill(store, pairs, days, folder)
            full = analyze(store, full=True)
            incidents, newest = (
                store.cursor()
                .execute(
                    "SELECT (SELECT count(*) FROM incidents),"
                    " (SELECT max(time) FROM session_samples)"
                )
                .fetchone()
            )
            # the pair page counts back from now; the filled data ends earlier, so its last 3 days
            window = "?" + urllib.parse.urlencode(
                {"start": (newest - timedelta(days=3)).isoformat(), "end": newest.isoformat()}
            )
            print(
                f"\nfilled {pairs:,} pairs x {days} days and analysed in "
                f"{time.perf_counter() - started:.1f} s ({full.pairs:,} pairs, "
                f"{incidents:,} incidents)"
            )
            Credentials(store.path).add(USER, "viewer", PASSWORD)
            settings = load_config(env={})
            settings.update({"db": store.path})
            app = create_app(settings, store, None)
            server = create_server(app, host="127.0.0.1", port=0, threads=8)
            threading.Thread(target=server.run, name="web", daemon=True).start()
            run_urls(app, server.effective_port, pairs, args, window)
            # no server.close(): closing under the running loop makes waitress print EBADF
            # tracebacks; the daemon thread ends with the process (as in hawatch serve)


def page_bytes(port: int, cookie: str, path: str) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    conn.request("GET", path, headers={"Cookie": cookie, "Accept-Encoding": "gzip"})
    size = len(conn.getresponse().read())
    conn.close()
    return size


def run_urls(app: object, port: int, pairs: int, args: argparse.Namespace, window: str) -> None:
    cookie = login(f"http://127.0.0.1:{port}")
    rotating = [f"/pairs/pair-{i:04d}{window}" for i in range(0, pairs, 4)][:500]
    # the baseline first: every other row is compared with it
    runs = [
        ("healthz", "/healthz", ["/healthz"]),
        ("fleet", "/", ["/"]),
        ("wallboard", "/wallboard", ["/wallboard"]),
        ("pair", "/pairs/pair-0000 (3 d)", [f"/pairs/pair-0000{window}"]),
        ("incidents", "/api/v1/incidents", ["/api/v1/incidents"]),
        ("fleet-cold", "/ (cache off)", ["/"]),
        ("wallboard-cold", "/wallboard (cache off)", ["/wallboard"]),
        ("pair-cold", f"/pairs/* ({len(rotating)}, 3 d)", rotating),
    ]
    print(
        f"fleet page as sent: {page_bytes(port, cookie, '/'):,} bytes gzipped; "
        f"{args.clients} clients, {args.seconds:g} s per URL, waitress threads=8"
    )
    print(
        f"{'url':<24} {'requests':>8} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}"
        f" {'req/s':>8} {'x base':>7}  target"
    )
    baseline_p95 = 0.0
    for name, label, paths in runs:
        if name == "fleet-cold":
            for kind in ("fleet", "pages"):
                app.extensions["hawatch"].caches[kind].max_entries = 0  # type: ignore
        hammer(port, cookie, paths[:1], args.clients, 1.0)  # warm-up
        lat, wall, bad = hammer(port, cookie, paths, args.clients, args.seconds)
        ms = sorted(x * 1000 for x in lat)
        p95 = ms[min(len(ms) - 1, int(0.95 * len(ms)))]
        baseline_p95 = baseline_p95 or p95
        target = "baseline" if name == "healthz" else ""
        if name in TARGETS:
            ok = "met" if p95 < TARGETS[name] else "NOT met"
            target = f"p95 < {TARGETS[name]:g} ms ({ok})"
        ratio = f"{p95 / baseline_p95:.1f}"
        print(
            f"{label:<24} {len(ms):>8} {statistics.median(ms):>8.1f} {p95:>8.1f}"
            f" {ms[-1]:>8.1f} {len(ms) / wall:>8.1f} {ratio:>7}  {target}"
            + (f"  ({bad} non-200)" if bad else ""),
            flush=True,
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=2000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--big-pairs", type=int, default=20000)
    parser.add_argument("--big-days", type=int, default=2)
    parser.add_argument("--clients", type=int, default=10)
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()
    # 10 clients on 8 threads queue by design: not a warning per request
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)
    measure(args, args.pairs, args.days)
    if args.big_pairs:
        measure(args, args.big_pairs, args.big_days)


if __name__ == "__main__":
    main()
