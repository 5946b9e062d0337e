"""What the views need from the app, in one typed object, and the request's one cursor.

`create_app` builds an `AppState` (settings, store, the server's hooks, render caches, the
SQL sandbox, logins) and keeps it in `app.extensions["hawatch"]`; views read it with
`app_state()`, so a missing or misspelt piece is an attribute error that type checking sees,
not a string key found wrong at run time.

Reads go through `get_cursor()`, flaskr's get_db: a cursor of the store opened on first use
in a request, kept on `g` for the rest of it (a page built from several queries, and the
data version, share it), and closed when the request ends, whatever the outcome. A cursor
is a DuckDB connection of its own: one per request, not one per query, and none left for
the garbage collector.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import duckdb
from flask import Flask, current_app, g
from hawatch.dashboard.credentials import Credentials
from hawatch.dashboard.render_cache import RenderCache
from hawatch.dashboard.throttle import LoginThrottle
from hawatch.store.db import Store
from hawatch.store.readonly import Sandbox
from hawatch.store.settings_type import Settings

EXTENSION = "hawatch"


class ServerHooks(Protocol):
    """What `hawatch serve` (its Service, hawatch/serve.py) offers the service endpoints;
    None when the app is built without a server (tests, benchmarks)."""

    local_token: str

    def health(self) -> dict[str, Any]: ...

    def metrics_text(self) -> str: ...

    def backlog(self) -> int: ...

    def ingest_upload(self, body: bytes, kind: str) -> tuple[int, dict[str, Any]]: ...


@dataclass
class AuthState:
    credentials: Credentials
    throttle: LoginThrottle

    @property
    def failed_logins(self) -> int:
        return self.throttle.failed


@dataclass(frozen=True)
class AppState:
    settings: Settings
    store: Store
    service: ServerHooks | None
    caches: dict[str, RenderCache]  # one per kind of page (dashboard/render_cache.py)
    sql: Sandbox  # every analyst query takes a slot of it
    auth: AuthState


def app_state() -> AppState:
    """The running app's state (inside a request or an app context)."""
    state: AppState = current_app.extensions[EXTENSION]
    return state


def get_cursor() -> duckdb.DuckDBPyConnection:
    """This request's cursor, opened on first use."""
    if "cursor" not in g:
        g.cursor = app_state().store.cursor()
    cursor: duckdb.DuckDBPyConnection = g.cursor
    return cursor


def close_cursor(_error: BaseException | None = None) -> None:
    cursor = g.pop("cursor", None)
    if cursor is not None:
        cursor.close()


def init_app(app: Flask, state: AppState) -> None:
    app.extensions[EXTENSION] = state
    app.teardown_appcontext(close_cursor)
