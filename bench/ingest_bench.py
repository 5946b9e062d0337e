"""Ingest benchmark: hawatch against DuckDB's own extraction on the same 1,000,000-line file.

The file is simulator output (about 97% Connection Opened/Closed traffic, 3% HA events, 2,000
pairs) over one hour: 2,000 pairs logging every connection write a million lines in well under
an hour, so a day-long file of that size would model a nearly idle fleet.

The baseline is DuckDB alone: `read_csv` of the file plus `regexp_extract` of sn, time, m,
msg, c, pri, src and dst into a table. hawatch does everything its ingest does (classify,
convert times, count, de-duplicate, account for n= gaps, commit per batch).
Prints lines/s of each, their ratio (target >= 1.0) and hawatch's peak RSS (target < 1 GiB).
Each side runs --runs times, alternating; the best run of each counts (the machine is shared).

    python3 bench/ingest_bench.py [--lines 1000000] [--runs 3]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from hawatch.simulator.fleet import build_fleet, write_inventory  # noqa: E402
from hawatch.simulator.sonicos_lines import bench_lines  # noqa: E402

BASELINE = r"""
CREATE OR REPLACE TABLE extracted AS
SELECT regexp_extract(line, ' sn=(\S+)', 1) AS sn,
       regexp_extract(line, ' time="([^"]*)"', 1) AS time,
       regexp_extract(line, ' m=(\d+)', 1) AS m,
       regexp_extract(line, ' msg="([^"]*)"', 1) AS msg,
       regexp_extract(line, ' c=(\d+)', 1) AS c,
       regexp_extract(line, ' pri=(\d)', 1) AS pri,
       regexp_extract(line, ' src=(\S+)', 1) AS src,
       regexp_extract(line, ' dst=(\S+)', 1) AS dst
FROM read_csv(?, columns = {'line': 'VARCHAR'}, delim = '\x01', quote = '', escape = '',
              header = false, auto_detect = false)
"""


def write_input(folder: Path, lines: int, seed: int = 1, pairs: int = 2000) -> tuple[Path, Path]:
    log = folder / f"sonicos-{lines}-1h.log"
    inventory = folder / "inventory.csv"
    if not log.exists():
        tmp = log.with_suffix(".tmp")
        with open(tmp, "w") as out:
            for line in bench_lines(seed, lines, pairs, span_seconds=3600):
                out.write(line + "\n")
        tmp.rename(log)
    write_inventory(build_fleet(seed, pairs), inventory)
    return log, inventory


def duckdb_baseline(log: Path) -> float:
    con = duckdb.connect()
    started = time.perf_counter()
    con.execute(BASELINE, [str(log)])
    seconds = time.perf_counter() - started
    (count,) = con.execute("SELECT count(*) FROM extracted").fetchone()
    con.close()
    return count / seconds


def hawatch_ingest(log: Path, inventory: Path) -> tuple[float, int, dict[str, object]]:
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "bench.duckdb"
        # the inventory first, so the timed run is the ingest alone
        subprocess.run(
            ["hawatch", "ingest", "--db", str(db), "--inventory", str(inventory), str(inventory)],
            check=True,
            capture_output=True,
        )
        proc = subprocess.run(
            [
                "/usr/bin/time",
                "-f",
                "%M",
                "hawatch",
                "ingest",
                "--db",
                str(db),
                "--format",
                "json",
                str(log),
            ],
            capture_output=True,
            text=True,
            check=True,
        )
    report = json.loads(proc.stdout)
    (source,) = [s for s in report["sources"] if s["format"] == "syslog"]
    peak_kib = int(proc.stderr.strip().splitlines()[-1])
    return source["lines"] / source["seconds"], peak_kib, source


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--dir", default=str(ROOT / "bench" / "out"))
    args = parser.parse_args()
    folder = Path(args.dir)
    folder.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    log, inventory = write_input(folder, args.lines)
    print(
        f"input: {log} ({log.stat().st_size / 2**20:.0f} MiB, {args.lines:,} lines; "
        f"written or reused in {time.perf_counter() - started:.1f} s)"
    )
    baseline, ours, peaks = [], [], []
    for run in range(1, args.runs + 1):
        baseline.append(duckdb_baseline(log))
        rate, peak, source = hawatch_ingest(log, inventory)
        ours.append(rate)
        peaks.append(peak)
        print(
            f"run {run}: duckdb {baseline[-1]:,.0f} lines/s, hawatch {rate:,.0f} lines/s "
            f"(events {source['events']:,}, counted {source['counted']:,}, "
            f"quarantined {source['quarantined']:,}), peak RSS {peak / 1024:.0f} MiB"
        )
    best_ours, best_base = max(ours), max(baseline)
    print(f"\nhawatch ingest:           {best_ours:,.0f} lines/s")
    print(f"duckdb read_csv+regexp:   {best_base:,.0f} lines/s")
    print(f"ratio hawatch/duckdb:     {best_ours / best_base:.2f}  (target >= 1.0)")
    print(f"hawatch peak RSS:         {max(peaks) / 1024:.0f} MiB  (target < 1024)")


if __name__ == "__main__":
    main()
