"""Operators' actions in a real browser (Debian's chromium, Playwright, the fixtures of
tests/test_browser.py): acknowledge and silence from the pair page, silences and windows
changed and removed on the incidents page, and the audit trail shown on the incident."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from hawatch.analytics.analyze import analyze
from hawatch.collector.ingest import ingest_paths
from hawatch.store import Store
from playwright.sync_api import Page, expect

from tests.test_browser import (  # noqa: F401  (fixtures)
    SAMPLE_LOGS,
    base_url,
    browser,
    operator,
    viewer,
)

pytestmark = pytest.mark.timeout(120)

PAIR = "fra1-ha02"
# opened 3 h 12 min 30 s before the module's store was filled; the tests take a while
AGE = re.compile(r"^3 h 1[2-9] min$")
EVIDENCE = {
    "failover_at": "2026-11-03 16:51:00+00",
    "from_serial": "2CB8ED8C72A3",
    "to_serial": "18B16948450E",
    "stateful_sync": "disabled",
    "connections_before": 37102.0,
    "connections_after": 1484.0,
    "kept_percent": 4.0,
    "vpn_kept_percent": None,
    "recovered_at": None,
}


@pytest.fixture(scope="module")
def filled(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    """The sample logs, plus two open incidents on one pair to act on (the sample logs'
    incidents have all ended)."""
    path = tmp_path_factory.mktemp("browser-incidents") / "hawatch.duckdb"
    with Store(path) as store:
        ingest_paths(store, [str(SAMPLE_LOGS)])
        analyze(store)
        opened = datetime.now(UTC) - timedelta(hours=3, minutes=12, seconds=30)
        for iid, kind in [(9101, "unsynced_failover"), (9102, "session_drop")]:
            store.cursor().execute(
                "INSERT INTO incidents (incident_id, pair, kind, severity, opened_at, status,"
                " summary, evidence, first_detected, last_updated) VALUES (?, ?, ?,"
                " 'critical', ?, 'open', 'kept 4% of 37102 sessions', ?, now(), now())",
                [iid, PAIR, kind, opened, json.dumps(EVIDENCE)],
            )
        store.lock_down()
        yield store


def row(page: Page, incident: int):
    return page.locator(f"tr[data-incident='{incident}']")


def fact(incident, label: str):
    """The evidence line labelled `label` in an incident's row."""
    return incident.locator(
        "table.evidence tr", has=incident.page.locator("th", has_text=label)
    ).locator("td")


def audit(store: Store) -> list[tuple]:
    return (
        store.cursor()
        .execute(
            "SELECT actor, action, target, target_id, pair, comment FROM audit_log"
            " ORDER BY audit_id"
        )
        .fetchall()
    )


def test_the_pair_page_shows_evidence_in_words_age_and_no_actions_to_a_viewer(viewer: Page):  # noqa: F811
    viewer.goto(f"/pairs/{PAIR}")
    incident = row(viewer, 9101)
    expect(fact(incident, "sessions kept")).to_have_text("4%")
    expect(fact(incident, "connections before")).to_have_text("37,102")
    expect(fact(incident, "stateful sync")).to_have_text("off")
    expect(fact(incident, "failover at")).to_contain_text("2026-11-03 16:51")
    expect(incident.locator("td.age")).to_have_text(AGE)
    expect(incident.locator(".sev.sev-critical")).to_have_text("critical")
    expect(incident.locator("td.ack-state")).to_have_text("not acknowledged")
    for raw in ("True", "None", "37102.0", "kept_percent"):
        expect(incident).not_to_contain_text(raw)
    expect(viewer.locator("form.ack")).to_have_count(0)
    expect(viewer.locator("form.silence")).to_have_count(0)


def test_an_operator_acknowledges_from_the_pair_page(operator: Page, filled: Store):  # noqa: F811
    operator.goto(f"/pairs/{PAIR}")
    incident = row(operator, 9101)
    incident.locator("form.ack input[name=comment]").fill("calling the site")
    incident.locator("form.ack button").click()
    operator.wait_for_url(f"**/pairs/{PAIR}")
    incident = row(operator, 9101)
    expect(incident.locator("td.ack-state")).to_contain_text("acknowledged by operator")
    expect(incident.locator("td.ack-state")).to_contain_text("calling the site")
    expect(incident.locator("form.ack")).to_have_count(0)  # no second acknowledgement
    expect(incident.locator("form.silence")).to_have_count(1)  # silencing still fits
    expect(incident.locator("li.audit-acknowledge")).to_contain_text(
        "operator: incident #9101 acknowledged — “calling the site”"
    )
    expect(row(operator, 9102).locator("form.ack")).to_have_count(1)  # the other is not
    assert ("operator", "acknowledge", "incident", 9101, PAIR, "calling the site") in audit(filled)


