"""The OpenAPI 3.1 document of the JSON API, /healthz and /metrics, built in code and served
at GET /api/v1/openapi.json without a login (it describes the API, it holds no data).

tests/test_openapi.py checks that every /api/v1 rule of the app, /healthz and /metrics is
in `paths` with its methods, so an endpoint added without documentation fails the tests.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, Response, jsonify
from hawatch.analytics.pair_summary import SORT_COLUMNS
from hawatch.dashboard.views.fleet import HEALTH_WORDS
from hawatch.dashboard.views.incidents import MAX_ROWS, SEVERITIES, STATUSES
from hawatch.dashboard.views.pair import MAX_DAYS
from hawatch.store.kinds import POLL_OUTCOMES, WINDOW_KINDS

PATH = "/api/v1/openapi.json"

_TIME = {
    "type": ["string", "null"],
    "format": "date-time",
    "description": "ISO 8601 in UTC, e.g. 2026-11-26T08:00:00Z",
}
_STR = {"type": ["string", "null"]}
_INT = {"type": ["integer", "null"]}
_NUM = {"type": ["number", "null"]}
_BOOL = {"type": ["boolean", "null"]}
_CELL = {"description": "a value of the result: string, number, boolean or null"}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


_WHO = {"by": {"type": "string"}, "comment": {"type": "string"}}


def _obj(
    properties: dict[str, Any], required: list[str] | None = None, extra: bool = False
) -> dict[str, Any]:
    schema: dict[str, Any] = {
        "type": "object",
        "properties": properties,
        "additionalProperties": extra,
    }
    if required:
        schema["required"] = required
    return schema


def _json(schema: dict[str, Any], description: str, **headers: Any) -> dict[str, Any]:
    response: dict[str, Any] = {
        "description": description,
        "content": {"application/json": {"schema": schema}},
    }
    if headers:
        response["headers"] = headers
    return response


def _error(description: str) -> dict[str, Any]:
    return _json(_ref("Error"), description)


# an upload refused after it was read is answered with what it held and why
_ERROR_OR_REPORT = {"oneOf": [_ref("Error"), _ref("IngestReport")]}


def _query(name: str, description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "description": description,
        "schema": schema,
    }


SCHEMAS: dict[str, Any] = {
    "Error": _obj({"error": {"type": "string"}}, ["error"]),
    "SqlError": _obj(
        {
            "error": {"type": "string", "description": "DuckDB's first line"},
            "hint": {
                "type": "string",
                "description": 'DuckDB\'s lines after it: "Did you mean ...", candidate'
                " bindings, the statement's line with a caret; server paths"
                " replaced by <server path>",
            },
        },
        ["error"],
    ),
    "PairSummary": _obj(
        {
            "pair": {"type": "string"},
            "site": _STR,
            "health": {"type": ["string", "null"], "enum": [*HEALTH_WORDS, None]},
            "score": _NUM,
            "ha_mode": _STR,
            "active_unit": _STR,
            "active_role": _STR,
            "stateful_sync": {"type": ["boolean", "string", "null"]},
            "failovers": {"type": "integer"},
            "failbacks": {"type": "integer"},
            "heartbeat_losses": {"type": "integer"},
            "sync_events": {"type": "integer"},
            "last_role_change": _TIME,
            "connections_now": _INT,
            "connections_at": {
                **_TIME,
                "description": "when connections_now was counted: a"
                " stale pair's count is not current",
            },
            "syslog_loss_pct": _NUM,
            "open_incidents": {"type": "integer"},
            "last_incident": {
                **_TIME,
                "description": "when the pair's newest incident (of any status) opened",
            },
            "stale": {
                "type": "boolean",
                "description": "a unit of the pair is silent or"
                " unreachable (health is then stale or critical, never ok)",
            },
            "last_seen": {**_TIME, "description": "newest data from the pair's units"},
            "last_source": {
                "type": ["string", "null"],
                "enum": ["syslog", "poll", "export", None],
                "description": "where that data came from",
            },
        },
        ["pair"],
        extra=True,
    ),
    "Incident": _obj(
        {
            "incident_id": {"type": "integer"},
            "pair": {"type": "string"},
            "site": _STR,
            "kind": {"type": "string"},
            "severity": {"type": "string", "enum": list(SEVERITIES)},
            "status": {"type": "string", "enum": list(STATUSES)},
            "opened_at": _TIME,
            "resolved_at": _TIME,
            "summary": _STR,
            "acknowledged": {"type": "boolean"},
        },
        ["incident_id", "pair", "kind", "severity", "status"],
    ),
    "PairIncident": _obj(
        {
            "incident_id": {"type": "integer"},
            "kind": {"type": "string"},
            "severity": {"type": "string", "enum": list(SEVERITIES)},
            "status": {"type": "string", "enum": list(STATUSES)},
            "opened_at": _TIME,
            "resolved_at": _TIME,
            "summary": _STR,
            "evidence": {"description": "the incident's evidence (an object, as stored)"},
        },
        ["incident_id", "kind", "severity", "status"],
        extra=True,
    ),
    "Unit": _obj(
        {
            "serial": {"type": "string"},
            "role": _STR,
            "model": _STR,
            "firmware": _STR,
            "first_seen": _TIME,
            "last_seen": _TIME,
        },
        ["serial"],
    ),
    "HaEvent": _obj(
        {
            "time": _TIME,
            "serial": _STR,
            "role": _STR,
            "kind": {"type": "string"},
            "state_to": _STR,
            "trigger": _STR,
            "detail": _STR,
        },
        ["time", "kind"],
        extra=True,
    ),
    "PairDetail": _obj(
        {
            "pair": {
                "type": "object",
                "description": "the pair's row of the pairs table",
                "properties": {"pair": {"type": "string"}},
                "required": ["pair"],
            },
            "units": {"type": "array", "items": _ref("Unit")},
            "incidents": {"type": "array", "items": _ref("PairIncident")},
            "window": _obj({"start": _TIME, "end": _TIME}, ["start", "end"]),
            "series": {
                "type": "object",
                "description": "connection samples by unit serial",
                "additionalProperties": {
                    "type": "array",
                    "items": _obj(
                        {"time": _TIME, "connections": {"type": "integer"}}, ["time", "connections"]
                    ),
                },
            },
            "events": {"type": "array", "items": _ref("HaEvent")},
            "active_at_start": {**_STR, "description": "serial of the unit active at start"},
            "active": {
                **_STR,
                "description": "the active unit: the last role change's (one"
                " only the polls saw too), else the pair's active_serial",
            },
            "health": {
                "type": "object",
                "description": "the pair's pair_health row (health,"
                " score, reasons, stale, last_seen, last_source); empty before any"
                " analysis",
                "additionalProperties": True,
            },
            "freshness": {"type": "array", "items": _ref("UnitFreshness")},
            "role_changes": {"type": "array", "items": _ref("RoleChange")},
            "total": {
                "type": "array",
                "description": "the pair's load per 5-minute bucket as"
                " the rollups define it (load_days)",
                "items": _obj(
                    {"time": _TIME, "connections": {"type": "integer"}}, ["time", "connections"]
                ),
            },
            "data_end": {**_TIME, "description": "the pair's newest sample or HA event"},
        },
        [
            "pair",
            "units",
            "incidents",
            "window",
            "series",
            "events",
            "active_at_start",
            "active",
            "health",
            "freshness",
            "role_changes",
        ],
    ),
    "UnitFreshness": _obj(
        {
            "serial": {"type": "string"},
            "role": _STR,
            "last_seen": _TIME,
            "last_source": {"type": ["string", "null"], "enum": ["syslog", "poll", "export", None]},
            "heard_at": {**_TIME, "description": "when current data last arrived"},
            "polled": {"type": "boolean"},
            "live": {"type": "boolean"},
            "threshold_seconds": {"type": "integer"},
            "silent": {"type": "boolean"},
            "silent_since": _TIME,
            "unreachable_since": _TIME,
            "poll_problem": _STR,
        },
        ["serial", "polled", "silent"],
        extra=True,
    ),
    "RoleChange": _obj(
        {
            "time": _TIME,
            "old_active": _STR,
            "new_active": {"type": "string"},
            "kind": {"type": "string"},
            "trigger": _STR,
            "message_id": _INT,
            "seen_in": {
                "type": "string",
                "enum": ["event", "status"],
                "description": "status: only the status reports (polls) showed it",
            },
            "status_agrees": {
                "type": ["boolean", "null"],
                "description": "the first status report after it names the new"
                " active unit (false: it contradicts the HA message)",
            },
        },
        ["time", "new_active", "seen_in"],
    ),
    "IngestReport": _obj(
        {
            "status": {"type": "string"},
            "records": {"type": "integer"},
            "events": {"type": "integer"},
            "events_new": {"type": "integer"},
            "session_samples": {"type": "integer"},
            "status_samples": {"type": "integer"},
            "quarantined": {"type": "integer"},
            "quarantine_stored": {
                "type": "integer",
                "description": "of the quarantined, kept"
                " with their text (the rest past the per-source cap)",
            },
            "retry_after": {"type": "integer", "description": "503: seconds to wait"},
            "error": _STR,
        },
        [
            "status",
            "records",
            "events",
            "events_new",
            "session_samples",
            "status_samples",
            "quarantined",
            "error",
        ],
    ),
    "IngestHealth": _obj(
        {
            "by_format": {
                "type": "array",
                "items": _obj(
                    {
                        "format": {"type": "string"},
                        "sources": {"type": "integer"},
                        "lines": _INT,
                        "quarantined": _INT,
                        "last_ingest": _TIME,
                    },
                    ["format", "sources"],
                ),
            },
            "by_origin": {
                "type": "array",
                "items": _obj(
                    {
                        "origin": {
                            "type": ["string", "null"],
                            "enum": ["udp", "tcp", "http", "file", "poll", None],
                        },
                        "sources": {"type": "integer"},
                        "lines": _INT,
                        "lines_last_hour": {"type": "integer"},
                        "lines_per_second": _NUM,
                        "quarantined": _INT,
                        "last_ingest": _TIME,
                    },
                    ["origin", "sources"],
                ),
            },
            "sources": {
                "type": "array",
                "items": _obj(
                    {
                        "name": {"type": "string"},
                        "format": _STR,
                        "origin": {"type": "string"},
                        "files": {"type": "integer"},
                        "lines": _INT,
                        "complete": _BOOL,
                        "last_ingest": _TIME,
                    },
                    ["name", "origin", "files"],
                ),
            },
            "sources_total": {
                "type": "integer",
                "description": "rows of the source list; the newest 200 are sent",
            },
            "quarantine_reasons": {
                "type": "array",
                "items": _obj(
                    {"reason": {"type": "string"}, "lines": {"type": "integer"}},
                    ["reason", "lines"],
                ),
            },
            "quarantine_unstored": {
                "type": "integer",
                "description": "quarantined lines counted"
                " but not stored (past the per-source caps)",
            },
            "quarantine_newest": {
                "type": "array",
                "items": _obj(
                    {
                        "source": _STR,
                        "position": _INT,
                        "reason": {"type": "string"},
                        "raw": {"type": "string"},
                        "raw_length": _INT,
                        "ingested_at": _TIME,
                    },
                    ["reason", "raw"],
                ),
            },
            "poll_outcomes": {
                "type": "array",
                "items": _obj(
                    {
                        "protocol": {"type": "string", "enum": ["rest", "snmp"]},
                        "outcome": {"type": "string", "enum": list(POLL_OUTCOMES)},
                        "units": {"type": "integer"},
                        "last_attempt": _TIME,
                        "avg_latency_ms": _NUM,
                    },
                    ["protocol", "outcome", "units"],
                ),
            },
            "poll_units": {
                "type": "array",
                "description": "failing units first; at most 200",
                "items": _obj(
                    {
                        "pair": _STR,
                        "role": _STR,
                        "serial": {"type": "string"},
                        "protocol": {"type": "string"},
                        "address": {"type": "string"},
                        "profile": _STR,
                        "outcome": {"type": "string", "enum": list(POLL_OUTCOMES)},
                        "reason": _STR,
                        "last_attempt": _TIME,
                        "last_success": _TIME,
                        "failing_since": _TIME,
                        "failures": _INT,
                        "latency_ms": _NUM,
                    },
                    ["serial", "protocol", "outcome"],
                ),
            },
            "poll_units_total": {"type": "integer"},
        },
        [
            "by_format",
            "by_origin",
            "sources",
            "sources_total",
            "quarantine_reasons",
            "quarantine_newest",
            "poll_outcomes",
            "poll_units",
            "poll_units_total",
        ],
    ),
    "SqlRequest": _obj(
        {
            "query": {"type": "string", "description": "one read-only SELECT"},
            "timeout": {
                "type": "number",
                "exclusiveMinimum": 0,
                "description": "seconds; default: the sql.timeout_seconds setting",
            },
            "max_rows": {
                "type": "integer",
                "minimum": 1,
                "description": "default: the sql.max_rows setting",
            },
            "params": {
                "type": "array",
                "items": {"type": ["string", "number", "boolean", "null"]},
                "description": "values bound to the query's ? placeholders, in order",
            },
        },
        ["query"],
    ),
    "SqlResult": _obj(
        {
            "columns": {"type": "array", "items": {"type": "string"}},
            "rows": {"type": "array", "items": {"type": "array", "items": _CELL}},
            "truncated": {
                "type": "boolean",
                "description": "true when max_rows or the byte"
                " cap (sql.max_result_megabytes)"
                " cut it short",
            },
        },
        ["columns", "rows", "truncated"],
    ),
    # `by` names who acted and `comment` why, for the audit log (every action)
    "OperatorAction": {
        "oneOf": [
            _obj(
                {"action": {"const": "ack"}, "incident": {"type": "integer"}, **_WHO},
                ["action", "incident"],
            ),
            _obj(
                {
                    "action": {"const": "silence"},
                    "pair": {"type": "string"},
                    "until": {
                        "type": "string",
                        "description": "a time with a zone, e.g. 2026-11-26T08:00Z",
                    },
                    **_WHO,
                },
                ["action", "pair", "until"],
            ),
            _obj(
                {
                    "action": {"const": "window"},
                    "pair": {"type": "string"},
                    "start": {"type": "string"},
                    "end": {"type": "string"},
                    "kind": {"type": "string", "enum": list(WINDOW_KINDS)},
                    **_WHO,
                },
                ["action", "pair", "start", "end", "kind"],
            ),
            _obj(
                {
                    "action": {"const": "silence_edit"},
                    "silence": {"type": "integer"},
                    "until": {"type": "string", "description": "the new end, with a zone"},
                    **_WHO,
                },
                ["action", "silence", "until"],
            ),
            _obj(
                {"action": {"const": "silence_remove"}, "silence": {"type": "integer"}, **_WHO},
                ["action", "silence"],
            ),
            _obj(
                {
                    "action": {"const": "window_edit"},
                    "window": {"type": "integer"},
                    "end": {"type": "string", "description": "the new end, with a zone"},
                    **_WHO,
                },
                ["action", "window", "end"],
            ),
            _obj(
                {"action": {"const": "window_remove"}, "window": {"type": "integer"}, **_WHO},
                ["action", "window"],
            ),
        ]
    },
    "Health": _obj(
        {
            "status": {"type": "string", "enum": ["ok", "degraded"]},
            "listener": {
                "type": "string",
                "enum": ["running", "stalled", "restarting", "starting", "stopped", "off"],
            },
            "listener_restarts": {"type": "integer"},
            "listener_last_exit": {"type": ["string", "null"]},
            "backlog_files": {"type": "integer"},
            "uptime_seconds": {"type": "integer"},
        },
        ["status"],
    ),
}

SECURITY_SCHEMES = {
    "session": {
        "type": "apiKey",
        "in": "cookie",
        "name": "hawatch_session",
        "description": "the dashboard's session cookie, from logging in at /login; "
        "every dashboard API endpoint needs the viewer role or higher",
    },
    "ingestToken": {
        "type": "http",
        "scheme": "bearer",
        "description": "the token set on the server as HAWATCH_INGEST_TOKEN",
    },
    "localToken": {
        "type": "http",
        "scheme": "bearer",
        "description": "the per-run token `hawatch serve` writes beside the "
        "database, readable by its own user only (used by "
        "`hawatch sql` and `hawatch alerts` while serving)",
    },
}

_LOGIN = {
    "401": _error("not logged in (a GET without a session is redirected to /login)"),
    "403": _error("the user's role is too low"),
}
_REDIRECT = {"302": {"description": "no session: redirected to /login"}}
_BEARER_401 = {"401": _error("missing or wrong bearer token")}
# cached answers (dashboard/cache.py): an ETag, and 304 when If-None-Match still matches
_ETAG = {
    "ETag": {
        "description": "tag of this answer; send it back in If-None-Match",
        "schema": {"type": "string"},
    }
}
_NOT_MODIFIED = {"304": {"description": "unchanged since the ETag given in If-None-Match"}}


def _paths() -> dict[str, Any]:
    session: list[dict[str, list[str]]] = [{"session": []}]
    return {
        "/api/v1/pairs": {
            "get": {
                "operationId": "listPairs",
                "summary": "Every pair with its health summary",
                "security": session,
                "parameters": [
                    _query("site", "only pairs of this site", {"type": "string"}),
                    _query(
                        "health",
                        "only pairs of this health",
                        {"type": "string", "enum": list(HEALTH_WORDS)},
                    ),
                    _query("q", "search text (pair, site, units)", {"type": "string"}),
                    _query(
                        "sort",
                        "column to sort by (worst: critical, warning, stale, ok, then"
                        " the newest incident first, as the fleet page)",
                        {"type": "string", "enum": list(SORT_COLUMNS), "default": "pair"},
                    ),
                    _query(
                        "dir",
                        "sort direction",
                        {"type": "string", "enum": ["asc", "desc"], "default": "asc"},
                    ),
                    _query(
                        "page",
                        "one page of the pairs (from 1; past the end: the last)",
                        {"type": "integer", "minimum": 1},
                    ),
                    _query(
                        "per_page",
                        "pairs per page (default dashboard.fleet_page_size);"
                        " given page or per_page, the answer is one page",
                        {"type": "integer", "minimum": 1, "maximum": 1000},
                    ),
                ],
                "responses": {
                    "200": _json(
                        _obj(
                            {
                                "pairs": {"type": "array", "items": _ref("PairSummary")},
                                "count": {
                                    "type": "integer",
                                    "description": "every matching pair, on all pages",
                                },
                                "page": {"type": "integer"},
                                "per_page": {"type": "integer"},
                            },
                            ["pairs", "count"],
                        ),
                        "the pairs, filtered and sorted",
                        **_ETAG,
                    ),
                    **_NOT_MODIFIED,
                    "400": _error("unknown sort column, or a page that is not a number"),
                    **_REDIRECT,
                    **_LOGIN,
                },
            }
        },
        "/api/v1/pairs/{pair}": {
            "get": {
                "operationId": "getPair",
                "summary": "One pair: units, incidents, connection series and HA events",
                "security": session,
                "parameters": [
                    {"name": "pair", "in": "path", "required": True, "schema": {"type": "string"}},
                    _query(
                        "days",
                        "length of the chart window, ending at the pair's newest data",
                        {
                            "type": "number",
                            "exclusiveMinimum": 0,
                            "maximum": MAX_DAYS,
                            "default": 3,
                        },
                    ),
                    _query(
                        "range",
                        "a window ending now instead: 1h, 6h, 24h, 7d, 30d (any Nh"
                        " or Nd up to 90 d)",
                        {"type": "string", "pattern": r"^\d+(\.\d+)?[hd]$"},
                    ),
                    _query(
                        "start",
                        "a window from this time (UTC if no zone) instead",
                        {"type": "string", "format": "date-time"},
                    ),
                    _query(
                        "end",
                        "the end of the start window (default now)",
                        {"type": "string", "format": "date-time"},
                    ),
                ],
                "responses": {
                    "200": _json(_ref("PairDetail"), "the pair", **_ETAG),
                    **_NOT_MODIFIED,
                    "400": _error("days, range, start or end is not valid"),
                    "404": _error("no such pair"),
                    **_REDIRECT,
                    **_LOGIN,
                },
            }
        },
        "/api/v1/incidents": {
            "get": {
                "operationId": "listIncidents",
                "summary": f"Incidents of the fleet, newest first (at most {MAX_ROWS})",
                "security": session,
                "parameters": [
                    _query("kind", "incident kind, e.g. flapping", {"type": "string"}),
                    _query("site", "site of the pair", {"type": "string"}),
                    _query("severity", "severity", {"type": "string", "enum": list(SEVERITIES)}),
                    _query("status", "status", {"type": "string", "enum": list(STATUSES)}),
                ],
                "responses": {
                    "200": _json(
                        _obj(
                            {
                                "incidents": {"type": "array", "items": _ref("Incident")},
                                "count": {"type": "integer"},
                            },
                            ["incidents", "count"],
                        ),
                        "the incidents",
                        **_ETAG,
                    ),
                    **_NOT_MODIFIED,
                    **_REDIRECT,
                    **_LOGIN,
                },
            }
        },
        "/api/v1/ingest-health": {
            "get": {
                "operationId": "ingestHealth",
                "summary": "What ingest delivered: totals by format and origin (last hour's "
                "rate), sources (spool files summed per origin and hour), quarantine",
                "security": session,
                "responses": {
                    "200": _json(_ref("IngestHealth"), "the ingest health"),
                    **_REDIRECT,
                    **_LOGIN,
                },
            }
        },
        "/api/v1/ingest": {
            "post": {
                "operationId": "ingest",
                "summary": "Upload an export; answered once it is in the store",
                "security": [{"ingestToken": []}],
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {"schema": {"description": "a JSON export"}},
                        "application/x-ndjson": {
                            "schema": {"type": "string", "description": "JSON lines"}
                        },
                        "text/csv": {"schema": {"type": "string", "description": "a CSV export"}},
                        "text/plain": {"schema": {"type": "string", "description": "syslog lines"}},
                    },
                },
                "responses": {
                    "200": _json(_ref("IngestReport"), "what the upload added"),
                    "400": _json(
                        _ERROR_OR_REPORT,
                        "empty body, or a body that is not the format"
                        " it was sent as (error says what it looks like)",
                    ),
                    **_BEARER_401,
                    "403": _json(
                        _ref("IngestReport"), "a pair inventory: never taken from the data path"
                    ),
                    "413": _json(
                        _ERROR_OR_REPORT,
                        "body larger than 64 MiB, or more than"
                        " ingest.max_decompressed_megabytes once decompressed",
                    ),
                    "415": _error("unsupported content type"),
                    "422": _json(
                        _ref("IngestReport"),
                        "the content could not be ingested (kept on the server in spool/failed/)",
                    ),
                    "503": {
                        **_json(
                            _ERROR_OR_REPORT,
                            "not stored: ingest disabled (no token set),"
                            " behind, or the store cannot write now (disk full); send it"
                            " again later",
                        ),
                        "headers": {
                            "Retry-After": {
                                "description": "seconds to wait",
                                "schema": {"type": "integer"},
                            }
                        },
                    },
                },
            }
        },
        "/api/v1/sql": {
            "post": {
                "operationId": "sql",
                "summary": "One read-only SELECT against the served store",
                "security": [{"localToken": []}],
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": _ref("SqlRequest")}},
                },
                "responses": {
                    "200": _json(_ref("SqlResult"), "the result"),
                    "400": _json(_ref("SqlError"), "the query was refused, failed or timed out"),
                    "503": {
                        **_error("sql.max_concurrent analyst queries are running already"),
                        "headers": {
                            "Retry-After": {"description": "seconds", "schema": {"type": "integer"}}
                        },
                    },
                    **_BEARER_401,
                },
            }
        },
        "/api/v1/operator": {
            "post": {
                "operationId": "operator",
                "summary": "Acknowledge an incident, silence a pair, declare a window, or change"
                " the end of or remove a silence or window (kept in the audit log)",
                "security": [{"localToken": []}],
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": _ref("OperatorAction")}},
                },
                "responses": {
                    "200": _json(
                        _obj({"done": {"type": "string"}}, ["done"]), "one-line confirmation"
                    ),
                    "400": _error("the action was refused"),
                    **_BEARER_401,
                },
            }
        },
        PATH: {
            "get": {
                "operationId": "openapi",
                "summary": "This document",
                "security": [],
                "responses": {
                    "200": {
                        "description": "the OpenAPI 3.1 document",
                        "content": {"application/json": {"schema": {"type": "object"}}},
                    }
                },
            }
        },
        "/healthz": {
            "get": {
                "operationId": "healthz",
                "summary": "Liveness of the server",
                "security": [],
                "responses": {
                    "200": _json(_ref("Health"), "healthy"),
                    "503": _json(_ref("Health"), "degraded"),
                },
            }
        },
        "/metrics": {
            "get": {
                "operationId": "metrics",
                "summary": "Prometheus metrics",
                "security": [],
                "responses": {
                    "200": {
                        "description": "Prometheus text exposition format",
                        "content": {"text/plain; version=0.0.4": {"schema": {"type": "string"}}},
                    }
                },
            }
        },
    }


def openapi_document() -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "hawatch API",
            "version": "1",
            "description": "The dashboard's JSON API, the service endpoints "
            "(ingest, sql, operator), health and metrics. "
            'Times are ISO 8601 in UTC. Errors are {"error": text}.',
        },
        "servers": [{"url": "/"}],
        "paths": _paths(),
        "components": {"schemas": SCHEMAS, "securitySchemes": SECURITY_SCHEMES},
    }


def spec() -> Response:
    return jsonify(openapi_document())


def init_app(app: Flask) -> None:
    # public: listed in dashboard.views.auth.PUBLIC_ENDPOINTS
    app.add_url_rule(PATH, endpoint="openapi", view_func=spec, methods=["GET"])
