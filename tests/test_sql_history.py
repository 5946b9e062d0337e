"""Each user's SQL console history (migration 012) stays theirs: the console lists a user's
own queries only, the analysts' sandbox cannot read the table however a query spells it,
and keeping it never opens a write path through the sandbox.

Real store in tmp_path, the real app through Flask's test client, real logins."""

from __future__ import annotations

import html
from datetime import UTC, datetime, timedelta

import pytest
from hawatch.dashboard.credentials import Credentials
from hawatch.store import Store, sql_history
from hawatch.store.errors import InvalidQuery
from hawatch.store.readonly import Limits, run_query
from hawatch.store.sql_history import HistoryEntry

from tests.conftest import csrf_token, dashboard_app, log_in

PASSWORD = "history-password-1"
SECRET = "acme-merger-2027"  # what alice looks for; nobody else may see it


def entry(query: str, minutes: int = 0, error: str | None = None) -> HistoryEntry:
    at = datetime(2026, 12, 1, 12, 0, tzinfo=UTC) + timedelta(minutes=minutes)
    return HistoryEntry(at, query, "console", None if error else 1, 0.01, error)


@pytest.fixture
def locked(store: Store) -> Store:
    store.lock_down()
    return store


def test_a_user_gets_their_own_history_newest_first(store: Store):
    sql_history.record(store, "alice", entry(f"SELECT '{SECRET}'", 0))
    sql_history.record(store, "bob", entry("SELECT 2", 1))
    sql_history.record(store, "alice", entry("SELECT 3", 2, error="Binder Error: no"))

    mine = sql_history.recent(store.cursor(), "alice")
    theirs = sql_history.recent(store.cursor(), "bob")

    assert [e.query for e in mine] == ["SELECT 3", f"SELECT '{SECRET}'"]
    assert mine[0].error == "Binder Error: no" and mine[0].row_count is None
    assert [e.query for e in theirs] == ["SELECT 2"]
    assert sql_history.recent(store.cursor(), "carol") == []


def test_each_user_keeps_their_newest_entries_only(store: Store, monkeypatch):
    monkeypatch.setattr(sql_history, "KEEP", 3)
    sql_history.record(store, "bob", entry("SELECT 'bob'"))
    for n in range(5):
        sql_history.record(store, "alice", entry(f"SELECT {n}", n))
    assert [e.query for e in sql_history.recent(store.cursor(), "alice")] == [
        "SELECT 4",
        "SELECT 3",
        "SELECT 2",
    ]
    assert [e.query for e in sql_history.recent(store.cursor(), "bob")] == ["SELECT 'bob'"]


# every spelling of "read the history" the parse tree can carry
READS = {
    "plain": "SELECT * FROM sql_history",
    "quoted_upper_case": 'SELECT query FROM "SQL_HISTORY"',
    "schema_qualified": "SELECT query FROM main.sql_history",
    "catalog_qualified": "SELECT query FROM hawatch.main.sql_history",
    "in_a_cte": "WITH h AS (SELECT * FROM sql_history) SELECT query FROM h",
    "scalar_subquery": "SELECT (SELECT string_agg(query, ',') FROM sql_history) AS q",
    "in_a_union": "SELECT 'x' AS q UNION ALL SELECT query FROM sql_history",
    "summarize": "SUMMARIZE sql_history",
    "describe_then_data": "SELECT * FROM summary((SELECT query FROM sql_history))",
    "unpivot": "UNPIVOT sql_history ON query INTO NAME k VALUE v",
    "lateral_join": "SELECT p.pair, h.query FROM pairs p, LATERAL (SELECT query FROM"
    " sql_history) h",
    "exists_probe": f"SELECT 1 AS hit WHERE EXISTS (SELECT 1 FROM sql_history WHERE query"
    f" LIKE '%{SECRET[:4]}%')",
}


@pytest.mark.parametrize("name", list(READS))
def test_the_sandbox_never_reads_the_history(locked: Store, name: str):
    sql_history.record(locked, "alice", entry(f"SELECT '{SECRET}'"))
    with pytest.raises(InvalidQuery) as refused:
        run_query(locked.cursor(), READS[name], Limits())
    assert "private" in str(refused.value)
    assert SECRET not in str(refused.value) + refused.value.hint


def users(store: Store) -> None:
    credentials = Credentials(store.path)
    for name in ("alice", "bob"):
        credentials.add(name, "viewer", PASSWORD)


def run_in_console(client, query: str) -> str:  # type: ignore[no-untyped-def]
    token = csrf_token(client.get("/sql").get_data(as_text=True))
    answer = client.post("/sql", data={"q": query, "csrf_token": token})
    return answer.get_data(as_text=True)


def test_the_console_lists_a_users_own_queries_and_nobody_elses(locked: Store):
    users(locked)
    app = dashboard_app(locked)
    alice, status = log_in(app, "alice", PASSWORD)
    assert status == 302
    bob, status = log_in(app, "bob", PASSWORD)
    assert status == 302

    shown = run_in_console(alice, f"SELECT '{SECRET}' AS what")
    assert 'class="history-entry ok"' in shown and SECRET in shown
    failed = run_in_console(alice, "SELECT * FROM pairz")
    assert 'class="history-entry failed"' in failed

    bobs_page = bob.get("/sql").get_data(as_text=True)
    assert SECRET not in bobs_page and "pairz" not in bobs_page
    assert "history-entry" not in bobs_page
    alices_page = html.unescape(alice.get("/sql").get_data(as_text=True))
    assert alices_page.index("SELECT * FROM pairz") < alices_page.index(SECRET)  # newest first
    kept = (
        locked.cursor()
        .execute(
            "SELECT user_name, way, row_count, error IS NULL FROM sql_history ORDER BY entry_id"
        )
        .fetchall()
    )
    assert kept == [("alice", "console", 1, True), ("alice", "console", None, False)]


def test_downloads_are_kept_too_and_the_sandbox_stays_locked(locked: Store):
    users(locked)
    app = dashboard_app(locked)
    bob, _ = log_in(app, "bob", PASSWORD)
    token = csrf_token(bob.get("/sql").get_data(as_text=True))
    assert bob.post("/sql.csv", data={"q": "SELECT 1 AS n", "csrf_token": token}).status_code == 200
    assert bob.post("/sql.json", data={"q": "SELECT nope", "csrf_token": token}).status_code == 400
    assert [(e.way, e.row_count) for e in sql_history.recent(locked.cursor(), "bob")] == [
        ("json", None),
        ("csv", 1),
    ]
    ((external, lock),) = (
        locked.cursor()
        .execute(
            "SELECT current_setting('enable_external_access'),"
            " current_setting('lock_configuration')"
        )
        .fetchall()
    )
    assert (external, lock) == (False, True)


def test_a_hostile_query_in_the_history_stays_text(locked: Store):
    users(locked)
    alice, _ = log_in(dashboard_app(locked), "alice", PASSWORD)
    hostile = "SELECT '<script>window.__pwned=1</script>\" onmouseover=\"x' AS a"
    run_in_console(alice, hostile)
    page = alice.get("/sql").get_data(as_text=True)
    assert "<script>window.__pwned" not in page and '" onmouseover="' not in page
    assert "&lt;script&gt;window.__pwned=1&lt;/script&gt;" in page
