"""Ingest health: lines and last ingest per source (by format and by name prefix), the
quarantine's counts by reason, and its newest lines (escaped: they are untrusted input)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, render_template

from dashboard.views.auth import require

blueprint = Blueprint("ingest", __name__)

NEWEST_QUARANTINED = 50
_ORIGIN = ("CASE WHEN name LIKE 'udp%' THEN 'udp' WHEN name LIKE 'tcp%' THEN 'tcp'"
           " WHEN name LIKE 'http%' THEN 'http' ELSE 'other' END")


def _rows(sql: str, params: list[Any] | None = None) -> list[dict[str, Any]]:
    cur = current_app.config["HAWATCH_STORE"].cursor()
    relation = cur.execute(sql, params)
    columns = [d[0] for d in relation.description]
    return [dict(zip(columns, row, strict=True)) for row in relation.fetchall()]


@blueprint.get("/ingest")
@require("viewer")
def page() -> Any:
    by_format = _rows("SELECT format, count(*) AS sources, sum(committed_lines) AS lines,"
                      " max(last_ingest) AS last_ingest FROM sources"
                      " GROUP BY format ORDER BY format")
    by_origin = _rows(f"SELECT {_ORIGIN} AS origin, count(*) AS sources,"
                      " sum(committed_lines) AS lines, max(last_ingest) AS last_ingest"
                      " FROM sources GROUP BY origin ORDER BY origin")
    sources = _rows(f"SELECT name, format, {_ORIGIN} AS origin, committed_lines AS lines,"
                    " complete, last_ingest FROM sources ORDER BY last_ingest DESC, name")
    reasons = _rows("SELECT reason, count(*) AS lines FROM quarantine"
                    " GROUP BY reason ORDER BY lines DESC, reason")
    newest = _rows("SELECT source, position, reason, raw, raw_length, ingested_at"
                   " FROM quarantine ORDER BY ingested_at DESC, source, position DESC"
                   " LIMIT ?", [NEWEST_QUARANTINED])
    return render_template("ingest.html", by_format=by_format, by_origin=by_origin,
                           sources=sources, reasons=reasons, newest=newest,
                           limit=NEWEST_QUARANTINED)
