"""Plotly figures for the dashboard.

Every string that came from a log (serials, message text) is HTML-escaped before it enters
a figure: Plotly renders hover text as HTML, and the figure's JSON sits inside a <script>
data block.

Figures are plain dicts in plotly's schema, written out without validation: building them
as `plotly.graph_objects` took ~20 ms a page in validation and deep copies, more than the
queries, and the tests check the traces the browser draws.

The pair chart has two rows on one time axis, as NOC tools draw it: connections above (the
pair total, then each unit in its role's colour, the pair's incidents as shaded regions
behind them) and an event track below (who was active, role changes, heartbeat losses and
sync changes, each on a row of its own, so no event sits at an invented connection count).
Colours mean one thing on every pair (Okabe-Ito, colour-blind safe): a unit's colour is its
configured role's, never the order its trace happened to come in.
"""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from decimal import Decimal
from html import escape
from typing import Any

from hawatch.analytics.pair_detail import MARKED_EVENTS, PairDetail

ROLE_COLOURS = {"primary": "#0072B2", "secondary": "#E69F00"}
OTHER_ROLE_COLOUR = "#999999"
TOTAL_COLOUR = "#333333"  # chart.js swaps it for light grey in the dark theme
SEVERITY_COLOURS = {
    "critical": "#D55E00",
    "warning": "#E69F00",
    "stale": "#CC79A7",
    "ok": "#009E73",
    "info": "#0072B2",
    "unknown": "#999999",
}
REGION_OPACITY = 0.18
CONNECTIONS_ROW = [0.3, 1]  # of the chart's height; the event track has the bottom 24%
# the event track's rows, bottom to top
TRACK = ["active unit", "role change", "heartbeat loss", "sync change"]
# marker groups: symbol and row on the event track
MARKERS: dict[str, tuple[str, str]] = {
    "failover": ("triangle-up", "role change"),
    "failback": ("triangle-down", "role change"),
    "heartbeat loss": ("x", "heartbeat loss"),
    "sync change": ("diamond", "sync change"),
}
# a role change no HA message reported: only the status reports (polls) showed it
UNREPORTED = ("failover seen by polls only", "triangle-up-open", "role change")
HOVER = "%{x|%Y-%m-%d %H:%M:%S} UTC<br>%{text}<extra></extra>"
# data this close to the range's end reaches it (polls a minute or two apart): no marker
NOTICE_GAP = timedelta(minutes=5)


def _roles(detail: PairDetail) -> dict[str, str]:
    return {u["serial"]: u["role"] for u in detail.units if u.get("role")}


def _colour(detail: PairDetail, serial: str | None) -> str:
    return ROLE_COLOURS.get(_roles(detail).get(serial or "", ""), OTHER_ROLE_COLOUR)


def unit_name(detail: PairDetail, serial: str) -> str:
    """How the chart names a unit: its role first, as the operator thinks of it."""
    return f"{_roles(detail).get(serial) or 'unit'} ({serial})"


def _unreported(detail: PairDetail) -> list[dict[str, Any]]:
    return [c for c in detail.role_changes if c["seen_in"] == "status"]


def _active_spans(detail: PairDetail) -> list[tuple[datetime, datetime, str]]:
    """(from, to, serial) for who was active, from role changes inside the window (the HA
    messages', and those only the status reports showed), up to the newest data."""
    assert detail.start is not None and detail.end is not None
    until = min(detail.end, detail.data_end or detail.end)
    current = detail.active_at_start or detail.pair.get("primary_serial")
    spans, since = [], detail.start if detail.active_at_start else _first_data(detail)
    becoming = sorted(
        [(e["time"], e["serial"]) for e in detail.events if e["state_to"] == "active"]
        + [(c["time"], c["new_active"]) for c in _unreported(detail)]
    )
    for at, serial in becoming:
        if serial != current:
            if current:
                spans.append((since, at, current))
            current, since = serial, at
    if current and since < until:
        spans.append((since, until, current))
    return spans


