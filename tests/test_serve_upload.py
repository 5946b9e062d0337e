"""POST /api/v1/ingest on a real `hawatch serve`: what it refuses (bodies that are not what
they claim, inventories, decompression bombs), what it caps (quarantine rows), that one
upload never holds up syslog, and that parallel uploads report no false failures."""

from __future__ import annotations

import gzip
import json
import socket
import threading
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.test_serve import LINE, ROOT, Server, post, sql, wait_for


@pytest.fixture
def server(tmp_path) -> Iterator[Server]:
    running = Server(tmp_path, syslog=False)
    yield running
    if running.proc.poll() is None:
        running.stop()


def _metrics(url: str) -> str:
    with urllib.request.urlopen(url + "/metrics", timeout=10) as response:
        return response.read().decode()


def _metric(url: str, name: str, source: str) -> float:
    prefix = f'hawatch_{name}{{source="{source}"}} '
    for line in _metrics(url).splitlines():
        if line.startswith(prefix):
            return float(line[len(prefix) :])
    return 0.0


@pytest.mark.parametrize(
    "body",
    [
        b"hello, this is not JSON\n",
        b"<html><body>hi</body></html>",
        b"time,serial\n2024-01-01T00:00:00Z,0040103CE114\n",
    ],
)
def test_a_body_that_is_not_json_sent_as_json_is_refused(server, body):
    """11.8: it was answered 200 "ingested" (and its lines quarantined as syslog)."""
    code, answer = post(server.url, body, "application/json")
    assert code in (400, 415), answer
    assert "JSON" in answer["error"]
    assert sql(server.db, "SELECT count(*) AS n FROM sources") == [{"n": 0}]


def test_a_body_that_is_not_csv_sent_as_csv_is_refused(server):
    code, answer = post(server.url, b'{"time": "2024-01-01T00:00:00Z"}\n', "text/csv")
    assert code in (400, 415) and "CSV" in answer["error"], answer


def test_an_inventory_upload_is_refused_and_changes_no_pairing(tmp_path):
    """10.8: the ingest token could replace the pair inventory and re-pair units."""
    inventory = tmp_path / "pairs.csv"
    inventory.write_text(
        "pair,site,primary_serial,secondary_serial\nfra1-ha01,fra1,0040103CE114,0040103CE115\n"
    )
    running = Server(tmp_path, env={"HAWATCH_INVENTORY": str(inventory)})
    try:
        evil = b"pair,site,primary_serial,secondary_serial\nevil,x,0040103CE114,C0FFEE000001\n"
        code, answer = post(running.url, evil, "text/csv")
        assert code in (403, 422) and "inventory" in answer["error"], answer
        code, answer = post(running.url, gzip.compress(evil), "text/plain")
        assert code in (403, 422), answer
        # the syslog path neither: a TCP sender whose first line is an inventory header
        with socket.create_connection(
            ("127.0.0.1", running.ports["tcp"]["port"]), timeout=10
        ) as tcp:
            tcp.sendall(evil + (LINE.format(n=1) + "\n").encode())
        wait_for(
            lambda: (
                sql(running.db, "SELECT count(*) AS n FROM sources WHERE origin = 'tcp'")[0]["n"]
                == 1
            ),
            "tcp file",
        )
        assert sql(running.db, "SELECT pair, primary_serial, secondary_serial FROM pairs") == [
            {
                "pair": "fra1-ha01",
                "primary_serial": "0040103CE114",
                "secondary_serial": "0040103CE115",
            }
        ]
    finally:
        running.stop()


def test_a_decompression_bomb_is_refused_at_the_cap(tmp_path):
    """10.9: 0.25 MiB of gzipped spaces held the ingest lock for 229 s; now the body is cut
    at ingest.max_decompressed_megabytes and refused with 413."""
    running = Server(tmp_path, syslog=False, env={"HAWATCH_INGEST_MAX_DECOMPRESSED_MEGABYTES": "4"})
    try:
        bomb = gzip.compress(b"[" + b" " * (24 * 1024 * 1024) + b"]", 9)
        code, answer = post(running.url, bomb, "application/json")
        assert code == 413, answer
        assert "ingest.max_decompressed_megabytes" in answer["error"]
        ok = (ROOT / "sample_logs" / "exports" / "status.json").read_bytes()
        assert post(running.url, gzip.compress(ok), "application/json")[0] == 200
    finally:
        running.stop()


