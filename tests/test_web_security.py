"""The dashboard's web surface against a real `hawatch serve` (issue 10 items 11, 13, 16):
no open redirect after login, logout ends the session on the server, and every answer
carries the security headers.

Each case was found by the red team on a real server on loopback; the tests repeat it the
same way, with a browser's own reading of a Location header where that matters (browsers
drop tabs and newlines in URLs and read a backslash as a slash)."""

from __future__ import annotations

import html
import re
import urllib.parse
from collections.abc import Iterator

import pytest

from tests.test_serve import Server
from tests.web_client import WebUser, add_user

PASSWORD = "viewer-password-123"


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    running = Server(tmp_path_factory.mktemp("web"), syslog=False)
    try:
        add_user(running.db, "viewer", "viewer", PASSWORD)
        yield running
    finally:
        if running.proc.poll() is None:
            code, output = running.stop()
            assert code == 0 and "Traceback" not in output, output


def logged_in(served: Server) -> WebUser:
    user = WebUser(served.url)
    assert user.log_in("viewer", PASSWORD).status == 302
    return user


def as_a_browser_reads_it(base: str, location: str) -> urllib.parse.SplitResult:
    """Where a browser goes for `location`: it drops tabs and newlines and, in http(s)
    URLs, reads a backslash as a slash (the WHATWG URL standard)."""
    cleaned = "".join(c for c in location if c not in "\t\n\r").replace("\\", "/")
    return urllib.parse.urlsplit(urllib.parse.urljoin(base + "/login", cleaned))


# -- item 11: open redirect -------------------------------------------------------------

# as typed into a link to the login page (percent-escapes are the link's own)
HOSTILE_NEXT = [
    "/%09/evil.example",
    "/%0a/evil.example",
    "/%0d%0a/evil.example",
    "//evil.example",
    "///evil.example",
    "\\\\evil.example",
    "/\\evil.example",
    "\\/evil.example",
    "https://evil.example/",
    "http:evil.example",
    "javascript:alert(1)",
    "evil.example",
    "%20//evil.example",
    "/%20/evil.example",
    "/%00/evil.example",
    "https:/\\evil.example",
    "/%2509/evil.example",
    "%2F%2Fevil.example",
]


def next_field(page: str) -> str:
    found = re.search(r'name="next" value="([^"]*)"', page)
    assert found, "no next field on the login page"
    return html.unescape(found.group(1))


@pytest.mark.parametrize("link", HOSTILE_NEXT)
def test_login_never_redirects_off_site(served, link):
    """A browser opens /login?next=..., then posts the form with the page's next field."""
    user = WebUser(served.url)
    target = next_field(user.get("/login?next=" + link).text)
    answer = user.post("/login", {"username": "viewer", "password": PASSWORD, "next": target})
    assert answer.status == 302
    location = answer.headers["Location"]
    went = as_a_browser_reads_it(served.url, location)
    assert went.netloc == urllib.parse.urlsplit(served.url).netloc, location
    assert "evil.example" not in went.path.split("/")[1:2], location
    assert location == "/" or location == target == "/%09/evil.example", location


@pytest.mark.parametrize(
    "target", ["/pairs/fra1-ha01?days=7", "/incidents?status=open", "/sql?q=SELECT%201"]
)
def test_login_returns_to_a_page_of_this_site(served, target):
    answer = WebUser(served.url).log_in("viewer", PASSWORD, next_path=target)
    assert answer.status == 302 and answer.headers["Location"] == target


# -- item 13: logout --------------------------------------------------------------------


def replay(served: Server, cookie: str, path: str = "/") -> int:
    """The status a copied cookie gets on its own (no other state)."""
    stranger = WebUser(served.url)
    return stranger.get(path, headers={"Cookie": cookie}).status


