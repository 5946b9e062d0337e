"""The dashboard's front page: for now, who is logged in and with which role."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template

from dashboard.views.auth import require

blueprint = Blueprint("home", __name__)


@blueprint.get("/")
@require("viewer")
def index() -> Any:
    return render_template("index.html")
