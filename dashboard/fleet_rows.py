"""The fleet table's rows as HTML, in Python rather than Jinja.

At 2,000 pairs the rows are the page: Jinja spent ~60 ms on them (an attribute lookup and an
escape call per cell, through its runtime), this ~15 ms. Every value passes through `_text`
(markupsafe's escape) on its way into the HTML, so a site or a pair name out of a log
renders as text; the tests inject markup through both. Badges and times come from the same
functions the templates' macros call (dashboard/badges.py, dashboard/timefmt.py).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from hawatch.dashboard.badges import badge
from hawatch.dashboard.timefmt import NONE, ago, when_html, when_text
from markupsafe import Markup, escape

HEALTH_WORDS = ("critical", "warning", "stale", "ok")


def _text(value: Any) -> str:
    return NONE if value is None or value == "" else str(escape(value))


def _connections(p: dict[str, Any], now: datetime) -> str:
    """The pair's connections; a stale pair's count says how old it is (it is not current)."""
    connections = p["connections_now"]
    if connections is None:
        return NONE
    if not p.get("stale") or p.get("connections_at") is None:
        return f"{connections:,}"
    at = p["connections_at"]
    return (
        f'<span class="stale-value" title="as of {when_text(at)}">'
        f'{connections:,}</span> <span class="age">as of {ago(at, now)} ago</span>'
    )


def _last_seen(p: dict[str, Any], now: datetime) -> str:
    """How long ago the pair's newest data is, and where it came from (the time itself in
    the cell's title)."""
    seen = p.get("last_seen")
    if seen is None:
        return "never" if p.get("stale") else NONE
    return (
        f'<span title="{when_text(seen)}">{ago(seen, now)} ago</span>'
        f' <span class="age">{_text(p["last_source"])}</span>'
    )


def _row(p: dict[str, Any], pair_prefix: str, now: datetime) -> str:
    name = _text(p["pair"])
    active = _text(p["active_unit"]) + (f" ({_text(p['active_role'])})" if p["active_role"] else "")
    stale = " stale" if p.get("stale") else ""
    return (
        f'<tr class="pair-row{stale}" data-pair="{name}"><td><a href="{pair_prefix}'
        f'{escape(quote(str(p["pair"]), safe=""))}">{name}</a></td>'
        f"<td>{badge(p['health'])}</td>\n"
        f'<td class="num col-score">{_text(p["score"])}</td><td>{_text(p["site"])}</td>'
        f'<td class="col-ha_mode">{_text(p["ha_mode"])}</td><td>{active}</td>'
        f"<td>{_text(p['stateful_sync'])}</td>"
        f'<td class="time">{when_html(p["last_role_change"])}</td>\n'
        f'<td class="num">{_text(p["open_incidents"])}</td>'
        f'<td class="time last-incident">{when_html(p.get("last_incident"))}</td>'
        f'<td class="num">{_connections(p, now)}</td>'
        f'<td class="last-seen">{_last_seen(p, now)}</td></tr>\n'
    )


def fleet_rows(pairs: Iterable[dict[str, Any]], pair_prefix: str, columns: int) -> Markup:
    """One <tr> per pair (links under `pair_prefix`), or a row saying none match."""
    now = datetime.now(UTC)
    rows = "".join(_row(p, str(escape(pair_prefix)), now) for p in pairs)
    return Markup(rows or f'<tr><td colspan="{columns}">No pairs match.</td></tr>\n')
