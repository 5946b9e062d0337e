"""Operators' actions: acknowledgements stop repeats and clear themselves when the incident
resolves; silences always end; both work on a file and through a running server."""

from __future__ import annotations

import json
import subprocess
from datetime import UTC, datetime, timedelta

from hawatch.analytics.alerts import pipeline
from hawatch.store import Store

from tests.test_serve import Server

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
SETTINGS = {
    "alerts.to": "noc@example.com",
    "alerts.group_wait_seconds": 0,
    "alerts.repeat_interval_hours": 1.0,
}


def hawatch(*args: str) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(["hawatch", *args], capture_output=True, text=True, timeout=60)
    assert "Traceback" not in result.stderr
    return result


def seed(db) -> None:
    """Two open critical incidents on one pair, as an analysis pass would leave them."""
    with Store(db) as store, store.transaction() as cur:
        cur.execute(
            "INSERT INTO pairs (pair, site, origin, updated_at)"
            " VALUES ('fw-a', 'lab', 'inventory', ?)",
            [NOW],
        )
        for key in ("failover@1", "failover@2"):
            cur.execute(
                "INSERT INTO incidents (pair, kind, incident_key, severity, opened_at, status,"
                " summary, evidence, first_detected, last_updated) VALUES ('fw-a',"
                " 'unsynced_failover', ?, 'critical', ?, 'open', 'kept 3% of 100', '{}', ?,"
                " ?)",
                [key, NOW - timedelta(hours=2), NOW - timedelta(hours=2), NOW],
            )


def kinds_due(db, now: datetime) -> list[str]:
    with Store(db) as store:
        pipeline.evaluate(store, SETTINGS, now)
        return [
            r[0]
            for r in store.cursor()
            .execute("SELECT kind FROM notifications WHERE created_at = ? ORDER BY 1", [now])
            .fetchall()
        ]


def test_acknowledged_incident_stops_repeating_until_it_resolves(tmp_path):
    db = tmp_path / "x.duckdb"
    seed(db)
    assert kinds_due(db, NOW) == ["new"]
    ack = hawatch("alerts", "ack", "1", "--db", str(db), "--comment", "on it", "--by", "kim")
    assert ack.returncode == 0 and "acknowledged" in ack.stdout
    # two hours on: incident 2 repeats, the acknowledged incident 1 does not
    with Store(db) as store:
        pipeline.evaluate(store, SETTINGS, NOW + timedelta(hours=2))
        rows = (
            store.cursor()
            .execute("SELECT incident_ids FROM notifications WHERE kind = 'repeat'")
            .fetchall()
        )
    assert [json.loads(r[0]) if isinstance(r[0], str) else list(r[0]) for r in rows] == [[2]]
    with Store(db) as store, store.transaction() as cur:
        cur.execute("UPDATE incidents SET status = 'resolved', resolved_at = ?", [NOW])
    kinds_due(db, NOW + timedelta(hours=3))
    with Store(db) as store:
        assert store.cursor().execute(
            "SELECT count(*) FROM acknowledgements WHERE cleared_at IS NOT NULL"
        ).fetchone() == (1,)
    again = hawatch("alerts", "ack", "1", "--db", str(db))
    assert again.returncode == 1 and "is resolved, not open" in again.stderr


def test_silence_needs_an_end_and_a_known_pair(tmp_path):
    db = tmp_path / "x.duckdb"
    seed(db)
    ok = hawatch("alerts", "silence", "fw-a", "--until", "2099-01-01T00:00Z", "--db", str(db))
    assert ok.returncode == 0 and "silenced until 2099-01-01" in ok.stdout
    for args, message in (
        (["fw-a", "--until", "tomorrow"], "unparseable time"),
        (["fw-a", "--until", "2099-01-01T00:00"], "needs a time zone"),
        (["nope", "--until", "2099-01-01T00:00Z"], "no pair 'nope'"),
    ):
        bad = hawatch("alerts", "silence", *args, "--db", str(db))
        assert bad.returncode == 1 and message in bad.stderr, bad.stderr
    with Store(db) as store:
        assert store.cursor().execute("SELECT pair FROM silences").fetchall() == [("fw-a",)]


def test_actions_go_through_the_running_server(tmp_path):
    seed(tmp_path / "serve.duckdb")
    with Store(tmp_path / "serve.duckdb") as store, store.transaction() as cur:
        # a past analysis pass, so the server's first pass is incremental (nothing new) and
        # does not withdraw these hand-made incidents, which no data supports
        cur.execute("INSERT INTO analysis_runs VALUES (?, 'full', 1, 2, 0, 0, 0, 0.1)", [NOW])
    server = Server(tmp_path, syslog=False)
    try:
        ack = hawatch("alerts", "ack", "2", "--db", str(server.db), "--comment", "x")
        assert ack.returncode == 0, ack.stderr
        missing = hawatch("alerts", "ack", "99", "--db", str(server.db))
        assert missing.returncode == 1 and "no incident #99" in missing.stderr
    finally:
        server.stop()
    with Store(server.db) as store:
        assert store.cursor().execute(
            "SELECT incident_id, comment FROM acknowledgements"
        ).fetchall() == [(2, "x")]


def test_a_window_declared_afterwards_turns_a_failover_into_a_test_verdict(tmp_path):
    """`hawatch windows add` over an unsynced failover the simulator injected: the next
    analysis judges it as a failover test (FAILED, with the kept share) instead of paging it,
    and `hawatch windows list` shows the verdict."""
    out, db = tmp_path / "sim", str(tmp_path / "h.duckdb")
    assert hawatch("simulate", "--seed", "11", "--out", str(out)).returncode == 0
    assert hawatch("ingest", "--db", db, str(out)).returncode == 0
    assert hawatch("analyze", "--db", db).returncode == 0
    truth = json.loads((out / "truth.json").read_text())
    failover = next(i for i in truth["incidents"] if i["kind"] == "unsynced_failover")
    at = datetime.fromisoformat(failover["start"].replace("Z", "+00:00"))
    start = (at - timedelta(minutes=10)).strftime("%Y-%m-%dT%H:%MZ")
    end = (at + timedelta(minutes=30)).strftime("%Y-%m-%dT%H:%MZ")
    added = hawatch(
        "windows",
        "add",
        failover["pair"],
        "--start",
        start,
        "--end",
        end,
        "--comment",
        "<b>CHG1</b>",
        "--db",
        db,
    )
    assert added.returncode == 0 and "failover_test window for" in added.stdout, added.stderr
    assert hawatch("analyze", "--db", db).returncode == 0
    with Store(db) as store:
        kinds = dict(
            store.cursor()
            .execute(
                "SELECT kind, status FROM incidents WHERE pair = ? AND opened_at BETWEEN ? AND ?"
                " AND kind IN ('unsynced_failover', 'failover_test')",
                [failover["pair"], at - timedelta(minutes=1), at + timedelta(minutes=1)],
            )
            .fetchall()
        )
    assert kinds == {"unsynced_failover": "withdrawn", "failover_test": "resolved"}
    listed = json.loads(
        hawatch(
            "windows", "list", "--pair", failover["pair"], "--format", "json", "--db", db
        ).stdout
    )
    assert [w["comment"] for w in listed] == ["<b>CHG1</b>"]
    assert "failover test FAILED" in listed[0]["verdicts"]
    assert "kept" in listed[0]["verdicts"]
    bad = hawatch("windows", "add", failover["pair"], "--start", end, "--end", start, "--db", db)
    assert bad.returncode == 1 and "must end after it starts" in bad.stderr
