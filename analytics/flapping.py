"""Flapping: a pair that keeps changing its active unit.

Nagios and Icinga measure flapping as a weighted percent state change over the recent
history, newer changes weighing more (0.8 for the oldest to 1.2 for the newest), and use
hysteresis: a flap starts when it reaches the high threshold and ends only once it falls
below the low one. Role changes are sparse and irregular, so the history here is a time
window (`flapping.window_minutes`), and 100% is `flapping.full_scale_transitions` changes in
it. Beside it, the plain rule "`flapping.max_failovers` changes in the window" also opens an
episode. Role changes are few (a handful per pair per month), so the state machine runs in
Python over all pairs at once.

The evidence says whether preempt drives it (share of failbacks), which monitor triggered
the failovers (the trigger words, and in `causes` the interface or probe target that failed
when the logs name it: analytics/monitor_cause.py), and, once it ends, the final active
unit, the number of transitions and how many of them were unsynced.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import duckdb
from hawatch.store.execute import insert_rows


@dataclass
class Change:
    time: datetime
    new_active: str
    kind: str
    trigger: str | None
    unsynced: bool
    role: str | None
    cause: str | None = None  # in words, when the logs name it: "probe on X1 (...) failed"


@dataclass
class Episode:
    changes: list[Change] = field(default_factory=list)
    peak: float = 0.0
    ended_at: datetime | None = None  # when the hysteresis closed it


def percent(changes: list[Change], at: datetime, window: timedelta, full_scale: int) -> float:
    """Weighted percent state change at `at` over the changes in (at - window, at]."""
    total = 0.0
    for change in changes:
        age = (at - change.time) / window
        if 0 <= age < 1:
            total += 0.8 + 0.4 * (1 - age)
    return min(100.0, 100.0 * total / full_scale)


def _count_in_window(changes: list[Change], at: datetime, window: timedelta) -> int:
    return sum(1 for c in changes if timedelta(0) <= at - c.time < window)


def episodes(changes: list[Change], t: dict[str, Any], now: datetime) -> list[Episode]:
    """Run the hysteresis over one pair's changes, evaluated at each change and at each
    moment a change leaves the window (when the percentage drops), up to `now`."""
    window = timedelta(minutes=t["flapping.window_minutes"])
    points = sorted(
        p for p in {c.time for c in changes} | {c.time + window for c in changes} if p <= now
    )
    found: list[Episode] = []
    current: Episode | None = None
    for at in points:
        pct = percent(changes, at, window, t["flapping.full_scale_transitions"])
        many = _count_in_window(changes, at, window) >= t["flapping.max_failovers"]
        if current is None and (pct >= t["flapping.high_percent"] or many):
            current = Episode([c for c in changes if timedelta(0) <= at - c.time < window])
            found.append(current)
        elif current is not None:
            current.changes.extend(c for c in changes if c.time == at)
            if pct < t["flapping.low_percent"] and not many:
                current.ended_at = at
                current = None
        if current is not None:
            current.peak = max(current.peak, pct)
    return found


def _evidence(episode: Episode, t: dict[str, Any]) -> dict[str, Any]:
    changes = episode.changes
    failbacks = sum(1 for c in changes if c.kind == "failback")
    triggers = Counter(c.trigger or "unknown" for c in changes if c.kind == "failover")
    causes = Counter(c.cause or c.trigger or "unknown" for c in changes if c.kind == "failover")
    last = changes[-1]
    return {
        "transitions": len(changes),
        "failbacks": failbacks,
        "preempt_driven": failbacks >= 0.4 * len(changes),
        "triggers": dict(triggers),
        "causes": dict(causes),
        "cause": causes.most_common(1)[0][0] if causes else None,
        "unsynced_transitions": sum(c.unsynced for c in changes),
        "peak_percent": round(episode.peak, 1),
        "final_active": last.new_active,
        "final_role": last.role,
        "first_change": changes[0].time.isoformat(),
        "last_change": last.time.isoformat(),
        "ended_at": episode.ended_at.isoformat() if episode.ended_at else None,
        "window_minutes": t["flapping.window_minutes"],
    }


def _summary(evidence: dict[str, Any]) -> str:
    why = ", ".join(f"{k} ({n}x)" if n > 1 else k for k, n in sorted(evidence["causes"].items()))
    text = f"{evidence['transitions']} role changes"
    if evidence["preempt_driven"]:
        text += f", {evidence['failbacks']} of them preempt failbacks"
    if why:
        text += f"; failovers triggered by {why}"
    if evidence["unsynced_transitions"]:
        text += f"; {evidence['unsynced_transitions']} unsynced"
    return text + f"; now active: {evidence['final_active']}"


# Only pairs that ever had `$least` changes within one window can open an episode, so only
# their changes reach Python (most pairs have a couple a month).
_CHANGES = """
SELECT r.pair, r.time, r.new_active, r.kind, coalesce(r.trigger, r.monitor), r.unsynced,
       d.role, s.start, r.monitor_cause
FROM role_changes_in_scope r JOIN scope s USING (pair)
LEFT JOIN devices d ON d.serial = r.new_active
WHERE r.pair IN (
    SELECT pair FROM (
        SELECT pair, count(*) OVER (PARTITION BY pair ORDER BY time RANGE BETWEEN
                                    to_minutes(CAST($window AS BIGINT)) PRECEDING
                                    AND CURRENT ROW) AS n
        FROM role_changes_in_scope)
    WHERE n >= $least)
ORDER BY r.pair, r.change_no
"""


def least_changes(t: dict[str, Any]) -> int:
    """Fewest changes in one window that can open an episode: the plain rule's count, or
    what reaches the high percentage when every change weighs the most (1.2)."""
    by_percent = math.ceil(
        t["flapping.high_percent"] * t["flapping.full_scale_transitions"] / 120.0
    )
    return max(1, min(t["flapping.max_failovers"], by_percent))


def detect(cur: duckdb.DuckDBPyConnection, t: dict[str, Any]) -> None:
    by_pair: dict[str, list[Change]] = {}
    starts: dict[str, datetime] = {}
    params = {"window": t["flapping.window_minutes"], "least": least_changes(t)}
    for pair, time, new, kind, trigger, unsynced, role, start, cause in cur.execute(
        _CHANGES, params
    ).fetchall():
        by_pair.setdefault(pair, []).append(
            Change(time, new, kind, trigger, bool(unsynced), role, cause)
        )
        starts[pair] = start
    rows = []
    for pair, changes in by_pair.items():
        for episode in episodes(changes, t, datetime.now(UTC)):
            if episode.ended_at is not None and episode.ended_at < starts[pair]:
                continue  # wholly before this pass's scope
            evidence = _evidence(episode, t)
            severity = "critical" if evidence["unsynced_transitions"] else "warning"
            resolved = episode.changes[-1].time if episode.ended_at else None
            rows.append(
                (
                    pair,
                    "flapping",
                    severity,
                    episode.changes[0].time,
                    resolved,
                    _summary(evidence),
                    json.dumps(evidence),
                    None,
                )
            )
    if rows:
        insert_rows(cur, "candidates", rows)
