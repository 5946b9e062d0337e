"""One pair in depth, for the dashboard's pair page and its JSON API: both units (and when
each was last heard from), the pair's health and incidents (open first), and its connection
counts, HA events and role changes (with where each was seen: an HA message, or only the
status reports when syslog missed it) over a time window.

By default the window ends at the pair's newest data, so a pair whose logs stopped (or
sample data from the past) still shows its last days (the JSON API's `days`); the pair page
passes its own window counting back from the wall clock, and shows where the data ends
(`data_end`) so the gap is plain.

The pair total is the pair's load as the rollups define it (`load_days`, store/rollups.py:
per 5-minute bucket, each unit's latest sample summed, a unit between two polls counted with
the lower of its neighbours): the line the session-drop detector judges, and free of the
false dips a plain sum shows when the two units' polls are a few seconds apart.

A chart cannot show more points than it has pixels, so with `buckets` the samples are
reduced in SQL to each bucket's lowest and highest point (at their own times): a session
drop or a failover's dip to zero stays visible however long the window, while 30 days of
one-minute samples shrink from 43,200 points per unit to at most 2 x `buckets`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import duckdb
from hawatch.store.execute import fetch_dicts

# the HA events the chart marks, by the group they are drawn in
MARKED_EVENTS: dict[str, str] = {
    "failover": "failover",
    "failback": "failback",
    "heartbeat_loss": "heartbeat loss",
    "peer_lost": "heartbeat loss",
    "sync_enabled": "sync change",
    "sync_disabled": "sync change",
    "sync_started": "sync change",
    "sync_completed": "sync change",
    "sync_failed": "sync change",
}


@dataclass
class PairDetail:
    pair: dict[str, Any]
    units: list[dict[str, Any]]
    incidents: list[dict[str, Any]]
    start: datetime | None = None
    end: datetime | None = None
    samples: dict[str, list[tuple[datetime, int]]] = field(default_factory=dict)
    events: list[dict[str, Any]] = field(default_factory=list)
    active_at_start: str | None = None
    active: str | None = None  # the last role change's unit (else pairs.active_serial)
    health: dict[str, Any] = field(default_factory=dict)  # the pair's pair_health row
    freshness: dict[str, dict[str, Any]] = field(default_factory=dict)  # by serial
    role_changes: list[dict[str, Any]] = field(default_factory=list)  # in the window
    total: list[tuple[datetime, int]] = field(default_factory=list)  # the pair's load
    data_end: datetime | None = None  # the pair's newest sample or HA event, anywhere


def _incidents(cur: duckdb.DuckDBPyConnection, pair: str) -> list[dict[str, Any]]:
    found = fetch_dicts(
        cur.execute(
            "SELECT incident_id, kind, severity, status, opened_at, resolved_at, summary,"
            " evidence FROM incidents WHERE pair = ?"
            " ORDER BY status = 'open' DESC, opened_at DESC",
            [pair],
        )
    )
    for incident in found:
        try:
            evidence = json.loads(incident["evidence"]) if incident["evidence"] else {}
        except ValueError:
            evidence = {"evidence": incident["evidence"]}
        incident["evidence"] = evidence if isinstance(evidence, dict) else {"value": evidence}
    return found


def _newest(cur: duckdb.DuckDBPyConnection, pair: str) -> datetime | None:
    """The time of the pair's newest sample or HA event.

    The samples are looked for in the store's last day first: the time column's zone maps
    let DuckDB skip the rest, 1 ms instead of 10 at 2,000 pairs x 30 days. A pair that fell
    silent before that is looked for everywhere.
    """
    (sample,) = cur.execute(
        "SELECT max(time) FROM session_samples WHERE pair = ?"
        " AND time >= (SELECT max(time) FROM session_samples) - INTERVAL 1 DAY",
        [pair],
    ).fetchone() or (None,)
    if sample is None:
        (sample,) = cur.execute(
            "SELECT max(time) FROM session_samples WHERE pair = ?", [pair]
        ).fetchone() or (None,)
    (event,) = cur.execute("SELECT max(time) FROM ha_events WHERE pair = ?", [pair]).fetchone() or (
        None,
    )
    times = [t for t in (sample, event) if t is not None]
    return max(times) if times else None


def _samples(
    cur: duckdb.DuckDBPyConnection, window: list[Any], buckets: int | None
) -> dict[str, list[tuple[datetime, int]]]:
    """Each unit's (time, connections) in the window, all of them or per-bucket min/max."""
    samples: dict[str, list[tuple[datetime, int]]] = {}
    if not buckets:
        for serial, time, connections in cur.execute(
            "SELECT serial, time, connections FROM session_samples"
            " WHERE pair = ? AND time BETWEEN ? AND ? ORDER BY serial, time",
            window,
        ).fetchall():
            samples.setdefault(serial, []).append((time, connections))
        return samples
    width = max(1.0, (window[2] - window[1]).total_seconds() / buckets)
    for serial, low_at, low, high_at, high in cur.execute(
        "SELECT serial, arg_min(time, connections), min(connections),"
        " arg_max(time, connections), max(connections) FROM session_samples"
        " WHERE pair = ? AND time BETWEEN ? AND ?"
        # the sample at the window's very end belongs to the last bucket
        " GROUP BY serial, least(floor(epoch(time - ?::TIMESTAMPTZ) / ?), ? - 1)"
        " ORDER BY serial, min(time)",
        [*window, window[1], width, buckets],
    ).fetchall():
        points = samples.setdefault(serial, [])
        first, second = sorted([(low_at, low), (high_at, high)])
        points.append(first)
        if second[0] != first[0]:
            points.append(second)
    return samples


