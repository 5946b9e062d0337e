"""The runbooks page: for every incident kind its likely causes and SonicWall's checks in
order, with their sources (analytics/runbooks.py). Incident lists link each check here
(`/runbooks#<kind>`, `#check-<key>`), so a list of many incidents stays small."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template
from hawatch.analytics import runbooks
from hawatch.dashboard.views.auth import require

blueprint = Blueprint("runbooks", __name__)


@blueprint.get("/runbooks")
@require("viewer")
def page() -> Any:
    return render_template(
        "runbooks.html",
        kinds=list(runbooks.RUNBOOKS),
        checks=runbooks.CHECKS,
        sources=runbooks.SOURCES,
    )
