"""The dashboard's operator pages: incidents (with acknowledge, silence and window forms),
the SQL console and ingest health, over a real store filled from sample_logs, with real
logins for a viewer, an operator and an admin."""

from __future__ import annotations

import html
import io
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from flask import Flask
from flask.testing import FlaskClient
from hawatch.analytics.analyze import analyze
from hawatch.collector.ingest import ingest_paths
from hawatch.dashboard.openapi import SCHEMAS
from hawatch.store import Store

from hawatch.cli import main
from tests.conftest import csrf_token, dashboard_app, log_in

PASSWORD = "ops-password-123"
SAMPLE_LOGS = Path(__file__).resolve().parent.parent / "sample_logs"
ROLES = ("viewer", "operator", "admin")


@pytest.fixture(scope="module")
def filled(tmp_path_factory: pytest.TempPathFactory) -> Any:
    path = tmp_path_factory.mktemp("ops") / "hawatch.duckdb"
    with Store(path) as store:
        ingest_paths(store, [str(SAMPLE_LOGS)])
        analyze(store)
        # the sample logs' incidents have all resolved: two open ones to act on
        for iid, pair, kind, severity in [
            (9001, "fra1-ha02", "flapping", "warning"),
            (9002, "nyc1-ha01", "split_brain", "critical"),
            (9003, "tyo1-ha02", "ha_link_down", "warning"),
        ]:
            store.cursor().execute(
                "INSERT INTO incidents (incident_id, pair, kind, severity, opened_at, status,"
                " summary, evidence, first_detected, last_updated) VALUES (?, ?, ?, ?,"
                " now(), 'open', 'still going', '{}', now(), now())",
                [iid, pair, kind, severity],
            )
        store.lock_down()  # as `hawatch serve` does: the SQL console runs on this instance
        yield store


@pytest.fixture(scope="module")
def app(filled: Store) -> Flask:
    for role in ROLES:
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr("sys.stdin", io.StringIO(PASSWORD + "\n"))
            assert (
                main(
                    [
                        "users",
                        "add",
                        role,
                        "--role",
                        role,
                        "--password-stdin",
                        "--db",
                        str(filled.path),
                    ]
                )
                == 0
            )
    return dashboard_app(filled, **{"sql.max_rows": 50})


def login(app: Flask, name: str) -> FlaskClient:
    client, status = log_in(app, name, PASSWORD)
    assert status == 302
    return client


@pytest.fixture
def viewer(app: Flask) -> FlaskClient:
    return login(app, "viewer")


@pytest.fixture(params=["operator", "admin"])
def operator(app: Flask, request: pytest.FixtureRequest) -> FlaskClient:
    return login(app, request.param)


def token(client: FlaskClient) -> str:
    return csrf_token(client.get("/incidents").get_data(as_text=True))


def ids(page: str) -> list[int]:
    return [int(i) for i in re.findall(r'data-incident="(\d+)"', page)]


def open_incident(filled: Store) -> tuple[int, str]:
    return (
        filled.cursor()
        .execute(
            "SELECT incident_id, pair FROM incidents WHERE status = 'open' AND NOT EXISTS"
            " (SELECT 1 FROM acknowledgements a WHERE a.incident_id = incidents.incident_id)"
            " ORDER BY incident_id LIMIT 1"
        )
        .fetchone()
    )


# -- incidents --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path", ["/incidents", "/api/v1/incidents", "/sql", "/ingest", "/api/v1/ingest-health"]
)
def test_pages_need_a_login(app, path):
    response = app.test_client().get(path)
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_incidents_page_lists_open_ones_newest_first_and_all_on_request(viewer, filled):
    def newest_first(where: str) -> list[int]:
        return [
            i
            for (i,) in filled.cursor()
            .execute(
                f"SELECT incident_id FROM incidents WHERE {where}"
                " ORDER BY opened_at DESC, incident_id DESC"
            )
            .fetchall()
        ]

    page = viewer.get("/incidents").get_data(as_text=True)
    assert newest_first("status = 'open'") and ids(page) == newest_first("status = 'open'")
    assert "incident-resolved" not in page and 'href="/incidents?status=all"' in page
    page = viewer.get("/incidents?status=all").get_data(as_text=True)
    expected = newest_first("true")
    assert expected and ids(page) == expected
    assert "/pairs/fra1-ha02" in page
    assert "incident-open" in page and "incident-resolved" in page
    body = viewer.get("/api/v1/incidents").get_json()  # the API's default stays every status
    for incident in body["incidents"]:
        jsonschema.validate(incident, SCHEMAS["Incident"])
    assert [i["incident_id"] for i in body["incidents"]] == expected
    assert body["count"] == len(expected)


