"""The pair page: both units, the pair's incidents, and a chart of its connections with
its HA events; the same data as JSON; and plotly.js served from the plotly package (the
dashboard must work without internet access, so no CDN).

The chart gets each time bucket's lowest and highest sample (analytics/pair_detail.py), so a
30-day page stays small and drops stay visible; the JSON API keeps every sample. The page's
pair-specific part is cached per data version (dashboard/cache.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import plotly
from flask import (
    Blueprint,
    abort,
    g,
    jsonify,
    render_template,
    request,
    send_file,
)
from hawatch.analytics.pair_detail import PairDetail, pair_detail
from hawatch.dashboard import csrf
from hawatch.dashboard.app_state import get_cursor
from hawatch.dashboard.cache import cached
from hawatch.dashboard.figures import connections_figure, figure_div
from hawatch.dashboard.views.auth import require
from hawatch.dashboard.views.incidents import list_context
from hawatch.dashboard.views.jsonable import jsonable
from hawatch.dashboard.views.responses import SLOT, Prepared, prepare, send
from markupsafe import Markup

blueprint = Blueprint("pair", __name__)

PLOTLY_JS = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
MAX_DAYS = 90.0
# time buckets of the chart: two points each, about one per pixel of a wide screen
CHART_BUCKETS = 600


def _days() -> float:
    try:
        days = float(request.args.get("days", "3"))
    except ValueError:
        abort(400, "days must be a number, e.g. ?days=3")
    if not 0 < days <= MAX_DAYS:
        abort(400, f"days must be more than 0 and at most {MAX_DAYS:g}")
    return days


def _detail(pair: str, days: float, buckets: int | None = None) -> PairDetail | None:
    return pair_detail(get_cursor(), pair, days, buckets)


def _body(pair: str, days: float) -> Markup | None:
    """The pair's units, chart and incidents as HTML: the cached part of the page."""
    detail = _detail(pair, days, CHART_BUCKETS)
    if detail is None:
        return None
    chart = figure_div(connections_figure(detail))
    return Markup(render_template("_pair_body.html", detail=detail, chart=Markup(chart),
                                  days=f"{days:g}",
                                  **list_context(detail.incidents, pair, shared=True)))


@blueprint.get("/pairs/<pair>")
@require("viewer")
def page(pair: str) -> Any:
    days = _days()
    key = ("page", g.user.role, pair, days)
    shell = render_template("pair.html", pair=pair, body=Markup(SLOT))

    def build() -> Prepared | None:
        body = cached("pair", key, lambda: _body(pair, days))
        # the shell is this session's, so the body gets its CSRF token here (csrf.fill)
        return None if body is None else prepare(csrf.fill(shell.replace(SLOT, body)),
                                                 "text/html")

    prepared = cached("pages", (key, shell), build)
    if prepared is None:
        return render_template("pair_not_found.html", pair=pair), 404
    return send(prepared)


def _payload(pair: str, days: float) -> Prepared | None:
    detail = _detail(pair, days)
    if detail is None:
        return None
    return prepare(jsonify(jsonable({
        "pair": detail.pair, "units": detail.units, "incidents": detail.incidents,
        "window": {"start": detail.start, "end": detail.end},
        "series": {serial: [{"time": t, "connections": c} for t, c in points]
                   for serial, points in detail.samples.items()},
        "events": detail.events, "active_at_start": detail.active_at_start,
        "active": detail.active, "health": detail.health,
        "freshness": list(detail.freshness.values()),
        "role_changes": detail.role_changes})).get_data(),
        "application/json")


@blueprint.get("/api/v1/pairs/<pair>")
@require("viewer")
def api_pair(pair: str) -> Any:
    days = _days()
    body = cached("pair_api", (pair, days), lambda: _payload(pair, days))
    if body is None:
        abort(404, f"no pair named {pair!r}")
    return send(body)


@blueprint.get("/assets/plotly.min.js")
@require("viewer")
def plotly_js() -> Any:
    return send_file(PLOTLY_JS, mimetype="text/javascript", max_age=86400)
