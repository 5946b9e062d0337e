"""The dashboard's page cache, ETags and gzip, and the pair chart's min/max downsampling,
over real stores: a cached page must change as soon as the data under it does."""

from __future__ import annotations

import gzip
import json
import re
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hawatch.analytics.pair_detail import pair_detail
from hawatch.dashboard.credentials import Credentials
from hawatch.dashboard.render_cache import RenderCache
from hawatch.store import Store
from hawatch.store.data_version import data_version
from hawatch.store.rollups import refresh_rollups

from tests.conftest import dashboard_app, log_in

PASSWORD = "cache-password-1"
START = datetime(2026, 11, 1, tzinfo=UTC)
THIRTY_DAYS = "start=2026-11-01T00:00&end=2026-12-01T00:00"  # pair-a's samples


def _fill(store: Store) -> None:
    """Two pairs; pair-a has 30 days of one-minute samples with one drop to 0 and one peak."""
    cur = store.cursor()
    for pair, primary, secondary in (("pair-a", "A1", "A2"), ("pair-b", "B1", "B2")):
        cur.execute(
            "INSERT INTO pairs (pair, site, primary_serial, secondary_serial,"
            " active_serial, origin, updated_at) VALUES (?, 'site-1', ?, ?, ?,"
            " 'inventory', now())",
            [pair, primary, secondary, primary],
        )
        for serial, role in ((primary, "primary"), (secondary, "secondary")):
            cur.execute(
                "INSERT INTO devices (serial, pair, role) VALUES (?, ?, ?)", [serial, pair, role]
            )
    cur.execute(
        "INSERT INTO session_samples SELECT ?::TIMESTAMPTZ + to_minutes(i::BIGINT), 'pair-a',"
        " 'A1', CASE WHEN i = 20000 THEN 0 WHEN i = 30000 THEN 99999 ELSE 1000 + i % 7 END,"
        " 0, 1 FROM range(43200) t(i)",
        [START],
    )


@pytest.fixture
def store(tmp_path: Path) -> Any:
    with Store(tmp_path / "hawatch.duckdb") as store:
        _fill(store)
        yield store


@pytest.fixture
def app(store: Store) -> Flask:
    Credentials(store.path).add("vera", "viewer", PASSWORD)
    return dashboard_app(store)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    client, status = log_in(app, "vera", PASSWORD)
    assert status == 302
    return client


def health_of(page: str, pair: str) -> str:
    row = re.search(rf'data-pair="{pair}">.*?class="sev sev-(\w+)"', page, re.S)
    assert row is not None
    return row.group(1)


def test_the_fleet_page_changes_with_an_incident_and_with_its_resolution(client, store):
    assert health_of(client.get("/").get_data(as_text=True), "pair-b") == "ok"
    cur = store.cursor()
    cur.execute(
        "INSERT INTO incidents (incident_id, pair, kind, severity, opened_at, status,"
        " summary, evidence, first_detected, last_updated) VALUES (1, 'pair-b',"
        " 'split_brain', 'critical', now(), 'open', 'both active', '{}', now(),"
        " now())"
    )
    assert health_of(client.get("/").get_data(as_text=True), "pair-b") == "critical"
    assert client.get("/api/v1/pairs").get_json()["pairs"][1]["health"] == "critical"
    cur.execute(
        "UPDATE incidents SET status = 'resolved', resolved_at = now(),"
        " last_updated = now() + INTERVAL 1 SECOND"
    )
    assert health_of(client.get("/").get_data(as_text=True), "pair-b") == "ok"


def test_an_acknowledgement_shows_in_the_incidents_api_at_once(client, store):
    cur = store.cursor()
    cur.execute(
        "INSERT INTO incidents (incident_id, pair, kind, severity, opened_at, status,"
        " summary, evidence, first_detected, last_updated) VALUES (7, 'pair-a',"
        " 'flapping', 'warning', now(), 'open', 'flaps', '{}', now(), now())"
    )
    assert client.get("/api/v1/incidents").get_json()["incidents"][0]["acknowledged"] is False
    cur.execute("INSERT INTO acknowledgements VALUES (7, 'olga', 'seen', now(), NULL)")
    assert client.get("/api/v1/incidents").get_json()["incidents"][0]["acknowledged"] is True


