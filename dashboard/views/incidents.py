"""The incidents page: open and resolved incidents of the whole fleet, filtered on the
server with bound parameters, newest first; operators acknowledge, silence and declare
windows from it (the same `apply_action` the CLI and the service API use)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import (
    Blueprint,
    current_app,
    flash,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from hawatch.analytics.alerts.operator import apply_action
from hawatch.dashboard.cache import cached
from hawatch.dashboard.credentials import RANK
from hawatch.dashboard.views.auth import require
from hawatch.dashboard.views.jsonable import jsonable
from hawatch.dashboard.views.responses import Prepared, prepare, send
from hawatch.store.errors import HawatchError
from hawatch.store.execute import fetch_dicts
from hawatch.store.kinds import WINDOW_KINDS

blueprint = Blueprint("incidents", __name__)

FILTERS = ("kind", "site", "severity", "status")
SEVERITIES = ("critical", "warning", "info")
STATUSES = ("open", "resolved", "withdrawn")
MAX_ROWS = 2000


def _filters() -> dict[str, str | None]:
    return {name: request.args.get(name, "").strip() or None for name in FILTERS}


def _incidents(filters: dict[str, str | None]) -> list[dict[str, Any]]:
    where, params = [], []
    for name, column in (("kind", "i.kind"), ("site", "p.site"),
                         ("severity", "i.severity"), ("status", "i.status")):
        if filters[name] is not None:
            where.append(f"{column} = ?")
            params.append(filters[name])
    sql = ("SELECT i.incident_id, i.pair, p.site, i.kind, i.severity, i.status,"
           " i.opened_at, i.resolved_at, i.summary,"
           " EXISTS (SELECT 1 FROM acknowledgements a WHERE a.incident_id = i.incident_id"
           "         AND a.cleared_at IS NULL) AS acknowledged"
           " FROM incidents i LEFT JOIN pairs p USING (pair)"
           + (" WHERE " + " AND ".join(where) if where else "")
           + " ORDER BY i.opened_at DESC, i.incident_id DESC LIMIT ?")
    cur = current_app.config["HAWATCH_STORE"].cursor()
    return fetch_dicts(cur.execute(sql, [*params, MAX_ROWS]))


def _choices() -> dict[str, list[str]]:
    cur = current_app.config["HAWATCH_STORE"].cursor()
    return {
        "kind": [k for (k,) in cur.execute(
            "SELECT DISTINCT kind FROM incidents ORDER BY kind").fetchall()],
        "site": [s for (s,) in cur.execute(
            "SELECT DISTINCT site FROM pairs WHERE site IS NOT NULL ORDER BY site").fetchall()],
        "severity": list(SEVERITIES), "status": list(STATUSES)}


def _is_operator() -> bool:
    user = g.get("user")
    return user is not None and RANK.get(user.role, -1) >= RANK["operator"]


@blueprint.get("/incidents")
@require("viewer")
def page() -> Any:
    filters = _filters()
    return render_template("incidents.html", incidents=_incidents(filters), filters=filters,
                           choices=_choices(), can_act=_is_operator(),
                           window_kinds=WINDOW_KINDS)


@blueprint.get("/api/v1/incidents")
@require("viewer")
def api_incidents() -> Any:
    filters = _filters()

    def build() -> Prepared:
        incidents = _incidents(filters)
        return prepare(jsonify(incidents=jsonable(incidents), count=len(incidents))
                       .get_data(), "application/json")

    # cached per data version: acknowledgements are part of it, so an ack shows at once
    body = cached("api", ("incidents", tuple(sorted(filters.items()))), build)
    return send(body)


def _act(payload: dict[str, Any]) -> Any:
    try:
        done = apply_action(current_app.config["HAWATCH_STORE"], payload, datetime.now(UTC))
    except (HawatchError, KeyError, ValueError) as exc:
        flash(f"Refused: {exc}", "error")
    else:
        flash(done, "done")
    back = request.form.get("next", "")
    if not (back.startswith("/incidents") and "//" not in back and "\\" not in back):
        back = url_for("incidents.page")
    return redirect(back)


@blueprint.post("/incidents/<int:incident>/ack")
@require("operator")
def acknowledge(incident: int) -> Any:
    return _act({"action": "ack", "incident": incident, "by": g.user.name,
                 "comment": request.form.get("comment", "")})


@blueprint.post("/incidents/silence")
@require("operator")
def silence() -> Any:
    return _act({"action": "silence", "pair": request.form.get("pair", ""),
                 "until": request.form.get("until", ""),
                 "comment": request.form.get("comment", "")})


@blueprint.post("/incidents/window")
@require("operator")
def window() -> Any:
    form = request.form
    return _act({"action": "window", "pair": form.get("pair", ""),
                 "start": form.get("start", ""), "end": form.get("end", ""),
                 "kind": form.get("kind", ""), "comment": form.get("comment", "")})
