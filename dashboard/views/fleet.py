"""The fleet page: every pair on one screen, narrowed, searched and sorted on the server
(so it stays one query at thousands of pairs), and the same rows as JSON."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, current_app, jsonify, render_template, request

from analytics.pair_summary import SORT_COLUMNS, pair_summary
from dashboard.views.auth import require
from dashboard.views.jsonable import jsonable

blueprint = Blueprint("fleet", __name__)

HEALTH_WORDS = ("ok", "warning", "critical")


def _filters() -> dict[str, Any]:
    args = request.args
    return {"site": args.get("site", "").strip() or None,
            "health": args.get("health", "").strip() or None,
            "search": args.get("q", "").strip() or None,
            "sort": args.get("sort", "pair"),
            "descending": args.get("dir", "asc") == "desc"}


def _summary(filters: dict[str, Any]) -> list[dict[str, Any]]:
    cur = current_app.config["HAWATCH_STORE"].cursor()
    columns, rows = pair_summary(cur, **filters)
    return [dict(zip(columns, row, strict=True)) for row in rows]


def _sites() -> list[str]:
    cur = current_app.config["HAWATCH_STORE"].cursor()
    return [s for (s,) in cur.execute(
        "SELECT DISTINCT site FROM pairs WHERE site IS NOT NULL ORDER BY site").fetchall()]


@blueprint.get("/")
@require("viewer")
def index() -> Any:
    filters = _filters()
    if filters["sort"] not in SORT_COLUMNS:
        filters["sort"] = "pair"  # a hand-edited URL still shows the fleet
    return render_template("fleet.html", pairs=_summary(filters), filters=filters,
                           sites=_sites(), health_words=HEALTH_WORDS,
                           sort_columns=SORT_COLUMNS)


@blueprint.get("/api/v1/pairs")
@require("viewer")
def api_pairs() -> Any:
    filters = _filters()
    if filters["sort"] not in SORT_COLUMNS:
        abort(400, f"cannot sort by {filters['sort']!r}; use one of "
                   f"{', '.join(SORT_COLUMNS)}")
    pairs = _summary(filters)
    return jsonify(pairs=jsonable(pairs), count=len(pairs))