def _first_data(detail: PairDetail) -> datetime:
    """The window's first sample or event: with no role change before the window, nothing
    says who was active before the pair's data began (a pair added an hour ago)."""
    assert detail.start is not None
    times = [points[0][0] for points in detail.samples.values() if points]
    times += [e["time"] for e in detail.events[:1]] + [t for t, _ in detail.total[:1]]
    return max(detail.start, min(times)) if times else detail.start


def _active_traces(detail: PairDetail) -> list[dict[str, Any]]:
    """Who was active, as bars on the event track's bottom row in the unit's role colour."""
    by_serial: dict[str, list[tuple[datetime, datetime]]] = {}
    for start, end, serial in _active_spans(detail):
        by_serial.setdefault(serial, []).append((start, end))
    traces = []
    for serial, spans in sorted(by_serial.items()):
        xs: list[datetime | None] = []
        for start, end in spans:
            xs += [start, end, None]
        traces.append(
            dict(
                type="scatter",
                x=xs,
                y=["active unit" if x else None for x in xs],
                yaxis="y2",
                mode="lines",
                line={"width": 9, "color": _colour(detail, serial)},
                name=escape(f"active: {unit_name(detail, serial)}"),
                legendgroup=serial,
                text=[escape(f"active: {unit_name(detail, serial)}")] * len(xs),
                hovertemplate=HOVER,
            )
        )
    return traces


def _marker_traces(detail: PairDetail) -> list[dict[str, Any]]:
    """One trace per event type on its own row of the event track, each marker in the role
    colour of the unit it is about (the one that became active, or that reported it)."""
    traces = []
    for group, (symbol, row) in MARKERS.items():
        events = [e for e in detail.events if MARKED_EVENTS.get(e["kind"]) == group]
        if events:
            traces.append(
                _markers(
                    group,
                    symbol,
                    row,
                    [e["time"] for e in events],
                    [_colour(detail, e["serial"]) for e in events],
                    [
                        f"{e['kind']}: {unit_name(detail, e['serial'])}"
                        + (f" became {e['state_to']}" if e["state_to"] else "")
                        + (f"; {e['detail']}" if e["detail"] else "")
                        for e in events
                    ],
                )
            )
    unreported = _unreported(detail)
    if unreported:
        name, symbol, row = UNREPORTED
        traces.append(
            _markers(
                name,
                symbol,
                row,
                [c["time"] for c in unreported],
                [_colour(detail, c["new_active"]) for c in unreported],
                [
                    f"{c['old_active']} -> {c['new_active']}: only the status reports show it"
                    " (syslog missed a failover)"
                    for c in unreported
                ],
            )
        )
    return traces


def _markers(
    name: str, symbol: str, row: str, times: list[datetime], colours: list[str], texts: list[str]
) -> dict[str, Any]:
    return dict(
        type="scatter",
        x=times,
        y=[row] * len(times),
        yaxis="y2",
        mode="markers",
        name=name,
        marker={
            "symbol": symbol,
            "color": colours,
            "size": 12,
            "line": {"width": 1, "color": TOTAL_COLOUR},
        },
        text=[escape(t) for t in texts],
        hovertemplate=HOVER,
    )


