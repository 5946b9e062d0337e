"""Dashboard access control: users added with the CLI, login, roles, CSRF, cookies."""

from __future__ import annotations

import io
import json
import stat
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hawatch.dashboard.app import create_app
from hawatch.dashboard.credentials import secret_file, users_file
from hawatch.dashboard.views.auth import require
from hawatch.store import Store

from hawatch.cli import main
from hawatch.config import load_config
from tests.conftest import Terminal, csrf_token

PASSWORDS = {
    "vera": "viewer-password-1",
    "otto": "operator-password-1",
    "ada": "admin-password-123",
}
ROLES = {"vera": "viewer", "otto": "operator", "ada": "admin"}


def add_user(monkeypatch: pytest.MonkeyPatch, db: Path, name: str, role: str, password: str) -> int:
    monkeypatch.setattr("sys.stdin", io.StringIO(password + "\n"))
    return main(["users", "add", name, "--role", role, "--password-stdin", "--db", str(db)])


@pytest.fixture
def settings(store: Store) -> dict[str, Any]:
    values = load_config(env={})
    values.update({"db": store.path})
    return values


@pytest.fixture
def app(settings: dict[str, Any], store: Store, monkeypatch: pytest.MonkeyPatch) -> Flask:
    for name, role in ROLES.items():
        assert add_user(monkeypatch, Path(settings["db"]), name, role, PASSWORDS[name]) == 0
    app = create_app(settings, store, None)
    app.config["TESTING"] = True

    @app.get("/test/operator", endpoint="test_operator")
    @require("operator")
    def operator_page() -> str:
        return "operator page"

    @app.get("/test/admin", endpoint="test_admin")
    @require("admin")
    def admin_page() -> str:
        return "admin page"

    @app.post("/test/action", endpoint="test_action")
    @require("viewer")
    def action() -> str:
        return "done"

    return app


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def csrf_of(client: FlaskClient, path: str = "/login") -> str:
    return csrf_token(client.get(path).get_data(as_text=True))


def login(client: FlaskClient, name: str, password: str | None = None) -> Any:
    return client.post(
        "/login",
        data={
            "username": name,
            "password": PASSWORDS.get(name, "") if password is None else password,
            "csrf_token": csrf_of(client),
            "next": "/",
        },
    )


def test_cli_keeps_users_in_a_private_file_without_plain_passwords(settings, app):
    path = users_file(settings["db"])
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(secret_file(settings["db"]).stat().st_mode) == 0o600
    text = path.read_text()
    assert not any(password in text for password in PASSWORDS.values())
    users = {u["name"]: u for u in json.loads(text)["users"]}
    assert {n: u["role"] for n, u in users.items()} == ROLES
    assert all(u["password_hash"].startswith("scrypt$") and u["created_at"] for u in users.values())
    # the credentials are not in the database analysts' SQL reads
    assert "scrypt$" not in Path(settings["db"]).read_bytes().decode("latin-1")


@pytest.mark.parametrize(
    ("argv", "stdin", "message"),
    [
        (
            ["add", "ada", "--role", "viewer", "--password-stdin"],
            "another-password-1",
            "already exists",
        ),
        (["add", "bob", "--role", "boss", "--password-stdin"], "bob-password-1", "unknown role"),
        (["add", "bob", "--role", "viewer", "--password-stdin"], "short", "too short"),
        (["add", "bob", "--role", "viewer", "--password-stdin"], "", "empty password"),
        (["set-role", "ada", "root"], "", "unknown role"),
        (["remove", "nobody"], "", "no user"),
    ],
)
def test_cli_refuses_with_one_line(app, settings, monkeypatch, capsys, argv, stdin, message):
    capsys.readouterr()
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin + "\n"))
    assert main(["users", *argv, "--db", settings["db"]]) == 1
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_cli_list_set_role_and_remove(app, settings, capsys):
    capsys.readouterr()
    assert main(["users", "set-role", "vera", "operator", "--db", settings["db"]]) == 0
    assert main(["users", "remove", "otto", "--db", settings["db"]]) == 0
    assert main(["users", "list", "--format", "json", "--db", settings["db"]]) == 0
    listed = capsys.readouterr().out.split("removed otto\n", 1)[1]
    assert [(u["name"], u["role"]) for u in json.loads(listed)] == [
        ("ada", "admin"),
        ("vera", "operator"),
    ]


