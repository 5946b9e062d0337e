"""The SQL console: one analyst SELECT through the app's `store.readonly.Sandbox` on the
serving store (locked down by `hawatch serve`), limited in time, rows, bytes and queries at
once, shown as a table and downloadable as CSV or JSON.

Queries run only on POST with the CSRF token: `GET /sql?q=...` fills the form in and runs
nothing, so a link or a page on another site (SameSite=Lax sends the cookie on a top-level
GET) cannot run a query as the viewer. Writing the answer counts in the query's time limit.

An error keeps DuckDB's hint ("Did you mean ...", candidate bindings, the line with a caret;
server paths hidden: store/query_errors.py). Beside the editor: a browser of the documented
schema (store/schema_contract.py) whose names a click inserts (static/sql.js), the schema
doc itself, and the viewer's own history (store/sql_history.py): every query they ran here
or downloaded, kept through the store's writer, never through the sandbox's cursor. The
SQL API (/api/v1/sql) keeps no history: it answers the server's local token, which names
no user (`hawatch sql`, `hawatch windows list` ride it).
"""

from __future__ import annotations

import csv
import io
import json
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from flask import Blueprint, Response, g, jsonify, render_template, request, url_for
from hawatch.analytics.sql_examples import EXAMPLES
from hawatch.dashboard.app_state import app_state, get_cursor
from hawatch.dashboard.views.auth import require
from hawatch.store import sql_history
from hawatch.store.db import Store
from hawatch.store.errors import HawatchError, InvalidQuery, QueryBusy
from hawatch.store.query_errors import hide_server_paths
from hawatch.store.readonly import (
    Limits,
    Param,
    QueryResult,
    Sandbox,
    plain_value,
    server_paths,
)
from hawatch.store.schema_contract import relations, schema_doc
from hawatch.store.settings_type import Settings
from hawatch.store.sql_history import HistoryEntry
from markupsafe import Markup

blueprint = Blueprint("sql", __name__)
log = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 2


def new_sandbox(store: Store, settings: Settings) -> Sandbox:
    """The app's one Sandbox: every analyst query (console, downloads, the SQL API) takes a
    slot of it."""
    return Sandbox(store.cursor, int(settings["sql.max_concurrent"]))


def run_analyst_query(
    query: str,
    timeout: float | None = None,
    max_rows: int | None = None,
    params: Sequence[Param] = (),
) -> QueryResult:
    """Run `query` (with `params` bound to its `?`s) in the app's sandbox within the settings'
    limits (or tighter ones)."""
    state = app_state()
    return state.sql.run(query, Limits.from_settings(state.settings, timeout, max_rows), params)


def busy_headers() -> dict[str, str]:
    return {"Retry-After": str(RETRY_AFTER_SECONDS)}


def _query() -> str:
    return (request.values.get("q") or "").strip()


def _one_line(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


@dataclass
class Outcome:
    """One run of an analyst query as the console answers it and the history keeps it."""

    query: str
    way: str  # console | csv | json
    ran_at: datetime
    result: QueryResult | None = None
    error: str | None = None
    hint: str = ""  # DuckDB's lines after the error's first (store/query_errors.py)
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)

    def fail(self, exc: HawatchError) -> None:
        self.result, self.error = None, _one_line(exc)
        self.hint = exc.hint if isinstance(exc, InvalidQuery) else ""
        self.status, self.headers = (
            (503, busy_headers()) if isinstance(exc, QueryBusy) else (400, {})
        )

    def entry(self, seconds: float) -> HistoryEntry:
        rows = None if self.result is None else len(self.result.rows)
        return HistoryEntry(self.ran_at, self.query, self.way, rows, round(seconds, 3), self.error)


def _run(query: str, way: str) -> Outcome:
    outcome = Outcome(query, way, datetime.now(UTC))
    try:
        outcome.result = run_analyst_query(query)
    except HawatchError as exc:
        outcome.fail(exc)
    return outcome


def _remember(entry: HistoryEntry) -> None:
    """Keep the run in its user's history; the answer goes out even when that fails."""
    try:
        sql_history.record(app_state().store, g.user.name, entry)
    except HawatchError as exc:
        log.warning("sql history: not kept for %s: %s", g.user.name, _one_line(exc))


