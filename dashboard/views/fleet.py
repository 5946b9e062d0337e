"""The fleet page: the worst pairs first, a summary strip of counts that filter, one page of
pairs at a time (narrowed, searched, sorted and paged on the server, so it stays one query
at 20,000 pairs); the wallboard, the same fleet for a NOC screen; and the rows as JSON.

The table rows and the JSON payload are cached per data version and filter
(dashboard/cache.py): at 2,000 pairs they are most of the page's cost, and they are the same
for every viewer until an ingest, an analysis run or an operator changes the data. The page
around them (who is logged in, the CSRF token) is rendered per request, and carries an ETag
so the 60-second refresh of an unchanged page is a 304."""

from __future__ import annotations

import math
from datetime import UTC, datetime
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
from hawatch.analytics.pair_summary import SORT_COLUMNS, fleet_counts, fleet_sites, pair_summary
from hawatch.dashboard.app_state import app_state, get_cursor
from hawatch.dashboard.cache import cached
from hawatch.dashboard.fleet_rows import HEALTH_WORDS, fleet_rows
from hawatch.dashboard.views.auth import require
from hawatch.dashboard.views.jsonable import jsonable
from hawatch.dashboard.views.responses import SLOT, Prepared, prepare, send
from markupsafe import Markup

blueprint = Blueprint("fleet", __name__)

COLUMNS = (
    ("pair", "Pair"),
    ("health", "Health"),
    ("score", "Score"),
    ("site", "Site"),
    ("ha_mode", "HA mode"),
    ("active_unit", "Active unit"),
    ("stateful_sync", "Stateful sync"),
    ("last_role_change", "Last role change"),
    ("open_incidents", "Open incidents"),
    ("last_incident", "Last incident"),
    ("connections_now", "Connections now"),
    ("last_seen", "Last seen"),
)
MAX_PER_PAGE = 1000


def _filters(default_sort: str) -> dict[str, Any]:
    args = request.args
    return {
        "site": args.get("site", "").strip() or None,
        "health": args.get("health", "").strip() or None,
        "search": args.get("q", "").strip() or None,
        "sort": args.get("sort", default_sort) or default_sort,
        "descending": args.get("dir", "asc") == "desc",
    }


def _number(name: str, default: int, low: int, high: int) -> int:
    """A whole-number query parameter within [low, high]; a bad one is a 400 saying why."""
    raw = request.args.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        abort(400, f"{name} must be a whole number, e.g. ?{name}={default}")
    return min(max(value, low), high)


def _default_per_page() -> int:
    return min(max(int(app_state().settings["dashboard.fleet_page_size"]), 1), MAX_PER_PAGE)


def _paging() -> tuple[int, int]:
    """(page from 1, pairs per page): ?page= and ?per_page=, else the setting."""
    per_page = _number("per_page", _default_per_page(), 1, MAX_PER_PAGE)
    return _number("page", 1, 1, 10**9), per_page


def _summary(
    filters: dict[str, Any], limit: int | None = None, offset: int = 0
) -> list[dict[str, Any]]:
    columns, rows = pair_summary(get_cursor(), **filters, limit=limit, offset=offset)
    return [dict(zip(columns, row, strict=True)) for row in rows]


def _page_of(
    filters: dict[str, Any], page: int, per_page: int
) -> tuple[list[dict[str, Any]], int, int]:
    """One page of pairs, the count of all that match, and the page actually shown (the
    last one when `page` is past the end, as after the fleet shrank under a bookmark)."""
    pairs = _summary(filters, per_page, (page - 1) * per_page)
    if not pairs and page > 1:
        total = len(_summary(filters))
        page = max(1, math.ceil(total / per_page))
        pairs = _summary(filters, per_page, (page - 1) * per_page)
    total = pairs[0]["total"] if pairs else 0
    return pairs, total, page


def _key(filters: dict[str, Any], *more: Any) -> tuple[Any, ...]:
    return (*sorted(filters.items()), *more)


def _body(filters: dict[str, Any], page: int, per_page: int) -> Markup:
    """Summary strip, filters, count, pager and rows as HTML: the cached part of the page."""
    pairs, total, page = _page_of(filters, page, per_page)
    rows = fleet_rows(pairs, url_for("pair.page", pair="x")[:-1], len(COLUMNS))
    return Markup(
        render_template(
            "_fleet_body.html",
            rows=rows,
            count=total,
            filters=filters,
            page=page,
            per_page=per_page,
            default_per_page=_default_per_page(),
            pages=max(1, math.ceil(total / per_page)),
            shown=len(pairs),
            counts=fleet_counts(get_cursor()),
            sites=fleet_sites(get_cursor()),
            health_words=HEALTH_WORDS,
            columns=COLUMNS,
        )
    )


def _page(template: str, key: tuple[Any, ...], body: Any, **context: Any) -> Any:
    """A page around a cached body; the whole page cached per login (its header names the
    user and holds a CSRF token), sent with an ETag and gzipped."""
    shell = render_template(template, body=Markup(SLOT), **context)

    def build() -> Prepared:
        return prepare(shell.replace(SLOT, cached("fleet", key, body)), "text/html")

    return send(cached("pages", (key, shell), build))


@blueprint.get("/")
@require("viewer")
def index() -> Any:
    filters = _filters("worst")
    if filters["sort"] not in SORT_COLUMNS:
        filters["sort"] = "worst"  # a hand-edited URL still shows the fleet
    page, per_page = _paging()
    key = ("page", g.user.role, _key(filters, page, per_page))
    return _page("fleet.html", key, lambda: _body(filters, page, per_page))


def _wallboard_body(per_page: int) -> Markup:
    """The counts and the pairs that are not ok, worst first: what a NOC screen shows."""
    counts = fleet_counts(get_cursor())
    columns, rows = pair_summary(get_cursor(), sort="worst", limit=per_page, health_not="ok")
    pairs = [dict(zip(columns, row, strict=True)) for row in rows]
    return Markup(
        render_template(
            "_wallboard_body.html",
            counts=counts,
            pairs=pairs,
            not_ok=pairs[0]["total"] if pairs else 0,
            total=sum(counts["health"].values()),
        )
    )


@blueprint.get("/wallboard")
@require("viewer")
def wallboard() -> Any:
    settings = app_state().settings
    _, per_page = _paging()
    key = ("wallboard", per_page)
    return _page(
        "wallboard.html",
        key,
        lambda: _wallboard_body(per_page),
        refresh=int(settings["dashboard.wallboard_refresh_seconds"]),
        now=datetime.now(UTC),
    )


@blueprint.get("/api/v1/pairs")
@require("viewer")
def api_pairs() -> Any:
    """Every matching pair (sorted by name unless asked), or one page of them with
    ?page= or ?per_page=."""
    filters = _filters("pair")
    if filters["sort"] not in SORT_COLUMNS:
        abort(400, f"cannot sort by {filters['sort']!r}; use one of {', '.join(SORT_COLUMNS)}")
    paged = "page" in request.args or "per_page" in request.args
    page, per_page = _paging() if paged else (1, 0)

    def build() -> Prepared:
        if not paged:
            pairs = _summary(filters)
            return prepare(
                jsonify(pairs=jsonable(pairs), count=len(pairs)).get_data(), "application/json"
            )
        pairs, total, shown = _page_of(filters, page, per_page)
        for p in pairs:
            p.pop("total", None)
        return prepare(
            jsonify(pairs=jsonable(pairs), count=total, page=shown, per_page=per_page).get_data(),
            "application/json",
        )

    return send(cached("api", ("pairs", _key(filters, page, per_page)), build))
