"""`hawatch windows remove|edit`, `hawatch silences list|edit|remove` and `hawatch audit`:
on a file and through a running server; removing a window brings back the incident it
suppressed; every action is in the audit log with who took it."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

from hawatch.store import Store

from tests.test_operator import hawatch, seed
from tests.test_serve import Server


def as_json(*args: str) -> list[dict]:
    result = hawatch(*args, "--format", "json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def incident_kinds(db: str, pair: str, at: datetime) -> dict[str, str]:
    with Store(db) as store:
        return dict(
            store.cursor()
            .execute(
                "SELECT kind, status FROM incidents WHERE pair = ? AND opened_at BETWEEN ? AND ?"
                " AND kind IN ('unsynced_failover', 'failover_test')",
                [pair, at - timedelta(minutes=1), at + timedelta(minutes=1)],
            )
            .fetchall()
        )


def test_removing_a_window_brings_back_the_incident_it_suppressed(tmp_path):
    out, db = tmp_path / "sim", str(tmp_path / "h.duckdb")
    assert hawatch("simulate", "--seed", "11", "--out", str(out)).returncode == 0
    assert hawatch("ingest", "--db", db, str(out)).returncode == 0
    assert hawatch("analyze", "--db", db).returncode == 0
    truth = json.loads((out / "truth.json").read_text())
    failover = next(i for i in truth["incidents"] if i["kind"] == "unsynced_failover")
    pair, at = failover["pair"], datetime.fromisoformat(failover["start"].replace("Z", "+00:00"))
    page = incident_kinds(db, pair, at)["unsynced_failover"]
    assert page != "withdrawn"
    start = f"{at - timedelta(minutes=10):%Y-%m-%dT%H:%MZ}"
    added = hawatch(
        "windows",
        "add",
        pair,
        "--start",
        start,
        "--end",
        f"{at + timedelta(minutes=30):%Y-%m-%dT%H:%MZ}",
        "--by",
        "kim",
        "--db",
        db,
    )
    assert added.returncode == 0, added.stderr
    assert hawatch("analyze", "--db", db).returncode == 0
    assert incident_kinds(db, pair, at)["unsynced_failover"] == "withdrawn"
    (window,) = as_json("windows", "list", "--pair", pair, "--db", db)
    edited = hawatch(
        "windows",
        "edit",
        str(window["window_id"]),
        "--end",
        f"{at + timedelta(hours=1):%Y-%m-%dT%H:%MZ}",
        "--by",
        "kim",
        "--db",
        db,
    )
    assert edited.returncode == 0 and "now ends" in edited.stdout, edited.stderr
    removed = hawatch(
        "windows",
        "remove",
        str(window["window_id"]),
        "--comment",
        "test called off",
        "--by",
        "lee",
        "--db",
        db,
    )
    assert removed.returncode == 0 and "removed" in removed.stdout, removed.stderr
    assert as_json("windows", "list", "--pair", pair, "--db", db) == []
    assert hawatch("analyze", "--db", db).returncode == 0
    assert incident_kinds(db, pair, at)["unsynced_failover"] == page  # back as it was
    trail = as_json("audit", "--pair", pair, "--db", db)
    assert [(a["action"], a["actor"], a["target_id"]) for a in trail] == [
        ("window_remove", "lee", window["window_id"]),
        ("window_edit", "kim", window["window_id"]),
        ("window", "kim", window["window_id"]),
    ]
    assert trail[0]["comment"] == "test called off"
    missing = hawatch("windows", "remove", "999", "--db", db)
    assert missing.returncode == 1 and "no window #999" in missing.stderr


def test_silences_listed_edited_and_removed_through_the_running_server(tmp_path):
    seed(tmp_path / "serve.duckdb")
    server = Server(tmp_path, syslog=False)
    db = str(server.db)
    try:
        added = hawatch(
            "alerts",
            "silence",
            "fw-a",
            "--until",
            "2099-01-01T00:00Z",
            "--comment",
            "CHG-9",
            "--by",
            "kim",
            "--db",
            db,
        )
        assert added.returncode == 0, added.stderr
        (silence,) = as_json("silences", "list", "--db", db)
        assert (silence["pair"], silence["comment"]) == ("fw-a", "CHG-9")
        assert silence["ends_at"].startswith("2099-01-01")
        sid = str(silence["silence_id"])
        edited = hawatch(
            "silences", "edit", sid, "--until", "2099-02-01T00:00Z", "--by", "kim", "--db", db
        )
        assert edited.returncode == 0 and "until 2099-02-01" in edited.stdout, edited.stderr
        bad = hawatch("silences", "edit", sid, "--until", "2000-01-01T00:00Z", "--db", db)
        assert bad.returncode == 1 and "must end after it starts" in bad.stderr
        removed = hawatch("silences", "remove", sid, "--by", "lee", "--db", db)
        assert removed.returncode == 0 and "removed" in removed.stdout, removed.stderr
        assert as_json("silences", "list", "--db", db) == []
        assert [s["silence_id"] for s in as_json("silences", "list", "--all", "--db", db)] == []
        assert hawatch("silences", "list", "--db", db).stdout.strip() == "no silences"
        trail = as_json("audit", "--db", db)
    finally:
        server.stop()
    assert [(a["action"], a["actor"]) for a in trail] == [
        ("silence_remove", "lee"),
        ("silence_edit", "kim"),
        ("silence", "kim"),
    ]
    assert "was 2099-01-01 00:00 UTC" in trail[1]["detail"]
