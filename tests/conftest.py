"""Fixtures compose: a real DuckDB file in tmp_path -> a Store -> helpers that ingest."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hawatch.dashboard.app import create_app
from hawatch.store import Store

from hawatch.config import load_config

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store(tmp_path / "hawatch.duckdb") as opened:
        yield opened


def rows(store: Store, sql: str, params: list[object] | None = None) -> list[tuple]:
    """All rows of a query (tests read the store with plain SQL, as analysts do)."""
    return store.cursor().execute(sql, params).fetchall()


def scalar(store: Store, sql: str, params: list[object] | None = None) -> object:
    return rows(store, sql, params)[0][0]


def dashboard_app(store: Store, **settings: object) -> Flask:
    """The dashboard on `store` with default settings (plus `settings`), in testing mode."""
    values = load_config(env={})
    values.update({"db": store.path, **settings})
    app = create_app(values, store, None)
    app.config["TESTING"] = True
    return app


def csrf_token(page: str) -> str:
    """The CSRF token a dashboard page's forms carry."""
    found = _CSRF.search(page)
    assert found, "no CSRF token in the page"
    return found.group(1)


def log_in(app: Flask, name: str, password: str) -> tuple[FlaskClient, int]:
    """A client that went through the login form; the form's answer status (302: in)."""
    client = app.test_client()
    token = csrf_token(client.get("/login").get_data(as_text=True))
    response = client.post(
        "/login", data={"username": name, "password": password, "csrf_token": token, "next": "/"}
    )
    return client, response.status_code


# pair_health as migration 002 made it (010 redefines it)
PAIR_HEALTH_BEFORE_010 = """
WITH open_incidents AS (
    SELECT pair, count(*) FILTER (WHERE severity = 'critical') AS critical,
           count(*) FILTER (WHERE severity = 'warning') AS warning,
           string_agg(kind || ': ' || summary, '; ' ORDER BY severity, opened_at) AS reasons
    FROM incidents WHERE status = 'open' GROUP BY pair
)
SELECT p.pair, p.site,
       CASE WHEN coalesce(o.critical, 0) > 0 THEN 'critical'
            WHEN coalesce(o.warning, 0) > 0 OR p.stateful_sync IN ('disabled', 'not_synced')
                 THEN 'warning' ELSE 'ok' END AS health,
       greatest(0, 100 - 40 * coalesce(o.critical, 0) - 15 * coalesce(o.warning, 0)
                   - CASE WHEN p.stateful_sync IN ('disabled', 'not_synced') THEN 10 ELSE 0 END)
           AS score,
       coalesce(o.critical, 0) AS open_critical, coalesce(o.warning, 0) AS open_warning,
       concat_ws('; ', o.reasons, CASE WHEN p.stateful_sync IN ('disabled', 'not_synced')
                                       THEN 'stateful sync ' || p.stateful_sync END) AS reasons
FROM pairs p LEFT JOIN open_incidents o USING (pair);
"""

# How to take each migration (from 005 on) back out of a database, so a test can make a
# store look as one from before it did; tests/test_migrations.py fails when a new migration
# has no entry here.
UNDO_MIGRATION: dict[int, str] = {
    5: "DROP TABLE load_days; DROP TABLE failover_samples; DROP TABLE rollup_dirty;"
    " ALTER TABLE pairs DROP connections_now; ALTER TABLE pairs DROP connections_at;",
    6: "ALTER TABLE sources DROP origin;",
    7: "DROP TABLE role_changes;",  # message_counts.message_id stays nullable: harmless
    8: "ALTER TABLE sources DROP quarantined; ALTER TABLE sources DROP parsed;"
    " DROP TABLE health_probe;",
    9: "ALTER TABLE status_samples DROP max_connections; DROP TABLE poll_status;",
    10: "DROP VIEW pair_health; DROP VIEW pair_freshness; DROP TABLE unit_last_seen;"
    " DROP TABLE unit_freshness; ALTER TABLE poll_status DROP ok_since;"
    " DELETE FROM role_changes WHERE event_key IS NULL;"
    " ALTER TABLE role_changes DROP seen_in; ALTER TABLE role_changes DROP status_agrees;"
    " ALTER TABLE role_changes ALTER COLUMN event_key SET NOT NULL;"
    " CREATE VIEW pair_health AS " + PAIR_HEALTH_BEFORE_010,
    11: "DROP TABLE audit_log; DROP SEQUENCE audit_ids; ALTER TABLE windows DROP window_id;"
    " DROP SEQUENCE window_ids;",
    12: "DROP TABLE sql_history; DROP SEQUENCE sql_history_ids;",
}


def as_before_migration(store: Store, version: int) -> None:
    """Undo migration `version` and every later one: the store then looks like a database
    made before it, and the next open applies them again."""
    with store.transaction() as cur:
        for undo in sorted((v for v in UNDO_MIGRATION if v >= version), reverse=True):
            cur.execute(UNDO_MIGRATION[undo])
        cur.execute("DELETE FROM schema_migrations WHERE version >= ?", [version])


class Terminal(io.StringIO):
    """Standard input that is a terminal: `hawatch users` asks for the password instead of
    reading it from standard input."""

    def isatty(self) -> bool:
        return True
