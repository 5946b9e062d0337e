"""Acknowledgements: an operator has seen an incident, so its repeats stop.

Users of Nagios and Alertmanager complain about acknowledgements that outlive the problem:
here one clears itself when its incident resolves (or is withdrawn), so the next time the
pair breaks, it pages again.
"""

from __future__ import annotations

from datetime import datetime

import duckdb
from hawatch.analytics.alerts.audit import record
from hawatch.store.db import Store
from hawatch.store.errors import HawatchError


def acknowledge(store: Store, incident_id: int, by: str, comment: str, now: datetime) -> None:
    """Acknowledge an open incident once (a second acknowledgement is refused: the page
    offers none), kept in the audit log in the same transaction."""
    with store.transaction() as cur:
        row = cur.execute(
            "SELECT status, pair FROM incidents WHERE incident_id = ?", [incident_id]
        ).fetchone()
        if row is None:
            raise HawatchError(f"no incident #{incident_id}")
        if row[0] != "open":
            raise HawatchError(f"incident #{incident_id} is {row[0]}, not open")
        held = cur.execute(
            "SELECT acked_by FROM acknowledgements WHERE incident_id = ? AND cleared_at IS NULL",
            [incident_id],
        ).fetchone()
        if held is not None:
            raise HawatchError(f"incident #{incident_id} is already acknowledged by {held[0]}")
        cur.execute(
            "INSERT INTO acknowledgements VALUES (?, ?, ?, ?, NULL)",
            [incident_id, by, comment, now],
        )
        record(
            cur,
            now,
            by,
            "acknowledge",
            ("incident", incident_id),
            row[1],
            comment,
            f"incident #{incident_id} acknowledged",
        )


def clear_resolved(cur: duckdb.DuckDBPyConnection, now: datetime) -> None:
    cur.execute(
        "UPDATE acknowledgements a SET cleared_at = ? FROM incidents i"
        " WHERE a.incident_id = i.incident_id AND a.cleared_at IS NULL"
        " AND i.status <> 'open'",
        [now],
    )


def acknowledged(cur: duckdb.DuckDBPyConnection) -> set[int]:
    """Incidents with an acknowledgement in force."""
    return {
        r[0]
        for r in cur.execute(
            "SELECT DISTINCT incident_id FROM acknowledgements WHERE cleared_at IS NULL"
        ).fetchall()
    }