def test_a_viewer_sees_no_forms_and_cannot_post(viewer, filled):
    page = viewer.get("/incidents").get_data(as_text=True)
    assert 'method="post"' not in page.replace('method="post" action="/logout"', "")
    incident, pair = open_incident(filled)
    tok = token(viewer)
    for path, data in [
        (f"/incidents/{incident}/ack", {"comment": "x"}),
        ("/incidents/silence", {"pair": pair, "until": "2099-01-01T00:00Z"}),
        (
            "/incidents/window",
            {
                "pair": pair,
                "start": "2099-01-01T00:00Z",
                "end": "2099-01-01T02:00Z",
                "kind": "maintenance",
            },
        ),
    ]:
        assert viewer.post(path, data={**data, "csrf_token": tok}).status_code == 403


@pytest.mark.parametrize(
    ("query", "where"),
    [
        ("kind=flapping", "kind = 'flapping'"),
        ("status=open", "status = 'open'"),
        ("status=resolved", "status = 'resolved'"),
        ("severity=critical", "severity = 'critical'"),
        ("site=fra1", "pair IN (SELECT pair FROM pairs WHERE site = 'fra1')"),
        (
            "site=fra1&status=open",
            "status = 'open' AND pair IN (SELECT pair FROM pairs WHERE site = 'fra1')",
        ),
        ("kind=%27%3B%20DROP%20TABLE%20incidents%3B--", "false"),
    ],
)
def test_incident_filters(viewer, filled, query, where):
    expected = [
        i
        for (i,) in filled.cursor()
        .execute(
            f"SELECT incident_id FROM incidents WHERE {where}"
            " ORDER BY opened_at DESC, incident_id DESC"
        )
        .fetchall()
    ]
    every = "" if "status=" in query else "&status=all"  # the page shows open ones unless
    assert ids(viewer.get(f"/incidents?{query}{every}").get_data(as_text=True)) == expected
    api = viewer.get(f"/api/v1/incidents?{query}").get_json()
    assert [i["incident_id"] for i in api["incidents"]] == expected


def test_an_operator_acknowledges_an_incident(operator, filled):
    incident, _pair = open_incident(filled)
    page = operator.get("/incidents?status=open").get_data(as_text=True)
    assert f'action="/incidents/{incident}/ack"' in page
    response = operator.post(
        f"/incidents/{incident}/ack",
        data={
            "comment": "looking <b>into</b> it",
            "csrf_token": csrf_token(page),
            "next": "/incidents?status=open",
        },
    )
    assert response.status_code == 302 and response.headers["Location"].endswith(
        "/incidents?status=open"
    )
    row = (
        filled.cursor()
        .execute("SELECT acked_by, comment FROM acknowledgements WHERE incident_id = ?", [incident])
        .fetchone()
    )
    assert row is not None and row[0] in ("operator", "admin")
    assert row[1] == "looking <b>into</b> it"
    page = operator.get("/incidents?status=open").get_data(as_text=True)
    assert "acknowledged" in page


def test_an_operator_silences_a_pair(operator, filled):
    before = filled.cursor().execute("SELECT count(*) FROM silences").fetchone()[0]
    response = operator.post(
        "/incidents/silence",
        data={
            "pair": "fra1-ha02",
            "until": "2099-01-01T08:00Z",
            "comment": "rack move",
            "csrf_token": token(operator),
        },
    )
    assert response.status_code == 302
    rows = (
        filled.cursor().execute("SELECT pair, comment FROM silences ORDER BY created_at").fetchall()
    )
    assert len(rows) == before + 1 and rows[-1] == ("fra1-ha02", "rack move")
    assert "silenced until" in operator.get("/incidents").get_data(as_text=True)


def test_an_operator_declares_a_window(operator, filled):
    response = operator.post(
        "/incidents/window",
        data={
            "pair": "tyo1-ha01",
            "start": "2099-02-01T06:00Z",
            "end": "2099-02-01T08:00Z",
            "kind": "failover_test",
            "comment": "quarterly test",
            "csrf_token": token(operator),
        },
    )
    assert response.status_code == 302
    row = (
        filled.cursor()
        .execute(
            "SELECT kind, comment, origin, ends_at - starts_at FROM windows"
            " WHERE pair = 'tyo1-ha01' AND comment = 'quarterly test'"
            " ORDER BY created_at DESC"
        )
        .fetchone()
    )
    assert row is not None and row[:3] == ("failover_test", "quarterly test", "cli")
    assert row[3].total_seconds() == 7200
    filled.cursor().execute("DELETE FROM windows WHERE comment = 'quarterly test'")


