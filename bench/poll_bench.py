"""Poll benchmark: one poll cycle over a simulated fleet, then `hawatch serve` polling it.

The simulated units run in their own process (`python -m hawatch.simulator.devices`): by
default 2,000 pairs = 4,000 units, each answering after 50 ms, half the pairs over the
SonicOS API (HTTPS; 6.5 sites answer HTTP/1.0 and close after every answer, as real ones
do), half over SNMPv2c (`--profile mixed`); `--profile sim-both` polls every unit both ways.

1. A cycle: every unit polled once (the code `hawatch poll --once` and serve run, with
   poll.concurrency) and the results stored through the export path into a fresh store;
   prints the time, the ratio to the 60 s interval (target: cycle <= 15 s) and the outcomes.
2. `hawatch serve` on that inventory for `--serve-seconds`, polling every unit each
   `--interval` seconds: its peak RSS (target < 600 MiB), the polls it stored, and the
   dashboard's fleet page p50/p95 under `--clients` viewers while it polls (target p95 <
   100 ms) against the same page with polling off (a second serve, same store).

    python3 bench/poll_bench.py [--pairs 2000] [--latency 0.05] [--profile mixed]
        [--concurrency 200] [--serve-seconds 120] [--clients 4]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from hawatch.collector.inventory import load_inventory, polled_units  # noqa: E402
from hawatch.collector.pollers.credentials import load_profiles  # noqa: E402
from hawatch.collector.pollers.cycle import Poller, poll_all, targets  # noqa: E402
from hawatch.collector.pollers.store_results import store_results  # noqa: E402
from hawatch.store import Store  # noqa: E402
from web_bench import PASSWORD, USER, hammer, login  # noqa: E402

INTERVAL = 60.0


def start_farm(args: argparse.Namespace, folder: Path) -> subprocess.Popen[str]:
    farm = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "hawatch.simulator.devices",
            "--pairs",
            str(args.pairs),
            "--latency",
            str(args.latency),
            "--profile",
            args.profile,
            "--out",
            str(folder),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    if farm.stdout is None or farm.stdout.readline().strip() != "ready":
        raise SystemExit("the simulated units did not start")
    return farm


def cpu_seconds(pid: int | None = None) -> float:
    if pid is None:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return usage.ru_utime + usage.ru_stime
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cycle(args: argparse.Namespace, folder: Path, farm_pid: int) -> Path:
    """Two cycles, timed, as serve runs them (one poller kept between cycles: the second
    knows each unit's API generation and reads SNMP identity less often); returns the
    store they filled (the serve phase reuses it)."""
    units = polled_units(folder / "inventory.csv")
    profiles = load_profiles(folder / "pollers.toml", {u.profile for u in units})
    todo = targets(units, profiles)
    db = folder / "bench.duckdb"
    with Store(db) as store:
        load_inventory(store, folder / "inventory.csv")

        async def run_cycles() -> None:
            poller = Poller(profiles, 10.0, 1)
            for run in (1, 2):
                mine, theirs = cpu_seconds(), cpu_seconds(farm_pid)
                began = time.perf_counter()
                results = await poll_all(todo, profiles, 10.0, 1, args.concurrency, poller=poller)
                polled = time.perf_counter() - began
                store_results(store, results, "UTC")
                took = time.perf_counter() - began
                outcomes = Counter(f"{r.protocol} {r.outcome}" for r in results)
                print(
                    f"cycle {run}: {len(todo):,} polls of {len(units):,} units in"
                    f" {took:.1f} s (polling {polled:.1f} s, storing {took - polled:.1f} s);"
                    f" ratio to the {INTERVAL:.0f} s interval {took / INTERVAL:.2f} (target"
                    f" <= 0.25); CPU: poller {cpu_seconds() - mine:.1f} s, units"
                    f" {cpu_seconds(farm_pid) - theirs:.1f} s;"
                    f" {dict(sorted(outcomes.items()))}",
                    flush=True,
                )
            poller.close()

        asyncio.run(run_cycles())
    return db


def rss_mib(pid: int) -> tuple[float, float]:
    status = dict(
        line.split(":", 1)
        for line in Path(f"/proc/{pid}/status").read_text().splitlines()
        if ":" in line
    )
    return (int(status["VmRSS"].split()[0]) / 1024, int(status["VmHWM"].split()[0]) / 1024)


def serve(
    db: Path, folder: Path, args: argparse.Namespace, polling: bool
) -> tuple[subprocess.Popen[str], str]:
    env = {
        **os.environ,
        "HAWATCH_POLL_CREDENTIALS_FILE": str(folder / "pollers.toml"),
        "HAWATCH_POLL_INTERVAL_SECONDS": str(int(args.interval)),
        "HAWATCH_POLL_CONCURRENCY": str(args.concurrency),
        "HAWATCH_INVENTORY": str(folder / ("inventory.csv" if polling else "none.csv")),
    }
    if not polling:
        (folder / "none.csv").write_text("pair,primary_serial,secondary_serial\n")
    proc = subprocess.Popen(
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
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    info = Path(str(db) + ".serve.json")
    deadline = time.monotonic() + 120
    while not info.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.2)
    if not info.exists():
        raise SystemExit(f"serve did not start: {proc.stderr.read() if proc.stderr else ''}")
    return proc, json.loads(info.read_text())["url"]


def stop(proc: subprocess.Popen[str]) -> None:
    proc.terminate()
    proc.communicate(timeout=120)


def fleet_p95(url: str, args: argparse.Namespace) -> tuple[float, float, int]:
    cookie = login(url)
    port = int(url.rsplit(":", 1)[1])
    latencies, _, errors = hammer(port, cookie, ["/"], args.clients, args.web_seconds)
    cuts = statistics.quantiles(latencies, n=100)
    return cuts[49] * 1000, cuts[94] * 1000, errors


def serve_phase(db: Path, folder: Path, args: argparse.Namespace) -> None:
    subprocess.run(
        ["hawatch", "users", "add", USER, "--role", "viewer", "--db", str(db), "--password-stdin"],
        input=PASSWORD + "\n",
        text=True,
        check=True,
        capture_output=True,
    )
    quiet, url = serve(db, folder, args, polling=False)
    base = fleet_p95(url, args)
    stop(quiet)
    proc, url = serve(db, folder, args, polling=True)
    peak, stored, began = 0.0, 0, time.perf_counter()
    web: list[tuple[float, float, int]] = []
    hammering = threading.Thread(target=lambda: web.append(fleet_p95(url, args)))
    time.sleep(min(args.interval, args.serve_seconds / 2))  # polls under way
    hammering.start()
    while time.perf_counter() - began < args.serve_seconds:
        peak = max(peak, rss_mib(proc.pid)[1])
        time.sleep(1)
    hammering.join()
    peak = max(peak, rss_mib(proc.pid)[1])
    stop(proc)
    with Store(db, read_only=True) as store:
        stored, units, ok = (
            store.cursor()
            .execute(
                "SELECT (SELECT committed_lines FROM sources WHERE origin = 'poll'),"
                " count(*), count(*) FILTER (WHERE outcome = 'ok') FROM poll_status"
            )
            .fetchone()
        )
    p50, p95, errors = web[0] if web else (float("nan"),) * 2 + (0,)
    print(
        f"serve, polling every {args.interval:.0f} s for {args.serve_seconds:.0f} s:"
        f" peak RSS {peak:.0f} MiB (target < 600); {stored:,} poll records stored;"
        f" poll_status {ok:,}/{units:,} ok"
    )
    print(
        f"fleet page, {args.clients} viewers: p50 {p50:.1f} ms, p95 {p95:.1f} ms while"
        f" polling ({errors} errors) vs p50 {base[0]:.1f} ms, p95 {base[1]:.1f} ms with"
        f" polling off (target p95 < 100 ms)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=2000)
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument(
        "--profile", default="mixed", choices=("mixed", "sim-both", "sim-rest", "sim-snmp")
    )
    parser.add_argument("--concurrency", type=int, default=200)
    parser.add_argument("--interval", type=float, default=INTERVAL)
    parser.add_argument("--serve-seconds", type=float, default=120.0)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--web-seconds", type=float, default=20.0)
    parser.add_argument("--no-serve", action="store_true", help="the cycle only")
    args = parser.parse_args()
    print(f"load average before: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        farm = start_farm(args, folder)
        try:
            db = cycle(args, folder, farm.pid)
            if not args.no_serve:
                serve_phase(db, folder, args)
        finally:
            farm.terminate()
            farm.wait(60)
    print(f"load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
