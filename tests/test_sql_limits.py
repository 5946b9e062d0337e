"""One viewer's queries against a real `hawatch serve`: an answer is bounded in bytes as
well as rows, and analyst queries beyond `sql.max_concurrent` are refused at once, so the
rest of the service keeps answering.

The red team of issue 10 took the server to 5.4 GiB with `SELECT repeat('x', 100000) FROM
range(20000)` (about 1 GB of text under the 10,000-row cap, then HTML around it) and made
/healthz wait 19 s with 16 queries at once from one viewer (all eight web threads busy)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.test_serve import Server
from tests.web_client import WebUser, add_user, api_sql

PASSWORD = "viewer-password-123"
BIG = "SELECT repeat('x', 100000) AS s FROM range(20000)"
SLOW = "SELECT count(*) FROM range(1000000000000)"  # runs until the time limit
MIB = 1024 * 1024


def peak_rss(pid: int) -> int:
    """The process' peak resident memory in bytes (VmHWM)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmHWM")


def start(tmp_path: Path, **env: str) -> Server:
    running = Server(tmp_path, syslog=False, env=env)
    add_user(running.db, "viewer", "viewer", PASSWORD)
    return running


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Server]:
    running = start(tmp_path)
    yield running
    if running.proc.poll() is None:
        running.stop()


def test_a_query_for_gigabytes_of_text_is_cut_at_the_byte_budget(served):
    viewer = WebUser(served.url)
    assert viewer.log_in("viewer", PASSWORD).status == 302
    viewer.get("/sql")
    before = peak_rss(served.proc.pid)

    page = viewer.post("/sql", {"q": BIG})
    download = viewer.post("/sql.json", {"q": BIG})
    status, answer = api_sql(served.url, served.db, BIG)

    assert page.status == 200 and 'class="truncated"' in page.text
    assert "size cap" in page.text
    assert 100 < page.text.count('class="result-row"') < 200  # 16 MiB of 100 kB rows
    assert len(page.body) < 20 * MIB
    body = json.loads(download.body)
    assert download.status == 200 and body["truncated"] is True
    assert len(download.body) < 20 * MIB and len(body["rows"]) < 200
    assert status == 200 and answer["truncated"] is True and len(answer["rows"]) < 200
    # about 1 GiB of values asked for; DuckDB's own chunks of 2,048 rows stay
    grown = peak_rss(served.proc.pid) - before
    assert grown < 1536 * MIB, f"server grew by {grown / MIB:.0f} MiB"
    code, output = served.stop()
    assert code == 0 and "Traceback" not in output


def test_the_byte_budget_is_a_setting(tmp_path):
    running = start(tmp_path, HAWATCH_SQL_MAX_RESULT_MEGABYTES="1")
    try:
        status, answer = api_sql(running.url, running.db, BIG)
        assert status == 200 and answer["truncated"] is True
        assert 5 <= len(answer["rows"]) <= 10  # 1 MiB of 100 kB rows
        status, answer = api_sql(
            running.url, running.db, "SELECT repeat('x', 1000) AS s FROM range(100)"
        )
        assert status == 200 and answer["truncated"] is False and len(answer["rows"]) == 100
    finally:
        running.stop()


def test_queries_beyond_the_cap_are_refused_and_the_service_answers(tmp_path):
    running = start(tmp_path, HAWATCH_SQL_MAX_CONCURRENT="2", HAWATCH_SQL_TIMEOUT_SECONDS="4")
    viewer = WebUser(running.url)
    try:
        assert viewer.log_in("viewer", PASSWORD).status == 302
        viewer.get("/sql")
        answers: list[tuple[float, int, str | None]] = []
        lock = threading.Lock()

        def query() -> None:
            answer = viewer.post("/sql", {"q": SLOW})
            with lock:
                answers.append((time.monotonic(), answer.status, answer.headers.get("Retry-After")))

        threads = [threading.Thread(target=query) for _ in range(16)]
        for thread in threads:
            thread.start()
        health = viewer.get("/healthz", timeout=60)
        health_done = time.monotonic()
        for thread in threads:
            thread.join(60)
    finally:
        code, output = running.stop()
    assert code == 0 and "Traceback" not in output
    statuses = sorted(status for _, status, _ in answers)
    ran = [done for done, status, _ in answers if status == 400]  # ran into the time limit
    assert statuses.count(503) >= 14 and 1 <= len(ran) <= 2, statuses
    assert all(retry == "2" for _, status, retry in answers if status == 503)
    assert health.status == 200
    # /healthz was answered while the admitted queries were still running
    assert health_done < min(ran)
