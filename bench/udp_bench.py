"""UDP syslog benchmark: the listener child at fixed rates, counting what reaches the spool.

Starts `python3 -m hawatch.collector.syslog.listener` on 127.0.0.1 (port 0) with a spool in a
temporary folder, and sends real-shaped SonicOS lines (`simulator.sonicos_lines.bench_lines`,
about 310 bytes each, a pre-generated pool sent round-robin) from a separate sender process,
paced by a token bucket in batches. After the sender stops and the listener goes quiet, the
listener is stopped with SIGTERM and the lines in its closed spool files are counted:

    udp 100000 msg/s, 60 s: sent N, stored M (lines in closed spool files), lost K (x %),
    rate held R msg/s, kernel drops D, listener CPU C %

By default the whole service runs (`--through serve`): "stored" is then the lines `hawatch
serve` parsed and committed (its /metrics), end to end. `--through listener` runs the bare
listener child and counts lines in closed, fsynced spool files. For comparison, from the
issue: a default syslog-ng-based collector (SC4S) loses half its UDP traffic at 27k msg/s,
Fluent Bit about half at 55k msg/s.

    python3 bench/udp_bench.py [--rate 50000 100000] [--seconds 60] [--pool 200000]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from multiprocessing.connection import Connection
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from hawatch.simulator.sonicos_lines import bench_lines  # noqa: E402

BATCH = 500  # datagrams per pacing step: ~5 ms at 100k msg/s


def make_lines(count: int, seed: int = 1) -> list[bytes]:
    """A pool of distinct SonicOS lines (no terminator), sent round-robin."""
    return [line.encode() for line in bench_lines(seed, count)]


def start_listener(spool: Path) -> tuple[subprocess.Popen, dict]:
    """The real listener child on free ports; returns it and its ports file."""
    spool.mkdir(parents=True, exist_ok=True)
    with open(spool.parent / "listener-stderr.txt", "wb") as err:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "hawatch.collector.syslog.listener",
                "--spool",
                str(spool),
                "--udp",
                "127.0.0.1:0",
                "--tcp",
                "127.0.0.1:0",
            ],
            cwd=ROOT,
            stderr=err,
        )
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"listener exited with {proc.returncode}")
        try:
            ports = json.loads((spool / "listener-ports.json").read_text())
            if ports["pid"] == proc.pid:
                return proc, ports
        except (OSError, ValueError):
            pass
        time.sleep(0.05)
    proc.kill()
    raise SystemExit("listener did not write its ports file within 15 s")


def read_stats(spool: Path) -> dict:
    try:
        return json.loads((spool / "listener-stats.json").read_text())
    except (OSError, ValueError):
        return {}


def wait_quiet(spool: Path, source: str, quiet: float = 1.5, limit: float = 60) -> None:
    """Wait until the listener's received count stops moving (it has drained its socket)."""
    last, since, deadline = -1, time.monotonic(), time.monotonic() + limit
    while time.monotonic() < deadline:
        lines = read_stats(spool).get("sources", {}).get(source, {}).get("lines", 0)
        if lines != last:
            last, since = lines, time.monotonic()
        elif time.monotonic() - since >= quiet:
            return
        time.sleep(0.1)


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process (all threads), from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def count_spooled(spool: Path) -> int:
    """Lines in closed spool files (each line ends in a newline)."""
    total = 0
    for path in spool.glob("*.log"):
        with open(path, "rb") as handle:
            while chunk := handle.read(1 << 22):
                total += chunk.count(b"\n")
    return total


def pace(rate: float, seconds: float, send: Callable[[int], int]) -> tuple[int, float]:
    """Token bucket: call `send(k)` (returns how many went out) so that about `rate` per
    second have gone by each moment; stop at `seconds`. Returns (sent, elapsed)."""
    sent, start = 0, time.perf_counter()
    total = int(rate * seconds)
    while sent < total:
        elapsed = time.perf_counter() - start
        if elapsed >= seconds:
            break
        due = min(int(elapsed * rate) + 1, total) - sent
        if due <= 0:
            time.sleep(min(0.001, (sent - elapsed * rate + 1) / rate))
            continue
        sent += send(min(due, BATCH))
    return sent, time.perf_counter() - start


