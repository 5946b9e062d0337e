"""Ingest health: lines and rates per origin, sources (spool files summed per hour), the
quarantine's counts by reason, and its newest lines (escaped: they are untrusted input);
polling: units per outcome and the units whose last poll failed, with why. The same data as
JSON at /api/v1/ingest-health."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify, render_template
from hawatch.analytics.ingest_health import ingest_health
from hawatch.analytics.poll_health import poll_health
from hawatch.dashboard.app_state import get_cursor
from hawatch.dashboard.views.auth import require
from hawatch.dashboard.views.jsonable import jsonable

blueprint = Blueprint("ingest", __name__)

NEWEST_QUARANTINED = 50
SOURCES_SHOWN = 200


POLLED_SHOWN = 200


def _health() -> dict[str, Any]:
    cur = get_cursor()
    return {
        **ingest_health(cur, SOURCES_SHOWN, NEWEST_QUARANTINED),
        **poll_health(cur, POLLED_SHOWN),
    }


@blueprint.get("/ingest")
@require("viewer")
def page() -> Any:
    return render_template("ingest.html", limit=NEWEST_QUARANTINED, **_health())


@blueprint.get("/api/v1/ingest-health")
@require("viewer")
def api() -> Any:
    return jsonify(jsonable(_health()))
