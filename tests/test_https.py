"""HTTPS, and never a login page that cannot log in (issue 12).

A real `hawatch serve` with a trustme certificate for 127.0.0.1 serves TLS itself; Debian's
chromium logs in over it, trusting exactly that certificate (its SPKI pin, the way Chrome
lets a test trust one certificate without a system CA store); urllib verifies it against the
CA file. Over plain HTTP: an address beyond loopback still logs in (with a loud warning at
start), and an HTTPS-only cookie over HTTP gives a page that says why instead of a form that
fails with a CSRF error."""

from __future__ import annotations

import base64
import hashlib
import json
import ssl
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
import trustme
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from hawatch.dashboard.credentials import Credentials

from hawatch.web_server import plain_http_warning
from tests.conftest import csrf_token, dashboard_app, log_in
from tests.test_serve import Server

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
PASSWORD = "https-password-1"


@pytest.fixture
def tls(tmp_path: Path) -> dict[str, Path]:
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    paths = {name: tmp_path / f"{name}.pem" for name in ("ca", "cert", "key")}
    ca.cert_pem.write_to_path(str(paths["ca"]))
    cert.private_key_pem.write_to_path(str(paths["key"]))
    paths["cert"].write_bytes(b"".join(blob.bytes() for blob in cert.cert_chain_pems))
    return paths


@pytest.fixture
def https_server(tmp_path: Path, tls: dict[str, Path]) -> Iterator[Server]:
    running = Server(
        tmp_path,
        syslog=False,
        env={"HAWATCH_SERVE_TLS_CERT": str(tls["cert"]), "HAWATCH_SERVE_TLS_KEY": str(tls["key"])},
    )
    Credentials(running.db).add("ada", "viewer", PASSWORD)
    yield running
    if running.proc.poll() is None:
        running.stop()


def spki_pin(cert_file: Path) -> str:
    """base64(sha256(SubjectPublicKeyInfo)) of the leaf: what Chrome's pin flag takes."""
    leaf = x509.load_pem_x509_certificate(cert_file.read_bytes())
    spki = leaf.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return base64.b64encode(hashlib.sha256(spki).digest()).decode()


def test_serve_speaks_tls_with_the_given_certificate(https_server: Server, tls):
    assert https_server.url.startswith("https://127.0.0.1:")
    verified = ssl.create_default_context(cafile=str(tls["ca"]))
    with urllib.request.urlopen(
        https_server.url + "/healthz", timeout=10, context=verified
    ) as answer:
        assert json.loads(answer.read())["status"] == "ok"
    with pytest.raises(urllib.error.URLError, match="CERTIFICATE_VERIFY_FAILED"):
        urllib.request.urlopen(
            https_server.url + "/healthz", timeout=10, context=ssl.create_default_context()
        )
    with urllib.request.urlopen(
        https_server.url + "/login", timeout=10, context=verified
    ) as answer:
        cookie = answer.headers["Set-Cookie"]
    assert "Secure" in cookie and "HttpOnly" in cookie


@pytest.mark.skipif(not CHROMIUM.exists(), reason="no /usr/bin/chromium")
@pytest.mark.timeout(120)
def test_a_browser_logs_in_over_https(https_server: Server, tls):
    from playwright.sync_api import sync_playwright

    pin = f"--ignore-certificate-errors-spki-list={spki_pin(tls['cert'])}"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=[*ARGS, pin], headless=True, timeout=60_000
        )
        try:
            page = browser.new_page()
            page.set_default_timeout(15_000)
            page.goto(https_server.url + "/login")
            page.fill("input[name=username]", "ada")
            page.fill("input[name=password]", PASSWORD)
            page.click("button[type=submit]")
            page.wait_for_url(https_server.url + "/")
            assert "Log in" not in page.title()
            (cookie,) = [c for c in page.context.cookies() if c["name"] == "hawatch_session"]
            assert cookie["secure"] and cookie["httpOnly"]
        finally:
            browser.close()


def test_plain_http_beyond_loopback_logs_in_and_warns(store):
    settings = {"serve.http": "0.0.0.0:8080"}
    Credentials(store.path).add("ada", "viewer", PASSWORD)
    app = dashboard_app(store, **settings)
    # a browser keeps a Secure cookie from a plain-HTTP page to itself: no Secure here
    assert "Secure" not in app.test_client().get("/login").headers["Set-Cookie"]
    client, status = log_in(app, "ada", PASSWORD)
    assert status == 302 and client.get("/").status_code == 200
    warning = plain_http_warning(
        {"serve.http": "0.0.0.0:8080", "serve.tls_cert": "", "serve.trusted_proxy": ""}
    )
    assert warning and "plain HTTP" in warning and "serve.tls_cert" in warning
    assert (
        plain_http_warning(
            {"serve.http": "127.0.0.1:8080", "serve.tls_cert": "", "serve.trusted_proxy": ""}
        )
        is None
    )


def test_an_https_only_cookie_over_http_says_so_instead_of_failing(store):
    app = dashboard_app(store, **{"dashboard.secure_cookie": "on"})
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    assert "open it with https://" in page and 'name="password"' not in page
    refused = client.post(
        "/login", data={"username": "ada", "password": PASSWORD, "csrf_token": "x"}
    )
    assert refused.status_code == 400
    assert "open it with https://" in refused.get_data(as_text=True)
    # over HTTPS (as a TLS proxy or serve.tls_cert delivers it) the same app logs in
    Credentials(store.path).add("ada", "viewer", PASSWORD)
    secure = app.test_client()
    token = csrf_token(secure.get("/login", base_url="https://localhost").get_data(as_text=True))
    answer = secure.post(
        "/login",
        base_url="https://localhost",
        data={"username": "ada", "password": PASSWORD, "csrf_token": token, "next": "/"},
    )
    assert answer.status_code == 302


def _login_page(url: str, source: str, headers: dict[str, str]) -> tuple[str, str]:
    """GET /login from the loopback address `source` with `headers`: Set-Cookie, page."""
    import http.client
    from urllib.parse import urlsplit

    where = urlsplit(url)
    connection = http.client.HTTPConnection(
        where.hostname, where.port, timeout=10, source_address=(source, 0)
    )
    try:
        connection.request("GET", "/login", headers=headers)
        answer = connection.getresponse()
        return str(answer.getheader("Set-Cookie")), answer.read().decode()
    finally:
        connection.close()


def test_a_trusted_proxy_is_believed_and_nobody_else(tmp_path: Path):
    """serve.trusted_proxy = 127.0.0.1: its X-Forwarded-Proto https is believed (the login
    form, with a Secure cookie); the same header from 127.0.0.2 (not the proxy) is dropped,
    so that request is plain HTTP and gets the page that says to use HTTPS."""
    running = Server(tmp_path, syslog=False, env={"HAWATCH_SERVE_TRUSTED_PROXY": "127.0.0.1"})
    try:
        forwarded = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.9"}
        cookie, page = _login_page(running.url, "127.0.0.1", forwarded)
        assert "Secure" in cookie and 'name="password"' in page
        cookie, page = _login_page(running.url, "127.0.0.2", forwarded)
        assert 'name="password"' not in page and "open it with https://" in page
    finally:
        running.stop()