def _connection_traces(detail: PairDetail) -> list[dict[str, Any]]:
    """Each unit in its role's colour (primary before secondary), then the pair total drawn
    over them, dotted: in active/standby it lies on the active unit's line, and both must
    stay visible. The legend lists the total first."""
    traces = []
    order = {"primary": 0, "secondary": 1}
    roles = _roles(detail)
    for serial in sorted(detail.samples, key=lambda s: (order.get(roles.get(s, ""), 2), s)):
        points = detail.samples[serial]
        traces.append(
            dict(
                type="scatter",
                x=[t for t, _ in points],
                y=[c for _, c in points],
                mode="lines",
                name=escape(unit_name(detail, serial)),
                legendgroup=serial,
                line={"color": _colour(detail, serial), "width": 2.5},
                legendrank=2,
                hovertemplate=f"%{{x|%Y-%m-%d %H:%M:%S}} UTC<br>{escape(unit_name(detail, serial))}"
                " %{y:,}<extra></extra>",
            )
        )
    if detail.total:
        traces.append(
            dict(
                type="scatter",
                x=[t for t, _ in detail.total],
                y=[c for _, c in detail.total],
                mode="lines",
                name="pair total",
                meta="pair-total",
                legendrank=1,
                line={"color": TOTAL_COLOUR, "width": 1.5, "dash": "dot"},
                hovertemplate="%{x|%Y-%m-%d %H:%M} UTC<br>pair total %{y:,}<extra></extra>",
            )
        )
    return traces


def _incidents_in_window(detail: PairDetail) -> list[dict[str, Any]]:
    assert detail.start is not None and detail.end is not None
    return [
        i
        for i in detail.incidents
        if i["opened_at"] is not None
        and i["opened_at"] <= detail.end
        and (i["resolved_at"] is None or i["resolved_at"] >= detail.start)
    ]


def _incident_text(incident: dict[str, Any]) -> str:
    opened = incident["opened_at"].strftime("%Y-%m-%d %H:%M:%S UTC")
    resolved = incident["resolved_at"]
    until = resolved.strftime("%Y-%m-%d %H:%M:%S UTC") if resolved else "still open"
    return (
        escape(f"{incident['severity']} {incident['kind']} ({incident['status']})")
        + "<br>"
        + escape(f"{opened} to {until}")
        + "<br>"
        + escape(incident["summary"] or "")
    )


