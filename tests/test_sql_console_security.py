"""The SQL console, its downloads, the SQL API and `hawatch sql` against a real
`hawatch serve`: a viewer (or a page on another site riding a viewer's cookie) cannot write,
read files, move sequences or learn server paths, however the statement is written.

The red team of issue 10 deleted incidents, inserted silences and a 2020-2099 maintenance
window and rewrote sites with data-modifying CTEs (DuckDB classifies them as SELECT), and
did it cross-site through `GET /sql?q=`. Each case here is checked through every way in, and
the tables it aimed at are counted before and after.
"""

from __future__ import annotations

import html
import json
import subprocess
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.test_serve import ROOT, Server, post, wait_for
from tests.web_client import WebUser, add_user, api_sql

PASSWORD = "viewer-password-123"
TABLES = (
    "pairs",
    "devices",
    "status_samples",
    "ha_events",
    "incidents",
    "silences",
    "windows",
    "acknowledgements",
)

# every way DuckDB lets a "SELECT" change data, change state or touch files
WRITES = {
    "delete_in_cte": "WITH x AS (DELETE FROM incidents RETURNING *) SELECT * FROM x",
    "insert_in_cte": (
        "WITH x AS (INSERT INTO windows VALUES ('fra1-ha01', TIMESTAMPTZ"
        " '2020-01-01', TIMESTAMPTZ '2099-01-01', 'maintenance', 'owned', 'cli',"
        " now()) RETURNING *) SELECT * FROM x"
    ),
    "insert_silence_in_cte": (
        "WITH x AS (INSERT INTO silences (pair, starts_at, ends_at,"
        " created_at) SELECT pair, now(), TIMESTAMPTZ '2099-01-01',"
        " now() FROM pairs RETURNING 1) SELECT count(*) FROM x"
    ),
    "update_in_cte": (
        "WITH x AS (UPDATE pairs SET site = 'owned' RETURNING pair) SELECT count(*) FROM x"
    ),
    "delete_in_subquery": (
        "SELECT * FROM pairs WHERE pair IN (WITH x AS (DELETE FROM"
        " devices RETURNING pair) SELECT pair FROM x)"
    ),
    "delete_in_scalar_subquery": (
        "SELECT (WITH x AS (DELETE FROM ha_events RETURNING 1) SELECT count(*) FROM x) AS n"
    ),
    "update_in_union": (
        "SELECT 1 AS n UNION ALL (WITH x AS (UPDATE status_samples SET"
        " connections = 0 RETURNING 1) SELECT count(*) FROM x)"
    ),
    "delete_in_nested_cte": (
        "WITH a AS (SELECT 1), b AS (WITH c AS (DELETE FROM pairs"
        " RETURNING 1) SELECT * FROM c) SELECT * FROM a, b"
    ),
    "copy_in_cte": "WITH x AS (COPY pairs TO '{db}.tmp/pairs.csv') SELECT * FROM x",
    "nextval": "SELECT nextval('incident_ids') AS n",
    "setval": "SELECT setval('silence_ids', 1000000) AS n",
    "nextval_in_lambda": "SELECT list_transform(['incident_ids'], lambda s: nextval(s)) AS n",
    "nextval_as_method": "SELECT 'incident_ids'.nextval() AS n",
    "currval": "SELECT currval('incident_ids') AS n",
}
# what reveals where the server keeps its files
PATHS = {
    "current_setting_temp_directory": "SELECT current_setting('temp_directory') AS p",
    "current_setting_secret_directory": "SELECT current_setting('secret_directory') AS p",
    "duckdb_databases_view": "SELECT path FROM duckdb_databases",
    "duckdb_databases_function": "SELECT path FROM duckdb_databases()",
    "pragma_database_list_view": "SELECT file FROM pragma_database_list",
    "pg_settings": "SELECT setting FROM pg_catalog.pg_settings WHERE name LIKE '%dir%'",
    "duckdb_settings": "SELECT value FROM duckdb_settings() WHERE name LIKE '%dir%'",
    "the_database_file_as_a_table": "SELECT * FROM '{db}'",
    "the_wal_as_a_table": "SELECT * FROM '{db}.wal'",
}

# each user's console history is private (migration 012): never readable through the sandbox
SECRET = "acme-merger-2027"
PRIVATE = {
    "history": "SELECT query FROM sql_history",
    "history_quoted": 'SELECT query FROM "Sql_History"',
    "history_qualified": "SELECT query FROM main.sql_history",
    "history_in_subquery": "SELECT (SELECT string_agg(query, ',') FROM sql_history) AS q",
    "history_summarized": "SUMMARIZE sql_history",
}


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    folder = tmp_path_factory.mktemp("console")
    running = Server(folder, syslog=False)
    try:
        add_user(running.db, "viewer", "viewer", PASSWORD)
        status = (ROOT / "sample_logs" / "exports" / "status.json").read_bytes()
        assert post(running.url, status, "application/json")[0] == 200
        events = (ROOT / "sample_logs" / "exports" / "events.ndjson").read_bytes()
        assert post(running.url, events, "application/x-ndjson")[0] == 200
        wait_for(lambda: analysed_both(running), "an analysis pass after both uploads")
        yield running
    finally:
        if running.proc.poll() is None:
            code, output = running.stop()
            assert code == 0 and "Traceback" not in output, output


