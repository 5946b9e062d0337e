"""The OpenAPI document: valid OpenAPI 3.1, served without a login, and complete: every
/api/v1 rule of the app, /healthz and /metrics is in it with its methods."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from flask import Flask
from hawatch.dashboard.openapi import PATH, openapi_document
from hawatch.store import Store
from openapi_spec_validator import validate

from tests.conftest import dashboard_app

DOCS = Path(__file__).resolve().parent.parent / "docs"
IGNORED = {"HEAD", "OPTIONS"}


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Flask:
    path = tmp_path_factory.mktemp("openapi") / "hawatch.duckdb"
    with Store(path) as store:
        yield dashboard_app(store)


def _openapi_path(rule: str) -> str:
    return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule)


def test_document_is_valid_openapi_3_1():
    document = openapi_document()
    assert document["openapi"].startswith("3.1")
    validate(document)


def test_every_api_rule_is_documented_with_its_methods(app: Flask):
    paths = openapi_document()["paths"]
    rules = [
        r
        for r in app.url_map.iter_rules()
        if r.rule.startswith("/api/v1/") or r.rule in ("/healthz", "/metrics")
    ]
    assert {r.rule for r in rules} >= {
        "/api/v1/pairs",
        "/api/v1/pairs/<pair>",
        "/api/v1/incidents",
        "/api/v1/ingest",
        "/api/v1/sql",
        "/api/v1/operator",
        PATH,
        "/healthz",
        "/metrics",
    }
    missing = []
    for rule in rules:
        documented = paths.get(_openapi_path(rule.rule), {})
        for method in sorted((rule.methods or set()) - IGNORED):
            if method.lower() not in documented:
                missing.append(f"{method} {rule.rule}")
    assert missing == []
    # and nothing documented that the app does not serve
    served = {_openapi_path(r.rule) for r in rules}
    assert sorted(set(paths) - served) == []


def test_operations_declare_security_that_exists():
    document = openapi_document()
    schemes = set(document["components"]["securitySchemes"])
    assert schemes == {"session", "ingestToken", "localToken"}
    for path, item in document["paths"].items():
        for method, operation in item.items():
            assert "security" in operation, f"{method} {path}"
            for requirement in operation["security"]:
                assert set(requirement) <= schemes


def test_served_without_login(app: Flask):
    response = app.test_client().get(PATH)
    assert response.status_code == 200
    assert response.get_json() == openapi_document()
    # the data endpoints it describes still need a login
    assert app.test_client().get("/api/v1/pairs").status_code == 302


def test_docs_page_lists_every_path():
    text = (DOCS / "api.md").read_text()
    assert PATH in text
    assert [p for p in openapi_document()["paths"] if f"`{p}`" not in text] == []
