"""Analysts see DuckDB's own help with an error ("Did you mean ...", candidate bindings, the
line with a caret), in the console and the JSON answers, and never a server path.

Real DuckDB errors from a real store in tmp_path, through the real app."""

from __future__ import annotations

import html
import re
from pathlib import Path

import duckdb
import pytest
from hawatch.dashboard.credentials import Credentials
from hawatch.store import Store
from hawatch.store.query_errors import (
    HIDDEN,
    MAX_HINT_LINES,
    analyst_error,
    hide_paths,
    split_message,
)
from hawatch.store.readonly import server_paths

from tests.conftest import csrf_token, dashboard_app, log_in

PASSWORD = "errors-password-1"
HINT = re.compile(r'<pre class="error-hint">(.*?)</pre>', re.S)


@pytest.fixture
def locked(store: Store) -> Store:
    store.lock_down()
    return store


@pytest.fixture
def viewer(locked: Store):  # type: ignore[no-untyped-def]
    Credentials(locked.path).add("viewer", "viewer", PASSWORD)
    client, status = log_in(dashboard_app(locked), "viewer", PASSWORD)
    assert status == 302
    return client


def console(client, query: str) -> tuple[int, str, str]:  # type: ignore[no-untyped-def]
    """(status, the error line, the hint block) of running `query` in the console."""
    token = csrf_token(client.get("/sql").get_data(as_text=True))
    answer = client.post("/sql", data={"q": query, "csrf_token": token})
    text = answer.get_data(as_text=True)
    error = re.search(r'<p class="error">(.*?)</p>', text, re.S)
    hint = HINT.search(text)
    return (
        answer.status_code,
        html.unescape(error.group(1)) if error else "",
        html.unescape(hint.group(1)) if hint else "",
    )


def test_a_misspelt_table_shows_duckdbs_suggestion(viewer):
    status, error, hint = console(viewer, "SELECT * FROM pairz")
    assert status == 400
    assert error == "Catalog Error: Table with name pairz does not exist!"
    assert 'Did you mean "pairs"?' in hint
    assert "LINE 1: SELECT * FROM pairz" in hint and "^^^^^" in hint  # the caret, aligned


def test_a_misspelt_column_shows_the_candidate_bindings(viewer):
    status, error, hint = console(viewer, "SELECT pair, sitee\nFROM pairs")
    assert status == 400
    assert error == 'Binder Error: Referenced column "sitee" not found in FROM clause!'
    assert re.search(r'Candidate bindings: .*"site"', hint)
    assert "LINE 1: SELECT pair, sitee" in hint


def test_a_syntax_error_points_at_the_word(viewer):
    _status, error, hint = console(viewer, "SELEC pair FROM pairs")
    assert error == 'Parser Error: syntax error at or near "SELEC"'
    lines = hint.splitlines()
    assert lines[0] == "LINE 1: SELEC pair FROM pairs"
    assert lines[1].index("^") == lines[0].index("SELEC")


def test_a_hint_is_markup_inert(viewer):
    _status, _error, hint = console(viewer, "SELECT '<b>x</b>' AS a FROM pairz")
    assert "<b>x</b>" in hint  # shown as text: unescape gives it back


def test_the_json_download_carries_the_hint(viewer):
    token = csrf_token(viewer.get("/sql").get_data(as_text=True))
    answer = viewer.post("/sql.json", data={"q": "SELECT sitee FROM pairs", "csrf_token": token})
    assert answer.status_code == 400
    body = answer.get_json()
    assert body["error"].startswith("Binder Error") and "Candidate bindings" in body["hint"]


def test_the_sandbox_knows_the_servers_folders(locked: Store):
    folder = str(Path(locked.path).parent)
    assert folder in server_paths(locked.cursor())
    assert locked.path in server_paths(locked.cursor())


def test_a_server_path_in_a_duckdb_error_is_hidden(tmp_path: Path):
    missing = tmp_path / "no" / "such" / "place.duckdb"
    with pytest.raises(duckdb.Error) as raised:
        duckdb.connect(str(missing))
    assert str(tmp_path) in str(raised.value)  # DuckDB names the file
    shown = analyst_error(raised.value, "SELECT 1")
    assert str(tmp_path) not in str(shown) + shown.hint and HIDDEN in str(shown) + shown.hint


def test_a_path_the_analyst_typed_is_theirs_to_see(tmp_path: Path):
    typed = "/srv/their/own.csv"
    con = duckdb.connect()
    query = f"SELECT * FROM read_csv('{typed}')"
    with pytest.raises(duckdb.Error) as raised:
        con.execute(query)
    shown = analyst_error(raised.value, query, [str(tmp_path)])
    assert typed in str(shown)
    assert (
        hide_paths(f"at {tmp_path}/x.tmp and {typed}", query, [str(tmp_path)])
        == f"at {HIDDEN}/x.tmp and {typed}"
    )


def test_a_long_hint_is_capped():
    text = "Binder Error: x\n\n" + "\n".join(f"line {n}" for n in range(40))
    message, hint = split_message(text)
    assert message == "Binder Error: x"
    assert hint.splitlines()[:2] == ["line 0", "line 1"]
    assert len(hint.splitlines()) == MAX_HINT_LINES + 1 and hint.endswith("...")
