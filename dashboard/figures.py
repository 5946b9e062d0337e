"""Plotly figures for the dashboard.

Every string that came from a log (serials, message text) is HTML-escaped before it enters
a figure: Plotly renders hover text as HTML, and the figure's JSON sits inside a <script>
data block.

Figures are plain dicts in plotly's schema, written out without validation: building them
as `plotly.graph_objects` took ~20 ms a page in validation and deep copies, more than the
queries, and the tests check the traces the browser draws.
"""

from __future__ import annotations

from datetime import datetime
from html import escape
from typing import Any

import plotly.io
from hawatch.analytics.pair_detail import MARKED_EVENTS, PairDetail

# marker groups: symbol, colour, height on the hidden 0..1 axis the markers and band share
MARKERS: dict[str, tuple[str, str, float]] = {
    "failover": ("triangle-up", "#d62728", 0.96),
    "failback": ("triangle-down", "#9467bd", 0.90),
    "heartbeat loss": ("x", "#ff7f0e", 0.84),
    "sync change": ("diamond", "#2ca02c", 0.78),
}
# a role change no HA message reported: only the status reports (polls) showed it
UNREPORTED = ("failover seen by polls only", "triangle-up-open", "#d62728", 0.96)
BAND_COLOURS = ("rgba(31,119,180,0.12)", "rgba(140,86,75,0.12)")


def _unreported(detail: PairDetail) -> list[dict[str, Any]]:
    return [c for c in detail.role_changes if c["seen_in"] == "status"]


def _active_spans(detail: PairDetail) -> list[tuple[datetime, datetime, str]]:
    """(from, to, serial) for who was active, from role changes inside the window (the HA
    messages', and those only the status reports showed)."""
    assert detail.start is not None and detail.end is not None
    current = detail.active_at_start or detail.pair.get("primary_serial")
    spans, since = [], detail.start
    becoming = sorted([(e["time"], e["serial"]) for e in detail.events
                       if e["state_to"] == "active"]
                      + [(c["time"], c["new_active"]) for c in _unreported(detail)])
    for at, serial in becoming:
        if serial != current:
            if current:
                spans.append((since, at, current))
            current, since = serial, at
    if current:
        spans.append((since, detail.end, current))
    return spans


def _band_traces(detail: PairDetail) -> list[dict[str, Any]]:
    spans = _active_spans(detail)
    serials = [u["serial"] for u in detail.units] or sorted({s for _, _, s in spans})
    traces = []
    for index, serial in enumerate(serials):
        xs: list[datetime] = []
        ys: list[float] = []
        for start, end, who in spans:
            xs += [start, end]
            ys += [1.0, 1.0] if who == serial else [0.0, 0.0]
        traces.append(dict(
            type="scatter", x=xs, y=ys, yaxis="y2", mode="lines",
            line={"width": 0, "shape": "hv"}, fill="tozeroy",
            fillcolor=BAND_COLOURS[index % len(BAND_COLOURS)],
            name=f"active: {escape(serial)}", hoverinfo="skip"))
    return traces


def _marker_traces(detail: PairDetail) -> list[dict[str, Any]]:
    traces = []
    for group, (symbol, colour, height) in MARKERS.items():
        events = [e for e in detail.events if MARKED_EVENTS.get(e["kind"]) == group]
        if not events:
            continue
        traces.append(dict(
            type="scatter", x=[e["time"] for e in events], y=[height] * len(events),
            yaxis="y2",
            mode="markers", name=group,
            marker={"symbol": symbol, "color": colour, "size": 11},
            text=[escape(f"{e['kind']} {e['serial']}: {e['detail'] or ''}") for e in events],
            hovertemplate="%{x}<br>%{text}<extra></extra>"))
    unreported = _unreported(detail)
    if unreported:
        name, symbol, colour, height = UNREPORTED
        traces.append(dict(
            type="scatter", x=[c["time"] for c in unreported], y=[height] * len(unreported),
            yaxis="y2", mode="markers", name=name,
            marker={"symbol": symbol, "color": colour, "size": 13, "line": {"width": 2}},
            text=[escape(f"{c['old_active']} -> {c['new_active']}: only the status reports"
                         " show it (syslog missed a failover)") for c in unreported],
            hovertemplate="%{x}<br>%{text}<extra></extra>"))
    return traces


def connections_figure(detail: PairDetail) -> dict[str, Any]:
    """Both units' connection counts, who was active, and the HA events, in one chart."""
    if detail.start is None:
        return {"data": [],
                "layout": {"title": {"text": "no connection samples or HA events for this pair"}}}
    roles = {u["serial"]: u["role"] for u in detail.units}
    lines = [dict(type="scatter", x=[t for t, _ in points], y=[c for _, c in points],
                  mode="lines",
                  name=escape(f"{serial} ({roles.get(serial) or 'unit'}) connections"))
             for serial, points in sorted(detail.samples.items())]
    layout = {
        "height": 460, "margin": {"l": 60, "r": 20, "t": 30, "b": 40},
        "yaxis": {"title": {"text": "connections"}, "rangemode": "tozero"},
        "yaxis2": {"overlaying": "y", "range": [0, 1], "visible": False, "fixedrange": True},
        "xaxis": {"range": [detail.start, detail.end]},
        "legend": {"orientation": "h", "y": -0.15}}
    return {"data": [*_band_traces(detail), *lines, *_marker_traces(detail)],
            "layout": layout}


def figure_div(fig: dict[str, Any], div_id: str = "connections-chart") -> str:
    """The figure as an empty <div> and a JSON data block that dashboard/static/chart.js
    draws (plotly.js itself is loaded by the page): no inline script, so the pages' CSP
    can refuse every script that is not a file of this site. Every `<` in the JSON is
    escaped, so no string in it can end the block."""
    figure = {"data": fig["data"], "layout": fig["layout"],
              "config": {"displaylogo": False, "responsive": True}}
    text = plotly.io.to_json(figure, validate=False, pretty=False)
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return (f'<div id="{div_id}" class="plotly-graph-div chart"></div>'
            f'<script type="application/json" data-plotly-for="{div_id}">{text}</script>')
