"""The pair page: both units, the pair's incidents, and a chart of its connections with
its HA events over a time range counted back from now (dashboard/time_range.py); the same
data as JSON; and plotly.js served from the plotly package (the dashboard must work without
internet access, so no CDN).

The chart gets each time bucket's lowest and highest sample (analytics/pair_detail.py), so a
30-day page stays small and drops stay visible; the JSON API keeps every sample. The page's
pair-specific part is cached per data version (dashboard/cache.py) and per minute of the
wall clock, which the range counts back from. The old `?days=N` redirects to `?range=Nd`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import plotly
from flask import (
    Blueprint,
    abort,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from hawatch.analytics.pair_detail import PairDetail, pair_detail
from hawatch.dashboard import csrf
from hawatch.dashboard.app_state import get_cursor
from hawatch.dashboard.cache import cached
from hawatch.dashboard.figures import NOTICE_GAP, connections_figure, figure_div
from hawatch.dashboard.time_range import (
    PRESETS,
    TimeRange,
    ago,
    days_as_range,
    iso_minute,
    parse_range,
)
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


def _now() -> datetime:
    """The wall clock to the minute: ranges count back from it, and a page cached within
    the minute is the same page."""
    return datetime.now(UTC).replace(second=0, microsecond=0) + timedelta(minutes=1)


def _range() -> TimeRange:
    try:
        return parse_range(request.args, _now())
    except ValueError as error:
        abort(400, str(error))


def _detail(
    pair: str, days: float, buckets: int | None = None, window: TimeRange | None = None
) -> PairDetail | None:
    bounds = (window.start, window.end) if window else None
    return pair_detail(get_cursor(), pair, days, buckets, bounds)


def data_notice(detail: PairDetail, window: TimeRange, now: datetime) -> dict[str, Any] | None:
    """What the page says when the pair's data ends before the range does: when it ended,
    how long ago, and a link to the same span up to the data's end."""
    if detail.data_end is not None and detail.data_end >= window.end - NOTICE_GAP:
        return None
    notice: dict[str, Any] = {"data_end": detail.data_end, "ago": None, "before": None}
    if detail.data_end is not None:
        notice["ago"] = ago(now - detail.data_end)
        if detail.data_end < window.start:
            length = window.end - window.start
            notice["before"] = {
                "start": iso_minute(detail.data_end - length),
                "end": iso_minute(detail.data_end + timedelta(minutes=1)),
            }
    return notice


def _body(pair: str, window: TimeRange) -> Markup | None:
    """The pair's units, chart and incidents as HTML: the cached part of the page."""
    detail = _detail(pair, 0, CHART_BUCKETS, window)
    if detail is None:
        return None
    chart = figure_div(connections_figure(detail))
    return Markup(
        render_template(
            "_pair_body.html",
            detail=detail,
            chart=Markup(chart),
            window=window,
            presets=PRESETS,
            notice=data_notice(detail, window, datetime.now(UTC)),
            custom_start=iso_minute(window.start),
            custom_end=iso_minute(window.end),
            **list_context(detail.incidents, pair, shared=True),
        )
    )


@blueprint.get("/pairs/<pair>")
@require("viewer")
def page(pair: str) -> Any:
    if "days" in request.args:
        return _redirect_days(pair)
    window = _range()
    key = ("page", g.user.role, pair, window)
    shell = render_template("pair.html", pair=pair, body=Markup(SLOT))

    def build() -> Prepared | None:
        body = cached("pair", key, lambda: _body(pair, window))
        # the shell is this session's, so the body gets its CSRF token here (csrf.fill)
        return None if body is None else prepare(csrf.fill(shell.replace(SLOT, body)), "text/html")

    prepared = cached("pages", (key, shell), build)
    if prepared is None:
        return render_template("pair_not_found.html", pair=pair), 404
    return send(prepared)


def _redirect_days(pair: str) -> Any:
    """The old `?days=N` (N days up to the pair's newest data) as `?range=Nd`, counted back
    from now like every range: shared links keep working."""
    try:
        value = days_as_range(request.args["days"])
    except ValueError as error:
        abort(400, f"days must be a number, e.g. ?days=3 ({error})")
    args: dict[str, Any] = {k: v for k, v in request.args.items() if k not in ("days", "range")}
    return redirect(url_for("pair.page", pair=pair, **args, range=value))


def _payload(pair: str, days: float, window: TimeRange | None) -> Prepared | None:
    detail = _detail(pair, days, window=window)
    if detail is None:
        return None
    return prepare(
        jsonify(
            jsonable(
                {
                    "pair": detail.pair,
                    "units": detail.units,
                    "incidents": detail.incidents,
                    "window": {"start": detail.start, "end": detail.end},
                    "data_end": detail.data_end,
                    "series": {
                        serial: [{"time": t, "connections": c} for t, c in points]
                        for serial, points in detail.samples.items()
                    },
                    "total": [{"time": t, "connections": c} for t, c in detail.total],
                    "events": detail.events,
                    "active_at_start": detail.active_at_start,
                    "active": detail.active,
                    "health": detail.health,
                    "freshness": list(detail.freshness.values()),
                    "role_changes": detail.role_changes,
                }
            )
        ).get_data(),
        "application/json",
    )


@blueprint.get("/api/v1/pairs/<pair>")
@require("viewer")
def api_pair(pair: str) -> Any:
    days = _days()
    # `days` ends at the pair's newest data (as it always has); range/start/end at now
    window = _range() if {"range", "start", "end"} & set(request.args) else None
    body = cached("pair_api", (pair, days, window), lambda: _payload(pair, days, window))
    if body is None:
        abort(404, f"no pair named {pair!r}")
    return send(body)


@blueprint.get("/assets/plotly.min.js")
@require("viewer")
def plotly_js() -> Any:
    return send_file(PLOTLY_JS, mimetype="text/javascript", max_age=86400)
