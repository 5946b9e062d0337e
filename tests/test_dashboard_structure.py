"""How the dashboard reaches the store (issue 12 item 11): views hold no SQL (it lives in
analytics/ and store/, where the CLI and tests reach it too), and each request uses one
cursor, opened when first needed and closed when the request ends, whatever its outcome."""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import Any

import duckdb
import pytest
from flask import Flask, g
from hawatch.store import Store

from tests.conftest import dashboard_app, log_in
from tests.test_dashboard_pages import PASSWORD, app, filled  # noqa: F401 - fixtures

VIEWS = Path(__file__).resolve().parent.parent / "dashboard" / "views"
SQL_WORDS = re.compile(r"\b(SELECT|INSERT|UPDATE|DELETE|CREATE|DROP|ALTER)\s")
DATABASE_CALLS = {"execute", "executemany", "sql", "query", "cursor", "fetchall", "fetchone"}


def _docstrings(tree: ast.Module) -> set[int]:
    """ids of the docstring constants: prose may name SQL words."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.FunctionDef | ast.ClassDef) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                found.add(id(first.value))
    return found


def sql_in(path: Path) -> list[str]:
    """Where a view module talks to the database itself."""
    tree = ast.parse(path.read_text(), str(path))
    prose, found = _docstrings(tree), []
    for node in ast.walk(tree):
        where = f"{path.name}:{getattr(node, 'lineno', '?')}"
        if (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and id(node) not in prose
            and SQL_WORDS.search(node.value)
        ):
            found.append(f"{where}: SQL text {node.value[:40]!r}")
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in DATABASE_CALLS
        ):
            found.append(f"{where}: .{node.func.attr}(...)")
        elif isinstance(node, ast.Import | ast.ImportFrom):
            names = [a.name for a in node.names] + [getattr(node, "module", None) or ""]
            if any(n.split(".")[0] == "duckdb" for n in names):
                found.append(f"{where}: imports duckdb")
    return found


def test_no_view_module_holds_sql():
    modules = sorted(VIEWS.glob("*.py"))
    assert len(modules) >= 8
    assert [problem for path in modules for problem in sql_in(path)] == []


def test_the_check_sees_sql_in_a_view(tmp_path):
    view = tmp_path / "view.py"
    view.write_text(
        '"""SELECT in prose is fine."""\n'
        "def sites(store):\n"
        '    return store.cursor().execute("SELECT DISTINCT site FROM pairs")\n'
    )
    assert len(sql_in(view)) == 3  # the text, .execute and .cursor


def test_views_reach_the_app_through_its_typed_state():
    """One AppState in app.extensions (dashboard/app_state.py), not string keys per view."""
    package = VIEWS.parent
    for path in sorted(package.rglob("*.py")):
        text = path.read_text()
        assert 'config["HAWATCH_' not in text, path
        if path.name != "app_state.py":
            assert ".extensions[" not in text, path


@pytest.fixture
def watched(app: Flask, filled: Store) -> tuple[Flask, list[Any]]:  # noqa: F811
    """A fresh app on the filled store that keeps every request's cursor as the request
    ends (before the app closes it)."""
    fresh = dashboard_app(filled)
    cursors: list[Any] = []
    fresh.teardown_request(lambda _error: cursors.append(g.get("cursor")))
    return fresh, cursors


@pytest.mark.parametrize(
    "path,status",
    [
        ("/", 200),
        ("/api/v1/pairs", 200),
        ("/pairs/fra1-ha02", 200),
        ("/api/v1/pairs/fra1-ha02", 200),
        ("/incidents", 200),
        ("/api/v1/incidents", 200),
        ("/ingest", 200),
        ("/api/v1/ingest-health", 200),
        ("/pairs/no-such-pair", 404),
        ("/api/v1/pairs/no-such-pair", 404),
    ],
)
def test_each_request_closes_its_one_cursor(watched, path, status):
    fresh, cursors = watched
    client, login = log_in(fresh, "vera", PASSWORD)
    assert login == 302
    cursors.clear()
    for _ in range(2):  # the second is answered from the render cache
        assert client.get(path).status_code == status
    assert len(cursors) == 2 and all(c is not None for c in cursors), path
    for cursor in cursors:
        with pytest.raises(duckdb.ConnectionException, match="closed"):
            cursor.execute("SELECT 1")


def test_a_request_that_needs_no_data_opens_no_cursor(watched):
    fresh, cursors = watched
    client, _ = log_in(fresh, "vera", PASSWORD)
    cursors.clear()
    assert client.get("/api/v1/pairs?sort=bogus").status_code == 400
    assert client.get("/login").status_code == 200
    assert cursors == [None, None]