def test_pages_need_a_login(client):
    response = client.get("/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert client.get("/test/admin").status_code == 302


def test_login_with_the_right_password_shows_who_and_role(client):
    response = login(client, "otto")
    assert response.status_code == 302 and response.headers["Location"] == "/"
    page = client.get("/").get_data(as_text=True)
    assert "otto" in page and "operator" in page


@pytest.mark.parametrize(
    ("name", "password"), [("otto", "wrong-password-1"), ("nobody", "wrong-password-1")]
)
def test_a_failed_login_is_counted_and_says_nothing_about_the_user(app, client, name, password):
    response = login(client, name, password)
    assert response.status_code == 401
    assert "Wrong user name or password." in response.get_data(as_text=True)
    assert app.extensions["hawatch"].auth.failed_logins == 1
    assert client.get("/").status_code == 302


def from_address(app: Flask, address: str) -> FlaskClient:
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def test_failed_logins_are_counted_in_metrics(app, client):
    for _ in range(2):
        login(client, "otto", "wrong-password-1")
    login(client, "nobody", "wrong-password-1")
    text = client.get("/metrics").get_data(as_text=True)
    assert "# TYPE hawatch_dashboard_failed_logins_total counter" in text
    assert "\nhawatch_dashboard_failed_logins_total 3\n" in text
    assert "\nhawatch_dashboard_throttled_logins_total 0\n" in text


def test_an_account_that_failed_too_often_must_wait_even_with_its_password(app, settings):
    guesser = from_address(app, "192.0.2.10")
    for _ in range(settings["dashboard.login_max_failures"]):
        assert login(guesser, "ada", "not-the-password").status_code == 401
    # the right password now, from another address: still refused, and not checked
    response = login(from_address(app, "192.0.2.20"), "ada")
    assert response.status_code == 429 and int(response.headers["Retry-After"]) >= 1
    assert "Too many failed logins" in response.get_data(as_text=True)
    assert "hawatch_dashboard_throttled_logins_total 1" in guesser.get("/metrics").get_data(
        as_text=True
    )
    # other users, from the guesser's address too, are not slowed
    assert login(from_address(app, "192.0.2.10"), "otto").status_code == 302


def test_an_address_that_failed_too_often_must_wait_for_any_account(app, settings):
    guesser = from_address(app, "192.0.2.40")
    for n in range(4 * settings["dashboard.login_max_failures"]):  # one address: 4 x
        assert login(guesser, f"user{n}", "guess-password-1").status_code == 401
    assert login(guesser, "vera").status_code == 429
    assert login(from_address(app, "192.0.2.41"), "vera").status_code == 302


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("vera", {"/": 200, "/test/operator": 403, "/test/admin": 403}),
        ("otto", {"/": 200, "/test/operator": 200, "/test/admin": 403}),
        ("ada", {"/": 200, "/test/operator": 200, "/test/admin": 200}),
    ],
)
def test_roles_admin_over_operator_over_viewer(client, name, expected):
    login(client, name)
    assert {path: client.get(path).status_code for path in expected} == expected


def test_role_changes_and_removal_take_effect_at_once(client, settings):
    login(client, "otto")
    assert client.get("/test/operator").status_code == 200
    assert main(["users", "set-role", "otto", "viewer", "--db", settings["db"]]) == 0
    assert client.get("/test/operator").status_code == 403
    assert main(["users", "remove", "otto", "--db", settings["db"]]) == 0
    assert client.get("/").status_code == 302