def test_quarantine_rows_are_capped_per_source_and_the_rest_counted(server):
    """10.9: 0.1 MiB of gzipped junk made 2,000,000 quarantine rows. A source with no usable
    line keeps a small sample; the rest is counted in `sources.quarantined`."""
    junk = b"".join(b"junk line %d that is not a log\n" % i for i in range(50_000))
    code, answer = post(server.url, gzip.compress(junk), "text/plain")
    assert code == 200, answer
    assert answer["quarantined"] == 50_000 and answer["quarantine_stored"] <= 100, answer
    stored = sql(server.db, "SELECT count(*) AS n FROM quarantine")[0]["n"]
    assert stored == answer["quarantine_stored"]
    assert sql(server.db, "SELECT sum(quarantined) AS n FROM sources") == [{"n": 50_000}]


def test_parallel_uploads_report_no_false_failures(server):
    """11.7: uploads racing the ingester thread were counted failed (FileNotFoundError
    uploads/... -> failed/...) although every record was stored."""
    bodies = [(LINE.format(n=n) + "\n").encode() for n in range(160)]
    with ThreadPoolExecutor(40) as pool:
        answers = list(pool.map(lambda b: post(server.url, b, "text/plain"), bodies))
    assert [a for a in answers if a[0] != 200 or a[1]["status"] != "ingested"] == []
    assert sql(server.db, "SELECT sum(lines) AS n FROM message_counts") == [{"n": 160}]
    assert _metric(server.url, "ingest_failed_files_total", "http") == 0
    assert _metric(server.url, "ingested_total", "http") == 160
    code, output = server.stop()
    assert code == 0 and "FileNotFoundError" not in output, output
    failed = server.db.parent / "serve.duckdb.spool" / "failed"
    assert not failed.exists() or list(failed.iterdir()) == []


def test_a_long_upload_does_not_hold_up_syslog_or_analysis(tmp_path):
    """10.9: one upload held the ingest lock for its whole body, so syslog, analysis and
    alerts waited. Now the upload commits in slices and the others run between them."""
    running = Server(tmp_path)
    try:
        records = b"".join(
            json.dumps(
                {
                    "time": f"2024-01-01T{(n // 3600) % 24:02d}:{(n // 60) % 60:02d}:{n % 60:02d}Z",
                    "serial": f"0040103C{n % 997:04d}",
                    "connections": n,
                }
            ).encode()
            + b"\n"
            for n in range(150_000)
        )
        answer: list = []
        upload = threading.Thread(
            target=lambda: answer.append(
                post(running.url, records, "application/x-ndjson", timeout=300)
            )
        )
        runs_before = float(_metric_plain(running.url, "analysis_runs_total"))
        upload.start()
        wait_for(
            lambda: (
                sql(running.db, "SELECT count(*) AS n FROM sources WHERE origin = 'http'")[0]["n"]
                == 1
            ),
            "upload began",
        )
        with socket.create_connection(
            ("127.0.0.1", running.ports["tcp"]["port"]), timeout=10
        ) as tcp:
            tcp.sendall("".join(LINE.format(n=n) + "\n" for n in range(100)).encode())
        wait_for(
            lambda: (
                sql(running.db, "SELECT coalesce(sum(lines), 0) AS n FROM message_counts")[0]["n"]
                == 100
                or not upload.is_alive()
            ),
            "syslog stored",
            seconds=120,
        )
        syslog_first = upload.is_alive()
        wait_for(
            lambda: (
                float(_metric_plain(running.url, "analysis_runs_total")) > runs_before + 1
                or not upload.is_alive()
            ),
            "analysis runs",
            seconds=120,
        )
        analysed_meanwhile = upload.is_alive()
        upload.join(300)
        assert answer and answer[0][0] == 200, answer
        assert syslog_first, "the syslog lines waited for the whole upload"
        assert analysed_meanwhile, "analysis waited for the whole upload"
    finally:
        running.stop()


def _metric_plain(url: str, name: str) -> str:
    for line in _metrics(url).splitlines():
        if line.startswith(f"hawatch_{name} "):
            return line.split()[1]
    return "0"


def test_metrics_count_every_line_as_sources_does(server):
    """11.10: /metrics said one line more than `sources` at high counts: counters were
    printed with {:g}, six significant digits (1,999,899 showed as 1.9999e+06)."""
    lines = 1_000_001
    body = gzip.compress(b"x\n" * lines)
    code, answer = post(server.url, body, "text/plain", timeout=120)
    assert code == 200 and answer["records"] == lines, answer
    committed = sql(server.db, "SELECT sum(committed_lines) AS n FROM sources")[0]["n"]
    assert committed == lines
    assert f'hawatch_ingested_total{{source="http"}} {lines}\n' in _metrics(server.url)
