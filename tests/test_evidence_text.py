"""Evidence in words (analytics/evidence_text.py): what the detectors store (`True`, `None`,
`37102.0`, `disabled`) reaches the dashboard and the alert e-mails as words, percents,
counts, times and durations; every key the detectors write on the sample logs is known, and
an unknown key still reads sensibly without failing."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hawatch.analytics.alerts.pipeline import run_alert_cycle
from hawatch.analytics.analyze import analyze
from hawatch.analytics.evidence_text import KEYS, Fact, duration_words, facts
from hawatch.collector.ingest import ingest_paths
from hawatch.store import Store

from tests.test_alerts import LATER, body, mailbox, now, settings, smtp  # noqa: F401
from tests.test_analytics import ingest, unsynced_dataset

SAMPLE_LOGS = Path(__file__).resolve().parent.parent / "sample_logs"
# what a Python or JSON value looks like when it leaks into words
RAW = re.compile(r"\b(True|False|None|null|true|false)\b|\d\.0\b|\d{5,}|_")


@pytest.mark.parametrize(
    "seconds, words",
    [
        (0, "0 s"),
        (45, "45 s"),
        (60, "1 min"),
        (12 * 60 + 59, "12 min"),
        (3 * 3600, "3 h"),
        (3 * 3600 + 12 * 60 + 5, "3 h 12 min"),
        (86400 * 2 + 3600 * 4, "2 d 4 h"),
        (86400, "1 d"),
        (-5, "0 s"),
    ],
)
def test_durations_read_as_the_two_largest_units(seconds, words):
    assert duration_words(seconds) == words


def test_an_unsynced_failover_reads_as_words_percents_counts_and_times():
    lines = facts(
        {
            "failover_at": "2026-11-03 16:51:00+00",
            "from_serial": "C0EAE4000001",
            "to_serial": "C0EAE4000002",
            "trigger": "heartbeat_loss",
            "stateful_sync": "disabled",
            "connections_before": 37102.0,
            "connections_after": 1484.0,
            "kept_percent": 4.0,
            "vpn_sas_before": None,
            "vpn_kept_percent": None,
            "recovered_at": None,
        }
    )
    said = {f.label: f.time or f.text for f in lines}
    assert said == {
        "failover at": datetime(2026, 11, 3, 16, 51, tzinfo=UTC),
        "from unit": "C0EAE4000001",
        "to unit": "C0EAE4000002",
        "trigger": "heartbeat loss",
        "stateful sync": "off",
        "connections before": "37,102",
        "connections after": "1,484",
        "sessions kept": "4%",
    }


@pytest.mark.parametrize(
    "evidence, expected",
    [
        ({"survived": True}, [Fact("sessions survived", "yes")]),
        ({"survived": False}, [Fact("sessions survived", "no: the test failed")]),
        (
            {"preempt_driven": False, "triggers": {"probe": 1, "link": 3}},
            [Fact("driven by preempt", "no"), Fact("failover triggers", "link 3x, probe 1x")],
        ),
        ({"ended_at": None}, [Fact("ended", "still going")]),
        (
            {"units": ["A1", "B2"], "dual_active_reported": True},
            [Fact("units", "A1 and B2"), Fact("the units reported it", "yes: both said active")],
        ),
        (
            {"threshold_seconds": 900, "minutes_low": 35.0},
            [Fact("low for", "35 min"), Fact("silent after", "15 min")],
        ),
        ({"peak_percent": 96.46}, [Fact("worst session loss", "96.5%")]),
    ],
)
def test_known_keys(evidence, expected):
    assert facts(evidence) == expected


def test_unknown_keys_and_odd_values_read_sensibly_and_never_fail():
    lines = facts(
        {
            "probe_target": "10.0.0.1",
            "monitored_interface_up": False,
            "lost_pings": 1234567.0,
            "checked_at": "2026-11-03T16:51:00Z",
            "hops": ["X1", "X2"],
            "extra": {"a_b": 1},
            "gone": None,
            "kept_percent": "not a number",
            "failover_at": "yesterday",
        }
    )
    said = {f.label: f.time or f.text for f in lines}
    assert said == {
        "sessions kept": "not a number",
        "failover at": "yesterday",  # shown as they are
        "probe target": "10.0.0.1",
        "monitored interface up": "no",
        "lost pings": "1,234,567",
        "checked at": datetime(2026, 11, 3, 16, 51, tzinfo=UTC),
        "hops": "X1, X2",
        "extra": "a b 1",
    }
    assert facts(None) == [] and facts("just text") == [Fact("evidence", "just text")]  # type: ignore[arg-type]


def test_every_key_the_detectors_write_on_the_sample_logs_is_said_in_words(tmp_path):
    with Store(tmp_path / "h.duckdb") as store:
        ingest_paths(store, [str(SAMPLE_LOGS)])
        analyze(store)
        stored = [
            json.loads(e)
            for (e,) in store.cursor().execute("SELECT evidence FROM incidents").fetchall()
        ]
    assert len(stored) >= 10
    unknown = {key for e in stored for key in e} - set(KEYS)
    assert unknown == set()
    for evidence in stored:
        for fact in facts(evidence):
            if fact.time is None and fact.label not in (
                "unit",
                "from unit",
                "to unit",
                "now active",
                "units",
                "comment",
                "detail",
                "poll outcome",
                "new active unit",
                "reported by",
                "status reports show active",
            ):
                assert not RAW.search(fact.text), (fact, evidence)


def test_the_alert_email_says_the_evidence_in_words(tmp_path, settings, mailbox):  # noqa: F811
    with Store(tmp_path / "h.duckdb") as store:
        ingest(store, *unsynced_dataset(tmp_path / "data").values())
        analyze(store)
        start = now()
        for step in range(3):
            run_alert_cycle(store, settings, start + step * LATER)
    assert len(mailbox.messages) == 1
    for kind in ("plain", "html"):
        text = body(mailbox.messages[0], kind)
        assert re.search(r"connections before(:|</th><td>) ?12,000", text), text
        assert re.search(r"stateful sync(:|</th><td>) ?off", text), text
        assert re.search(r"sessions kept(:|</th><td>) ?\d+(\.\d)?%", text), text
        assert "failover at" in text and " UTC (" in text
        # the evidence, not the runbook after it (its sources name SonicOS 7.0 and the like)
        words = re.split(r"Likely causes", text)[0]
        assert not re.search(r"\b(True|False|None)\b|\d\.0\b", words), text
        assert "UTC UTC" not in text
