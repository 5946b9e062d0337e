"""Runbooks (issue 14 item 5): every incident kind a detector can emit carries its likely
causes and SonicWall's checks in order, each check citing the page it comes from; the
e-mails carry them (text and HTML, escaped), and docs/runbooks.md is the same table.

The kinds are read from the detectors' own code: the stages that add to `candidates`
(analytics/stages.py TABLES) and, in each of their modules, every `SELECT <alias>.pair,
'<kind>'` of SQL and `(pair, "<kind>", ...)` row of Python. A new detector or kind without a
runbook fails here.
"""

from __future__ import annotations

import inspect
import io
import re
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlparse

from hawatch.analytics import runbooks
from hawatch.analytics.alerts.pipeline import run_alert_cycle
from hawatch.analytics.analyze import analyze
from hawatch.analytics.stages import STAGES, TABLES
from hawatch.simulator.scenarios import INCIDENT_KINDS
from hawatch.store import Store

from hawatch.cli import main
from tests import test_alerts as alerts
from tests.conftest import dashboard_app, log_in
from tests.test_alerts import body, now, open_incident
from tests.test_analytics import ingest
from tests.test_monitor_cause import flapping_files

# the alert tests' fixtures: a real SMTP server (aiosmtpd) on 127.0.0.1 and its mailbox
mailbox, smtp, settings, lab = alerts.mailbox, alerts.smtp, alerts.settings, alerts.lab

DOCS = Path(__file__).resolve().parent.parent / "docs"
_SQL_KIND = re.compile(r"\bSELECT\s+(?:\w+\.)?pair,\s*'([a-z_]+)'")
_PY_KIND = re.compile(r"\(\s*pair,\s*\"([a-z_]+)\",")


def detector_kinds() -> dict[str, set[str]]:
    """Each detector module (a stage that adds to `candidates`) with the kinds it emits."""
    found: dict[str, set[str]] = {}
    for stage in STAGES:
        if stage.name in TABLES["candidates"].added_by:
            source = inspect.getsource(stage.module)
            found.setdefault(stage.module.__name__, set()).update(
                _SQL_KIND.findall(source) + _PY_KIND.findall(source)
            )
    return found


def test_every_kind_a_detector_emits_has_a_runbook():
    by_module = detector_kinds()
    # the reading itself: every detector module yields at least one kind, and the ones the
    # issue names are among them
    assert all(by_module.values()), by_module
    kinds = set().union(*by_module.values())
    assert {
        "flapping",
        "unsynced_failover",
        "session_drop",
        "split_brain",
        "heartbeat_loss",
        "config_mismatch",
        "failover_test",
        "unit_silent",
        "unit_unreachable",
        "syslog_missed_failover",
        "polls_contradict_syslog",
    } <= kinds
    assert kinds - set(runbooks.RUNBOOKS) == set()
    assert set(INCIDENT_KINDS) - set(runbooks.RUNBOOKS) == set()  # the simulator's truth too
    assert set(runbooks.RUNBOOKS) - kinds == set(), "a runbook for a kind nobody emits"


def test_checks_keep_sonicwalls_order_and_cite_a_page_each():
    order = runbooks.ORDER
    assert order == (
        "model_firmware",
        "ha_link",
        "stateful_sync",
        "monitoring",
        "preempt",
        "virtual_mac",
        "failover_test",
    )
    for book in runbooks.RUNBOOKS.values():
        ha_steps = [k for k in book.checks if k in order]
        assert ha_steps == sorted(ha_steps, key=order.index), book.kind
        assert book.checks and book.causes, book.kind
        assert book.checks[-1] == "failover_test" or book.kind in (
            "polls_contradict_syslog",
            "unit_silent",
            "unit_unreachable",
        ), book.kind
    for key, check in runbooks.CHECKS.items():
        assert check.sources, key
        for source in check.sources:
            url = urlparse(runbooks.SOURCES[source].url)
            assert url.scheme in ("http", "https") and url.netloc, source


def test_the_runbook_names_the_cause_the_logs_give():
    shown = runbooks.for_incident(
        "flapping", {"cause": "probe on X1 (10.0.0.1) failed", "triggers": {"error_signal": 5}}
    )
    assert shown is not None and shown["found"] == "probe on X1 (10.0.0.1) failed"
    assert [c["key"] for c in shown["checks"]][:3] == ["ha_link", "stateful_sync", "monitoring"]
    assert runbooks.for_incident("flapping", {"cause": "error_signal"})["found"] is None
    assert runbooks.for_incident("no_such_kind", {}) is None


def test_docs_runbooks_is_the_table():
    assert (DOCS / "runbooks.md").read_text() == runbooks.markdown(), (
        "regenerate: python -m hawatch.analytics.runbooks > docs/runbooks.md"
    )
    text = (DOCS / "runbooks.md").read_text()
    for source in runbooks.SOURCES.values():
        assert source.url in text


