"""Login, logout, and who may see what.

Users and roles come from the credential file beside the database (dashboard/credentials.py),
read again on every request, so a user removed or demoted with `hawatch users` loses access
at once, even with a session cookie still valid. Every dashboard page needs a login; the
service endpoints (health, metrics, and the bearer-token API) do not. A failed login is
counted and answered only after a fixed delay, with the same message whether or not the user
exists.
"""

from __future__ import annotations

import functools
import ipaddress
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, TypeVar

from flask import (
    Blueprint,
    Flask,
    abort,
    current_app,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)

from dashboard.credentials import RANK, Credentials, User, check_role, session_secret

blueprint = Blueprint("auth", __name__)

# endpoints anyone may reach: the login form, static files, and the service endpoints
# (those with bearer tokens check them themselves)
# the OpenAPI document holds no data: tools may read it without a login
PUBLIC_ENDPOINTS = frozenset({"auth.login", "static", "openapi"})
PUBLIC_BLUEPRINTS = frozenset({"service_api"})

View = TypeVar("View", bound=Callable[..., Any])


@dataclass
class AuthState:
    credentials: Credentials
    login_delay: float
    failed_logins: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def count_failure(self) -> None:
        with self.lock:
            self.failed_logins += 1


def _state() -> AuthState:
    state: AuthState = current_app.extensions["hawatch_auth"]
    return state


def is_loopback(http: str) -> bool:
    host = http.rpartition(":")[0].strip("[]")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _secure_cookie(settings: dict[str, Any]) -> bool:
    choice = str(settings["dashboard.secure_cookie"]).strip().lower()
    if choice in ("auto", ""):
        return not is_loopback(str(settings["serve.http"]))
    return choice in ("1", "true", "yes", "on")


def init_app(app: Flask, settings: dict[str, Any]) -> None:
    """Session cookies, the credential store, and the login check before every request."""
    app.config.update(
        SECRET_KEY=session_secret(settings["db"]),
        SESSION_COOKIE_NAME="hawatch_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=_secure_cookie(settings),
        PERMANENT_SESSION_LIFETIME=timedelta(hours=settings["dashboard.session_hours"]))
    app.extensions["hawatch_auth"] = AuthState(Credentials(settings["db"]),
                                               float(settings["dashboard.login_delay_seconds"]))
    app.register_blueprint(blueprint)
    app.before_request(_load_user)
    app.context_processor(lambda: {"user": g.get("user")})


def _load_user() -> Any:
    name = session.get("user")
    g.user = _state().credentials.get(name) if isinstance(name, str) else None
    if name is not None and g.user is None:
        session.pop("user", None)  # removed since login
    if request.endpoint in PUBLIC_ENDPOINTS or request.blueprint in PUBLIC_BLUEPRINTS:
        return None
    if g.user is None:
        return _to_login()
    return None


def _to_login() -> Any:
    if request.method == "GET":
        return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
    abort(401, "log in first")


def require(role: str) -> Callable[[View], View]:
    """Allow the view to users with `role` or a higher one (admin > operator > viewer)."""
    check_role(role)

    def decorate(view: View) -> View:
        @functools.wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            user: User | None = g.get("user")
            if user is None:
                return _to_login()
            if RANK.get(user.role, -1) < RANK[role]:
                abort(403, f"this needs the {role} role; you are {user.role}")
            return view(*args, **kwargs)

        return wrapped  # type: ignore[return-value]

    return decorate


def _safe_next(target: str | None) -> str:
    """Only a path on this site: never an open redirect to another host."""
    if target and target.startswith("/") and not target.startswith("//") \
            and "\\" not in target:
        return target
    return url_for("fleet.index")


@blueprint.route("/login", methods=["GET", "POST"])
def login() -> Any:
    error = None
    if request.method == "POST":
        name = request.form.get("username", "")
        user = _state().credentials.authenticate(name, request.form.get("password", ""))
        if user is not None:
            session.clear()  # a fresh session (and CSRF token) for the new login
            session.permanent = True
            session["user"] = user.name
            return redirect(_safe_next(request.form.get("next")))
        _state().count_failure()
        current_app.logger.warning("failed dashboard login from %s", request.remote_addr)
        time.sleep(_state().login_delay)
        error = "Wrong user name or password."
    return render_template("login.html", error=error,
                           next=request.values.get("next", "")), 401 if error else 200


@blueprint.post("/logout")
def logout() -> Any:
    session.clear()
    return redirect(url_for("auth.login"))
