"""The dashboard's fleet page, pair page and JSON API over a real store filled from
sample_logs, with a real login."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hawatch.analytics.analyze import analyze
from hawatch.collector.ingest import ingest_paths
from hawatch.store import Store

from hawatch.cli import main
from tests.conftest import dashboard_app, log_in

PASSWORD = "viewer-password-1"
PAIRS = [
    "dc1-ha01",
    "fra1-ha01",
    "fra1-ha02",
    "nyc1-ha01",
    "nyc1-ha02",
    "syd1-ha01",
    "tyo1-ha01",
    "tyo1-ha02",
]
SAMPLE_LOGS = Path(__file__).resolve().parent.parent / "sample_logs"


@pytest.fixture(scope="module")
def filled(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """One analysed store for the module: ingesting sample_logs is the slow part."""
    path = tmp_path_factory.mktemp("dash") / "hawatch.duckdb"
    with Store(path) as store:
        ingest_paths(store, [str(SAMPLE_LOGS)])
        analyze(store)
        yield store


@pytest.fixture(scope="module")
def app(filled: Store) -> Flask:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("sys.stdin", io.StringIO(PASSWORD + "\n"))
        assert (
            main(
                [
                    "users",
                    "add",
                    "vera",
                    "--role",
                    "viewer",
                    "--password-stdin",
                    "--db",
                    str(filled.path),
                ]
            )
            == 0
        )
    return dashboard_app(filled)


@pytest.fixture
def anonymous(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    client, status = log_in(app, "vera", PASSWORD)
    assert status == 302
    return client


def listed(page: str) -> list[str]:
    return re.findall(r'<tr class="pair-row" data-pair="([^"]+)"', page)


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/?site=fra1",
        "/pairs/fra1-ha02",
        "/api/v1/pairs",
        "/api/v1/pairs/fra1-ha02",
        "/assets/plotly.min.js",
    ],
)
def test_every_page_needs_a_login(anonymous, path):
    response = anonymous.get(path)
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_fleet_lists_every_pair_with_its_health_word_and_refreshes(client):
    page = client.get("/").get_data(as_text=True)
    assert sorted(listed(page)) == PAIRS  # worst first: the order is tested below
    assert page.count('<td><span class="sev sev-ok">ok</span></td>') == len(PAIRS)
    assert '<meta http-equiv="refresh" content="60">' in page
    assert "Logged in as" in page and "vera" in page and "viewer" in page
    assert "/pairs/fra1-ha02" in page


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("site=fra1", ["fra1-ha01", "fra1-ha02"]),
        ("health=ok", PAIRS),
        ("health=critical", []),
        ("q=TYO1", ["tyo1-ha01", "tyo1-ha02"]),
        ("q=18b16948450e", ["fra1-ha02"]),  # a unit's serial, any case
        ("site=tyo1&q=ha02", ["tyo1-ha02"]),
        ("q=%27%3B%20DROP%20TABLE%20pairs%3B--", []),
    ],
)
def test_filters_and_search_narrow_the_fleet(client, query, expected):
    assert listed(client.get(f"/?{query}&sort=pair").get_data(as_text=True)) == expected
    body = client.get(f"/api/v1/pairs?{query}").get_json()
    assert [p["pair"] for p in body["pairs"]] == expected and body["count"] == len(expected)


def test_sort_by_a_column(client):
    page = client.get("/?sort=connections_now&dir=desc").get_data(as_text=True)
    pairs = client.get("/api/v1/pairs").get_json()["pairs"]
    by_connections = sorted(pairs, key=lambda p: -p["connections_now"])
    assert listed(page) == [p["pair"] for p in by_connections]
    api = client.get("/api/v1/pairs?sort=connections_now").get_json()["pairs"]
    assert [p["pair"] for p in api] == [p["pair"] for p in reversed(by_connections)]


@pytest.mark.parametrize("sort", ["pair; DROP TABLE pairs", "nope", "1"])
def test_a_bad_sort_column_is_ignored_by_the_page_and_refused_by_the_api(client, sort):
    response = client.get("/", query_string={"sort": sort})
    assert response.status_code == 200
    assert sorted(listed(response.get_data(as_text=True))) == PAIRS
    response = client.get("/api/v1/pairs", query_string={"sort": sort})
    assert response.status_code == 400 and "cannot sort by" in response.get_json()["error"]


# sample_logs' three days (the pair page counts back from now, after them, by default)
SAMPLE_DAYS = "start=2026-11-01T00:00&end=2026-11-04T00:00"


def chart_of(page: str) -> dict[str, Any]:
    found: dict[str, Any] = json.loads(
        re.search(
            r'<script type="application/json" data-plotly-for="connections-chart">(.*?)</script>',
            page,
            re.S,
        ).group(1)
    )  # type: ignore[union-attr]
    return found


def test_pair_page_shows_units_incidents_and_the_chart(client):
    page = client.get(f"/pairs/fra1-ha02?{SAMPLE_DAYS}").get_data(as_text=True)
    assert "2CB8ED8C72A3" in page and "18B16948450E" in page and "NSa 3700" in page
    assert "7.1.1-7051" in page and "primary" in page and "secondary" in page
    assert "unsynced_failover" in page and "session_drop" in page
    assert "sessions kept" in page and "kept_percent" not in page  # evidence in words
    assert 'id="connections-chart"' in page and 'data-plotly-for="connections-chart"' in page
    # files under fingerprinted URLs (dashboard/assets.py), no inline script, no CDN
    assert re.search(r'src="/assets/[0-9a-f]{12}/chart\.js"', page)
    assert re.search(r'src="/assets/[0-9a-f]{12}/plotly\.min\.js"', page)
    assert "Plotly.newPlot" not in page and "cdn.plot.ly" not in page
    figure = chart_of(page)["data"]
    names = {trace["name"]: trace for trace in figure if "name" in trace}
    for marker in ("failover", "heartbeat loss", "sync change"):
        assert names[marker]["mode"] == "markers", marker
        assert names[marker]["yaxis"] == "y2", marker  # on the event track, not the counts
    assert "active: secondary (18B16948450E)" in names
    assert "active: primary (2CB8ED8C72A3)" in names
    assert "primary (2CB8ED8C72A3)" in names and "secondary (18B16948450E)" in names
    assert names["pair total"]["meta"] == "pair-total"


def test_failbacks_are_marked(client):
    page = client.get(f"/pairs/fra1-ha01?{SAMPLE_DAYS}").get_data(as_text=True)
    assert '"name":"failback"' in page


@pytest.mark.parametrize("pair", PAIRS)
def test_every_pair_draws_primary_blue_and_secondary_orange(client, pair):
    data = chart_of(client.get(f"/pairs/{pair}?{SAMPLE_DAYS}").get_data(as_text=True))["data"]
    lines = {
        t["name"].split(" ")[0]: t["line"]["color"]
        for t in data
        if t.get("name", "").startswith(("primary (", "secondary ("))
    }
    assert lines == {"primary": "#0072B2", "secondary": "#E69F00"}


def test_the_pair_total_is_the_rollups_load(client, filled):
    data = chart_of(client.get(f"/pairs/nyc1-ha02?{SAMPLE_DAYS}").get_data(as_text=True))
    total = next(t for t in data["data"] if t.get("meta") == "pair-total")
    (buckets,) = (
        filled.cursor()
        .execute(
            "SELECT count(*) FROM (SELECT unnest(buckets) FROM load_days WHERE pair = 'nyc1-ha02')"
        )
        .fetchone()
    )
    # three days of 5-minute buckets, under the chart's 600 buckets: every one drawn
    assert len(total["y"]) == buckets and max(total["y"]) > 0


def test_the_old_days_parameter_redirects_to_a_range(client):
    answer = client.get("/pairs/fra1-ha01?days=5")
    assert answer.status_code == 302 and answer.location == "/pairs/fra1-ha01?range=5d"
    assert client.get("/pairs/fra1-ha01?days=0.25").location.endswith("?range=6h")
    assert client.get("/pairs/fra1-ha01?range=5d").status_code == 200


@pytest.mark.parametrize(
    "query",
    [
        "range=2w",
        "range=91d",
        "start=yesterday",
        "start=2026-11-02T00:00&end=2026-11-01T00:00",
        "start=2026-01-01T00:00&end=2026-11-01T00:00",
    ],
)
def test_a_bad_range_is_a_one_line_400(client, query):
    answer = client.get(f"/pairs/fra1-ha02?{query}")
    assert answer.status_code == 400 and "Traceback" not in answer.get_data(as_text=True)


def test_plotly_js_is_served_locally(client):
    response = client.get("/assets/plotly.min.js")
    assert response.status_code == 200 and b"plotly" in response.data[:2000].lower()
    response.close()


def test_an_unknown_pair_is_a_404_page(client):
    response = client.get("/pairs/no-such-pair")
    assert response.status_code == 404 and "No such pair" in response.get_data(as_text=True)
    assert client.get("/api/v1/pairs/no-such-pair").status_code == 404


@pytest.mark.parametrize("days", ["x", "0", "-1", "1000"])
def test_a_bad_days_value_is_refused(client, days):
    assert client.get(f"/pairs/fra1-ha02?days={days}").status_code == 400


def test_the_json_api_has_the_expected_keys_and_utc_times(client):
    pairs = client.get("/api/v1/pairs").get_json()["pairs"]
    assert {
        "pair",
        "site",
        "health",
        "score",
        "ha_mode",
        "active_unit",
        "active_role",
        "stateful_sync",
        "last_role_change",
        "open_incidents",
        "connections_now",
    } <= set(pairs[0])
    changed = next(p for p in pairs if p["pair"] == "fra1-ha02")["last_role_change"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z", changed)
    body = client.get("/api/v1/pairs/fra1-ha02").get_json()
    assert {"pair", "units", "incidents", "series", "events", "window"} <= set(body)
    assert {u["serial"] for u in body["units"]} == {"2CB8ED8C72A3", "18B16948450E"}
    assert set(body["series"]) == {"2CB8ED8C72A3", "18B16948450E"}
    assert body["series"]["18B16948450E"][0]["time"].endswith("Z")
    assert body["window"]["end"].endswith("Z")
    assert {"kind", "severity", "status", "summary", "evidence"} <= set(body["incidents"][0])


def test_a_script_in_an_incident_renders_escaped(client, filled):
    cur = filled.cursor()
    cur.execute(
        "INSERT INTO incidents (incident_id, pair, kind, severity, opened_at, status,"
        " summary, evidence, first_detected, last_updated) VALUES (9999, 'syd1-ha01',"
        " 'split_brain', 'critical', now(), 'open', ?, ?, now(), now())",
        ["<script>alert(1)</script>", json.dumps({"note": "<script>alert(2)</script>"})],
    )
    try:
        page = client.get("/pairs/syd1-ha01").get_data(as_text=True)
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
        assert "<script>alert" not in page
        first = re.findall(r'<tr class="incident incident-(\w+)"', page)[0]
        assert first == "open"  # open incidents first
        fleet = client.get("/?health=critical").get_data(as_text=True)
        assert listed(fleet) == ["syd1-ha01"] and "sev-critical" in fleet
        assert ">critical</span>" in fleet
    finally:
        cur.execute("DELETE FROM incidents WHERE incident_id = 9999")


def test_the_active_unit_is_drawn_from_the_first_data_not_the_range_start(client):
    page = client.get("/pairs/syd1-ha01?start=2026-10-31T12:00&end=2026-11-01T06:00")
    data = chart_of(page.get_data(as_text=True))["data"]
    (active,) = [t for t in data if t.get("name", "").startswith("active: ")]
    assert active["x"][0].startswith("2026-11-01T00:0")  # sample_logs begin at midnight
    assert active["yaxis"] == "y2" and set(active["y"]) == {"active unit", None}
