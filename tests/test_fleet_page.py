"""The fleet page of issue 14 over a real store (tests/fleet_store.py: every health): worst
first, the summary strip and its filter links, the Last incident column, paging, the
wallboard, and the stylesheet and scripts under fingerprinted, gzipped, long-cached URLs."""

from __future__ import annotations

import gzip
import hashlib
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hawatch.dashboard.credentials import Credentials
from hawatch.dashboard.timefmt import when_text
from hawatch.store import Store

from tests.conftest import dashboard_app, log_in
from tests.fleet_store import HEALTH, INCIDENTS, NOW, WORST_FIRST, fill_fleet

PASSWORD = "fleet-password-1"
STATIC = Path(__file__).resolve().parent.parent / "dashboard" / "static"


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Any:
    with Store(tmp_path_factory.mktemp("fleet") / "hawatch.duckdb") as store:
        fill_fleet(store)
        Credentials(store.path).add("vera", "viewer", PASSWORD)
        yield store


@pytest.fixture(scope="module")
def app(store: Store) -> Flask:
    return dashboard_app(store, **{"dashboard.fleet_page_size": 5})


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    client, status = log_in(app, "vera", PASSWORD)
    assert status == 302
    return client


def listed(page: str) -> list[str]:
    return re.findall(r'<tr class="pair-row[^"]*" data-pair="([^"]+)"', page)