def _incident_regions(detail: PairDetail) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Each incident as a shaded region over the connections row (opened..resolved, or the
    range's end while open) in its severity's colour, Grafana-annotation style: a layout
    shape to draw it, and a transparent filled trace over it that carries the hover text
    (Plotly shapes themselves take no hover)."""
    assert detail.end is not None
    shapes, traces = [], []
    for incident in _incidents_in_window(detail):
        start = max(incident["opened_at"], detail.start)
        end = min(incident["resolved_at"] or detail.end, detail.end)
        colour = SEVERITY_COLOURS.get(incident["severity"], SEVERITY_COLOURS["unknown"])
        shapes.append(
            dict(
                type="rect",
                xref="x",
                yref="y domain",
                x0=start,
                x1=end,
                y0=0,
                y1=1,
                fillcolor=colour,
                opacity=REGION_OPACITY,
                layer="below",
                line={"width": 0},
                name=f"incident {incident['incident_id']}",
            )
        )
        traces.append(
            dict(
                type="scatter",
                x=[start, start, end, end, start],
                y=[0, 1, 1, 0, 0],
                yaxis="y3",
                mode="lines",
                fill="toself",
                fillcolor="rgba(0,0,0,0)",
                line={"width": 0},
                hoveron="fills",
                hoverlabel={"bgcolor": colour},
                name=escape(f"incident: {incident['kind']}"),
                showlegend=False,
                meta=f"incident-{incident['incident_id']}",
                text=_incident_text(incident),
                hoverinfo="text",
            )
        )
    return shapes, traces


def _data_end(detail: PairDetail) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Where the pair's data stops inside the range (a dashed line), or a note in the
    middle when the range holds none of it: the gap is shown, never hidden."""
    assert detail.start is not None and detail.end is not None
    end = detail.data_end
    if end is not None and detail.start <= end < detail.end - NOTICE_GAP:
        line = dict(
            type="line",
            xref="x",
            yref="paper",
            x0=end,
            x1=end,
            y0=0,
            y1=1,
            line={"color": "#999999", "width": 1.5, "dash": "dash"},
            name="data-end",
        )
        note = dict(
            x=end,
            y=1,
            xref="x",
            yref="paper",
            text="no data after this",
            showarrow=False,
            xanchor="left",
            yanchor="bottom",
            font={"size": 11},
        )
        return [line], [note]
    if end is None or end < detail.start:
        text = "no data in this range" + (
            f" (it ends {end:%Y-%m-%d %H:%M} UTC)" if end is not None else ""
        )
        return [], [
            dict(
                x=0.5,
                y=0.65,
                xref="paper",
                yref="paper",
                text=text,
                showarrow=False,
                font={"size": 16, "color": "#757575"},
            )
        ]
    return [], []


def _track_axis(detail: PairDetail) -> dict[str, Any]:
    """An invisible trace on the event track, so its rows show even when empty."""
    return dict(
        type="scatter",
        x=[detail.start, detail.end],
        y=[TRACK[0], TRACK[-1]],
        yaxis="y2",
        mode="markers",
        marker={"opacity": 0},
        showlegend=False,
        hoverinfo="skip",
        meta="event-track",
    )


def connections_figure(detail: PairDetail) -> dict[str, Any]:
    """The pair's connections (total and per unit) with its incidents shaded behind them,
    over an event track of who was active and the HA events."""
    if detail.start is None:
        return {
            "data": [],
            "layout": {"title": {"text": "no connection samples or HA events for this pair"}},
        }
    shapes, regions = _incident_regions(detail)
    end_shapes, notes = _data_end(detail)
    empty = not detail.total and not any(detail.samples.values())
    layout = {
        "height": 520,
        "margin": {"l": 110, "r": 20, "t": 20, "b": 40},
        "xaxis": {"range": [detail.start, detail.end], "anchor": "y2", "type": "date"},
        "yaxis": {
            "title": {"text": "connections"},
            "rangemode": "tozero",
            "domain": CONNECTIONS_ROW,
            "tickformat": ",d",
            **({"range": [0, 1], "showticklabels": False} if empty else {}),
        },
        "yaxis2": {
            "domain": [0, 0.24],
            "type": "category",
            "categoryorder": "array",
            "categoryarray": TRACK,
            "range": [-0.5, len(TRACK) - 0.5],
            "fixedrange": True,
            "showgrid": True,
        },
        # the incidents' hover areas; its own domain too, or its drag layer covers the track
        "yaxis3": {
            "overlaying": "y",
            "range": [0, 1],
            "visible": False,
            "fixedrange": True,
            "domain": CONNECTIONS_ROW,
        },
        "shapes": shapes + end_shapes,
        "annotations": notes,
        "hovermode": "closest",
        "legend": {"orientation": "h", "y": -0.12},
    }
    return {
        "data": [
            *regions,
            *_connection_traces(detail),
            _track_axis(detail),
            *_active_traces(detail),
            *_marker_traces(detail),
        ],
        "layout": layout,
    }


def _json_value(value: object) -> str | float:
    """Times as ISO text, as plotly's own encoder writes them: that encoder tries numpy,
    pandas and more on each of a 30-day chart's 3,000 times (60 ms a page, a third of a
    cold pair page); the figure holds nothing else that JSON lacks."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    raise TypeError(f"not JSON: {type(value).__name__}")


def figure_div(fig: dict[str, Any], div_id: str = "connections-chart") -> str:
    """The figure as an empty <div> and a JSON data block that dashboard/static/chart.js
    draws (plotly.js itself is loaded by the page): no inline script, so the pages' CSP
    can refuse every script that is not a file of this site. Every `<` in the JSON is
    escaped, so no string in it can end the block."""
    figure = {
        "data": fig["data"],
        "layout": fig["layout"],
        "config": {"displaylogo": False, "responsive": True},
    }
    text = json.dumps(figure, default=_json_value, separators=(",", ":"))
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return (
        f'<div id="{div_id}" class="plotly-graph-div chart"></div>'
        f'<script type="application/json" data-plotly-for="{div_id}">{text}</script>'
    )
