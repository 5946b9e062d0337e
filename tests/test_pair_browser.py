"""The pair page's chart in a real browser (Debian's chromium and Playwright, over the real
app around a store filled from sample_logs: tests/test_browser.py's fixtures): the time
range picker, the notice when the data ends before the range, and the incidents drawn as
shaded regions with hover text.

sample_logs ends on 2026-11-04, before the wall clock: a range counted back from now finds
no data there, which is what the notice is for; ranges over the data are custom ones."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests import test_browser as shared  # skips this module too without chromium

# its fixtures, for a store, a served app and a logged-in viewer of this module's own
filled, base_url, browser, viewer = shared.filled, shared.base_url, shared.browser, shared.viewer

pytestmark = pytest.mark.timeout(120)

# fra1-ha02's unsynced failover and session drop (critical), on 2026-11-02 at about 12:30
AROUND_THE_DROP = "start=2026-11-02T06:00&end=2026-11-02T18:00"


def chart_range(page: Page) -> tuple[datetime, datetime]:
    """The x-range the drawn chart shows (Plotly's own layout, after drawing)."""
    chart = page.locator("#connections-chart.js-plotly-plot")
    expect(chart.locator("svg.main-svg").first).to_be_attached()
    low, high = chart.evaluate("el => el._fullLayout.xaxis.range")
    return tuple(
        datetime.fromisoformat(v).replace(tzinfo=UTC)  # type: ignore[return-value]
        for v in (low, high)
    )


def figure(page: Page) -> dict[str, Any]:
    chart = page.locator("#connections-chart.js-plotly-plot")
    expect(chart.locator("svg.main-svg").first).to_be_attached()
    result: dict[str, Any] = chart.evaluate(
        "el => ({data: el.data.map(t => ({name: t.name || '', meta: t.meta || '', text: t.text,"
        " n: (t.x || []).length})), shapes: el.layout.shapes || []})"
    )
    return result


def test_a_preset_sets_the_chart_range_and_the_url(viewer: Page):
    viewer.goto("/pairs/fra1-ha02")
    low, high = chart_range(viewer)
    assert high - low == timedelta(hours=24)  # the default, counted back from now
    assert abs(high - datetime.now(UTC)) < timedelta(minutes=3)
    viewer.get_by_role("link", name="7 d", exact=True).click()
    viewer.wait_for_url(re.compile(r"/pairs/fra1-ha02\?range=7d$"))
    low, high = chart_range(viewer)
    assert high - low == timedelta(days=7)
    assert abs(high - datetime.now(UTC)) < timedelta(minutes=3)
    expect(viewer.locator(".range-presets a.current")).to_have_text("7 d")
    expect(viewer.locator("h2#connections")).to_have_text("Connections, last 7 d")


def test_a_custom_range_goes_into_the_url_and_the_chart(viewer: Page):
    viewer.goto("/pairs/fra1-ha02?range=1h")
    viewer.fill("form.custom-range input[name=start]", "2026-11-02T06:00")
    viewer.fill("form.custom-range input[name=end]", "2026-11-02T18:00")
    viewer.click("form.custom-range button[type=submit]")
    viewer.wait_for_url(re.compile(r"start=2026-11-02T06%3A00&end=2026-11-02T18%3A00"))
    assert chart_range(viewer) == (
        datetime(2026, 11, 2, 6, tzinfo=UTC),
        datetime(2026, 11, 2, 18, tzinfo=UTC),
    )
    lines = [
        t for t in figure(viewer)["data"] if t["name"].startswith(("primary (", "secondary ("))
    ]
    assert len(lines) == 2 and all(t["n"] > 10 for t in lines)


def test_the_page_says_when_the_data_ends_before_the_range(viewer: Page):
    viewer.goto("/pairs/fra1-ha02?range=6h")
    notice = viewer.locator("p.data-notice")
    expect(notice).to_have_text(
        re.compile(
            r"No data after 2026-11-03 23:5\d:\d\d UTC: \d+ d( \d+ h)? ago\."
            r" Nothing in this range: show the same span up to its last data\."
        )
    )
    assert not [
        t for t in figure(viewer)["data"] if t["name"].startswith("primary (") and t["n"]
    ]  # nothing drawn in the empty range
    notice.get_by_role("link").click()
    viewer.wait_for_url(re.compile(r"start=2026-11-03T1\d"))
    low, high = chart_range(viewer)
    assert high - low == timedelta(hours=6, minutes=1)  # the same span, to the data's end
    assert high.date() == datetime(2026, 11, 3).date()
    assert [t for t in figure(viewer)["data"] if t["name"].startswith("primary (") and t["n"]]
    expect(viewer.locator("p.data-notice")).to_have_count(0)


def test_the_old_days_parameter_redirects_to_a_range(viewer: Page):
    viewer.goto("/pairs/fra1-ha02?days=0.25")
    viewer.wait_for_url(re.compile(r"\?range=6h$"))
    low, high = chart_range(viewer)
    assert high - low == timedelta(hours=6)


def test_incidents_are_shaded_regions_with_hover_text(viewer: Page):
    viewer.goto(f"/pairs/fra1-ha02?{AROUND_THE_DROP}")
    shown = figure(viewer)
    regions = [s for s in shown["shapes"] if s["name"].startswith("incident ")]
    assert len(regions) == 2  # the unsynced failover and the session drop
    assert {r["fillcolor"] for r in regions} == {"#D55E00"}  # critical
    assert all(r["type"] == "rect" and r["yref"] == "y domain" for r in regions)
    hovers = {t["meta"]: t["text"] for t in shown["data"] if str(t["meta"]).startswith("incident-")}
    assert len(hovers) == 2 and any("critical session_drop" in t for t in hovers.values())
    assert all("2026-11-02 12:" in t for t in hovers.values())
    # the region draws in the page and its hover label names the incident
    assert viewer.locator("#connections-chart .layer-below .shapelayer path").count() >= 2
    x, y = viewer.locator("#connections-chart").evaluate(
        "el => { const xa = el._fullLayout.xaxis, ya = el._fullLayout.yaxis;"
        " const box = el.getBoundingClientRect();"
        " const r = el.layout.shapes.find(s => s.name.startsWith('incident '));"
        " const mid = (xa.d2l(r.x0) + xa.d2l(r.x1)) / 2;"
        " return [box.left + xa._offset + xa.l2p(mid), box.top + ya._offset + 5]; }"
    )
    viewer.mouse.move(x, y)
    expect(viewer.locator("#connections-chart .hoverlayer")).to_contain_text("critical")


def test_an_open_incident_shades_up_to_now(viewer: Page):
    viewer.goto("/pairs/fra1-ha02?range=1h")  # the fixture's open warning, opened just now
    shown = figure(viewer)
    regions = [s for s in shown["shapes"] if s["name"] == "incident 9001"]
    assert len(regions) == 1 and regions[0]["fillcolor"] == "#E69F00"  # warning
    text = next(t["text"] for t in shown["data"] if t["meta"] == "incident-9001")
    assert "warning flapping (open)" in text and "still open" in text


def test_the_pair_total_turns_light_grey_in_the_dark_theme(viewer: Page):
    viewer.goto(f"/pairs/fra1-ha02?{AROUND_THE_DROP}")
    chart = viewer.locator("#connections-chart.js-plotly-plot")
    expect(chart.locator("svg.main-svg").first).to_be_attached()
    total = "el => el.data.find(t => t.meta === 'pair-total').line.color"
    assert chart.evaluate(total) == "#333333"
    viewer.evaluate("() => document.documentElement.setAttribute('data-theme', 'dark')")
    viewer.wait_for_function(
        "() => document.getElementById('connections-chart').data"
        ".find(t => t.meta === 'pair-total').line.color === '#cccccc'"
    )
    viewer.evaluate("() => document.documentElement.setAttribute('data-theme', 'light')")
    viewer.wait_for_function(
        "() => document.getElementById('connections-chart').data"
        ".find(t => t.meta === 'pair-total').line.color === '#333333'"
    )