def test_a_post_without_the_csrf_token_is_refused(client):
    login(client, "vera")
    assert client.post("/test/action").status_code == 400
    assert client.post("/test/action", data={"csrf_token": "forged"}).status_code == 400
    token = csrf_of(client, "/")
    assert client.post("/test/action", data={"csrf_token": token}).status_code == 200
    assert client.post("/test/action", headers={"X-CSRF-Token": token}).status_code == 200


def test_login_itself_needs_the_csrf_token(client):
    response = client.post("/login", data={"username": "ada", "password": PASSWORDS["ada"]})
    assert response.status_code == 400
    assert client.get("/").status_code == 302


def test_logout_ends_the_session(client):
    login(client, "ada")
    assert client.post("/logout").status_code == 400  # logout is a form, CSRF-checked too
    response = client.post("/logout", data={"csrf_token": csrf_of(client, "/")})
    assert response.status_code == 302
    assert client.get("/").status_code == 302


def test_service_endpoints_need_no_login(client):
    assert client.get("/healthz").status_code == 200
    assert client.get("/metrics").status_code == 200
    # the bearer-token API answers for itself: 401/503 from its own check, not a redirect
    assert client.post("/api/v1/sql", json={"query": "SELECT 1"}).status_code == 401
    assert client.post("/api/v1/ingest", data="x").status_code == 503


def test_the_session_cookie_is_httponly_and_samesite(client):
    cookie = login(client, "vera").headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Secure" not in cookie  # serve.http is loopback by default


@pytest.mark.parametrize(
    "https",
    [
        {"serve.tls_cert": "cert.pem", "serve.tls_key": "key.pem"},
        {"serve.trusted_proxy": "127.0.0.1"},
    ],
)
def test_the_cookie_is_secure_when_the_dashboard_is_reached_over_https(settings, store, app, https):
    """serve.tls_cert (hawatch's own TLS) or a TLS proxy in front; plain HTTP beyond
    loopback is tests/test_https.py's (a Secure cookie there would make logins fail)."""
    settings = {**settings, "serve.http": "0.0.0.0:8080", **https}
    client, https = create_app(settings, store, None).test_client(), "https://localhost"
    token = csrf_token(client.get("/login", base_url=https).get_data(as_text=True))
    answer = client.post(
        "/login",
        base_url=https,
        data={"username": "vera", "password": PASSWORDS["vera"], "csrf_token": token, "next": "/"},
    )
    assert answer.status_code == 302 and "Secure" in answer.headers["Set-Cookie"]


def test_an_open_redirect_is_not_followed(client):
    response = client.post(
        "/login",
        data={
            "username": "vera",
            "password": PASSWORDS["vera"],
            "csrf_token": csrf_of(client),
            "next": "//evil.example/",
        },
    )
    assert response.headers["Location"] == "/"


def test_a_script_user_name_renders_escaped(client, settings, monkeypatch):
    name = "<script>alert(1)</script>"
    assert add_user(monkeypatch, Path(settings["db"]), name, "viewer", "script-password-1") == 0
    login(client, name, "script-password-1")
    page = client.get("/").get_data(as_text=True)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<script>" not in page


def test_the_session_secret_is_made_once_and_kept(settings, store, app):
    first = secret_file(settings["db"]).read_text()
    create_app(settings, store, None)
    assert secret_file(settings["db"]).read_text() == first


@pytest.mark.parametrize(
    ("typed", "code"),
    [
        (["prompt-password-1", "prompt-password-1"], 0),
        (["prompt-password-1", "prompt-password-2"], 1),
    ],
)
def test_cli_asks_for_the_password_twice(app, settings, monkeypatch, capsys, typed, code):
    answers = iter(typed)
    monkeypatch.setattr("sys.stdin", Terminal())
    monkeypatch.setattr("getpass.getpass", lambda prompt="": next(answers))
    assert main(["users", "add", "pia", "--role", "viewer", "--db", settings["db"]]) == code
    if code:
        assert "passwords differ" in capsys.readouterr().err
    else:
        assert login(app.test_client(), "pia", "prompt-password-1").status_code == 302