@pytest.mark.parametrize(
    "data",
    [
        {
            "pair": "tyo1-ha01",
            "start": "2099-02-01T06:00Z",
            "end": "2099-02-01T05:00Z",
            "kind": "maintenance",
        },
        {
            "pair": "tyo1-ha01",
            "start": "2099-02-01T06:00Z",
            "end": "2099-02-01T08:00Z",
            "kind": "party",
        },
        {
            "pair": "no-such-pair",
            "start": "2099-02-01T06:00Z",
            "end": "2099-02-01T08:00Z",
            "kind": "maintenance",
        },
        {
            "pair": "tyo1-ha01",
            "start": "2099-02-01T06:00",
            "end": "2099-02-01T08:00Z",
            "kind": "maintenance",
        },
    ],
)
def test_a_bad_window_is_refused_with_a_message(app, filled, data):
    client = login(app, "operator")
    before = filled.cursor().execute("SELECT count(*) FROM windows").fetchone()[0]
    response = client.post(
        "/incidents/window", data={**data, "csrf_token": token(client)}, follow_redirects=True
    )
    assert response.status_code == 200 and "Refused:" in response.get_data(as_text=True)
    assert filled.cursor().execute("SELECT count(*) FROM windows").fetchone()[0] == before


@pytest.mark.parametrize("tok", [None, "wrong-token"])
def test_posts_without_the_csrf_token_are_refused(app, filled, tok):
    client = login(app, "operator")
    incident, _pair = open_incident(filled)
    data = {"comment": "forged"} | ({"csrf_token": tok} if tok else {})
    response = client.post(f"/incidents/{incident}/ack", data=data)
    assert response.status_code == 400 and response.mimetype == "text/html"
    assert "CSRF token" in response.get_data(as_text=True)
    assert (
        filled.cursor()
        .execute("SELECT count(*) FROM acknowledgements WHERE comment = 'forged'")
        .fetchone()[0]
        == 0
    )


def test_an_offsite_next_is_not_followed(app, filled):
    client = login(app, "operator")
    response = client.post(
        "/incidents/silence",
        data={
            "pair": "nyc1-ha01",
            "until": "2099-01-01T08:00Z",
            "next": "//evil.example/",
            "csrf_token": token(client),
        },
    )
    assert response.headers["Location"].endswith("/incidents")


# -- SQL console ------------------------------------------------------------------------------


def run_sql(viewer, query: str, path: str = "/sql"):
    """POST a query as the console's form does (queries never run on GET)."""
    return viewer.post(path, data={"q": query, "csrf_token": token(viewer)})


def test_the_sql_console_runs_a_select(viewer):
    page = viewer.get("/sql").get_data(as_text=True)
    assert "<textarea" in page and page.count('class="example link"') == 3
    response = viewer.post(
        "/sql",
        data={"q": "SELECT pair, site FROM pairs ORDER BY pair", "csrf_token": csrf_token(page)},
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "<th>pair</th>" in page and "<td>fra1-ha02</td>" in page
    assert page.count('class="result-row"') == 8 and "truncated</strong>" not in page


def test_the_row_cap_marks_the_result_truncated(viewer):
    page = run_sql(viewer, "SELECT * FROM range(1000)").get_data(as_text=True)
    assert page.count('class="result-row"') == 50 and 'class="truncated"' in page
    assert "more rows than the row cap" in page


def test_a_link_fills_the_console_in_and_runs_nothing(viewer):
    page = viewer.get("/sql?q=SELECT+*+FROM+range(1000)").get_data(as_text=True)
    assert ">SELECT * FROM range(1000)</textarea>" in page
    assert 'class="result-row"' not in page and 'class="result-info"' not in page


def test_the_saved_examples_run(viewer):
    page = viewer.get("/sql").get_data(as_text=True)
    queries = [
        html.unescape(q)
        for q in re.findall(
            r'<input type="hidden" name="q" value="([^"]+)">\s*<button type="submit"'
            r' class="example link">',
            page,
        )
    ]
    assert len(queries) == 3
    for query in queries:
        response = run_sql(viewer, query)
        assert response.status_code == 200, response.get_data(as_text=True)
        assert 'class="error"' not in response.get_data(as_text=True)
    lost = run_sql(viewer, queries[1]).get_data(as_text=True)
    assert "<th>kept_percent</th>" in lost and "fra1-ha02" in lost


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("DELETE FROM incidents", "only SELECT queries are allowed here"),
        (
            "WITH x AS (DELETE FROM incidents RETURNING *) SELECT * FROM x",
            "only SELECT queries are allowed here (this one has a DELETE inside)",
        ),
        ("SELECT * FROM read_csv('/etc/passwd')", "table function read_csv() is not allowed"),
        ("SELECT 1; SELECT 2", "exactly one statement"),
        ("SELECT * FROM no_such_table", "no_such_table"),
    ],
)
def test_refused_statements_are_one_line_errors(viewer, filled, query, message):
    before = filled.cursor().execute("SELECT count(*) FROM incidents").fetchone()[0]
    response = run_sql(viewer, query)
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    error = re.search(r'<p class="error">(.*?)</p>', page, re.S).group(1)
    assert message in error and "\n" not in error and "root:" not in page
    assert filled.cursor().execute("SELECT count(*) FROM incidents").fetchone()[0] == before
    assert run_sql(viewer, query, "/sql.csv").status_code == 400


