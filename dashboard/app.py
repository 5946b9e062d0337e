"""The Flask application, assembled in one function (no module-level app, no globals).

`create_app(settings, store, service)` takes everything it serves from its arguments, so
tests build it around a real store in a temp folder, and `hawatch serve` around the one
store its process owns. What the views need of them is one typed object,
dashboard/app_state.py's `AppState`, with the request's one cursor beside it.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, jsonify, render_template, request
from hawatch.analytics import runbooks
from hawatch.dashboard import app_state, assets, csrf, headers, openapi
from hawatch.dashboard.app_state import AppState, ServerHooks
from hawatch.dashboard.badges import badge
from hawatch.dashboard.render_cache import new_caches
from hawatch.dashboard.timefmt import when_html
from hawatch.dashboard.views import auth, fleet, incidents, ingest, pair, service_api, sql
from hawatch.dashboard.views import runbooks as runbooks_page
from hawatch.store.db import Store
from hawatch.store.errors import HawatchError
from hawatch.store.settings_type import Settings
from werkzeug.exceptions import HTTPException


def wants_json() -> bool:
    """The JSON API and the service endpoints answer errors in JSON, pages in HTML."""
    return request.path.startswith("/api/") or request.blueprint == "service_api"


def error_response(code: int, name: str, message: str) -> Any:
    """One rendering of every refusal: `{"error": ...}` for the API, a page for people
    (escaped: a message may quote a pair name from the URL)."""
    if wants_json():
        return jsonify(error=message), code
    return render_template("error.html", code=code, name=name, message=message), code


def create_app(settings: Settings, store: Store, service: ServerHooks | None = None) -> Flask:
    app = Flask(__name__)
    upload = int(float(settings["serve.max_request_megabytes"]) * 1024 * 1024)
    app.config.update(MAX_CONTENT_LENGTH=upload)
    # the macros of templates/_macros.html call these: one badge and one time format
    app.jinja_env.globals.update(badge=badge, when_html=when_html)
    # what to check per incident kind, for templates/_runbook.html's `runbook` macro
    app.jinja_env.globals["runbook_for"] = runbooks.for_incident
    app_state.init_app(
        app,
        AppState(
            settings=settings,
            store=store,
            service=service,
            caches=new_caches(),
            sql=sql.new_sandbox(store, settings),
            auth=auth.new_state(settings),
        ),
    )
    headers.init_app(app)
    assets.init_app(app)
    app.register_blueprint(service_api.blueprint)
    openapi.init_app(app)
    # login check first, then CSRF: a stranger's POST is sent to log in, not told about tokens
    auth.init_app(app, settings)
    csrf.init_app(app, exempt_blueprints=set(auth.PUBLIC_BLUEPRINTS))
    app.register_blueprint(fleet.blueprint)
    app.register_blueprint(pair.blueprint)
    app.register_blueprint(incidents.blueprint)
    app.register_blueprint(sql.blueprint)
    app.register_blueprint(ingest.blueprint)
    app.register_blueprint(runbooks_page.blueprint)

    @app.errorhandler(HawatchError)
    def hawatch_error(exc: HawatchError) -> Any:
        return error_response(400, "Bad Request", str(exc))

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> Any:
        return error_response(exc.code or 500, exc.name, exc.description or exc.name)

    return app