def _render(outcome: Outcome | None, query: str, history: list[HistoryEntry]) -> str:
    # a query of the history that named a server folder (typed to probe it) shows
    # `<server path>` instead: the page names no server folder but in the statement just sent
    if any("/" in h.query or "\\" in h.query for h in history):
        hidden = server_paths(get_cursor())
        history = [replace(h, query=hide_server_paths(h.query, hidden)) for h in history]
    return render_template(
        "sql.html",
        query=query,
        result=outcome and outcome.result,
        error=outcome and outcome.error,
        hint=outcome.hint if outcome else "",
        examples=EXAMPLES,
        history=history,
        schema_browser=_schema_browser(),
        reuse_href=_reuse_href,
    )


def _schema_browser() -> Markup:
    """The schema browser's HTML: the same for every user and until the schema changes
    (a migration, at start), so kept in a render cache: building it for every request
    was most of the console's cost (GET /sql 68 ms, 23 ms with it kept)."""
    return (
        app_state()
        .caches["schema"]
        .get(
            "schema-browser",
            lambda: Markup(render_template("_sql_schema.html", relations=relations(get_cursor()))),
        )
    )


def _reuse_href(query: str) -> str:
    """A link that puts `query` back in the editor (GET: nothing runs), every character
    but letters and digits encoded, so the page holds the query only as typed."""
    return url_for("sql.page") + "?q=" + quote(query, safe="")


@blueprint.route("/sql", methods=["GET", "POST"])
@require("viewer")
def page() -> Any:
    """GET: the form, filled in from ?q= (nothing runs); POST: run it and show the rows.
    Either way the schema browser and the viewer's own history beside it."""
    query = _query()
    history = sql_history.recent(get_cursor(), g.user.name)
    if request.method != "POST" or not query:
        return _render(None, query, history)
    started = time.monotonic()
    outcome = _run(query, "console")
    shown = [outcome.entry(time.monotonic() - started), *history][: sql_history.SHOWN]
    try:
        body = _render(outcome, query, shown)
        if outcome.result is not None:
            outcome.result.check_time()
    except HawatchError as exc:
        outcome.fail(exc)
        shown[0] = outcome.entry(time.monotonic() - started)
        body = _render(outcome, query, shown)
    _remember(shown[0])
    return body, outcome.status, outcome.headers


@blueprint.get("/sql/schema.md")
@require("viewer")
def schema_doc_text() -> Response:
    """docs/schema.md as shipped with the package, so the link works offline."""
    return Response(schema_doc(), mimetype="text/plain")


def _answer(query: str, way: str, write: Callable[[QueryResult], Response]) -> Any:
    """`write(result)` for a download, or a one-line JSON error (with DuckDB's hint) with
    its status."""
    if not query:
        return jsonify(error="no query: pass it as q"), 400
    started = time.monotonic()
    outcome = _run(query, way)
    response = None
    if outcome.result is not None:
        try:
            response = write(outcome.result)
            outcome.result.check_time()
        except HawatchError as exc:
            outcome.fail(exc)
    _remember(outcome.entry(time.monotonic() - started))
    if outcome.error is not None:
        body = {"error": outcome.error} | ({"hint": outcome.hint} if outcome.hint else {})
        return jsonify(body), outcome.status, outcome.headers
    return response


def _csv(result: QueryResult) -> Response:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(result.columns)
    for row in result.rows:
        writer.writerow(["" if v is None else plain_value(v) for v in row])
    headers = {
        "Content-Disposition": 'attachment; filename="hawatch-query.csv"',
        "X-Hawatch-Truncated": "true" if result.truncated else "false",
    }
    return Response(out.getvalue(), mimetype="text/csv", headers=headers)


def _json(result: QueryResult) -> Response:
    body = {
        "columns": result.columns,
        "rows": [[plain_value(v) for v in row] for row in result.rows],
        "truncated": result.truncated,
        "seconds": round(result.seconds, 3),
    }
    return Response(
        json.dumps(body, default=str),
        mimetype="application/json",
        headers={"Content-Disposition": 'attachment; filename="hawatch-query.json"'},
    )


@blueprint.post("/sql.csv")
@require("viewer")
def as_csv() -> Any:
    return _answer(_query(), "csv", _csv)


@blueprint.post("/sql.json")
@require("viewer")
def as_json() -> Any:
    return _answer(_query(), "json", _json)