def test_the_data_version_moves_with_an_analysis_run_and_an_ingest(store):
    cur = store.cursor()
    before = data_version(cur)
    cur.execute("INSERT INTO analysis_runs VALUES (now(), 'full', 2, 0, 0, 0, 0, 0.1)")
    after_run = data_version(cur)
    cur.execute(
        "INSERT INTO sources VALUES (1, 'x.log', 'f', 10, 'syslog', 5, 1, true,"
        " now(), now(), 'file', 0, 1)"
    )
    assert len({before, after_run, data_version(cur)}) == 3


def test_an_unchanged_page_is_a_304_and_a_changed_one_is_not(client, store):
    first = client.get("/")
    tag = first.headers["ETag"]
    assert first.status_code == 200 and tag
    again = client.get("/", headers={"If-None-Match": tag})
    assert again.status_code == 304 and again.data == b""
    store.cursor().execute(
        "UPDATE pairs SET site = 'site-2', updated_at = now() WHERE pair = 'pair-b'"
    )
    changed = client.get("/", headers={"If-None-Match": tag})
    assert changed.status_code == 200 and changed.headers["ETag"] != tag
    assert "site-2" in changed.get_data(as_text=True)


def test_large_pages_are_gzipped_for_clients_that_accept_it(client):
    plain = client.get(f"/pairs/pair-a?{THIRTY_DAYS}")
    zipped = client.get(f"/pairs/pair-a?{THIRTY_DAYS}", headers={"Accept-Encoding": "gzip"})
    assert "Content-Encoding" not in plain.headers
    assert zipped.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(zipped.data) == plain.data
    assert zipped.headers["ETag"] != plain.headers["ETag"]  # one tag per representation
    assert "Accept-Encoding" in zipped.headers["Vary"]


def test_the_chart_keeps_the_drop_and_the_peak_of_30_days_in_few_points(store):
    cur = store.cursor()
    full = pair_detail(cur, "pair-a", days=30)
    reduced = pair_detail(cur, "pair-a", days=30, buckets=300)
    assert full is not None and reduced is not None
    raw, points = full.samples["A1"], reduced.samples["A1"]
    assert len(raw) == 43200 and len(points) <= 600
    values = [c for _, c in points]
    assert min(values) == 0 and max(values) == 99999
    assert [t for t, _ in points] == sorted(t for t, _ in points)
    drop = next(t for t, c in raw if c == 0)
    assert (drop, 0) in points  # at its own time, not at the bucket's start


def test_a_short_window_is_not_thinned(store):
    cur = store.cursor()
    full = pair_detail(cur, "pair-a", days=0.1)
    reduced = pair_detail(cur, "pair-a", days=0.1, buckets=600)
    assert reduced.samples == full.samples and len(full.samples["A1"]) > 100


def test_the_pair_page_draws_the_reduced_series(client):
    page = client.get(f"/pairs/pair-a?{THIRTY_DAYS}").get_data(as_text=True)
    figure = json.loads(
        re.search(
            r'<script type="application/json" data-plotly-for="connections-chart">(.*?)</script>',
            page,
            re.S,
        ).group(1)
    )["data"]
    line = next(t for t in figure if "(A1)" in t.get("name", ""))
    assert len(line["y"]) <= 1200 and 0 in line["y"] and 99999 in line["y"]
    api = client.get("/api/v1/pairs/pair-a?days=30").get_json()
    assert len(api["series"]["A1"]) == 43200  # the API keeps every sample


