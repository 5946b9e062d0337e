"""The fleet page and the wallboard in a real browser (Debian's chromium, the fixtures of
tests/test_browser.py): worst first, the summary strip's filter links, paging, the
wallboard's look and reload, the theme toggle, and what a first load weighs."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
from hawatch.dashboard.app import create_app
from hawatch.dashboard.credentials import Credentials
from hawatch.store import Store
from playwright.sync_api import Browser, Page, expect
from werkzeug.serving import make_server

from hawatch.config import load_config
from tests.fleet_store import HEALTH, WORST_FIRST, fill_fleet, fill_many
from tests.test_browser import (  # noqa: F401 - fixtures
    PASSWORD,
    TIMEOUT_MS,
    browser,
    login,
    watch_for_policy_violations,
)

pytestmark = pytest.mark.timeout(180)
PAGE_SIZE = 5
MAX_FIRST_LOAD = 600 * 1024


def serve(store: Store, **settings: Any) -> Iterator[str]:
    """The app on `store` under werkzeug in a thread, with a viewer; yields its base URL."""
    Credentials(store.path).add("viewer", "viewer", PASSWORD)
    values = load_config(env={})
    values.update({"db": store.path, **settings})
    server = make_server("127.0.0.1", 0, create_app(values, store, None), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)


@pytest.fixture(scope="module")
def fleet_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with Store(tmp_path_factory.mktemp("fleet") / "hawatch.duckdb") as store:
        fill_fleet(store)
        yield from serve(
            store,
            **{"dashboard.fleet_page_size": PAGE_SIZE, "dashboard.wallboard_refresh_seconds": 2},
        )


@pytest.fixture
def viewer(browser: Browser, fleet_url: str) -> Iterator[Page]:  # noqa: F811
    yield from login(browser, fleet_url, "viewer")


def pairs_shown(page: Page) -> list[str]:
    rows: list[str] = page.locator("tr.pair-row").evaluate_all(
        "rows => rows.map(r => r.dataset.pair)"
    )
    return rows


def test_the_worst_pairs_come_first(viewer: Page):
    viewer.goto("/?per_page=50")
    expect(viewer.locator("tr.pair-row")).to_have_count(len(WORST_FIRST))
    assert pairs_shown(viewer) == WORST_FIRST
    words = viewer.locator("tr.pair-row td:nth-child(2) .sev").all_inner_texts()
    assert words == [HEALTH[p] for p in WORST_FIRST]


def test_the_summary_strip_filters_the_fleet_and_the_incidents(viewer: Page):
    viewer.locator(".pairs-by-health a[data-health=critical]").click()
    viewer.wait_for_url("**/?health=critical")
    assert pairs_shown(viewer) == ["crit-new", "crit-old"]
    viewer.locator(".pairs-by-health a[data-health=stale]").click()
    viewer.wait_for_url("**/?health=stale")
    assert pairs_shown(viewer) == ["stale-1"]
    viewer.locator(".incidents-by-severity a[data-severity=critical]").click()
    viewer.wait_for_url("**/incidents?status=open&severity=critical")
    rows = viewer.locator("tr.incident")
    expect(rows).to_have_count(2)
    assert sorted(rows.locator("td:nth-child(2)").all_inner_texts()) == ["crit-new", "crit-old"]


def test_the_pages_of_the_fleet_follow_one_another(viewer: Page):
    expect(viewer.locator("p.count")).to_contain_text("12 pairs, 1–5 shown")
    seen = pairs_shown(viewer)
    while viewer.locator("a.next").count():
        viewer.locator("a.next").click()
        viewer.wait_for_load_state()
        seen += pairs_shown(viewer)
    assert seen == WORST_FIRST
    expect(viewer.locator(".page-of")).to_have_text("page 3 of 3")
    viewer.locator("a.prev").click()
    viewer.wait_for_url("**page=2")
    assert pairs_shown(viewer) == WORST_FIRST[5:10]


def test_the_wallboard_is_dark_large_bare_and_reloads_itself(viewer: Page):
    seen = watch_for_policy_violations(viewer)
    viewer.goto("/wallboard")
    assert pairs_shown(viewer) == [p for p in WORST_FIRST if HEALTH[p] != "ok"]
    expect(viewer.locator(".board-counts [data-health=ok] .n")).to_have_text("7")
    style: dict[str, str] = viewer.evaluate(
        "() => { const s = getComputedStyle(document.body);"
        " return {bg: getComputedStyle(document.documentElement).backgroundColor,"
        " size: s.fontSize}; }"
    )
    assert style["bg"] == "rgb(20, 23, 26)"  # the dark theme's background
    assert float(style["size"].removesuffix("px")) >= 18
    assert viewer.locator("button, form, nav, input, select").count() == 0
    with viewer.expect_navigation(timeout=10_000):
        pass  # the meta refresh (2 s here) reloads it by itself
    assert viewer.url.endswith("/wallboard")
    assert seen == []


def background(page: Page) -> str:
    value: str = page.evaluate("() => getComputedStyle(document.documentElement).backgroundColor")
    return value


def test_the_theme_follows_the_system_until_toggled_and_is_remembered(
    browser: Browser,  # noqa: F811
    fleet_url: str,
):
    for scheme, expected in (("light", "rgb(255, 255, 255)"), ("dark", "rgb(20, 23, 26)")):
        context = browser.new_context(base_url=fleet_url, color_scheme=scheme)
        context.set_default_timeout(TIMEOUT_MS)
        page = context.new_page()
        seen = watch_for_policy_violations(page)
        page.goto("/login")
        assert background(page) == expected, scheme
        page.fill("input[name=username]", "viewer")
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(f"{fleet_url}/")
        toggle = page.locator("#theme-toggle")
        other = "dark" if scheme == "light" else "light"
        expect(toggle).to_have_text(f"{other.capitalize()} theme")
        toggle.click()
        assert background(page) != expected
        assert page.evaluate("() => localStorage.getItem('hawatch-theme')") == other
        page.goto("/incidents")  # another page, the same choice
        assert background(page) != expected
        expect(page.locator("#theme-toggle")).to_have_text(f"{scheme.capitalize()} theme")
        assert seen == []
        context.close()


@pytest.fixture(scope="module")
def big_fleet_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with Store(tmp_path_factory.mktemp("big") / "hawatch.duckdb") as store:
        fill_many(store, 2000)
        yield from serve(store)


def test_the_first_load_of_a_2000_pair_fleet_is_under_600_kb(browser: Browser, big_fleet_url: str):  # noqa: F811
    """Bytes on the wire (headers and gzipped bodies) as chromium counts them, from an empty
    cache: the login, then the fleet page and everything it loads."""
    session = login(browser, big_fleet_url, "viewer")
    page = next(session)
    try:
        client = page.context.new_cdp_session(page)
        client.send("Network.enable")
        client.send("Network.clearBrowserCache")
        loaded: dict[str, float] = {}
        urls: dict[str, tuple[str, bool]] = {}
        client.on(
            "Network.responseReceived",
            lambda e: urls.__setitem__(
                e["requestId"],
                (
                    e["response"]["url"],
                    e["response"].get("fromDiskCache", False)
                    or e["response"].get("fromMemoryCache", False),
                ),
            ),
        )
        client.on(
            "Network.loadingFinished",
            lambda e: loaded.__setitem__(e["requestId"], e["encodedDataLength"]),
        )
        from_cache: set[str] = set()
        client.on("Network.requestServedFromCache", lambda e: from_cache.add(e["requestId"]))
        page.goto("/")
        page.wait_for_load_state("networkidle")
        expect(page.locator("tr.pair-row")).to_have_count(100)
        expect(page.locator("p.count")).to_contain_text("2,000 pairs")
        total = sum(loaded.values())
        names = sorted(u.rsplit("/", 1)[-1] for u, _ in urls.values())
        print(
            f"first load of the fleet page, 2,000 pairs: {total / 1024:.1f} KB in"
            f" {len(loaded)} responses: {names}"
        )
        assert names == ["", "hawatch.css", "theme.js"]
        assert total < MAX_FIRST_LOAD
        # the next page takes the stylesheet and script from the cache, unasked
        urls.clear()
        page.goto("/?page=2")
        page.wait_for_load_state("networkidle")
        assets = [
            cached or rid in from_cache for rid, (url, cached) in urls.items() if "/assets/" in url
        ]
        assert assets == [True, True]
    finally:
        session.close()