def _total(
    cur: duckdb.DuckDBPyConnection, window: list[Any], buckets: int | None
) -> list[tuple[datetime, int]]:
    """The pair's load per 5-minute bucket in the window (`load_days`), reduced like the
    samples to each chart bucket's lowest and highest point when there are more."""
    width = max(300.0, (window[2] - window[1]).total_seconds() / (buckets or 1 << 30))
    rows = cur.execute(
        "WITH b AS (SELECT unnest(buckets, recursive := true) FROM load_days"
        " WHERE pair = ? AND day_start BETWEEN date_trunc('day', ?::TIMESTAMPTZ) AND ?)"
        " SELECT arg_min(t, conn), min(conn), arg_max(t, conn), max(conn) FROM b"
        " WHERE t BETWEEN ? AND ? GROUP BY floor(epoch(t - ?::TIMESTAMPTZ) / ?)"
        " ORDER BY min(t)",
        [*window, window[1], window[2], window[1], width],
    ).fetchall()
    points: list[tuple[datetime, int]] = []
    for low_at, low, high_at, high in rows:
        first, second = sorted([(low_at, low), (high_at, high)])
        points.append(first)
        if second[0] != first[0]:
            points.append(second)
    return points


def pair_detail(
    cur: duckdb.DuckDBPyConnection,
    pair: str,
    days: float = 3.0,
    buckets: int | None = None,
    window: tuple[datetime, datetime] | None = None,
) -> PairDetail | None:
    """Everything the pair page shows, or None for a pair the store does not know; with
    `buckets`, the samples reduced to each time bucket's lowest and highest point. The
    window is `window` (start, end) when given, else the `days` up to the newest data."""
    pairs = fetch_dicts(cur.execute("SELECT * FROM pairs WHERE pair = ?", [pair]))
    if not pairs:
        return None
    units = fetch_dicts(
        cur.execute(
            "SELECT serial, role, model, firmware, first_seen, last_seen FROM devices"
            " WHERE pair = ? ORDER BY role, serial",
            [pair],
        )
    )
    detail = PairDetail(pairs[0], units, _incidents(cur, pair))
    _freshness(cur, detail)
    detail.data_end = _newest(cur, pair)
    if window is not None:
        detail.start, detail.end = window
    elif detail.data_end is None:
        return detail
    else:
        detail.end = detail.data_end
        detail.start = detail.end - timedelta(days=days)
    assert detail.start is not None
    bounds = [pair, detail.start, detail.end]
    detail.samples = _samples(cur, bounds, buckets)
    detail.total = _total(cur, bounds, buckets)
    detail.events = fetch_dicts(
        cur.execute(
            "SELECT time, serial, role, kind, state_to, trigger, detail FROM ha_events"
            " WHERE pair = ? AND time BETWEEN ? AND ?"
            " AND (kind IN (SELECT unnest(?)) OR state_to = 'active') ORDER BY time",
            [*bounds, list(MARKED_EVENTS)],
        )
    )
    detail.role_changes = fetch_dicts(
        cur.execute(
            "SELECT time, old_active, new_active, kind, trigger, message_id, seen_in,"
            " status_agrees FROM role_changes WHERE pair = ? AND time BETWEEN ? AND ?"
            " ORDER BY change_no",
            bounds,
        )
    )
    before = (
        cur.execute(
            "SELECT new_active FROM role_changes WHERE pair = ? AND time < ?"
            " ORDER BY change_no DESC LIMIT 1",
            [pair, detail.start],
        ).fetchone()
        or cur.execute(
            "SELECT serial FROM ha_events WHERE pair = ? AND state_to = 'active' AND time < ?"
            " ORDER BY time DESC LIMIT 1",
            [pair, detail.start],
        ).fetchone()
    )
    detail.active_at_start = before[0] if before else None
    return detail


def _freshness(cur: duckdb.DuckDBPyConnection, detail: PairDetail) -> None:
    """The pair's health (stale or not, and why) and each unit's freshness, as of the last
    analysis pass (analytics/freshness.py)."""
    pair = detail.pair["pair"]
    last = cur.execute(
        "SELECT new_active FROM role_changes WHERE pair = ? ORDER BY change_no DESC LIMIT 1", [pair]
    ).fetchone()
    detail.active = last[0] if last else detail.pair.get("active_serial")
    found = fetch_dicts(cur.execute("SELECT * FROM pair_health WHERE pair = ?", [pair]))
    detail.health = found[0] if found else {}
    detail.freshness = {
        row["serial"]: row
        for row in fetch_dicts(cur.execute("SELECT * FROM unit_freshness WHERE pair = ?", [pair]))
    }
