"""Refusals on the dashboard: pages answer with an HTML page (escaped), the JSON API and the
service endpoints with `{"error": ...}`, each with its status."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hawatch.dashboard.credentials import Credentials
from hawatch.store import Store

from tests.conftest import csrf_token, dashboard_app, log_in

PASSWORD = "errors-password-1"


@pytest.fixture
def app(tmp_path: Path) -> Any:
    with Store(tmp_path / "hawatch.duckdb") as store:
        Credentials(store.path).add("vera", "viewer", PASSWORD)
        yield dashboard_app(store)


def login(app: Flask) -> FlaskClient:
    client, status = log_in(app, "vera", PASSWORD)
    assert status == 302
    return client


def test_an_unknown_page_is_an_html_404_that_escapes_the_path(app):
    client = login(app)
    response = client.get("/pairs/<img src=x onerror=alert(1)>")
    page = response.get_data(as_text=True)
    assert response.status_code == 404 and response.mimetype == "text/html"
    assert "<img" not in page and "&lt;img src=x onerror=alert(1)&gt;" in page
    response = client.get("/no/such/page")
    assert response.status_code == 404 and response.mimetype == "text/html"
    assert '<h1 class="error-title">404 Not Found</h1>' in response.get_data(as_text=True)
    assert "Logged in as" in response.get_data(as_text=True)


def test_api_refusals_stay_json(app):
    client = login(app)
    response = client.get("/api/v1/no-such-thing")
    assert response.status_code == 404 and "error" in response.get_json()
    response = client.get("/api/v1/pairs/nope")
    assert response.status_code == 404 and response.get_json()["error"] == "no pair named 'nope'"
    assert app.test_client().post("/api/v1/sql", json={}).get_json()["error"]


def test_a_role_refusal_is_an_html_403_page(app):
    client = login(app)
    response = client.post(
        "/incidents/silence", data={"pair": "x", "csrf_token": "t"}, headers={"X-CSRF-Token": "t"}
    )
    # the CSRF check comes first for a wrong token; with the right one, the role check
    assert response.status_code == 400 and response.mimetype == "text/html"
    token = csrf_token(client.get("/").get_data(as_text=True))
    response = client.post("/incidents/silence", data={"pair": "x", "csrf_token": token})
    page = response.get_data(as_text=True)
    assert response.status_code == 403 and response.mimetype == "text/html"
    assert "this needs the operator role; you are viewer" in page
    assert '<h1 class="error-title">403 Forbidden</h1>' in page


def test_a_post_without_a_login_is_an_html_401_with_a_login_link(app):
    response = app.test_client().post("/logout-nowhere")
    page = response.get_data(as_text=True)
    assert response.status_code == 401 and response.mimetype == "text/html"
    assert "log in first" in page and 'href="/login"' in page