def udp_sender(
    port: int, lines: list[bytes], rate: float, seconds: float, result: Connection
) -> None:
    """The sender process: a connected UDP socket, one datagram per line."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.connect(("127.0.0.1", port))
    send, pool, position, errors = sock.send, len(lines), 0, 0

    def burst(count: int) -> int:
        nonlocal position, errors
        done = 0
        for _ in range(count):
            try:
                send(lines[position])
                done += 1
            except OSError:
                errors += 1
            position = position + 1 if position + 1 < pool else 0
        return done

    sent, elapsed = pace(rate, seconds, burst)
    result.send({"sent": sent, "elapsed": elapsed, "send_errors": errors})


def run_once(
    proto: str, rate: float, seconds: float, lines: list[bytes], sender: Callable[..., None]
) -> dict:
    """One rate: listener up, sender process, wait, SIGTERM, count. Returns the figures."""
    with tempfile.TemporaryDirectory(prefix=f"hawatch-{proto}-bench-") as tmp:
        spool = Path(tmp) / "spool"
        proc, ports = start_listener(spool)
        try:
            receiver, sender_end = mp.Pipe(duplex=False)
            worker = mp.Process(
                target=sender, args=(ports[proto]["port"], lines, rate, seconds, sender_end)
            )
            cpu_before = cpu_seconds(proc.pid)
            worker.start()
            sent = receiver.recv()
            worker.join()
            wait_quiet(spool, proto)
            cpu = cpu_seconds(proc.pid) - cpu_before
            proc.send_signal(signal.SIGTERM)
            code = proc.wait(timeout=10)
        finally:
            if proc.poll() is None:
                proc.kill()
        stats = read_stats(spool).get("sources", {}).get(proto, {})
        for line in (spool.parent / "listener-stderr.txt").read_text().splitlines():
            if " INFO " not in line:
                print(f"  listener: {line}", flush=True)
        stored = count_spooled(spool)
    return {
        **sent,
        "proto": proto,
        "rate": rate,
        "seconds": seconds,
        "stored": stored,
        "listener_lines": stats.get("lines"),
        "kernel_drops": stats.get("kernel_drops", 0),
        "frames_cut": stats.get("frames_cut", 0),
        "cpu": cpu,
        "exit": code,
    }


def start_serve(tmp: Path) -> tuple[subprocess.Popen, dict, str]:
    """`hawatch serve` (listener child, ingest, analysis) on free ports."""
    db = tmp / "bench.duckdb"
    err = open(tmp / "serve-stderr.txt", "wb")  # noqa: SIM115 - lives as long as the server
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "hawatch",
            "serve",
            "--db",
            str(db),
            "--http",
            "127.0.0.1:0",
            "--syslog-udp",
            "127.0.0.1:0",
            "--syslog-tcp",
            "127.0.0.1:0",
        ],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=err,
    )
    spool, info = Path(str(db) + ".spool"), Path(str(db) + ".serve.json")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"hawatch serve exited with {proc.returncode}")
        try:
            ports = json.loads((spool / "listener-ports.json").read_text())
            url = json.loads(info.read_text())["url"]
            return proc, ports, url
        except (OSError, ValueError, KeyError):
            time.sleep(0.1)
    proc.kill()
    raise SystemExit("hawatch serve did not start within 30 s")


def ingested(url: str, proto: str) -> int:
    """Lines the server has parsed and committed (its /metrics), for one source."""
    import urllib.request

    with urllib.request.urlopen(url + "/metrics", timeout=10) as response:
        for line in response.read().decode().splitlines():
            if line.startswith(f'hawatch_ingested_total{{source="{proto}"}} '):
                return int(float(line.split()[-1]))
    return 0


def committed_lines(db: Path, proto: str) -> int:
    """Lines of the listener's spool files that the store committed (after the server
    stopped): what `sources` says was ingested, the files being named udp-... / tcp-..."""
    import duckdb

    with duckdb.connect(str(db), read_only=True) as con:
        (total,) = con.execute(
            "SELECT coalesce(sum(committed_lines), 0) FROM sources WHERE name LIKE ?",
            [f"%/{proto}-%"],
        ).fetchone()
    return int(total)


def run_once_serve(
    proto: str, rate: float, seconds: float, lines: list[bytes], sender: Callable[..., None]
) -> dict:
    """End to end: sent -> received by the listener -> parsed and committed by serve."""
    with tempfile.TemporaryDirectory(prefix=f"hawatch-{proto}-serve-bench-") as tmp:
        proc, ports, url = start_serve(Path(tmp))
        try:
            receiver, sender_end = mp.Pipe(duplex=False)
            worker = mp.Process(
                target=sender, args=(ports[proto]["port"], lines, rate, seconds, sender_end)
            )
            worker.start()
            sent = receiver.recv()
            worker.join()
            last, since, deadline = -1, time.monotonic(), time.monotonic() + 300
            while time.monotonic() < deadline and time.monotonic() - since < 5:
                done = ingested(url, proto)
                if done != last:
                    last, since = done, time.monotonic()
                time.sleep(0.5)
            drops = (
                read_stats(Path(tmp) / "bench.duckdb.spool")
                .get("sources", {})
                .get(proto, {})
                .get("kernel_drops", 0)
            )
            proc.send_signal(signal.SIGTERM)  # which ingests whatever is still spooled
            code = proc.wait(timeout=120)
        finally:
            if proc.poll() is None:
                proc.kill()
        committed = committed_lines(Path(tmp) / "bench.duckdb", proto)
    return {
        **sent,
        "proto": proto,
        "rate": rate,
        "seconds": seconds,
        "stored": committed,
        "stored_while_running": last,
        "kernel_drops": drops,
        "frames_cut": 0,
        "cpu": 0.0,
        "exit": code,
        "through": "serve",
    }


def report(r: dict) -> str:
    lost = r["sent"] - r["stored"]
    held = r["sent"] / r["elapsed"] if r["elapsed"] else 0.0
    extra = (
        f"kernel drops {r['kernel_drops']:,}, send errors {r['send_errors']}"
        if r["proto"] == "udp"
        else f"frames cut {r['frames_cut']}"
    )
    what = (
        f"lines committed by hawatch serve; {r['stored_while_running']:,} before SIGTERM"
        if r.get("through") == "serve"
        else "lines in closed spool files"
    )
    return (
        f"{r['proto']} {r['rate']:.0f} msg/s, {r['seconds']:g} s: sent {r['sent']:,},"
        f" stored {r['stored']:,} ({what}), lost {lost:,}"
        f" ({100 * lost / max(r['sent'], 1):.3f} %), rate held {held:,.0f} msg/s, {extra},"
        f" listener CPU {100 * r['cpu'] / max(r['elapsed'], 1e-9):.0f} % of one core,"
        f" listener exit {r['exit']}"
    )


def parse_args(default_rates: list[float]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--rate",
        type=float,
        nargs="+",
        default=default_rates,
        help="messages per second; several rates run one after another",
    )
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument(
        "--pool", type=int, default=200_000, help="distinct pre-generated lines, sent round-robin"
    )
    parser.add_argument(
        "--through",
        choices=("serve", "listener"),
        default="serve",
        help="serve: end to end into DuckDB (default); listener: spool only",
    )
    return parser.parse_args()


def main() -> None:
    args = parse_args([50_000, 100_000])
    lines = make_lines(args.pool)
    print(
        f"pool: {len(lines):,} SonicOS lines, {sum(map(len, lines)) / len(lines):.0f} bytes"
        f" on average; {os.cpu_count()} CPUs",
        flush=True,
    )
    run = run_once_serve if args.through == "serve" else run_once
    for rate in args.rate:
        print(report(run("udp", rate, args.seconds, lines, udp_sender)), flush=True)


if __name__ == "__main__":
    main()
