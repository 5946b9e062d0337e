"""The SQL console: one analyst SELECT through the app's `store.readonly.Sandbox` on the
serving store (locked down by `hawatch serve`), limited in time, rows, bytes and queries at
once, shown as a table and downloadable as CSV or JSON.

Queries run only on POST with the CSRF token: `GET /sql?q=...` fills the form in and runs
nothing, so a link or a page on another site (SameSite=Lax sends the cookie on a top-level
GET) cannot run a query as the viewer. Writing the answer counts in the query's time limit.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Sequence
from typing import Any

from flask import Blueprint, Response, jsonify, render_template, request
from hawatch.analytics.sql_examples import EXAMPLES
from hawatch.dashboard.app_state import app_state
from hawatch.dashboard.views.auth import require
from hawatch.store.db import Store
from hawatch.store.errors import HawatchError, QueryBusy
from hawatch.store.readonly import Limits, Param, QueryResult, Sandbox, plain_value
from hawatch.store.settings_type import Settings

blueprint = Blueprint("sql", __name__)

RETRY_AFTER_SECONDS = 2


def new_sandbox(store: Store, settings: Settings) -> Sandbox:
    """The app's one Sandbox: every analyst query (console, downloads, the SQL API) takes a
    slot of it."""
    return Sandbox(store.cursor, int(settings["sql.max_concurrent"]))


def run_analyst_query(query: str, timeout: float | None = None,
                      max_rows: int | None = None, params: Sequence[Param] = ()) -> QueryResult:
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


@blueprint.route("/sql", methods=["GET", "POST"])
@require("viewer")
def page() -> Any:
    """GET: the form, filled in from ?q= (nothing runs); POST: run it and show the rows."""
    query, result, error, status, headers = _query(), None, None, 200, {}
    if request.method == "POST" and query:
        try:
            result = run_analyst_query(query)
        except QueryBusy as exc:
            error, status, headers = _one_line(exc), 503, busy_headers()
        except HawatchError as exc:
            error, status = _one_line(exc), 400
    try:
        body = render_template("sql.html", query=query, result=result, error=error,
                               examples=EXAMPLES)
        if result is not None:
            result.check_time()
    except HawatchError as exc:
        body = render_template("sql.html", query=query, result=None,
                               error=_one_line(exc), examples=EXAMPLES)
        status = 400
    return body, status, headers


def _answer(query: str, write: Callable[[QueryResult], Response]) -> Any:
    """`write(result)` for a download, or a one-line JSON error with its status."""
    if not query:
        return jsonify(error="no query: pass it as q"), 400
    try:
        result = run_analyst_query(query)
        response = write(result)
        result.check_time()
    except QueryBusy as exc:
        return jsonify(error=_one_line(exc)), 503, busy_headers()
    except HawatchError as exc:
        return jsonify(error=_one_line(exc)), 400
    return response


def _csv(result: QueryResult) -> Response:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(result.columns)
    for row in result.rows:
        writer.writerow(["" if v is None else plain_value(v) for v in row])
    headers = {"Content-Disposition": 'attachment; filename="hawatch-query.csv"',
               "X-Hawatch-Truncated": "true" if result.truncated else "false"}
    return Response(out.getvalue(), mimetype="text/csv", headers=headers)


def _json(result: QueryResult) -> Response:
    body = {"columns": result.columns,
            "rows": [[plain_value(v) for v in row] for row in result.rows],
            "truncated": result.truncated, "seconds": round(result.seconds, 3)}
    return Response(json.dumps(body, default=str), mimetype="application/json",
                    headers={"Content-Disposition":
                             'attachment; filename="hawatch-query.json"'})


@blueprint.post("/sql.csv")
@require("viewer")
def as_csv() -> Any:
    return _answer(_query(), _csv)


@blueprint.post("/sql.json")
@require("viewer")
def as_json() -> Any:
    return _answer(_query(), _json)
