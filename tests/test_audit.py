"""The audit log (migration 011): every operator action leaves exactly one row, written in
the action's own transaction, so a refused action leaves none and changes nothing; an
incident's trail is its acknowledgements plus its pair's silences and windows while it was
open."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hawatch.analytics.alerts.audit import trails
from hawatch.analytics.alerts.operator import apply_action
from hawatch.analytics.incident_cards import incident_cards
from hawatch.store import Store
from hawatch.store.errors import HawatchError

from tests.test_operator import NOW, seed


@pytest.fixture
def store(tmp_path):
    seed(tmp_path / "x.duckdb")  # pair fw-a, incidents 1 and 2 open since NOW - 2 h
    with Store(tmp_path / "x.duckdb") as opened:
        yield opened


def rows(store: Store, sql: str) -> list[tuple]:
    return store.cursor().execute(sql).fetchall()


def act(store: Store, **payload) -> str:
    return apply_action(store, {"by": "kim", **payload}, NOW)


def test_each_action_leaves_one_row_with_who_what_target_and_comment(store):
    act(store, action="ack", incident=1, comment="on it")
    act(store, action="silence", pair="fw-a", until="2026-11-25T18:00Z", comment="CHG-1")
    act(
        store,
        action="window",
        pair="fw-a",
        kind="maintenance",
        start="2026-11-25T13:00Z",
        end="2026-11-25T14:00Z",
        comment="CHG-2",
    )
    act(store, action="silence_edit", silence=1, until="2026-11-25T20:00Z")
    act(store, action="window_edit", window=1, end="2026-11-25T15:00Z")
    act(store, action="silence_remove", silence=1, comment="done")
    act(store, action="window_remove", window=1)
    assert rows(
        store,
        "SELECT actor, action, target, target_id, pair, comment FROM audit_log ORDER BY audit_id",
    ) == [
        ("kim", "acknowledge", "incident", 1, "fw-a", "on it"),
        ("kim", "silence", "silence", 1, "fw-a", "CHG-1"),
        ("kim", "window", "window", 1, "fw-a", "CHG-2"),
        ("kim", "silence_edit", "silence", 1, "fw-a", None),
        ("kim", "window_edit", "window", 1, "fw-a", None),
        ("kim", "silence_remove", "silence", 1, "fw-a", "done"),
        ("kim", "window_remove", "window", 1, "fw-a", None),
    ]
    details = [d for (d,) in rows(store, "SELECT detail FROM audit_log ORDER BY audit_id")]
    assert details[3] == "silence #1 now until 2026-11-25 20:00 UTC (was 2026-11-25 18:00 UTC)"
    assert rows(store, "SELECT count(*) FROM silences") == [(0,)]
    assert rows(store, "SELECT count(*) FROM windows") == [(0,)]
    assert rows(store, "SELECT count(*) FROM analysis_dirty WHERE pair = 'fw-a'")[0][0] >= 3


@pytest.mark.parametrize(
    "payload, message",
    [
        ({"action": "ack", "incident": 99}, "no incident #99"),
        ({"action": "silence", "pair": "nope", "until": "2026-11-25T18:00Z"}, "no pair 'nope'"),
        ({"action": "silence_edit", "silence": 7, "until": "2026-11-25T18:00Z"}, "no silence #7"),
        ({"action": "silence_remove", "silence": 7}, "no silence #7"),
        ({"action": "window_edit", "window": 7, "end": "2026-11-25T18:00Z"}, "no window #7"),
        ({"action": "window_remove", "window": "x"}, "window must be a number"),
        (
            {
                "action": "window",
                "pair": "nope",
                "kind": "maintenance",
                "start": "2026-11-25T13:00Z",
                "end": "2026-11-25T14:00Z",
            },
            "no pair 'nope'",
        ),
    ],
)
def test_a_refused_action_leaves_no_row(store, payload, message):
    with pytest.raises(HawatchError, match=message):
        act(store, **payload)
    assert rows(store, "SELECT count(*) FROM audit_log") == [(0,)]


def test_a_second_acknowledgement_and_an_end_before_the_start_are_refused_and_undone(store):
    act(store, action="ack", incident=1)
    with pytest.raises(HawatchError, match="already acknowledged by kim"):
        act(store, action="ack", incident=1)
    act(
        store,
        action="window",
        pair="fw-a",
        kind="maintenance",
        start="2026-11-25T13:00Z",
        end="2026-11-25T14:00Z",
    )
    with pytest.raises(HawatchError, match="must end after it starts"):
        act(store, action="window_edit", window=1, end="2026-11-25T12:00Z")
    assert rows(store, "SELECT count(*) FROM acknowledgements") == [(1,)]
    assert rows(store, "SELECT action FROM audit_log ORDER BY audit_id") == [
        ("acknowledge",),
        ("window",),
    ]
    (end,) = rows(store, "SELECT ends_at FROM windows")[0]
    assert end == datetime(2026, 11, 25, 14, tzinfo=UTC)


def test_an_incidents_trail_and_card(store):
    act(store, action="ack", incident=1, comment="on it")
    act(store, action="silence", pair="fw-a", until="2026-11-25T18:00Z")
    found = trails(store.cursor(), [1, 2])
    assert [a["action"] for a in found[1]] == ["acknowledge", "silence"]
    assert [a["action"] for a in found[2]] == ["silence"]  # its pair's silence, not the ack
    incidents = [
        {
            "incident_id": 1,
            "pair": "fw-a",
            "status": "open",
            "evidence": "{}",
            "opened_at": NOW - timedelta(hours=3, minutes=12),
            "resolved_at": None,
        }
    ]
    (card,) = incident_cards(store.cursor(), incidents, NOW)
    assert card["age"] == "3 h 12 min" and card["ack"]["by"] == "kim"
    assert card["silenced_until"] == datetime(2026, 11, 25, 18, tzinfo=UTC)
