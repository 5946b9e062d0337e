"""Rules: from what is due per pair to drafts for the outbox, each sent or suppressed.

- a silenced pair: everything is recorded as suppressed (the resolution too), for the digest;
- an incident opened inside a maintenance or failover-test window: suppressed (the
  test's verdict is what reports it);
- a failover test is a verdict (`info`/`warning`), never followed by a "resolved" page;
- a flapping pair: one flapping e-mail; other findings meanwhile are held back (recorded),
  and when the flapping ends one summary says the state, the transitions, how many were
  unsynced and how many notifications were held back;
- a stale pair (a unit silent or unreachable, pair_freshness): every e-mail about it says so,
  with when it was last heard from, so no figure in it reads as current.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import duckdb
from hawatch.analytics.alerts.grouping import PairDue
from hawatch.analytics.alerts.outbox import Draft
from hawatch.analytics.alerts.render import SEVERITY_ORDER, Item, Notice, render_notice
from hawatch.analytics.alerts.routing import recipients
from hawatch.analytics.alerts.silences import silenced_until, window_at
from hawatch.store.execute import one_row

HELD = "held back: pair flapping"
STALE = "ended before alerts.max_age_hours"


def _draft(
    notice: Notice, settings: Mapping[str, Any], status: str = "pending", reason: str | None = None
) -> Draft:
    severity = min((i.severity for i in notice.items), key=lambda s: SEVERITY_ORDER.get(s, 3))
    subject, text, html = render_notice(notice, str(settings["alerts.base_url"]))
    return Draft(
        notice.kind,
        notice.pair,
        [i.incident_id for i in notice.items],
        recipients(settings, notice.site, severity),
        subject,
        text,
        html,
        status,
        reason,
    )


def _flapping_facts(cur: duckdb.DuckDBPyConnection, pair: str, item: Item) -> list[tuple[str, str]]:
    active, sync = cur.execute(
        "SELECT active_serial, stateful_sync FROM pairs WHERE pair = ?", [pair]
    ).fetchone() or (None, None)
    (unsynced,) = one_row(
        cur,
        "SELECT count(*) FROM incidents WHERE pair = ? AND kind = 'unsynced_failover'"
        " AND status <> 'withdrawn' AND opened_at BETWEEN ? AND coalesce(?, now())",
        [pair, item.opened_at, item.resolved_at],
    )
    (held,) = one_row(
        cur,
        "SELECT coalesce(sum(len(incident_ids)), 0) FROM notifications WHERE pair = ?"
        " AND reason = ? AND created_at >= (SELECT min(created_at) FROM notifications"
        " WHERE list_contains(incident_ids, ?))",
        [pair, HELD, item.incident_id],
    )
    return [
        ("current state", f"active unit {active or 'unknown'}, stateful sync {sync or 'unknown'}"),
        ("transitions", str(item.evidence.get("transitions", "?"))),
        ("unsynced failovers", str(max(unsynced, item.evidence.get("unsynced_transitions") or 0))),
        ("notifications held back", str(held)),
    ]


def _stale_facts(cur: duckdb.DuckDBPyConnection, pair: str) -> list[tuple[str, str]]:
    """What an e-mail about a stale pair must say first (analytics/freshness.py)."""
    row = cur.execute(
        "SELECT reason, last_seen, last_source FROM pair_freshness WHERE pair = ? AND stale", [pair]
    ).fetchone()
    if row is None:
        return []
    reason, seen, source = row
    last = f"{seen:%Y-%m-%d %H:%M:%S} UTC ({source})" if seen else "never"
    return [("pair health now", f"STALE: {reason}"), ("last data from the pair", last)]


def drafts_for(
    cur: duckdb.DuckDBPyConnection, due: PairDue, settings: Mapping[str, Any], now: datetime
) -> list[Draft]:
    """The drafts one pair gets in this cycle."""
    stale = _stale_facts(cur, due.pair)

    def notice(
        kind: str, items: list[Item], facts: list[tuple[str, str]] | None = None, **extra: Any
    ) -> Notice:
        return Notice(
            kind, due.pair, due.site, due.zone, items, facts=stale + (facts or []), **extra
        )

    out: list[tuple[Notice, str | None]] = []  # notice, suppression reason
    held = [i for i in due.new if due.flapping_open and i.kind != "flapping"]
    maintenance = [
        (i, None if i.kind == "failover_test" else window_at(cur, due.pair, i.opened_at))
        for i in due.new
        if i not in held
    ]
    planned = [i for i, why in maintenance if why]
    paged = [i for i, why in maintenance if not why]
    if paged:
        out.append((notice("new", paged), None))
    if planned:
        out.append((notice("new", planned), next(why for _, why in maintenance if why)))
    if held:
        out.append((notice("new", held), HELD))
    if due.stale:
        out.append((notice("new", due.stale), STALE))
    held_repeats = [i for i in due.repeat if due.flapping_open and i.kind != "flapping"]
    repeats = [i for i in due.repeat if i not in held_repeats]
    if repeats:
        out.append((notice("repeat", repeats), None))
    if held_repeats:  # recorded as held back, so the flapping summary can count them
        out.append((notice("repeat", held_repeats), HELD))
    for item in due.resolved:
        if item.kind == "flapping":
            out.append(
                (
                    notice(
                        "flapping_summary",
                        [item],
                        facts=_flapping_facts(cur, due.pair, item),
                        note="The flapping has ended.",
                    ),
                    None,
                )
            )
    ordinary = [i for i in due.resolved if i.kind != "flapping"]
    if ordinary:
        out.append((notice("resolved", ordinary), HELD if due.flapping_open else None))
    until = silenced_until(cur, due.pair, now)
    drafts = []
    for n, reason in out:
        if until is not None:
            reason = f"silenced until {until:%Y-%m-%d %H:%M} UTC"
        drafts.append(_draft(n, settings, "suppressed" if reason else "pending", reason))
    return drafts
