"""The dashboard end to end in a real browser: Debian's chromium driven by Playwright, over
the real app served by werkzeug in a thread, around a store filled from sample_logs.

Skipped only when /usr/bin/chromium is missing (`apt-get install -y chromium`); the README's
test command installs it, so CI always runs these."""

from __future__ import annotations

import csv
import io
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path("/usr/bin/chromium")
if not CHROMIUM.exists():
    pytest.skip(
        "no /usr/bin/chromium: apt-get install -y chromium to run the browser tests",
        allow_module_level=True,
    )

from hawatch.analytics.analyze import analyze  # noqa: E402
from hawatch.collector.ingest import ingest_paths  # noqa: E402
from hawatch.dashboard.app import create_app  # noqa: E402
from hawatch.dashboard.credentials import Credentials  # noqa: E402
from hawatch.store import Store  # noqa: E402
from playwright.sync_api import Browser, Page, expect, sync_playwright  # noqa: E402
from werkzeug.serving import make_server  # noqa: E402

from hawatch.config import load_config  # noqa: E402

pytestmark = pytest.mark.timeout(120)

PASSWORD = "browser-password-1"
SAMPLE_LOGS = Path(__file__).resolve().parent.parent / "sample_logs"
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
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
HOSTILE = "<script>window.__pwned=1</script>"
TIMEOUT_MS = 15_000