def analysed_both(running: Server) -> bool:
    """Both uploads stored and a pass run after them: the counts the tests compare cannot
    move any more (on a loaded machine the two uploads may reach two passes)."""
    status, answer = api_sql(
        running.url,
        running.db,
        "SELECT (SELECT count(*) FROM sources) = 2 AND EXISTS (SELECT 1 FROM analysis_runs"
        " WHERE run_at > (SELECT max(last_ingest) FROM sources))",
    )
    return status == 200 and answer["rows"][0][0] is True


def counts(running: Server) -> dict[str, int]:
    query = " UNION ALL ".join(f"SELECT '{t}', count(*) FROM {t}" for t in TABLES)
    status, answer = api_sql(running.url, running.db, query)
    assert status == 200, answer
    return dict(answer["rows"])


def site_names(running: Server) -> list[str]:
    status, answer = api_sql(
        running.url, running.db, "SELECT DISTINCT coalesce(site, '') FROM pairs ORDER BY 1"
    )
    assert status == 200, answer
    return [r[0] for r in answer["rows"]]


@pytest.fixture(scope="module")
def viewer(served: Server) -> WebUser:
    user = WebUser(served.url)
    assert user.log_in("viewer", PASSWORD).status == 302
    return user


@pytest.fixture(scope="module")
def alice(served: Server) -> WebUser:
    """Another viewer, whose console history the first must never see."""
    add_user(served.db, "alice", "viewer", PASSWORD)
    user = WebUser(served.url)
    assert user.log_in("alice", PASSWORD).status == 302
    user.get("/sql")
    return user


def _through(way: str, served: Server, viewer: WebUser, query: str) -> tuple[int, str]:
    """Send `query` one way; the status and the text of the answer."""
    if way == "console":
        viewer.get("/sql")
        answer = viewer.post("/sql", {"q": query})
        return answer.status, answer.text
    if way in ("csv", "json"):
        viewer.get("/sql")
        answer = viewer.post(f"/sql.{way}", {"q": query})
        return answer.status, answer.text
    if way == "api":
        status, body = api_sql(served.url, served.db, query)
        return status, json.dumps(body)
    result = subprocess.run(
        ["hawatch", "sql", "--db", str(served.db), "--format", "json", query],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert "Traceback" not in result.stderr
    return (200 if result.returncode == 0 else 400), result.stdout + result.stderr


WAYS = ("console", "csv", "json", "api", "cli")


@pytest.mark.parametrize("way", WAYS)
@pytest.mark.parametrize("name", list(WRITES))
def test_no_statement_writes_however_it_is_written(served, viewer, way, name):
    query = WRITES[name].format(db=served.db)
    before, sites = counts(served), site_names(served)

    status, text = _through(way, served, viewer, query)

    assert status == 400, text[:500]
    assert "allowed here" in text  # refused by the check, before DuckDB ran anything
    assert "Traceback" not in text
    assert counts(served) == before
    assert site_names(served) == sites
    assert not Path(f"{served.db}.tmp/pairs.csv").exists()


@pytest.mark.parametrize("way", WAYS)
@pytest.mark.parametrize("name", list(PRIVATE))
def test_no_way_reads_another_users_history(served, viewer, alice, way, name):
    assert alice.post("/sql", {"q": f"SELECT '{SECRET}' AS what"}).status == 200
    status, text = _through(way, served, viewer, PRIVATE[name])
    assert status == 400, text[:500]
    assert "private" in text and SECRET not in text


def test_duckdbs_hint_comes_back_from_every_way(served, viewer):
    """A misspelt column: DuckDB's candidate bindings, with no server path in them."""
    folder = str(Path(served.db).parent)
    for way in ("console", "json", "api"):
        status, text = _through(way, served, viewer, "SELECT sitee FROM pairs")
        text = html.unescape(text)
        assert status == 400 and "Candidate bindings" in text and "site" in text, way
        assert folder not in text


@pytest.mark.parametrize("way", WAYS)
@pytest.mark.parametrize("name", list(PATHS))
def test_no_statement_reveals_server_paths(served, viewer, way, name):
    status, text = _through(way, served, viewer, PATHS[name].format(db=served.db))
    assert status == 400, text[:500]
    folder = str(Path(served.db).parent)
    # the error may quote the statement; nothing else may name the server's folders
    assert folder not in html.unescape(text).replace(PATHS[name].format(db=served.db), "")
    assert "/root" not in text and "stored_secrets" not in text


def test_get_shows_the_query_without_running_it(served, viewer):
    """A link (or a page on another site) can fill the console in, never run it."""
    before = counts(served)
    query = WRITES["delete_in_cte"]
    answer = viewer.get("/sql?" + urllib.parse.urlencode({"q": query}))
    assert answer.status == 200
    assert "DELETE FROM incidents" in answer.text  # prefilled, escaped in the textarea
    assert 'class="result' not in answer.text and 'class="error"' not in answer.text
    for download in ("/sql.csv", "/sql.json"):
        refused = viewer.get(download + "?" + urllib.parse.urlencode({"q": "SELECT 1"}))
        assert refused.status == 405, refused.text
    assert counts(served) == before


def test_a_cross_site_post_without_the_token_runs_nothing(served, viewer):
    before = counts(served)
    for path in ("/sql", "/sql.csv", "/sql.json"):
        answer = viewer.post(path, {"q": WRITES["update_in_cte"]}, csrf=False)
        assert answer.status == 400 and "CSRF" in answer.text
    assert counts(served) == before


def test_plain_selects_still_work_everywhere(served, viewer):
    query = "SELECT count(*) AS n FROM pairs"
    for way in WAYS:
        status, text = _through(way, served, viewer, query)
        assert status == 200, (way, text[:500])