def test_a_cookie_copied_before_logout_is_refused_after_it(served):
    user = logged_in(served)
    other = logged_in(served)  # the same account in another browser
    copied = user.cookie()
    assert replay(served, copied) == 200
    user.get("/")
    assert user.post("/logout", {}).status == 302

    assert replay(served, copied) == 302  # back to the login page
    assert replay(served, copied, "/api/v1/pairs") == 302
    stranger = WebUser(served.url)
    stranger.get("/login")
    refused = stranger.request("POST", "/sql", {"q": "SELECT 1"}, headers={"Cookie": copied})
    assert refused.status in (400, 401) and "<td>1</td>" not in refused.text
    assert other.get("/").status == 200  # only that session ended


def test_a_logged_out_cookie_stays_refused_after_a_restart(tmp_path):
    running = Server(tmp_path, syslog=False)
    try:
        add_user(running.db, "viewer", "viewer", PASSWORD)
        user = logged_in(running)
        copied = user.cookie()
        user.get("/")
        assert user.post("/logout", {}).status == 302
    finally:
        running.stop()
    restarted = Server(tmp_path, syslog=False)
    try:
        assert replay(restarted, copied) == 302
        assert logged_in(restarted).get("/").status == 200
    finally:
        code, output = restarted.stop()
    assert code == 0 and "Traceback" not in output


# -- item 16: headers -------------------------------------------------------------------

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}


def assert_secured(answer, what: str) -> None:
    for name, value in SECURITY_HEADERS.items():
        assert answer.headers.get(name) == value, (what, name, dict(answer.headers))
    policy = answer.headers.get("Content-Security-Policy", "")
    for directive in (
        "default-src 'self'",
        "script-src 'self';",
        "frame-ancestors 'none'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
    ):
        assert directive in policy, (what, policy)


@pytest.mark.parametrize(
    "path",
    ["/login", "/healthz", "/metrics", "/api/v1/openapi.json", "/no/such/page", "/static/chart.js"],
)
def test_every_answer_to_a_stranger_carries_the_security_headers(served, path):
    answer = WebUser(served.url).get(path)
    assert answer.status in (200, 302), (path, answer.status)
    assert_secured(answer, path)
    assert (
        answer.headers["Cache-Control"] in ("no-store", "no-cache")
        or "max-age" in answer.headers["Cache-Control"]
    )


def test_refusals_carry_the_security_headers(served):
    stranger = WebUser(served.url)
    assert_secured(stranger.get("/"), "redirect to the login page")
    answer = stranger.request("POST", "/api/v1/ingest", {"x": "1"})
    assert answer.status == 401
    assert_secured(answer, "ingest without a token")
    assert_secured(stranger.get("/sql.csv"), "a GET of a POST-only download")


@pytest.mark.parametrize(
    "path", ["/sql", "/incidents", "/ingest", "/pairs/no-such-pair", "/no/such/page"]
)
def test_answers_to_a_logged_in_user_are_not_stored(served, path):
    answer = logged_in(served).get(path)
    assert_secured(answer, path)
    assert answer.headers["Cache-Control"] == "no-store", (path, answer.headers)


@pytest.mark.parametrize("path", ["/", "/api/v1/pairs", "/api/v1/incidents"])
def test_revalidated_answers_are_kept_only_by_their_browser_and_only_to_revalidate(served, path):
    """The fleet page and the JSON API carry an ETag: a refresh of unchanged data is a 304
    (no-store would forbid keeping the copy the 304 refers to)."""
    user = logged_in(served)
    answer = user.get(path)
    assert answer.status == 200
    assert_secured(answer, path)
    assert answer.headers["Cache-Control"] == "private, no-cache"
    again = user.get(path, headers={"If-None-Match": answer.headers["ETag"]})
    assert again.status == 304 and again.headers["Cache-Control"] == "private, no-cache"
    user.get("/sql")
    user.post("/logout", {})
    assert user.get(path, headers={"If-None-Match": answer.headers["ETag"]}).status == 302