@pytest.fixture(scope="module")
def filled(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    path = tmp_path_factory.mktemp("browser") / "hawatch.duckdb"
    with Store(path) as store:
        ingest_paths(store, [str(SAMPLE_LOGS)])
        analyze(store)
        for iid, pair, kind, severity, summary in [
            (9001, "fra1-ha02", "flapping", "warning", "still going"),
            (9002, "nyc1-ha01", "split_brain", "critical", f"hostile {HOSTILE} summary"),
        ]:
            store.cursor().execute(
                "INSERT INTO incidents (incident_id, pair, kind, severity, opened_at, status,"
                " summary, evidence, first_detected, last_updated) VALUES (?, ?, ?, ?,"
                " now(), 'open', ?, '{}', now(), now())",
                [iid, pair, kind, severity, summary],
            )
        store.lock_down()
        yield store


@pytest.fixture(scope="module")
def base_url(filled: Store) -> Iterator[str]:
    credentials = Credentials(filled.path)
    for role in ("viewer", "operator", "admin"):
        credentials.add(role, role, PASSWORD)
    settings = load_config(env={})
    settings.update({"db": filled.path})
    server = make_server("127.0.0.1", 0, create_app(settings, filled, None), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=ARGS, headless=True, timeout=60_000
        )
        try:
            yield launched
        finally:
            launched.close()


def login(browser: Browser, base_url: str, name: str) -> Iterator[Page]:
    context = browser.new_context(base_url=base_url, accept_downloads=True)
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    try:
        page.goto("/login")
        page.fill("input[name=username]", name)
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(f"{base_url}/")
        yield page
    finally:
        context.close()


@pytest.fixture
def viewer(browser: Browser, base_url: str) -> Iterator[Page]:
    yield from login(browser, base_url, "viewer")


@pytest.fixture
def operator(browser: Browser, base_url: str) -> Iterator[Page]:
    yield from login(browser, base_url, "operator")


def test_login_shows_the_fleet_of_eight_pairs(viewer: Page):
    expect(viewer.locator("tr.pair-row")).to_have_count(8)
    pairs = viewer.locator("tr.pair-row").evaluate_all("rows => rows.map(r => r.dataset.pair)")
    assert sorted(pairs) == PAIRS
    expect(viewer.locator("p.count")).to_have_text("8 pairs")


def test_the_pair_page_draws_the_plotly_chart(viewer: Page):
    viewer.click("a[href='/pairs/fra1-ha02']")
    viewer.wait_for_url("**/pairs/fra1-ha02")
    chart = viewer.locator(".js-plotly-plot").first
    expect(chart).to_be_visible()
    expect(chart.locator("svg.main-svg").first).to_be_visible()
    expect(chart.locator(".scatterlayer .trace").first).to_be_attached()
    modes = chart.evaluate("el => el.data.map(t => t.mode)")
    assert "lines" in modes and "markers" in modes
    assert chart.locator(".scatterlayer .trace path.point").count() > 0


def test_an_operator_acknowledges_an_open_incident(operator: Page, filled: Store):
    operator.goto("/incidents?status=open")
    row = operator.locator("tr[data-incident='9001']")
    expect(row.locator("td.ack-state")).to_have_text("not acknowledged")
    row.locator("form.ack input[name=comment]").fill("on it from the browser")
    row.locator("form.ack button").click()
    operator.wait_for_load_state()
    expect(operator.locator("tr[data-incident='9001'] td.ack-state")).to_contain_text(
        "acknowledged by operator"
    )
    assert filled.cursor().execute(
        "SELECT acked_by, comment FROM acknowledgements WHERE incident_id = 9001"
    ).fetchone() == ("operator", "on it from the browser")


def test_a_sql_query_runs_and_downloads_as_csv(viewer: Page):
    viewer.goto("/sql")
    viewer.fill("textarea[name=q]", "SELECT pair, site FROM pairs ORDER BY pair")
    viewer.click("form.sql button[type=submit]")
    expect(viewer.locator("tr.result-row")).to_have_count(8)
    with viewer.expect_download() as info:
        viewer.get_by_role("button", name="Download CSV").click()
    download = info.value
    assert download.suggested_filename.endswith(".csv")
    rows = list(csv.reader(io.StringIO(Path(download.path()).read_text("utf-8"))))
    assert rows[0] == ["pair", "site"]
    assert [r[0] for r in rows[1:]] == PAIRS


@pytest.mark.parametrize("path", ["/incidents", "/pairs/nyc1-ha01"])
def test_a_hostile_summary_stays_inert_text(viewer: Page, path: str):
    viewer.goto(path)
    expect(viewer.get_by_text(HOSTILE).first).to_be_visible()
    pwned: Any = viewer.evaluate("() => typeof window.__pwned")
    assert pwned == "undefined"


def test_an_unknown_page_is_an_html_404_with_the_path_inert(viewer: Page):
    hostile = "<img src=x onerror=window.__pwned=1>"
    response = viewer.goto(f"/pairs/{hostile}")
    assert response is not None and response.status == 404
    expect(viewer.locator("h1")).to_have_text("No such pair")
    expect(viewer.get_by_text(hostile)).to_be_visible()
    response = viewer.goto("/no/such/page")
    assert response is not None and response.status == 404
    expect(viewer.locator("h1.error-title")).to_have_text("404 Not Found")
    pwned: Any = viewer.evaluate("() => typeof window.__pwned")
    assert pwned == "undefined"


def test_the_fleet_page_comes_gzipped_and_a_reload_revalidates_it(viewer: Page):
    response = viewer.goto("/")
    assert response is not None and response.headers["content-encoding"] == "gzip"
    tag = response.headers["etag"]
    again = viewer.reload()
    # chromium revalidates its copy with the tag (the server's 304 reaches the page as the
    # cached 200, so the request is what shows it)
    assert again is not None and again.request.all_headers().get("if-none-match") == tag
    expect(viewer.locator("tr.pair-row")).to_have_count(8)


def watch_for_policy_violations(page: Page) -> list[str]:
    """Every Content-Security-Policy violation and console error the page reports."""
    seen: list[str] = []
    page.on(
        "console",
        lambda m: seen.append(f"console {m.type}: {m.text}") if m.type == "error" else None,
    )
    page.on("pageerror", lambda e: seen.append(f"page error: {e}"))
    page.add_init_script(
        "document.addEventListener('securitypolicyviolation', e => console.error("
        "'CSP violation: ' + e.violatedDirective + ' ' + e.blockedURI));"
    )
    return seen


@pytest.mark.parametrize("path", ["/", "/pairs/fra1-ha02", "/incidents", "/ingest", "/sql"])
def test_every_page_works_under_its_content_security_policy(viewer: Page, path: str):
    seen = watch_for_policy_violations(viewer)
    response = viewer.goto(path)
    assert response is not None and response.status == 200
    policy = response.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy
    assert "unsafe-inline" not in policy.split("script-src")[1].split(";")[0]
    if path.startswith("/pairs/"):
        chart = viewer.locator(".js-plotly-plot").first
        expect(chart.locator(".scatterlayer .trace path.point").first).to_be_attached()
        chart.locator(".nsewdrag").first.hover()  # hover labels are styled by Plotly
    if path == "/sql":
        viewer.fill("textarea[name=q]", "SELECT pair FROM pairs ORDER BY pair")
        viewer.click("form.sql button[type=submit]")
        expect(viewer.locator("tr.result-row")).to_have_count(8)
        viewer.get_by_role("button", name="Top flapping pairs").click()
        expect(viewer.locator("p.result-info")).to_be_visible()
    viewer.wait_for_timeout(300)  # reports arrive asynchronously
    assert seen == []
