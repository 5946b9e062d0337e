"""The log of `hawatch serve` (issue 12 item 7): set up once, one format (UTC time, level,
logger name), the listener child's lines relayed into it; a background job that fails logs
one record with its traceback, carries on, and backs off, while the server keeps serving."""

from __future__ import annotations

import json
import logging
import os
import re
import socket
import subprocess
import threading
import urllib.request
from pathlib import Path

import pytest

from hawatch.background import Backoff, ScheduledJob, run_forever
from tests.test_serve import LINE, ROOT, Server, post, sql, wait_for

HEADER = re.compile(
    r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z) (DEBUG|INFO|WARNING|ERROR|CRITICAL)"
    r" ([\w.]+): (.*)$"
)
# a look-back no interval can hold (an operator's extra zeros): accepted as a number, refused
# by DuckDB ("Interval value ... out of range") once an incremental pass has new data to scope
BROKEN_ANALYSIS = {"HAWATCH_ANALYSIS_LOOKBACK_HOURS": "9000000000000000"}


def records(text: str) -> list[dict[str, str]]:
    """The log as records: a header line and the lines under it (a traceback)."""
    found: list[dict[str, str]] = []
    for line in text.splitlines():
        header = HEADER.match(line)
        if header:
            time, level, name, message = header.groups()
            found.append({"level": level, "name": name, "message": message, "more": ""})
        else:
            assert found, f"a line before any record: {line!r}"
            found[-1]["more"] += line + "\n"
    return found


def analysis_failures(log: Path) -> list[dict[str, str]]:
    return [r for r in records(log.read_text()) if r["message"].startswith("analysis failed")]


def healthz(url: str) -> tuple[int, dict]:
    with urllib.request.urlopen(url + "/healthz", timeout=10) as response:
        return response.status, json.loads(response.read())


def test_a_failing_analysis_logs_its_traceback_and_serve_carries_on(tmp_path):
    log = tmp_path / "serve.log"
    running = Server(tmp_path, env=BROKEN_ANALYSIS, log=log)
    try:
        # the first pass (full, on nothing) works; the next ones have new data to scope
        wait_for(
            lambda: sql(running.db, "SELECT count(*) AS n FROM analysis_runs")[0]["n"],
            "the first analysis run",
            running.proc,
        )
        status = (ROOT / "sample_logs" / "exports" / "status.json").read_bytes()
        assert post(running.url, status, "application/json")[0] == 200
        # the listener child logs a misframing sender; its line comes through serve's log
        with socket.create_connection(("127.0.0.1", running.ports["tcp"]["port"]), 10) as tcp:
            tcp.sendall(b"5x <13>misframed\n" + LINE.format(n=1).encode() + b"\n")
        wait_for(
            lambda: len(analysis_failures(log)) >= 2,
            "two failed analysis runs",
            running.proc,
            seconds=60,
        )
        code, answer = healthz(running.url)
        assert code == 200 and answer["status"] == "ok", answer
        assert sql(running.db, "SELECT count(*) AS n FROM status_samples") == [{"n": 103}]
        wait_for(lambda: "no octet count" in log.read_text(), "the listener's warning")
    finally:
        code, output = running.stop()
    assert code == 0, output
    first, second = analysis_failures(log)[:2]
    for failure in (first, second):
        assert (failure["level"], failure["name"]) == ("ERROR", "hawatch.serve")
        assert failure["more"].startswith("Traceback (most recent call last):\n")
        assert "OutOfRangeException: Out of Range Error: Interval value" in failure["more"]
    assert first["message"] == "analysis failed (1 in a row); trying again at the next run"
    assert second["message"] == "analysis failed (2 in a row); skipping the next 1 run"
    (relayed,) = [r for r in records(log.read_text()) if "no octet count" in r["message"]]
    assert relayed["level"] == "WARNING" and relayed["name"].startswith("hawatch.collector.")
    assert re.match(r"\[listener \d+\] ", relayed["message"])


def test_an_unknown_log_level_is_refused_in_one_line(tmp_path):
    result = subprocess.run(
        ["hawatch", "serve", "--db", str(tmp_path / "x.duckdb"), "--http", "127.0.0.1:0"],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "HAWATCH_LOG_LEVEL": "LOUD"},
    )
    assert result.returncode == 1
    assert result.stderr == (
        "hawatch: error: log.level: expected one of DEBUG, INFO, WARNING, ERROR, got 'LOUD'\n"
    )


def test_a_scheduled_job_skips_more_runs_while_it_keeps_failing(caplog):
    calls: list[int] = []

    def job() -> None:
        calls.append(1)
        if len(calls) <= 3:
            raise RuntimeError(f"failure {len(calls)}")

    scheduled = ScheduledJob("example", job, logging.getLogger("hawatch.test"))
    with caplog.at_level(logging.ERROR, "hawatch.test"):
        for _ in range(12):
            scheduled()
    # runs 1 and 2 fail, run 3 is skipped, run 4 fails, runs 5-7 are skipped, 8-12 work
    assert len(calls) == 8 and scheduled.failures == 0
    assert [r.getMessage() for r in caplog.records] == [
        "example failed (1 in a row); trying again at the next run",
        "example failed (2 in a row); skipping the next 1 run",
        "example failed (3 in a row); skipping the next 3 runs",
    ]
    assert all(r.exc_info and r.exc_info[0] is RuntimeError for r in caplog.records)


def test_a_loop_carries_on_after_failures_with_growing_pauses(caplog):
    stopping, seen = threading.Event(), []

    def step() -> bool:
        seen.append(1)
        if len(seen) in (1, 2):
            raise OSError("a bad moment")
        if len(seen) >= 4:
            stopping.set()
        return True

    with caplog.at_level(logging.ERROR, "hawatch.test"):
        run_forever(
            "example loop",
            step,
            stopping,
            logging.getLogger("hawatch.test"),
            idle=0.01,
            backoff=Backoff(0.01, 1.0),
        )
    assert len(seen) == 4
    assert [r.getMessage() for r in caplog.records] == [
        "example loop failed (1 in a row); trying again in 0.01 s",
        "example loop failed (2 in a row); trying again in 0.02 s",
    ]


@pytest.mark.parametrize("failures,pause", [(1, 2.0), (2, 4.0), (5, 32.0), (7, 60.0)])
def test_backoff_doubles_up_to_its_most(failures, pause):
    backoff = Backoff(2.0, 60.0)
    for _ in range(failures - 1):
        backoff.failed()
    assert backoff.failed() == pause
    backoff.succeeded()
    assert backoff.failed() == 2.0