def test_one_build_per_key_however_many_threads_ask():
    cache = RenderCache(4)
    release = threading.Event()
    builds: list[int] = []

    def build() -> str:
        builds.append(1)
        release.wait(5)
        return "page"

    results: list[str] = []
    threads = [
        threading.Thread(target=lambda: results.append(cache.get("k", build))) for _ in range(8)
    ]
    for t in threads:
        t.start()
    release.set()
    for t in threads:
        t.join(10)
    assert results == ["page"] * 8 and len(builds) == 1


def test_the_cache_keeps_only_its_newest_entries():
    cache = RenderCache(2)
    for key in ("a", "b", "c"):
        cache.get(key, lambda key=key: key.upper())
    rebuilt: list[str] = []
    assert cache.get("a", lambda: rebuilt.append("a") or "A2") == "A2" and rebuilt == ["a"]
    assert cache.get("c", lambda: "never") == "C"


def test_markup_in_a_pair_name_and_a_site_renders_as_text_on_the_fleet_page(client, store):
    store.cursor().execute(
        "INSERT INTO pairs (pair, site, ha_mode, origin, updated_at) VALUES"
        " ('<script>alert(1)</script>', '\"><img src=x onerror=alert(2)>', '<b>x</b>',"
        " 'log', now())"
    )
    page = client.get("/").get_data(as_text=True)
    assert "<script>alert" not in page and "<img" not in page and "<b>x" not in page
    assert 'data-pair="&lt;script&gt;alert(1)&lt;/script&gt;"' in page
    assert 'href="/pairs/%3Cscript%3Ealert%281%29%3C%2Fscript%3E"' in page
    assert "&#34;&gt;&lt;img src=x onerror=alert(2)&gt;" in page
    assert "&lt;b&gt;x&lt;/b&gt;" in page


def test_a_pair_that_fell_silent_shows_its_own_last_days(store):
    cur = store.cursor()
    cur.execute(
        "INSERT INTO session_samples SELECT ?::TIMESTAMPTZ + to_minutes(i::BIGINT),"
        " 'pair-b', 'B1', 500, 0, 1 FROM range(600) t(i)",
        [START],
    )
    detail = pair_detail(cur, "pair-b", days=1, buckets=100)
    assert detail.end == START + timedelta(minutes=599)  # not the store's newest sample
    assert detail.samples["B1"][0][0] == START and len(detail.samples["B1"]) <= 200
    assert pair_detail(cur, "pair-a", days=1).end == START + timedelta(minutes=43199)


@pytest.mark.parametrize(
    "path", ["/api/v1/pairs", "/api/v1/pairs/pair-a", "/api/v1/incidents", "/pairs/pair-a"]
)
def test_the_api_and_the_pair_page_answer_304_to_their_own_etag(client, path):
    tag = client.get(path).headers["ETag"]
    assert client.get(path, headers={"If-None-Match": tag}).status_code == 304
    assert client.get(path, headers={"If-None-Match": '"other"'}).status_code == 200


def test_the_pair_total_of_30_days_is_drawn_in_few_points(client, store):
    cur = store.cursor()
    cur.execute(
        "INSERT INTO rollup_dirty SELECT pair, min(time), max(time)"
        " FROM session_samples GROUP BY pair"
    )
    refresh_rollups(cur)  # as ingest does
    page = client.get(f"/pairs/pair-a?{THIRTY_DAYS}").get_data(as_text=True)
    figure = json.loads(
        re.search(
            r'<script type="application/json" data-plotly-for="connections-chart">(.*?)</script>',
            page,
            re.S,
        ).group(1)
    )["data"]
    total = next(t for t in figure if t.get("meta") == "pair-total")
    assert 600 <= len(total["y"]) <= 1200 and max(total["y"]) >= 1006
    api = client.get(f"/api/v1/pairs/pair-a?{THIRTY_DAYS}").get_json()
    assert len(api["total"]) == 30 * 288  # the API keeps every 5-minute bucket
    assert api["data_end"] == "2026-11-30T23:59:00Z"
