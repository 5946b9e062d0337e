"""Security headers on every answer of the app, and how long a browser may keep it.

Content-Security-Policy: scripts only from this site (plotly.js and the chart starter are
files; a figure travels as a JSON data block, never as inline script), so markup that slips
into a page cannot run. Styles allow 'unsafe-inline': Plotly sets style attributes and
inserts its own style rules, and a style cannot run code. `frame-ancestors 'none'` (and
X-Frame-Options for older browsers) stops other sites framing the dashboard to trick a
click; `form-action 'self'` keeps forms posting here; `base-uri 'none'` stops an injected
<base> from moving relative links.

Caching: answers to a logged-in user must not outlive the session in a shared cache, nor
be shown from the browser's cache after logout without asking the server. Most get
`no-store`. The fleet and pair pages carry an ETag so that a NOC screen's 60-second refresh
of unchanged data is a 304 with no body; `no-store` would forbid keeping the copy that the
304 refers to, so those get `private, no-cache`: only this browser may keep it, and it must
ask the server (which checks the session) before every use. Answers that set their own
Cache-Control (plotly.js, a public library) keep it.
"""

from __future__ import annotations

from flask import Flask, Response

CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "font-src 'self' data:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)

HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
}


def secure(response: Response) -> Response:
    for name, value in HEADERS.items():
        response.headers.setdefault(name, value)
    if "Cache-Control" not in response.headers:
        revalidated = "ETag" in response.headers
        response.headers["Cache-Control"] = "private, no-cache" if revalidated else "no-store"
    return response


def init_app(app: Flask) -> None:
    app.after_request(secure)
