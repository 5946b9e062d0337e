"""The SQL console in a real browser (Debian's chromium through Playwright, the fixtures of
tests/test_browser.py): a bad query shows DuckDB's hint, the schema browser puts names into
the editor, the history lists the viewer's own queries and a click puts one back, and none
of it breaks the Content-Security-Policy. A screenshot of the console is saved when
HAWATCH_SQL_SCREENSHOT names a file."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.test_browser import (  # noqa: F401 (fixtures)
    base_url,
    browser,
    filled,
    login,
    watch_for_policy_violations,
)

pytestmark = pytest.mark.timeout(180)


@pytest.fixture
def viewer(browser: Browser, base_url: str) -> Iterator[Page]:  # noqa: F811
    yield from login(browser, base_url, "viewer")


@pytest.fixture
def operator(browser: Browser, base_url: str) -> Iterator[Page]:  # noqa: F811
    yield from login(browser, base_url, "operator")


def run(page: Page, query: str) -> None:
    page.fill("#sql-editor", query)
    page.click("form.sql button[type=submit]")
    page.wait_for_load_state()


def test_the_console_hints_browses_the_schema_and_keeps_history(viewer: Page, operator: Page):
    seen = watch_for_policy_violations(viewer)
    viewer.goto("/sql")

    run(viewer, "SELECT pair, sitee FROM pairs")  # a misspelt column
    expect(viewer.locator("p.error")).to_contain_text('Referenced column "sitee" not found')
    hint = viewer.locator("pre.error-hint")
    expect(hint).to_contain_text("Candidate bindings:")
    expect(hint).to_contain_text('"site"')
    expect(hint).to_contain_text("LINE 1: SELECT pair, sitee FROM pairs")

    run(viewer, "SELECT * FROM pairz")  # a misspelt table
    expect(viewer.locator("pre.error-hint")).to_contain_text('Did you mean "pairs"?')

    # the filter: a column's name finds its tables, opened at it
    viewer.fill("#schema-filter", "max_connections")
    expect(viewer.locator("details.relation:visible")).to_have_count(1)
    expect(viewer.locator("details[data-relation='status_samples'] li.match")).to_be_visible()
    viewer.fill("#schema-filter", "")
    expect(viewer.locator("details.relation:visible")).not_to_have_count(1)

    # the schema browser: a column and a table, clicked into the editor
    viewer.fill("#sql-editor", "SELECT")
    viewer.locator("#sql-editor").press("End")
    pairs = viewer.locator("details[data-relation='pairs']")
    expect(pairs.locator("summary .meaning")).to_have_text("the HA pairs and their current state")
    pairs.locator("summary .meaning").click()  # opens it
    site = pairs.locator("li[data-column='site']")
    expect(site.locator(".type")).to_have_text("VARCHAR")
    site.locator("button.insert").click()
    viewer.locator("#sql-editor").press_sequentially(" FROM")
    pairs.locator("summary button.insert").click()
    assert viewer.input_value("#sql-editor") == "SELECT site FROM pairs"
    viewer.click("form.sql button[type=submit]")
    expect(viewer.locator("tr.result-row")).to_have_count(8)
    assert viewer.locator("details[data-relation='sql_history']").count() == 0  # private

    # the history: newest first, failures marked, a click puts the query back
    entries = viewer.locator("li.history-entry")
    expect(entries).to_have_count(3)
    expect(entries.nth(0).locator("a.reuse")).to_have_text("SELECT site FROM pairs")
    expect(entries.nth(1)).to_contain_text("failed")
    entries.nth(2).locator("a.reuse").click()
    assert viewer.input_value("#sql-editor") == "SELECT pair, sitee FROM pairs"
    assert viewer.url.endswith("/sql")  # put back in the editor, nothing sent
    if os.environ.get("HAWATCH_SQL_SCREENSHOT"):
        run(viewer, "SELECT pair, sitee FROM pairs")
        viewer.locator("details[data-relation='pairs']").locator("summary .meaning").click()
        viewer.set_viewport_size({"width": 1400, "height": 900})
        viewer.screenshot(path=os.environ["HAWATCH_SQL_SCREENSHOT"], full_page=True)

    # the schema doc, served by the dashboard itself
    viewer.click("a.schema-doc")
    expect(viewer.locator("body")).to_contain_text("# The hawatch SQL schema")
    viewer.wait_for_timeout(300)  # policy reports arrive asynchronously
    # (a refused query is a 400 answer, which chromium logs as a failed load: expected)
    assert [s for s in seen if "status of 400" not in s] == []

    operator.goto("/sql")  # another user: none of the viewer's queries
    expect(operator.locator("p.history-empty")).to_be_visible()
    assert operator.locator("li.history-entry").count() == 0
