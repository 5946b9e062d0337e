"""Grouping and de-duplication: which incidents are due for which kind of e-mail now.

Decided from `alert_state` (what each incident was last notified as, written in the same
transaction as the outbox row), so running a cycle twice records nothing twice:
- never notified and ended more than `alerts.max_age_hours` ago: recorded, suppressed;
- never notified (or notified resolved, then reopened by later data): `new`, grouped per
  pair once the pair's oldest un-notified finding is `alerts.group_wait_seconds` old (one
  event storm, one e-mail);
- notified open, still open, `alerts.repeat_interval_hours` ago, not acknowledged: `repeat`;
- notified open, now resolved or withdrawn: `resolved` (`flapping_summary` for flapping).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import duckdb
from hawatch.analytics.alerts.acknowledgements import acknowledged
from hawatch.analytics.alerts.render import Item

_LOAD = """
SELECT i.incident_id, i.pair, i.kind, i.severity, i.status, i.opened_at, i.resolved_at,
       i.summary, i.evidence, i.first_detected, p.site, coalesce(p.timezone, 'UTC'),
       a.notified_status, a.last_notified_at
FROM incidents i LEFT JOIN pairs p USING (pair) LEFT JOIN alert_state a USING (incident_id)
WHERE (a.incident_id IS NULL AND i.status <> 'withdrawn') OR a.notified_status = 'open'
   -- reopened by later data after its end was notified
   OR (a.notified_status = 'resolved' AND i.status = 'open' AND i.kind <> 'failover_test')
ORDER BY i.pair, i.opened_at, i.incident_id
"""


@dataclass
class PairDue:
    """What one pair has due in this cycle."""

    pair: str
    site: str
    zone: str
    new: list[Item] = field(default_factory=list)
    repeat: list[Item] = field(default_factory=list)
    resolved: list[Item] = field(default_factory=list)
    stale: list[Item] = field(default_factory=list)  # found long after they ended
    flapping_open: bool = False  # a flapping incident is (or is about to be) notified open


def due_by_pair(
    cur: duckdb.DuckDBPyConnection, settings: Mapping[str, Any], now: datetime
) -> list[PairDue]:
    wait = timedelta(seconds=float(settings["alerts.group_wait_seconds"]))
    repeat = timedelta(hours=float(settings["alerts.repeat_interval_hours"]))
    too_old = now - timedelta(hours=float(settings["alerts.max_age_hours"]))
    pairs: dict[str, PairDue] = {}
    oldest_new: dict[str, datetime] = {}
    flapping: dict[str, list[bool]] = {}  # pair -> notified? per open flapping incident
    acked = acknowledged(cur)
    for row in cur.execute(_LOAD).fetchall():
        (
            iid,
            pair,
            kind,
            severity,
            status,
            opened,
            resolved,
            summary,
            evidence,
            detected,
            site,
            zone,
            notified,
            last,
        ) = row
        item = Item(
            iid,
            kind,
            severity,
            status,
            opened,
            resolved,
            summary,
            json.loads(evidence) if isinstance(evidence, str) else dict(evidence),
        )
        due = pairs.setdefault(pair, PairDue(pair, site or "", zone))
        if kind == "flapping" and status == "open":
            flapping.setdefault(pair, []).append(notified is not None)
        if notified is None and resolved is not None and resolved < too_old:
            due.stale.append(item)
        elif notified is None or (notified == "resolved" and status == "open"):
            due.new.append(item)
            oldest_new[pair] = min(detected, oldest_new.get(pair, detected))
        elif status != "open":
            due.resolved.append(item)
        elif last + repeat <= now and iid not in acked:  # acknowledged: no repeats
            due.repeat.append(item)
    for pair, first in oldest_new.items():
        if first + wait > now:  # still gathering this pair's storm
            pairs[pair].new = []
    for pair, notified in flapping.items():
        pairs[pair].flapping_open = any(notified) or bool(pairs[pair].new)
    return [d for d in pairs.values() if d.new or d.repeat or d.resolved or d.stale]