def test_csv_and_json_downloads(viewer):
    query = "SELECT pair, site FROM pairs WHERE site = 'fra1' ORDER BY pair"
    response = run_sql(viewer, query, "/sql.csv")
    assert response.status_code == 200
    assert response.content_type.startswith("text/csv")
    assert response.get_data(as_text=True) == "pair,site\nfra1-ha01,fra1\nfra1-ha02,fra1\n"
    response = viewer.post("/sql.json", data={"q": query, "csrf_token": token(viewer)})
    assert response.status_code == 200 and response.content_type == "application/json"
    assert response.get_json() == {
        "columns": ["pair", "site"],
        "truncated": False,
        "rows": [["fra1-ha01", "fra1"], ["fra1-ha02", "fra1"]],
        "seconds": response.get_json()["seconds"],
    }
    assert viewer.post("/sql.csv", data={"q": query}).status_code == 400  # no CSRF token
    assert viewer.get("/sql.csv", query_string={"q": query}).status_code == 405


# -- ingest health ----------------------------------------------------------------------------


def test_ingest_page_shows_sources_by_format_and_origin(viewer, filled):
    page = viewer.get("/ingest").get_data(as_text=True)
    for fmt in ("syslog", "json", "csv"):
        assert f'data-format="{fmt}"' in page
    assert 'data-origin="file"' in page
    assert "sample_logs/syslog/fra1.log" in page and "3,493" in page


def test_ingest_health_api_matches_its_openapi_schema(viewer, filled):
    answer = viewer.get("/api/v1/ingest-health")
    assert answer.status_code == 200
    body = answer.get_json()
    jsonschema.validate(body, SCHEMAS["IngestHealth"])
    by_format = {r["format"]: r["sources"] for r in body["by_format"]}
    assert set(by_format) == {"syslog", "json", "csv"}
    assert body["sources_total"] == sum(by_format.values())  # sample_logs: files only
    assert [r["origin"] for r in body["by_origin"]] == ["file"]
    names = [r["name"] for r in body["sources"]]
    assert any(name.endswith("sample_logs/syslog/fra1.log") for name in names)


def test_a_script_in_a_quarantined_line_renders_escaped(viewer, filled):
    cur = filled.cursor()
    cur.execute(
        "INSERT INTO quarantine VALUES (999, 'udp-2099', 7, ?, 33, 'unparseable', now())",
        ["<script>alert('q')</script> junk"],
    )
    try:
        page = viewer.get("/ingest").get_data(as_text=True)
        assert "&lt;script&gt;alert(&#39;q&#39;)&lt;/script&gt; junk" in page
        assert "<script>" not in page
        assert re.search(
            r'<tr class="reason-row"><td>unparseable</td>'
            r'<td class="num">1</td>',
            page,
        )
        assert "udp-2099" in page and ">7</td>" in page
    finally:
        cur.execute("DELETE FROM quarantine WHERE source_id = 999")


def test_the_pair_page_cached_for_a_role_carries_each_sessions_own_csrf_token(app, filled):
    """The pair page's body is cached per role and data version and shared by sessions: its
    forms must carry each session's own token, and an action shows at once."""
    incident, pair = open_incident(filled)
    first, second = login(app, "operator"), login(app, "operator")
    pages = [c.get(f"/pairs/{pair}").get_data(as_text=True) for c in (first, second)]
    tokens = [set(re.findall(r'name="csrf_token" value="([^"]+)"', p)) for p in pages]
    assert all(len(t) == 1 for t in tokens) and tokens[0] != tokens[1]
    assert all("csrf-token-of-this-session" not in p for p in pages)
    assert f'action="/incidents/{incident}/ack"' in pages[1]
    response = second.post(
        f"/incidents/{incident}/ack",
        data={
            "csrf_token": tokens[1].pop(),
            "comment": "from the pair page",
            "next": f"/pairs/{pair}",
        },
    )
    assert response.status_code == 302 and response.headers["Location"] == f"/pairs/{pair}"
    page = first.get(f"/pairs/{pair}").get_data(as_text=True)
    assert f'action="/incidents/{incident}/ack"' not in page
    assert 'acknowledged by <b class="acked-by">operator</b>' in page
    assert "from the pair page" in page