def test_an_operator_silences_the_pair_from_the_pair_page(operator: Page, filled: Store):  # noqa: F811
    until = datetime.now(UTC).replace(second=0, microsecond=0) + timedelta(hours=2)
    operator.goto(f"/pairs/{PAIR}")
    form = row(operator, 9102).locator("form.silence")
    form.locator("input[name=until]").fill(f"{until:%Y-%m-%dT%H:%MZ}")
    form.locator("input[name=comment]").fill("CHG-42 core switch")
    form.locator("button").click()
    operator.wait_for_url(f"**/pairs/{PAIR}")
    incident = row(operator, 9102)
    expect(incident.locator(".silenced")).to_have_text(
        f"alerts silenced until {until:%Y-%m-%d %H:%M}:00 UTC"
    )
    expect(incident.locator("li.audit-silence")).to_contain_text("CHG-42 core switch")
    (sid,) = (
        filled.cursor()
        .execute(
            "SELECT silence_id FROM silences WHERE pair = ? AND comment = 'CHG-42 core switch'",
            [PAIR],
        )
        .fetchone()
    )
    assert ("operator", "silence", "silence", sid, PAIR, "CHG-42 core switch") in audit(filled)


def test_silences_and_windows_are_changed_and_removed_on_the_incidents_page(
    operator: Page,  # noqa: F811
    filled: Store,
):
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    operator.goto("/incidents")
    expect(fact(row(operator, 9101), "sessions kept")).to_have_text("4%")  # words here too
    expect(row(operator, 9101).locator("td.age")).to_have_text(AGE)
    declare = operator.locator("form.window")
    declare.locator("input[name=pair]").fill(PAIR)
    declare.locator("input[name=start]").fill(f"{now - timedelta(hours=1):%Y-%m-%dT%H:%MZ}")
    declare.locator("input[name=end]").fill(f"{now + timedelta(hours=1):%Y-%m-%dT%H:%MZ}")
    declare.locator("select[name=kind]").select_option("maintenance")
    declare.locator("input[name=comment]").fill("CHG-77")
    declare.locator("button").click()
    expect(operator.locator("p.flash-done")).to_contain_text("declared as window #")
    window = operator.locator("tr.window-row", has_text="CHG-77")
    wid = int(window.get_attribute("data-window") or 0)
    later = now + timedelta(hours=3)
    window.locator("form.edit input[name=end]").fill(f"{later:%Y-%m-%dT%H:%MZ}")
    window.locator("form.edit button").click()
    window = operator.locator(f"tr.window-row[data-window='{wid}']")
    expect(window).to_contain_text(f"{later:%Y-%m-%d %H:%M}:00 UTC")
    window.locator("form.remove input[name=comment]").fill("called off")
    window.locator("form.remove button").click()
    expect(operator.locator("p.flash-done")).to_contain_text("removed")
    expect(operator.locator(f"tr.window-row[data-window='{wid}']")).to_have_count(0)
    assert (
        filled.cursor()
        .execute("SELECT count(*) FROM analysis_dirty WHERE pair = ?", [PAIR])
        .fetchone()[0]
        >= 1
    )  # judged again

    silence = operator.locator("tr.silence-row").first
    sid = int(silence.get_attribute("data-silence") or 0)
    silence.locator("form.remove button").click()
    expect(operator.locator(f"tr.silence-row[data-silence='{sid}']")).to_have_count(0)
    assert filled.cursor().execute(
        "SELECT count(*) FROM silences WHERE silence_id = ?", [sid]
    ).fetchone() == (0,)

    # the trail on the incident: its pair's window and silence, each change, who and why
    trail = row(operator, 9101).locator("details.trail li")
    expect(trail.filter(has_text=f"window #{wid}")).to_have_count(3)
    expect(trail.filter(has_text="removed — “called off”")).to_have_count(1)
    expect(row(operator, 9101).locator("li.audit-silence_remove")).to_contain_text(
        f"silence #{sid}"
    )
    actions = [(a, t, i) for _, a, t, i, _, _ in audit(filled) if t == "window"]
    assert actions == [
        ("window", "window", wid),
        ("window_edit", "window", wid),
        ("window_remove", "window", wid),
    ]
