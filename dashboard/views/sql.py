"""The SQL console: one analyst SELECT through `store.readonly.run_query` on a cursor of
the serving store (locked down by `hawatch serve`), time- and row-limited, shown as a table
and downloadable as CSV or JSON."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, render_template, request
from hawatch.dashboard.views.auth import require
from hawatch.store.errors import HawatchError
from hawatch.store.readonly import QueryResult, plain_value, run_query

blueprint = Blueprint("sql", __name__)

EXAMPLES = [
    ("Top flapping pairs",
     "SELECT pair, count(*) AS flapping_incidents, max(opened_at) AS last_opened\n"
     "FROM incidents WHERE kind = 'flapping'\nGROUP BY pair ORDER BY flapping_incidents DESC,"
     " pair\nLIMIT 20"),
    ("Failovers that lost sessions",
     "SELECT incident_id, pair, opened_at,\n"
     "       CAST(evidence->>'kept_percent' AS DOUBLE) AS kept_percent, summary\n"
     "FROM incidents WHERE kind = 'unsynced_failover'\nORDER BY kept_percent NULLS LAST,"
     " opened_at DESC"),
    # role changes, not messages: one failover is often three lines (docs/schema.md)
    ("Failovers per month",
     "SELECT date_trunc('month', time) AS month, count(*) AS role_changes,\n"
     "       count(*) FILTER (WHERE kind = 'failback') AS failbacks,\n"
     "       count(*) FILTER (WHERE kind = 'failover') AS failovers\n"
     "FROM role_changes\nGROUP BY month ORDER BY month"),
]


def _query() -> str:
    return (request.values.get("q") or "").strip()


def _run(query: str) -> QueryResult:
    settings = current_app.config["HAWATCH_SETTINGS"]
    cur = current_app.config["HAWATCH_STORE"].cursor()
    try:
        return run_query(cur, query, float(settings["sql.timeout_seconds"]),
                         int(settings["sql.max_rows"]))
    finally:
        cur.close()


def _one_line(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


@blueprint.route("/sql", methods=["GET", "POST"])
@require("viewer")
def page() -> Any:
    query, result, error = _query(), None, None
    if query:
        try:
            result = _run(query)
        except HawatchError as exc:
            error = _one_line(exc)
    return render_template("sql.html", query=query, result=result, error=error,
                           examples=EXAMPLES), 200 if error is None else 400


def _result_or_error(query: str) -> QueryResult | tuple[Any, int]:
    if not query:
        return jsonify(error="no query: pass it as q"), 400
    try:
        return _run(query)
    except HawatchError as exc:
        return jsonify(error=_one_line(exc)), 400


@blueprint.route("/sql.csv", methods=["GET", "POST"])
@require("viewer")
def as_csv() -> Any:
    result = _result_or_error(_query())
    if not isinstance(result, QueryResult):
        return result
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(result.columns)
    for row in result.rows:
        writer.writerow(["" if v is None else plain_value(v) for v in row])
    headers = {"Content-Disposition": 'attachment; filename="hawatch-query.csv"',
               "X-Hawatch-Truncated": "true" if result.truncated else "false"}
    return Response(out.getvalue(), mimetype="text/csv", headers=headers)


@blueprint.route("/sql.json", methods=["GET", "POST"])
@require("viewer")
def as_json() -> Any:
    result = _result_or_error(_query())
    if not isinstance(result, QueryResult):
        return result
    body = {"columns": result.columns,
            "rows": [[plain_value(v) for v in row] for row in result.rows],
            "truncated": result.truncated, "seconds": round(result.seconds, 3)}
    return Response(json.dumps(body, default=str), mimetype="application/json",
                    headers={"Content-Disposition":
                             'attachment; filename="hawatch-query.json"'})
