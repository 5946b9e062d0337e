"""The service endpoints: health, Prometheus metrics, export ingest, and the SQL endpoint
that `hawatch sql` uses while a server holds the database file.

Ingest is authenticated with a bearer token from HAWATCH_INGEST_TOKEN; the SQL endpoint with
the per-run token the server writes, readable by its own user only, beside the database.
An upload is written to disk and fsynced before it is ingested, and answered with what the
store took: 200 stored; 4xx refused, with the reason (a body that is not the format it was
sent as, a pair inventory, more than ingest.max_decompressed_megabytes); 503 with
Retry-After when it was not stored (the store cannot write now, or the spool backlog is too
long), so senders slow down and send again instead of data being dropped.
"""

from __future__ import annotations

import hmac
from typing import Any

from flask import Blueprint, Response, abort, jsonify, request
from hawatch.dashboard.app_state import ServerHooks, app_state
from hawatch.dashboard.views import auth
from hawatch.dashboard.views import sql as sql_views
from hawatch.store.errors import HawatchError, QueryBusy
from hawatch.store.readonly import plain_value

blueprint = Blueprint("service_api", __name__)

_KINDS = {
    "application/json": "json",
    "application/x-ndjson": "json",
    "text/csv": "csv",
    "text/plain": "log",
}


def _service() -> ServerHooks | None:
    return app_state().service


def _bearer_ok(expected: str) -> bool:
    given = request.headers.get("Authorization", "")
    return bool(expected) and hmac.compare_digest(given, f"Bearer {expected}")


@blueprint.get("/healthz")
def healthz() -> Any:
    service = _service()
    status = service.health() if service else {"status": "ok"}
    return jsonify(status), 200 if status["status"] == "ok" else 503


@blueprint.get("/metrics")
def metrics() -> Response:
    service = _service()
    text = service.metrics_text() if service else ""
    return Response(text + auth.metrics_text(), mimetype="text/plain; version=0.0.4")


@blueprint.post("/api/v1/ingest")
def ingest() -> Any:
    service, settings = _service(), app_state().settings
    token = settings.get("serve.ingest_token", "")
    if not token:
        abort(503, "ingest is disabled: set HAWATCH_INGEST_TOKEN on the server")
    if not _bearer_ok(token):
        abort(401, "missing or wrong bearer token")
    if service is None:
        abort(503, "ingest needs the running server (hawatch serve)")
    if service.backlog() > settings["serve.max_pending_files"]:
        response = jsonify(error="ingest is behind; retry later")
        response.status_code, response.headers["Retry-After"] = 503, "5"
        return response
    kind = _KINDS.get((request.mimetype or "").lower())
    if kind is None:
        abort(415, "send application/json, application/x-ndjson, text/csv or text/plain")
    body = request.get_data(cache=False)
    if not body.strip():
        abort(400, "empty body")
    status, report = service.ingest_upload(body, kind)
    response = jsonify(report)
    response.status_code = status
    if status == 503:
        response.headers["Retry-After"] = str(report.get("retry_after", 5))
    return response


@blueprint.post("/api/v1/operator")
def operator() -> Any:
    """Acknowledgements and silences from `hawatch alerts ack|silence` while serving."""
    from datetime import UTC, datetime

    from hawatch.analytics.alerts.operator import apply_action

    service = _service()
    if not _bearer_ok(service.local_token if service else ""):
        abort(401, "missing or wrong bearer token")
    done = apply_action(app_state().store, request.get_json(silent=True) or {}, datetime.now(UTC))
    return jsonify(done=done)


@blueprint.post("/api/v1/sql")
def sql() -> Any:
    """`hawatch sql` while the server holds the file: the console's sandbox and limits; values
    for the query's `?` placeholders come as `params` (`hawatch windows list`, `alerts log`)."""
    service = _service()
    if not _bearer_ok(service.local_token if service else ""):
        abort(401, "missing or wrong bearer token")
    payload = request.get_json(silent=True)
    if not isinstance(payload, dict):
        return jsonify(error='send a JSON object: {"query": ..., "params": [...]}'), 400
    try:
        result = sql_views.run_analyst_query(
            str(payload.get("query", "")),
            payload.get("timeout"),
            payload.get("max_rows"),
            payload.get("params", []),
        )
        response = jsonify(
            columns=result.columns,
            rows=[[plain_value(v) for v in row] for row in result.rows],
            truncated=result.truncated,
        )
        result.check_time()
    except QueryBusy as exc:
        return jsonify(error=str(exc)), 503, sql_views.busy_headers()
    except HawatchError as exc:
        hint = getattr(exc, "hint", "")  # DuckDB's "Did you mean", candidates, caret
        return jsonify({"error": str(exc)} | ({"hint": hint} if hint else {})), 400
    return response
