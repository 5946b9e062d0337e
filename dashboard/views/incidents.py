"""The incidents page: the fleet's incidents (open ones unless asked for another status or
`all`), filtered on the server with bound parameters, newest first, each with its evidence
in words, age, acknowledgement and audit trail; the silences and windows in force. Operators
acknowledge, silence, declare windows and edit or remove silences and windows from it (the
same `apply_action` the CLI and the service API use, which keeps each in the audit log).

The list is templates/_incidents.html, which the pair page uses too (`list_context`)."""

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
from hawatch.analytics.incident_cards import incident_cards
from hawatch.analytics.incident_list import FILTER_COLUMNS, incident_kinds, list_incidents
from hawatch.analytics.pair_summary import fleet_sites
from hawatch.analytics.schedule_list import current_silences, recent_windows
from hawatch.dashboard import csrf
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
# where a form may send the browser back to: this page or a pair's
BACK_PREFIXES = ("/incidents", "/pairs/")


def _filters(default_status: str | None = None) -> dict[str, str | None]:
    """The filters asked for; `status` is `default_status` when not given and any status
    when `all` (the page shows open incidents first, the API every status as it always
    has)."""
    found = {name: request.args.get(name, "").strip() or None for name in FILTERS}
    if "status" not in request.args:
        found["status"] = default_status
    if found["status"] == "all":
        found["status"] = None
    return found


def _incidents(filters: dict[str, str | None]) -> list[dict[str, Any]]:
    return list_incidents(get_cursor(), filters, MAX_ROWS)


def _choices() -> dict[str, list[str]]:
    cur = get_cursor()
    return {
        "kind": incident_kinds(cur),
        "site": fleet_sites(cur),
        "severity": list(SEVERITIES),
        "status": [*STATUSES, "all"],
    }


def _is_operator() -> bool:
    user = g.get("user")
    return user is not None and RANK.get(user.role, -1) >= RANK["operator"]


def list_context(
    incidents: list[dict[str, Any]], pair: str | None = None, shared: bool = False
) -> dict[str, Any]:
    """What templates/_incidents.html's `incident_list` needs besides the incidents' rows:
    the cards, whether the user may act, the CSRF token (csrf.SLOT in a fragment `shared`
    by several sessions, which `csrf.fill` replaces per page) and the way back."""
    return {
        "incidents": incident_cards(get_cursor(), incidents, datetime.now(UTC), pair),
        "can_act": _is_operator(),
        "csrf": csrf.SLOT if shared else csrf.token(),
        "back": request.path if shared else request.full_path,
    }


@blueprint.get("/incidents")
@require("viewer")
def page() -> Any:
    filters = _filters("open")
    shown = dict(filters, status=filters["status"] or "all")
    cur = get_cursor()
    return render_template(
        "incidents.html",
        filters=shown,
        choices=_choices(),
        window_kinds=WINDOW_KINDS,
        silences=current_silences(cur, datetime.now(UTC)),
        windows=recent_windows(cur),
        **list_context(_incidents(filters)),
    )


@blueprint.get("/api/v1/incidents")
@require("viewer")
def api_incidents() -> Any:
    filters = _filters()

    def build() -> Prepared:
        incidents = _incidents(filters)
        return prepare(
            jsonify(incidents=jsonable(incidents), count=len(incidents)).get_data(),
            "application/json",
        )

    # cached per data version: acknowledgements are part of it, so an ack shows at once
    body = cached("api", ("incidents", tuple(sorted(filters.items()))), build)
    return send(body)


def _act(payload: dict[str, Any]) -> Any:
    payload = {**payload, "by": g.user.name, "comment": request.form.get("comment", "")}
    try:
        done = apply_action(app_state().store, payload, datetime.now(UTC))
    except (HawatchError, KeyError, ValueError) as exc:
        flash(f"Refused: {exc}", "error")
    else:
        flash(done, "done")
    back = request.form.get("next", "")
    if not (back.startswith(BACK_PREFIXES) and "//" not in back and "\\" not in back):
        back = url_for("incidents.page")
    return redirect(back)


@blueprint.post("/incidents/<int:incident>/ack")
@require("operator")
def acknowledge(incident: int) -> Any:
    return _act({"action": "ack", "incident": incident})


@blueprint.post("/incidents/silence")
@require("operator")
def silence() -> Any:
    return _act(
        {
            "action": "silence",
            "pair": request.form.get("pair", ""),
            "until": request.form.get("until", ""),
        }
    )


@blueprint.post("/incidents/window")
@require("operator")
def window() -> Any:
    form = request.form
    return _act(
        {
            "action": "window",
            "pair": form.get("pair", ""),
            "start": form.get("start", ""),
            "end": form.get("end", ""),
            "kind": form.get("kind", ""),
        }
    )


@blueprint.post("/incidents/silences/<int:silence>/edit")
@require("operator")
def edit_silence(silence: int) -> Any:
    return _act(
        {"action": "silence_edit", "silence": silence, "until": request.form.get("until", "")}
    )


@blueprint.post("/incidents/silences/<int:silence>/remove")
@require("operator")
def remove_silence(silence: int) -> Any:
    return _act({"action": "silence_remove", "silence": silence})


@blueprint.post("/incidents/windows/<int:window>/edit")
@require("operator")
def edit_window(window: int) -> Any:
    return _act({"action": "window_edit", "window": window, "end": request.form.get("end", "")})


@blueprint.post("/incidents/windows/<int:window>/remove")
@require("operator")
def remove_window(window: int) -> Any:
    return _act({"action": "window_remove", "window": window})
