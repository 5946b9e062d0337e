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
    response = client.post("/login", data={"username": name, "password": password,
                                           "csrf_token": token, "next": "/"})
    return client, response.status_code


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
}


def as_before_migration(store: Store, version: int) -> None:
    """Undo migration `version` and every later one: the store then looks like a database
    made before it, and the next open applies them again."""
    newest = max(UNDO_MIGRATION)
    with store.transaction() as cur:
        for undo in range(newest, version - 1, -1):
            cur.execute(UNDO_MIGRATION[undo])
        cur.execute("DELETE FROM schema_migrations WHERE version >= ?", [version])


class Terminal(io.StringIO):
    """Standard input that is a terminal: `hawatch users` asks for the password instead of
    reading it from standard input."""

    def isatty(self) -> bool:
        return True
