"""The pair page: both units, the pair's incidents, and a chart of its connections with
its HA events; the same data as JSON; and plotly.js served from the plotly package (the
dashboard must work without internet access, so no CDN)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import plotly
from flask import Blueprint, abort, current_app, jsonify, render_template, request, send_file

from analytics.pair_detail import PairDetail, pair_detail
from dashboard.figures import connections_figure, figure_div
from dashboard.views.auth import require
from dashboard.views.jsonable import jsonable

blueprint = Blueprint("pair", __name__)

PLOTLY_JS = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
MAX_DAYS = 90.0


def _days() -> float:
    try:
        days = float(request.args.get("days", "3"))
    except ValueError:
        abort(400, "days must be a number, e.g. ?days=3")
    if not 0 < days <= MAX_DAYS:
        abort(400, f"days must be more than 0 and at most {MAX_DAYS:g}")
    return days


def _detail(pair: str) -> PairDetail | None:
    return pair_detail(current_app.config["HAWATCH_STORE"].cursor(), pair, _days())


@blueprint.get("/pairs/<pair>")
@require("viewer")
def page(pair: str) -> Any:
    detail = _detail(pair)
    if detail is None:
        return render_template("pair_not_found.html", pair=pair), 404
    chart = figure_div(connections_figure(detail))
    return render_template("pair.html", detail=detail, chart=chart,
                           days=request.args.get("days", "3"))


@blueprint.get("/api/v1/pairs/<pair>")
@require("viewer")
def api_pair(pair: str) -> Any:
    detail = _detail(pair)
    if detail is None:
        abort(404, f"no pair named {pair!r}")
    return jsonify(jsonable({
        "pair": detail.pair, "units": detail.units, "incidents": detail.incidents,
        "window": {"start": detail.start, "end": detail.end},
        "series": {serial: [{"time": t, "connections": c} for t, c in points]
                   for serial, points in detail.samples.items()},
        "events": detail.events, "active_at_start": detail.active_at_start}))


@blueprint.get("/assets/plotly.min.js")
@require("viewer")
def plotly_js() -> Any:
    return send_file(PLOTLY_JS, mimetype="text/javascript", max_age=86400)
