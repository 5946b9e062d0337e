"""The fleet page: every pair on one screen, narrowed, searched and sorted on the server
(so it stays one query at thousands of pairs), and the same rows as JSON.

The table rows and the JSON payload are cached per data version and filter
(dashboard/cache.py): at 2,000 pairs they are most of the page's cost, and they are the same
for every viewer until an ingest, an analysis run or an operator changes the data. The page
around them (who is logged in, the CSRF token) is rendered per request, and carries an ETag
so the 60-second refresh of an unchanged page is a 304."""

from __future__ import annotations

from typing import Any

from flask import (
    Blueprint,
    abort,
    g,
    jsonify,
    render_template,
    request,
    url_for,
)
from hawatch.analytics.pair_summary import SORT_COLUMNS, fleet_sites, pair_summary
from hawatch.dashboard.app_state import get_cursor
from hawatch.dashboard.cache import cached
from hawatch.dashboard.fleet_rows import HEALTH_WORDS, fleet_rows
from hawatch.dashboard.views.auth import require
from hawatch.dashboard.views.jsonable import jsonable
from hawatch.dashboard.views.responses import SLOT, Prepared, prepare, send
from markupsafe import Markup

blueprint = Blueprint("fleet", __name__)

COLUMNS = (("pair", "Pair"), ("health", "Health"), ("score", "Score"), ("site", "Site"),
           ("ha_mode", "HA mode"), ("active_unit", "Active unit"),
           ("stateful_sync", "Stateful sync"), ("last_role_change", "Last role change"),
           ("open_incidents", "Open incidents"), ("connections_now", "Connections now"))


def _filters() -> dict[str, Any]:
    args = request.args
    return {"site": args.get("site", "").strip() or None,
            "health": args.get("health", "").strip() or None,
            "search": args.get("q", "").strip() or None,
            "sort": args.get("sort", "pair"),
            "descending": args.get("dir", "asc") == "desc"}


def _summary(filters: dict[str, Any]) -> list[dict[str, Any]]:
    columns, rows = pair_summary(get_cursor(), **filters)
    return [dict(zip(columns, row, strict=True)) for row in rows]


def _filter_key(filters: dict[str, Any]) -> tuple[Any, ...]:
    return tuple(sorted(filters.items()))


def _body(filters: dict[str, Any]) -> Markup:
    """Filters, count and rows as HTML: the cached part of the page."""
    pairs = _summary(filters)
    rows = fleet_rows(pairs, url_for("pair.page", pair="x")[:-1], len(COLUMNS))
    return Markup(render_template(
        "_fleet_body.html", rows=rows, count=len(pairs), filters=filters,
        sites=fleet_sites(get_cursor()), health_words=HEALTH_WORDS, columns=COLUMNS))


@blueprint.get("/")
@require("viewer")
def index() -> Any:
    filters = _filters()
    if filters["sort"] not in SORT_COLUMNS:
        filters["sort"] = "pair"  # a hand-edited URL still shows the fleet
    key = ("page", g.user.role, _filter_key(filters))
    shell = render_template("fleet.html", body=Markup(SLOT))

    def build() -> Prepared:
        body = cached("fleet", key, lambda: _body(filters))
        return prepare(shell.replace(SLOT, body), "text/html")

    # the whole page per login (its header names the user and holds a CSRF token)
    return send(cached("pages", (key, shell), build))


@blueprint.get("/api/v1/pairs")
@require("viewer")
def api_pairs() -> Any:
    filters = _filters()
    if filters["sort"] not in SORT_COLUMNS:
        abort(400, f"cannot sort by {filters['sort']!r}; use one of "
                   f"{', '.join(SORT_COLUMNS)}")

    def build() -> Prepared:
        pairs = _summary(filters)
        return prepare(jsonify(pairs=jsonable(pairs), count=len(pairs)).get_data(),
                       "application/json")

    return send(cached("api", ("pairs", _filter_key(filters)), build))
