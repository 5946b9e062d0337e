"""Analyst SQL with bound values: `/api/v1/sql` takes `params` for the query's `?`
placeholders and runs them through the same sandbox; `hawatch windows list` and
`hawatch alerts log` pass their options that way, to a running server and on the file alike.
A value is never SQL: a pair named like an injection is just a name."""

from __future__ import annotations

import json
import re
import subprocess
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hawatch.analytics.alerts.outbox import Draft, enqueue
from hawatch.store import Store
from hawatch.store.errors import InvalidQuery
from hawatch.store.readonly import Limits, run_query

from tests.test_serve import Server
from tests.web_client import server_token

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
QUOTED = "o'brien-ha"  # a real pair name with a quote
INJECTION = "x' OR '1'='1"


def seed(db: Path) -> None:
    """Two pairs with a window each, and three notifications in the outbox."""
    with Store(db) as store, store.transaction() as cur:
        for n, pair in enumerate((QUOTED, "fra1-ha01")):
            cur.execute(
                "INSERT INTO pairs (pair, site, origin, updated_at)"
                " VALUES (?, 'lab', 'inventory', ?)",
                [pair, NOW],
            )
            cur.execute(
                "INSERT INTO windows (pair, starts_at, ends_at, kind, comment, origin,"
                " created_at) VALUES (?, ?, ?, 'maintenance', ?, 'cli', ?)",
                [pair, NOW + timedelta(hours=n), NOW + timedelta(hours=n + 1), f"change {n}", NOW],
            )
        for n in range(3):
            enqueue(
                cur,
                Draft("test", None, [], ["noc@example.com"], f"test {n}", "t", "h"),
                NOW,
                "example.com",
            )


def hawatch(*args: str) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(["hawatch", *args], capture_output=True, text=True, timeout=60)
    assert "Traceback" not in result.stderr
    return result


def listed(db: Path, *args: str) -> list[dict[str, Any]]:
    result = hawatch(*args, "--format", "json", "--db", str(db))
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def check_commands(db: Path) -> None:
    """The options reach the query as values, wherever it runs."""
    assert [w["comment"] for w in listed(db, "windows", "list", "--pair", QUOTED)] == ["change 0"]
    assert listed(db, "windows", "list", "--pair", INJECTION) == []
    assert {w["pair"] for w in listed(db, "windows", "list")} == {QUOTED, "fra1-ha01"}
    assert [n["subject"] for n in listed(db, "alerts", "log", "--limit", "2")] == [
        "test 2",
        "test 1",
    ]
    assert listed(db, "alerts", "log", "--limit", "0") == []


def api_sql(server: Server, body: Any) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(
        server.url + "/api/v1/sql",
        data=json.dumps(body).encode(),
        method="POST",
        headers={
            "Authorization": f"Bearer {server_token(server.db)}",
            "Content-Type": "application/json",
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_the_commands_bind_their_options_through_a_running_server_and_on_the_file(tmp_path):
    seed(tmp_path / "serve.duckdb")
    server = Server(tmp_path, syslog=False)
    try:
        check_commands(server.db)  # the server holds the file: these went through it
        query = "SELECT pair FROM pairs WHERE pair = ? OR pair = ? ORDER BY pair"
        status, answer = api_sql(server, {"query": query, "params": [QUOTED, INJECTION]})
        assert (status, answer["rows"]) == (200, [[QUOTED]])
        for params, error in (
            ([QUOTED], "not provided"),
            ({"pair": QUOTED}, "a list"),
            ([[QUOTED]], "not a value"),
        ):
            status, answer = api_sql(server, {"query": query, "params": params})
            assert status == 400 and error in answer["error"], answer
            assert "\n" not in answer["error"]
        status, answer = api_sql(server, [query])
        assert status == 400 and "JSON object" in answer["error"]
    finally:
        server.stop()
    check_commands(server.db)


@pytest.fixture
def locked(tmp_path: Path):
    seed(tmp_path / "x.duckdb")
    with Store(tmp_path / "x.duckdb") as store:
        store.lock_down()
        yield store


@pytest.mark.parametrize(
    ("query", "params", "refusal"),
    [
        ("SELECT * FROM read_text(?)", ["/etc/passwd"], "read_text() is not allowed"),
        ("SELECT * FROM query(?)", ["DELETE FROM pairs"], "query() is not allowed"),
        ("SELECT current_setting(?)", ["temp_directory"], "current_setting() is not allowed"),
        ("SELECT nextval(?)", ["notification_ids"], "nextval() is not allowed"),
        (
            "WITH d AS (DELETE FROM pairs WHERE pair = ? RETURNING *) SELECT * FROM d",
            [QUOTED],
            "DELETE inside",
        ),
    ],
)
def test_the_sandbox_holds_with_parameters(locked: Store, query, params, refusal):
    with pytest.raises(InvalidQuery, match=re.escape(refusal)):
        run_query(locked.cursor(), query, Limits(), params)
    assert locked.cursor().execute("SELECT count(*) FROM pairs").fetchone() == (2,)


def test_a_bound_value_is_a_value(locked: Store):
    text = "'; DROP TABLE pairs; --"
    result = run_query(
        locked.cursor(),
        "SELECT ? AS v, ? + 1 AS n, ? AS b, ? AS z",
        Limits(),
        [text, 41, True, None],
    )
    assert result.rows == [(text, 42, True, None)]
    assert run_query(
        locked.cursor(), "SELECT count(*) FROM pairs WHERE pair = ?", Limits(), [INJECTION]
    ).rows == [(0,)]
