"""The fleet table's rows as HTML, in Python rather than Jinja.

At 2,000 pairs the rows are the page: Jinja spent ~60 ms on them (an attribute lookup and an
escape call per cell, through its runtime), this ~15 ms. Every value passes through `_text`
(markupsafe's escape) on its way into the HTML, so a site or a pair name out of a log
renders as text; the tests inject markup through both.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from markupsafe import Markup, escape

HEALTH_WORDS = ("ok", "warning", "stale", "critical")
NONE = "—"


def _text(value: Any) -> str:
    return NONE if value is None or value == "" else str(escape(value))


def _when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S UTC") if value else NONE


def ago(value: datetime, now: datetime) -> str:
    """How long before `now`, in the largest units that matter: `4 min`, `2 h 5 min`."""
    minutes = max(0, int((now - value).total_seconds() // 60))
    if minutes < 1:
        return "<1 min"
    if minutes < 60:
        return f"{minutes} min"
    if minutes < 48 * 60:
        return f"{minutes // 60} h {minutes % 60} min"
    return f"{minutes // 1440} d {minutes // 60 % 24} h"


def _connections(p: dict[str, Any], now: datetime) -> str:
    """The pair's connections; a stale pair's count says how old it is (it is not current)."""
    connections = p["connections_now"]
    if connections is None:
        return NONE
    if not p.get("stale") or p.get("connections_at") is None:
        return f"{connections:,}"
    at = p["connections_at"]
    return (f'<span class="stale-value" title="as of {at:%Y-%m-%d %H:%M} UTC">'
            f'{connections:,}</span> <span class="age">as of {ago(at, now)} ago</span>')


def _last_seen(p: dict[str, Any], now: datetime) -> str:
    """How long ago the pair's newest data is, and where it came from (the time itself in
    the cell's title)."""
    seen = p.get("last_seen")
    if seen is None:
        return "never" if p.get("stale") else NONE
    return (f'<span title="{seen:%Y-%m-%d %H:%M:%S} UTC">{ago(seen, now)} ago</span>'
            f' <span class="age">{_text(p["last_source"])}</span>')


def _row(p: dict[str, Any], pair_prefix: str, now: datetime) -> str:
    name = _text(p["pair"])
    health = p["health"] or "unknown"
    word = health if health in HEALTH_WORDS else "unknown"
    active = _text(p["active_unit"]) + (f" ({_text(p['active_role'])})"
                                        if p["active_role"] else "")
    stale = ' stale' if p.get("stale") else ''
    return (
        f'<tr class="pair-row{stale}" data-pair="{name}"><td><a href="{pair_prefix}'
        f'{escape(quote(str(p["pair"]), safe=""))}">{name}</a></td>'
        f'<td><span class="health health-{word}">{_text(health)}</span></td>\n'
        f'<td class="num">{_text(p["score"])}</td><td>{_text(p["site"])}</td>'
        f'<td>{_text(p["ha_mode"])}</td><td>{active}</td>'
        f'<td>{_text(p["stateful_sync"])}</td><td>{_when(p["last_role_change"])}</td>\n'
        f'<td class="num">{_text(p["open_incidents"])}</td><td class="num">'
        f'{_connections(p, now)}</td><td class="last-seen">{_last_seen(p, now)}</td></tr>\n')


def fleet_rows(pairs: Iterable[dict[str, Any]], pair_prefix: str, columns: int) -> Markup:
    """One <tr> per pair (links under `pair_prefix`), or a row saying none match."""
    now = datetime.now(UTC)
    rows = "".join(_row(p, str(escape(pair_prefix)), now) for p in pairs)
    return Markup(rows or f'<tr><td colspan="{columns}">No pairs match.</td></tr>\n')
