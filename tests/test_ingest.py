"""Ingest end to end through the CLI: idempotent, resumable after SIGKILL, gz, stdin, folders.

Lines are the real E-aws Connection Closed line (elastic/integrations
packages/sonicwall_firewall/.../test-sonicos70-aws.log) with the serial, counter and time
varied, plus documented HA texts in the same shape.
"""

from __future__ import annotations

import gzip
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
from hawatch.store import Store

TRAFFIC = (
    '<134>  id=firewall sn={sn} time="2026-11-0{day} {hh:02}:{mm:02}:{ss:02} UTC"'
    ' fw=10.0.0.96 pri=6 c=1024 m=537 msg="Connection Closed" app=12 sess="Web" n={n}'
    ' usr="admin" src=81.2.69.193:65055:X1 dst=10.0.0.96:443:X1'
    " srcMac=06:08:25:81:11:30 proto=tcp/https sent=1930 rcvd=1545 spkt=11 rpkt=7"
    ' dpi=0 cdur=2133 rule="Default Access Rule" fw_action="NA"'
)
HA = (
    '<129>  id=firewall sn={sn} time="2026-11-0{day} {hh:02}:{mm:02}:{ss:02} UTC"'
    " fw=10.0.0.96 pri=1 c=0 m=147"
    ' msg="Backup missed heartbeats from Active Primary: Backup going Active" n={n}'
)


def make_log(path: Path, lines: int, units: int = 40) -> None:
    """A syslog file: every 50th line an HA event, one bad line every 1,000."""
    with open(path, "w") as out:
        for i in range(lines):
            sn = f"C0EAE4{i % units:06X}"
            day, rest = divmod(i // units, 86400)
            when = {"day": 1 + day % 9, "hh": rest // 3600, "mm": rest // 60 % 60, "ss": rest % 60}
            template = HA if i % 50 == 7 else TRAFFIC
            out.write(template.format(sn=sn, n=i // units, **when) + "\n")
            if i % 1000 == 999:
                out.write("this is not a syslog line\n")


def hawatch(
    *args: str, stdin: bytes | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        ["hawatch", *args],
        input=stdin.decode() if stdin else None,
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert "Traceback" not in result.stderr
    return result


def totals(db: Path) -> dict[str, object]:
    with Store(db) as store:
        cur = store.cursor()
        return {
            table: cur.execute(query).fetchone()
            for table, query in {
                "ha_events": "SELECT count(*), count(DISTINCT event_key) FROM ha_events",
                "message_counts": "SELECT sum(lines), count(*), sum(hash(minute, serial,"
                " message_id, lines)) FROM message_counts",
                "quarantine": "SELECT count(*), sum(position) FROM quarantine",
                "sequence_gaps": "SELECT sum(lines), sum(missing), sum(duplicated)"
                " FROM sequence_gaps",
                "devices": "SELECT count(*) FROM devices",
            }.items()
        }


def test_second_ingest_adds_nothing_and_lines_are_accounted(tmp_path):
    log = tmp_path / "fw.log"
    make_log(log, 5000)
    db = tmp_path / "x.duckdb"
    first = hawatch("ingest", "--db", str(db), str(log))
    assert first.returncode == 0, first.stderr
    assert "syslog lines 5,005 = HA events 100 + counted 4,900 + quarantined 5" in first.stdout
    before = totals(db)
    second = hawatch("ingest", "--db", str(db), str(log), str(tmp_path))
    assert second.returncode == 0
    assert "already ingested, nothing new" in second.stdout
    assert totals(db) == before


def test_sigkill_then_restart_equals_one_clean_run(tmp_path):
    log = tmp_path / "fw.log"
    make_log(log, 120_000)
    env = {**os.environ, "HAWATCH_INGEST_BATCH_MEGABYTES": "1"}
    clean = tmp_path / "clean.duckdb"
    assert hawatch("ingest", "--db", str(clean), str(log), env=env).returncode == 0
    killed = tmp_path / "killed.duckdb"
    delay = 2.0
    for _ in range(8):  # kill mid-run: sooner after a run that finished, later before any commit
        if killed.exists():
            killed.unlink()
        proc = subprocess.Popen(
            ["hawatch", "ingest", "--db", str(killed), str(log)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(delay)
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            proc.wait(30)
            with Store(killed) as store:
                done = (
                    store.cursor()
                    .execute("SELECT coalesce(max(committed_lines), 0) FROM sources")
                    .fetchone()[0]
                )
            if 0 < done < 120_120:  # lines in the file: it stopped mid-file
                break
            delay *= 1.6  # nothing committed yet (a loaded machine)
        else:
            delay /= 2
    else:
        pytest.fail("could not kill the ingest mid-run")
    resumed = hawatch("ingest", "--db", str(killed), str(log), env=env)
    assert resumed.returncode == 0 and "(resumed)" in resumed.stdout
    assert totals(killed) == totals(clean)


def test_gzip_folders_and_stdin(tmp_path):
    folder = tmp_path / "logs" / "site-a"
    folder.mkdir(parents=True)
    make_log(folder / "a.log", 1000)
    with open(folder / "a.log", "rb") as src, gzip.open(tmp_path / "logs" / "b.log.gz", "wb") as gz:
        gz.write(src.read().replace(b"sn=C0EAE4", b"sn=D0EAE4"))
    db = tmp_path / "x.duckdb"
    result = hawatch("ingest", "--db", str(db), str(tmp_path / "logs"))
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("1,001 lines [syslog]") == 2
    piped = hawatch(
        "ingest",
        "--db",
        str(db),
        "-",
        stdin=(folder / "a.log").read_bytes().replace(b"sn=C0EAE4", b"sn=E0EAE4"),
    )
    assert piped.returncode == 0 and "-: 1,001 lines" in piped.stdout
    with Store(db) as store:
        (serials,) = (
            store.cursor()
            .execute("SELECT count(DISTINCT left(serial, 6)) FROM message_counts")
            .fetchone()
        )
    assert serials == 3


def test_missing_source_is_a_one_line_error(tmp_path):
    result = hawatch("ingest", "--db", str(tmp_path / "x.duckdb"), str(tmp_path / "nope.log"))
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"hawatch: error: no such file or folder: {tmp_path / 'nope.log'}"
    ]


def test_memory_stays_flat(tmp_path):
    """Peak RSS of ingesting 4x the data stays within 100 MiB of ingesting 1x."""
    peaks = []
    for factor in (1, 4):
        log = tmp_path / f"fw{factor}.log"
        make_log(log, 60_000 * factor)
        proc = subprocess.run(
            [
                "/usr/bin/time",
                "-f",
                "%M",
                "hawatch",
                "ingest",
                "--db",
                str(tmp_path / f"m{factor}.duckdb"),
                str(log),
            ],
            env={**os.environ, "HAWATCH_INGEST_BATCH_MEGABYTES": "4"},
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert proc.returncode == 0, proc.stderr
        peaks.append(int(proc.stderr.strip().splitlines()[-1]))
    assert peaks[1] - peaks[0] < 100 * 1024, peaks
