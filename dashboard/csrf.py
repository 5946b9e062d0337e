"""CSRF protection for the dashboard's forms: one random token per session, required on
every state-changing request.

Forms carry it in a hidden `csrf_token` field (templates call `csrf_token()`), scripts in
an `X-CSRF-Token` header. The service endpoints authenticate each request with a bearer
token, not a cookie, so a forged cross-site request has nothing to ride on: their
blueprints are exempt. SameSite=Lax cookies are a second line, not the only one.
"""

from __future__ import annotations

import hmac
import secrets

from flask import Flask, abort, request, session

FIELD = "csrf_token"
HEADER = "X-CSRF-Token"
_SAFE = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
HTTPS_ONLY = (
    "this dashboard keeps its login cookie for HTTPS (dashboard.secure_cookie), but"
    " this page came over plain HTTP: open it with https:// (serve.tls_cert, or the"
    " TLS proxy in front, docs/deploy.md)"
)


# A cached fragment shared by several sessions (the pair page's body) carries this in place
# of the token; the page that embeds it puts the session's own token in (`fill`).
SLOT = "csrf-token-of-this-session"


def fill(html: str) -> str:
    """`html` with this session's token where a shared fragment left the SLOT."""
    return html.replace(SLOT, token())


def token() -> str:
    """This session's token, made on first use."""
    if FIELD not in session:
        session[FIELD] = secrets.token_urlsafe(32)
    return str(session[FIELD])


def _given() -> str:
    return request.form.get(FIELD) or request.headers.get(HEADER, "")


def init_app(app: Flask, exempt_blueprints: set[str]) -> None:
    """Check the token before every unsafe request outside `exempt_blueprints`."""

    @app.before_request
    def check_csrf() -> None:
        if request.method in _SAFE or request.blueprint in exempt_blueprints:
            return
        expected = session.get(FIELD)
        if not expected and app.config["SESSION_COOKIE_SECURE"] and not request.is_secure:
            abort(400, HTTPS_ONLY)  # the browser never sent the HTTPS-only cookie back
        if not expected or not hmac.compare_digest(str(expected), _given()):
            abort(400, "missing or wrong CSRF token: reload the page and try again")

    app.jinja_env.globals["csrf_token"] = token