def text(client: FlaskClient, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    return response.get_data(as_text=True)


def test_the_fleet_is_worst_first_then_newest_incident_first(client):
    page = text(client, "/?per_page=50")
    assert listed(page) == WORST_FIRST
    health = re.findall(r'data-pair="[^"]+"><td>.*?<td><span class="sev sev-(\w+)">', page)
    assert health == [HEALTH[p] for p in WORST_FIRST]
    # a chosen column still sorts; the name is the tie-break
    assert listed(text(client, "/?per_page=50&sort=pair")) == sorted(WORST_FIRST)


def test_the_last_incident_column_shows_the_newest_incident_of_any_status(client):
    page = text(client, "/?per_page=50")
    opened = {p: NOW.timestamp() - h * 3600 for p, _, _, h in INCIDENTS}
    for pair in ("crit-new", "ok-03", "ok-05"):
        row = re.search(rf'data-pair="{pair}">(.*?)</tr>', page, re.S).group(1)
        cell = re.search(r'<td class="time last-incident">(.*?)</td>', row).group(1)
        expected = when_text(datetime.fromtimestamp(opened[pair], UTC))
        assert cell.endswith(f">{expected}</time>"), (pair, cell)
    row = re.search(r'data-pair="ok-01">(.*?)</tr>', page, re.S).group(1)
    assert '<td class="time last-incident">—</td>' in row


def tiles(page: str, kind: str) -> dict[str, tuple[str, int]]:
    """The summary strip's links of one kind: word -> (href, count)."""
    found = re.findall(
        rf'<a class="tile[^"]*" data-{kind}="(\w+)" href="([^"]+)">'
        r'<span class="sev sev-\w+">\w+</span> <span class="n">([\d,]+)</span>',
        page,
    )
    return {word: (href.replace("&amp;", "&"), int(n.replace(",", ""))) for word, href, n in found}


def test_the_summary_strip_counts_and_its_links_filter(client):
    page = text(client, "/")
    health = tiles(page, "health")
    assert {w: n for w, (_, n) in health.items()} == {
        "critical": 2,
        "warning": 2,
        "stale": 1,
        "ok": 7,
    }
    for word, (href, count) in health.items():
        assert href == f"/?health={word}"
        shown = listed(text(client, href + "&per_page=50"))
        assert shown == [p for p in WORST_FIRST if HEALTH[p] == word] and len(shown) == count
    severity = tiles(page, "severity")
    assert {w: n for w, (_, n) in severity.items()} == {"critical": 2, "warning": 1, "info": 1}
    for word, (href, count) in severity.items():
        assert href == f"/incidents?status=open&severity={word}"
        rows = re.findall(r'<tr class="incident incident-(\w+)"', text(client, href))
        assert rows == ["open"] * count, (word, rows)


def test_the_fleet_comes_in_pages_of_the_configured_size(client):
    first = text(client, "/")
    assert listed(first) == WORST_FIRST[:5]
    assert "12 pairs, 1–5 shown" in first and "page 1 of 3" in first
    seen = []
    url: str | None = "/"
    while url:
        page = text(client, url)
        seen += listed(page)
        found = re.search(r'<a class="next" rel="next" href="([^"]+)"', page)
        url = found.group(1).replace("&amp;", "&") if found else None
    assert seen == WORST_FIRST
    assert listed(text(client, "/?per_page=4&page=3")) == WORST_FIRST[8:12]
    # past the end: the last page, not an empty one
    assert listed(text(client, "/?page=99")) == WORST_FIRST[10:]
    assert client.get("/?page=two").status_code == 400
    body = client.get("/api/v1/pairs?sort=worst&per_page=5&page=2").get_json()
    assert [p["pair"] for p in body["pairs"]] == WORST_FIRST[5:10]
    assert (body["count"], body["page"], body["per_page"]) == (12, 2, 5)
    assert "total" not in body["pairs"][0]
    assert len(client.get("/api/v1/pairs").get_json()["pairs"]) == 12  # unpaged as before


def test_the_wallboard_shows_the_pairs_that_are_not_ok_and_the_counts(client, app):
    response = client.get("/wallboard")
    page = response.get_data(as_text=True)
    assert listed(page) == [p for p in WORST_FIRST if HEALTH[p] != "ok"]
    counts = dict(re.findall(r'data-health="(\w+)"><span class="n">(\d+)</span>', page))
    assert counts == {"critical": "2", "warning": "2", "stale": "1", "ok": "7"}
    assert re.search(r'<html lang="en" data-theme="dark" data-theme-fixed>', page)
    assert '<meta http-equiv="refresh" content="30">' in page
    # no controls: no navigation, no forms, no buttons
    assert "<form" not in page and "<button" not in page and "<nav" not in page
    # each reload renews the screen's login (a sliding session)
    assert "hawatch_session=" in response.headers.get("Set-Cookie", "")
    assert app.test_client().get("/wallboard").status_code == 302  # a login is needed


def test_the_wallboard_says_all_ok_when_all_are(tmp_path):
    with Store(tmp_path / "ok.duckdb") as store:
        store.cursor().execute(
            "INSERT INTO pairs (pair, primary_serial, secondary_serial, origin, updated_at)"
            " VALUES ('calm', 'C1', 'C2', 'inventory', now())"
        )
        Credentials(store.path).add("vera", "viewer", PASSWORD)
        client, _ = log_in(dashboard_app(store), "vera", PASSWORD)
        page = text(client, "/wallboard")
    assert listed(page) == [] and "all 1 pairs ok" in page


def asset_urls(page: str) -> dict[str, str]:
    return {
        m.group(2): m.group(0).split('"')[1]
        for m in re.finditer(r'(?:href|src)="/assets/([0-9a-f]{12})/([\w.]+)"', page)
    }


@pytest.mark.parametrize("name", ["hawatch.css", "theme.js", "chart.js", "plotly.min.js"])
def test_assets_are_fingerprinted_gzipped_and_cached_for_good(client, app, name):
    urls = asset_urls(text(client, "/pairs/crit-new"))
    url = urls[name]
    data = (STATIC / name).read_bytes() if name != "plotly.min.js" else None
    if data is not None:
        assert url.split("/")[2] == hashlib.sha256(data).hexdigest()[:12]
    stranger = app.test_client()  # no login: the login page needs the stylesheet too
    zipped = stranger.get(url, headers={"Accept-Encoding": "gzip, deflate"})
    assert zipped.status_code == 200 and zipped.headers["Content-Encoding"] == "gzip"
    assert zipped.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert "Accept-Encoding" in zipped.headers["Vary"]
    plain = stranger.get(url)
    assert "Content-Encoding" not in plain.headers
    assert gzip.decompress(zipped.data) == plain.data
    assert data is None or plain.data == data
    assert len(zipped.data) < len(plain.data)
    if name == "plotly.min.js":  # 4.8 MB as it is
        assert len(zipped.data) < 1_600_000 < 4_000_000 < len(plain.data)
    # an old page's hash: the current file, but only until it is revalidated
    old = stranger.get(url.replace(url.split("/")[2], "0" * 12))
    assert old.status_code == 200 and old.headers["Cache-Control"] == "no-cache"
    assert stranger.get(url.rsplit("/", 1)[0] + "/nope.js").status_code == 404


def test_pages_carry_no_inline_style_or_script_and_link_the_stylesheet(client, app):
    for page in (
        text(client, "/"),
        text(client, "/wallboard"),
        app.test_client().get("/login").get_data(as_text=True),
    ):
        assert "<style" not in page and " style=" not in page
        assert not re.search(r"<script(?![^>]*\bsrc=)(?![^>]*application/json)", page)
        assert set(asset_urls(page)) >= {"hawatch.css", "theme.js"}


def test_the_stylesheet_has_both_themes_and_every_severity_with_a_shape():
    css = (STATIC / "hawatch.css").read_text()
    assert "prefers-color-scheme: dark" in css and ':root[data-theme="dark"]' in css
    for word, colour in (
        ("critical", "#D55E00"),
        ("warning", "#E69F00"),
        ("stale", "#CC79A7"),
        ("ok", "#009E73"),
        ("info", "#0072B2"),
        ("unknown", "#999999"),
    ):
        assert f"--{word}: {colour}" in css
        if word != "unknown":
            shape = r"::before \{ content: \"\\[0-9A-F]{4}\" / \"\"; \}"
            assert re.search(rf"\.sev-{word}{shape}", css), word
