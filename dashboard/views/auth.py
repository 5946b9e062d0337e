"""Login, logout, and who may see what.

Users and roles come from the credential file beside the database (dashboard/credentials.py),
read again on every request, so a user removed or demoted with `hawatch users` loses access
at once, even with a session cookie still valid. Every dashboard page needs a login; the
service endpoints (health, metrics, and the bearer-token API) do not. A failed login is
answered with the same message whether or not the user exists, counted in /metrics, and
throttled per account and per address (dashboard/throttle.py) without holding a thread.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    Flask,
    abort,
    current_app,
    g,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from hawatch.dashboard.app_state import AuthState, app_state
from hawatch.dashboard.credentials import (
    RANK,
    Credentials,
    User,
    check_role,
    login_stamp,
    new_session_id,
    session_secret,
)
from hawatch.dashboard.csrf import HTTPS_ONLY
from hawatch.dashboard.throttle import LoginThrottle
from hawatch.store.settings_type import Settings

blueprint = Blueprint("auth", __name__)

# endpoints anyone may reach: the login form, static files (also under fingerprinted
# URLs, dashboard/assets.py), and the service endpoints
# (those with bearer tokens check them themselves)
# the OpenAPI document holds no data: tools may read it without a login
PUBLIC_ENDPOINTS = frozenset({"auth.login", "static", "asset", "favicon", "openapi"})
PUBLIC_BLUEPRINTS = frozenset({"service_api"})

View = TypeVar("View", bound=Callable[..., Any])


def _state() -> AuthState:
    return app_state().auth


def secure_cookie(settings: Settings) -> bool:
    """auto: HTTPS-only when the dashboard is reached over HTTPS, i.e. hawatch serves TLS
    itself or a trusted TLS proxy is in front; a cookie the browser will not send back over
    plain HTTP would make every login fail."""
    choice = str(settings["dashboard.secure_cookie"]).strip().lower()
    if choice in ("auto", ""):
        return bool(settings.get("serve.tls_cert") or settings.get("serve.trusted_proxy"))
    return choice in ("1", "true", "yes", "on")


def new_state(settings: Settings) -> AuthState:
    """The credential store beside the database, and the login throttle."""
    throttle = LoginThrottle(
        int(settings["dashboard.login_max_failures"]),
        60.0 * float(settings["dashboard.login_window_minutes"]),
    )
    return AuthState(Credentials(settings["db"]), throttle)


def init_app(app: Flask, settings: Settings) -> None:
    """Session cookies and the login check before every request."""
    app.config.update(
        SECRET_KEY=session_secret(settings["db"]),
        SESSION_COOKIE_NAME="hawatch_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=secure_cookie(settings),
        PERMANENT_SESSION_LIFETIME=timedelta(hours=settings["dashboard.session_hours"]),
    )
    app.register_blueprint(blueprint)
    app.before_request(_load_user)
    app.context_processor(lambda: {"user": g.get("user")})


def _load_user() -> Any:
    name, sid = session.get("user"), session.get("sid")
    g.user = (
        _state().credentials.session_user(name, sid)
        if isinstance(name, str) and isinstance(sid, str)
        else None
    )
    if g.user is not None and session.get("stamp") != login_stamp(g.user):
        g.user = None  # the password changed since this login
    if name is not None and g.user is None:
        session.clear()  # removed, a new password, or logged out since login
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


def safe_next(target: str | None, default: str | None = None) -> str:
    """`target` when it is a path on this site, else `default` (the fleet page).

    Browsers drop tabs and newlines inside a URL and read a backslash as a slash, so
    `/<TAB>/evil.example` or `/\\evil.example` are `//evil.example` to them: another host.
    A target passes only with no scheme or host, exactly one leading slash, and no
    backslash, space or control character anywhere."""
    fallback = default or url_for("fleet.index")
    if not target or not target.startswith("/") or target.startswith("//"):
        return fallback
    if any(c == "\\" or c.isspace() or not c.isprintable() for c in target):
        return fallback
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return fallback
    return target


def _login_page(error: str | None, status: int) -> Any:
    """The form, or why it cannot work here: with an HTTPS-only cookie over plain HTTP the
    browser drops the session, and every login would fail with a CSRF error."""
    https_only = current_app.config["SESSION_COOKIE_SECURE"] and not request.is_secure
    return render_template(
        "login.html",
        error=HTTPS_ONLY if https_only else error,
        https_only=https_only,
        next=request.values.get("next", ""),
    ), status


def _try_login() -> Any:
    """Check the form's password, unless this account or address must wait first."""
    name = request.form.get("username", "")
    throttle = _state().throttle
    wait = throttle.wait(name, request.remote_addr)
    if wait > 0:
        seconds = math.ceil(wait)
        response = make_response(
            _login_page(f"Too many failed logins: try again in {seconds} s.", 429)
        )
        response.headers["Retry-After"] = str(seconds)
        return response
    user = _state().credentials.authenticate(name, request.form.get("password", ""))
    if user is None:
        throttle.failure(name, request.remote_addr)
        current_app.logger.warning("failed dashboard login from %s", request.remote_addr)
        return _login_page("Wrong user name or password.", 401)
    throttle.success(name)
    session.clear()  # a fresh session (and CSRF token) for the new login
    session.permanent = True
    session["user"] = user.name
    session["sid"] = new_session_id()  # what logout ends
    session["stamp"] = login_stamp(user)
    return redirect(safe_next(request.form.get("next")))


@blueprint.route("/login", methods=["GET", "POST"])
def login() -> Any:
    if request.method == "POST":
        return _try_login()
    return _login_page(None, 200)


def metrics_text() -> str:
    """The dashboard's counters in Prometheus text format, for /metrics."""
    throttle = _state().throttle
    return (
        "# HELP hawatch_dashboard_failed_logins_total Dashboard logins with a wrong user name"
        " or password.\n# TYPE hawatch_dashboard_failed_logins_total counter\n"
        f"hawatch_dashboard_failed_logins_total {throttle.failed}\n"
        "# HELP hawatch_dashboard_throttled_logins_total Dashboard logins refused unchecked"
        " because the account or address had failed too often.\n"
        "# TYPE hawatch_dashboard_throttled_logins_total counter\n"
        f"hawatch_dashboard_throttled_logins_total {throttle.refused}\n"
    )


@blueprint.post("/logout")
def logout() -> Any:
    """End this session on the server too: a copy of its cookie is refused from now on."""
    sid = session.get("sid")
    if isinstance(sid, str):
        lifetime = current_app.permanent_session_lifetime
        _state().credentials.end_session(sid, datetime.now(UTC) + lifetime)
    session.clear()
    return redirect(url_for("auth.login"))
