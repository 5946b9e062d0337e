"""The incidents page: open and resolved incidents of the whole fleet, filtered on the
server with bound parameters, newest first; operators acknowledge, silence and declare
windows from it (the same `apply_action` the CLI and the service API use)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import (
    Blueprint,
    flash,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from hawatch.analytics.alerts.operator import apply_action
from hawatch.analytics.incident_list import FILTER_COLUMNS, incident_kinds, list_incidents
from hawatch.analytics.pair_summary import fleet_sites
from hawatch.dashboard.app_state import app_state, get_cursor
from hawatch.dashboard.cache import cached
from hawatch.dashboard.credentials import RANK
from hawatch.dashboard.views.auth import require
from hawatch.dashboard.views.jsonable import jsonable
from hawatch.dashboard.views.responses import Prepared, prepare, send
from hawatch.store.errors import HawatchError
from hawatch.store.kinds import WINDOW_KINDS

blueprint = Blueprint("incidents", __name__)

FILTERS = tuple(FILTER_COLUMNS)
SEVERITIES = ("critical", "warning", "info")
STATUSES = ("open", "resolved", "withdrawn")
MAX_ROWS = 2000


def _filters() -> dict[str, str | None]:
    return {name: request.args.get(name, "").strip() or None for name in FILTERS}


def _incidents(filters: dict[str, str | None]) -> list[dict[str, Any]]:
    return list_incidents(get_cursor(), filters, MAX_ROWS)


def _choices() -> dict[str, list[str]]:
    cur = get_cursor()
    return {"kind": incident_kinds(cur), "site": fleet_sites(cur),
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
        done = apply_action(app_state().store, payload, datetime.now(UTC))
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
