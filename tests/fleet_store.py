"""A small fleet of every health, built in SQL, for the fleet page's tests (server and
browser): two critical pairs, two warning (an incident; stateful sync off), a stale one and
seven ok pairs, two of those with a recent incident that leaves them ok (resolved; info).

Worst first, the fleet page must list them as `WORST_FIRST`: health (critical, warning,
stale, ok), then the newest incident first, then the pair's name.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hawatch.store import Store

NOW = datetime.now(UTC).replace(microsecond=0)
OK = [f"ok-{i:02d}" for i in range(1, 8)]
# (pair, incident severity or None, status, hours before now)
INCIDENTS = [
    ("crit-old", "critical", "open", 10.0),
    ("crit-new", "critical", "open", 1.0),
    ("warn-a", "warning", "open", 2.0),
    ("ok-03", "critical", "resolved", 0.5),
    ("ok-05", "info", "open", 0.1),
]
WORST_FIRST = [
    "crit-new",
    "crit-old",
    "warn-a",
    "sync-off",
    "stale-1",
    "ok-05",
    "ok-03",
    "ok-01",
    "ok-02",
    "ok-04",
    "ok-06",
    "ok-07",
]
HEALTH = {
    "crit-new": "critical",
    "crit-old": "critical",
    "warn-a": "warning",
    "sync-off": "warning",
    "stale-1": "stale",
} | {p: "ok" for p in OK}


def fill_fleet(store: Store) -> None:
    """The pairs, their units, incidents and one silent unit, as the analysis leaves them."""
    cur = store.cursor()
    for n, pair in enumerate(sorted(HEALTH)):
        primary, secondary = f"P{n:04d}", f"S{n:04d}"
        sync = "not_synced" if pair == "sync-off" else "synced"
        cur.execute(
            "INSERT INTO pairs (pair, site, primary_serial, secondary_serial,"
            " active_serial, stateful_sync, origin, updated_at) VALUES (?, ?, ?, ?,"
            " ?, ?, 'inventory', now())",
            [pair, f"site-{n % 3}", primary, secondary, primary, sync],
        )
        for serial, role in ((primary, "primary"), (secondary, "secondary")):
            cur.execute(
                "INSERT INTO devices (serial, pair, role) VALUES (?, ?, ?)", [serial, pair, role]
            )
    for number, (pair, severity, status, hours) in enumerate(INCIDENTS, start=1):
        opened = NOW - timedelta(hours=hours)
        cur.execute(
            "INSERT INTO incidents (incident_id, pair, kind, severity, opened_at, status,"
            " resolved_at, summary, evidence, first_detected, last_updated) VALUES (?, ?,"
            " 'flapping', ?, ?, ?, ?, 'test incident', '{}', ?, ?)",
            [
                number,
                pair,
                severity,
                opened,
                status,
                opened + timedelta(minutes=5) if status == "resolved" else None,
                opened,
                opened,
            ],
        )
    serial = cur.execute("SELECT primary_serial FROM pairs WHERE pair = 'stale-1'").fetchone()
    cur.execute(
        "INSERT INTO unit_freshness (pair, serial, role, last_seen, last_source, polled, live,"
        " threshold_seconds, silent, silent_since, judged_at) VALUES ('stale-1', ?,"
        " 'primary', ?, 'syslog', false, true, 900, true, ?, now())",
        [serial[0], NOW - timedelta(hours=3), NOW - timedelta(hours=3)],
    )


def fill_many(store: Store, pairs: int) -> None:
    """`pairs` pairs in one statement each (the size of a real fleet, for the weight of the
    first load): every 40th with an open critical incident, every 25th a warning one."""
    cur = store.cursor()
    cur.execute(
        "INSERT INTO pairs (pair, site, primary_serial, secondary_serial, active_serial,"
        " stateful_sync, origin, updated_at) SELECT printf('pair-%05d', i),"
        " printf('site-%02d', i % 40), printf('P%05d', i), printf('S%05d', i),"
        " printf('P%05d', i), 'synced', 'inventory', now() FROM range(?) t(i)",
        [pairs],
    )
    cur.execute(
        "INSERT INTO devices (serial, pair, role) SELECT printf('P%05d', i),"
        " printf('pair-%05d', i), 'primary' FROM range(?) t(i) UNION ALL SELECT"
        " printf('S%05d', i), printf('pair-%05d', i), 'secondary' FROM range(?) t(i)",
        [pairs, pairs],
    )
    cur.execute(
        "INSERT INTO incidents (incident_id, pair, kind, severity, opened_at, status,"
        " summary, evidence, first_detected, last_updated) SELECT i, printf('pair-%05d', i),"
        " 'flapping', CASE WHEN i % 40 = 0 THEN 'critical' ELSE 'warning' END,"
        " now() - to_minutes(i::BIGINT), 'open', 'test incident', '{}', now(), now()"
        " FROM range(?) t(i) WHERE i % 40 = 0 OR i % 25 = 0",
        [pairs],
    )
