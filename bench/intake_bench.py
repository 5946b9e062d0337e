"""Pathological uploads against a real `hawatch serve`: how long each takes to answer, the
server's peak memory, and how long a syslog line sent meanwhile waits to be stored.

The three bodies of issue 10 (red-team figures on the first line of each):
- json: 0.25 MiB of gzip, 256 MiB of spaces inside a JSON array (229 s holding the ingest
  lock, a Python loop over every space);
- csv: 1 MiB of gzip, a CSV header and a 1 GiB line without a newline (226 s and 1.4 GiB,
  quadratic line splitting);
- junk: 0.1 MiB of gzip, 2,000,000 lines of junk (2,000,000 quarantine rows).

Each body gets a fresh server (peak RSS is per process: VmHWM). "seconds": until the upload
is answered. One second after it starts, 10 syslog lines go over TCP; "syslog waited" is how
long until /metrics counts them (None: not within --timeout).

    python3 bench/intake_bench.py [--hawatch PATH] [--bodies json csv junk] [--timeout 900]
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

TOKEN = "bench-token"
LINE = (
    '<134>  id=firewall sn=0040103CE114 time="2022-05-16 15:22:26 UTC" fw=10.0.0.96 pri=6'
    ' c=1024 m=537 msg="Connection Closed" app=12 sess="Web" n={n} usr="admin"'
    " src=81.2.69.193:65055:X1 dst=10.0.0.96:443:X1 proto=tcp/https sent=1930 rcvd=1545"
)


def _gzip_stream(parts: list[tuple[bytes, int]]) -> bytes:
    """gzip of each (chunk, repeat) in order, without building the whole text."""
    import zlib

    out = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    data = []
    for chunk, times in parts:
        for _ in range(times):
            data.append(out.compress(chunk))
    data.append(out.flush())
    return b"".join(data)


def bodies() -> dict[str, tuple[bytes, str]]:
    mib = 1024 * 1024
    return {
        "json": (_gzip_stream([(b"[", 1), (b" " * mib, 256), (b"]", 1)]), "application/json"),
        "csv": (_gzip_stream([(b"time,serial\n", 1), (b"a" * mib, 1024)]), "text/csv"),
        "junk": (gzip.compress(b"junk\n" * 2_000_000, 9), "text/plain"),
    }


def start(hawatch: str, tmp: Path) -> tuple[subprocess.Popen, str, int]:
    db = tmp / "bench.duckdb"
    env = {
        **os.environ,
        "HAWATCH_INGEST_TOKEN": TOKEN,
        "HAWATCH_SERVE_ANALYSIS_INTERVAL_SECONDS": "5",
    }
    err = open(tmp / "stderr.txt", "wb")  # noqa: SIM115 - lives as long as the server
    proc = subprocess.Popen(
        [
            hawatch,
            "serve",
            "--db",
            str(db),
            "--http",
            "127.0.0.1:0",
            "--syslog-udp",
            "",
            "--syslog-tcp",
            "127.0.0.1:0",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=err,
    )
    info, ports = Path(str(db) + ".serve.json"), Path(str(db) + ".spool/listener-ports.json")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if info.exists() and ports.exists():
            try:
                return (
                    proc,
                    json.loads(info.read_text())["url"],
                    json.loads(ports.read_text())["tcp"]["port"],
                )
            except (ValueError, KeyError):
                pass
        time.sleep(0.1)
    proc.kill()
    raise SystemExit("hawatch serve did not start")


def peak_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def tcp_ingested(url: str) -> int:
    with urllib.request.urlopen(url + "/metrics", timeout=30) as response:
        for line in response.read().decode().splitlines():
            if line.startswith('hawatch_ingested_total{source="tcp"} '):
                return int(float(line.split()[-1]))
    return 0


def upload(url: str, body: bytes, content_type: str, timeout: float) -> tuple[int, dict]:
    request = urllib.request.Request(
        url + "/api/v1/ingest",
        data=body,
        method="POST",
        headers={"Content-Type": content_type, "Authorization": f"Bearer {TOKEN}"},
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")
    except OSError as exc:
        return 0, {"error": f"{type(exc).__name__}: {exc}"}


def run_one(hawatch: str, name: str, body: bytes, content_type: str, timeout: float) -> dict:
    with tempfile.TemporaryDirectory(prefix=f"hawatch-intake-{name}-") as tmp:
        proc, url, tcp_port = start(hawatch, Path(tmp))
        try:
            base = peak_rss_mib(proc.pid)
            answer: list = []
            started = time.monotonic()

            def send() -> None:
                answer.append(
                    (*upload(url, body, content_type, timeout), time.monotonic() - started)
                )

            sender = threading.Thread(target=send)
            sender.start()
            time.sleep(1)
            sent_at = time.monotonic()
            with socket.create_connection(("127.0.0.1", tcp_port), timeout=10) as tcp:
                tcp.sendall("".join(LINE.format(n=n) + "\n" for n in range(10)).encode())
            waited = None
            while time.monotonic() - started < timeout:
                if waited is None and tcp_ingested(url) >= 10:
                    waited = time.monotonic() - sent_at
                if waited is not None and not sender.is_alive():
                    break
                time.sleep(0.2)
            sender.join(max(0.0, timeout - (time.monotonic() - started)))
            code, report, seconds = (
                answer[0] if answer else (0, {"error": "no answer"}, time.monotonic() - started)
            )
            peak = peak_rss_mib(proc.pid)
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(120)
            except subprocess.TimeoutExpired:
                proc.kill()
    return {
        "body": name,
        "gzip_bytes": len(body),
        "status": code,
        "seconds": round(seconds, 2),
        "peak_rss_mib": round(peak),
        "rss_before_mib": round(base),
        "syslog_waited_s": None if waited is None else round(waited, 2),
        "quarantined": report.get("quarantined"),
        "quarantine_stored": report.get("quarantine_stored"),
        "error": (report.get("error") or "")[:120],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--hawatch", default=str(Path(sys.executable).parent / "hawatch"))
    parser.add_argument("--bodies", nargs="+", default=["json", "csv", "junk"])
    parser.add_argument("--timeout", type=float, default=900.0)
    args = parser.parse_args()
    made = bodies()
    for name in args.bodies:
        body, content_type = made[name]
        print(json.dumps(run_one(args.hawatch, name, body, content_type, args.timeout)), flush=True)


if __name__ == "__main__":
    main()