def test_the_e_mail_carries_the_named_cause_and_the_checks(tmp_path, settings, mailbox):
    """From logs to the mailbox: a pair flapping on a probe on X1 gets an e-mail that says so
    and lists SonicWall's checks with their pages, in the text and (escaped) HTML bodies."""
    with Store(tmp_path / "hawatch.duckdb") as store:
        ingest(store, *flapping_files(tmp_path / "data"))
        analyze(store)
        start = now()
        for minute in range(1, 4):
            run_alert_cycle(store, settings, start + minute * timedelta(minutes=1))
    flapping = [m for m in mailbox.messages if "flapping lab-ha01 " in m["Subject"]]
    assert flapping, [m["Subject"] for m in mailbox.messages]
    text, html = body(flapping[0]), body(flapping[0], "html")
    assert "Cause in the logs: probe on X1 (10.0.0.1) failed" in text
    steps = [runbooks.CHECKS[k].step for k in runbooks.RUNBOOKS["flapping"].checks]
    positions = [text.index(f"{n}. {step}") for n, step in enumerate(steps, start=1)]
    assert positions == sorted(positions)
    assert runbooks.SOURCES["virtual-mac"].url in text
    assert "<b>Cause in the logs:</b> probe on X1 (10.0.0.1) failed" in html
    assert f'<a href="{runbooks.SOURCES["logical-probe-581"].url}">' in html
    assert "<ol><li>" in html


def test_runbook_text_from_logs_is_escaped_in_html(lab, settings, mailbox):
    open_incident(
        lab,
        kind="flapping",
        severity="warning",
        summary="flapping",
        evidence={"cause": "probe on <X1> (10.0.0.1) failed & more", "transitions": 8},
    )
    run_alert_cycle(lab, settings, now() + timedelta(minutes=1))
    html = body(mailbox.messages[0], "html")
    assert "probe on &lt;X1&gt; (10.0.0.1) failed &amp; more" in html
    assert "<X1>" not in html
    assert "Cause in the logs: probe on <X1> (10.0.0.1) failed & more" in body(mailbox.messages[0])


# -- the dashboard: the incidents page, and the partial the pair page's incident list uses --


def test_the_incidents_page_shows_each_incidents_checks(tmp_path, monkeypatch):
    with Store(tmp_path / "hawatch.duckdb") as store:
        ingest(store, *flapping_files(tmp_path / "data"))
        analyze(store)
        monkeypatch.setattr("sys.stdin", io.StringIO("viewer-password-1\n"))
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
                    str(store.path),
                ]
            )
            == 0
        )
        client, status = log_in(dashboard_app(store), "vera", "viewer-password-1")
        assert status == 302
        page = client.get("/incidents?status=all").get_data(as_text=True)
        book = client.get("/runbooks").get_data(as_text=True)
    # one chunk per incident row (rows hold tables of their own: no regex up to </tr>)
    rows = page.split("</thead>", 1)[-1].split('data-incident="')[1:]
    assert rows and all('data-kind="flapping"' in r for r in rows)
    checks = re.findall(r'<li data-check="([a-z_]+)">([^<]+)</li>', rows[0])
    flapping = runbooks.RUNBOOKS["flapping"].checks
    assert checks == [(k, runbooks.CHECKS[k].label) for k in flapping]
    assert 'href="/runbooks#flapping"' in rows[0]
    # the runbooks page: every kind with its checks in order, every source linked
    assert set(re.findall(r'<section class="runbook-kind" id="([a-z_]+)">', book)) == set(
        runbooks.RUNBOOKS
    )
    section = book.split('id="flapping"')[1].split("</section>")[0]
    assert re.findall(r'<li data-check="([a-z_]+)">', section) == list(flapping)
    for source in runbooks.SOURCES.values():
        assert f'href="{source.url}"' in book


def test_the_partial_names_the_cause_and_escapes_it(tmp_path):
    with Store(tmp_path / "hawatch.duckdb") as store:
        app = dashboard_app(store)
        with app.test_request_context():
            html = app.jinja_env.from_string(
                '{% from "_runbook.html" import runbook %}{{ runbook(kind, evidence) }}'
            ).render(
                kind="unsynced_failover",
                evidence={"cause": "link down on <X2>", "trigger": "error_signal"},
            )
            unknown = app.jinja_env.from_string(
                '{% from "_runbook.html" import runbook %}{{ runbook("nothing_known") }}'
            ).render()
    assert 'cause in the logs: <span class="runbook-cause">link down on &lt;X2&gt;</span>' in html
    assert re.findall(r'data-check="([a-z_]+)"', html) == list(runbooks.ORDER)
    assert unknown.strip() == ""
