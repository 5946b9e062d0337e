"""Silences and declared windows: what keeps a notification from being sent.

A silence names a pair and always ends (`ends_at` is required). A suppressed notification is
still written to the outbox with its reason, so the next digest can show it.
"""

from __future__ import annotations

from datetime import datetime

import duckdb
from hawatch.analytics.alerts.audit import record
from hawatch.store.db import Store
from hawatch.store.errors import HawatchError
from hawatch.store.execute import one_row


def add_silence(
    store: Store,
    pair: str,
    ends_at: datetime,
    now: datetime,
    comment: str = "",
    starts_at: datetime | None = None,
    by: str = "operator",
) -> int:
    """A new silence's id; kept in the audit log in the same transaction."""
    if ends_at <= (starts_at or now):
        raise HawatchError("a silence must end after it starts")
    with store.transaction() as cur:
        (sid,) = one_row(cur, "SELECT nextval('silence_ids')")
        cur.execute(
            "INSERT INTO silences VALUES (?, ?, ?, ?, ?, ?)",
            [sid, pair, starts_at or now, ends_at, comment, now],
        )
        record(
            cur,
            now,
            by,
            "silence",
            ("silence", sid),
            pair,
            comment,
            f"silence #{sid} until {ends_at:%Y-%m-%d %H:%M} UTC",
        )
    return int(sid)


def silenced_until(cur: duckdb.DuckDBPyConnection, pair: str, now: datetime) -> datetime | None:
    """The end of the silence covering `pair` at `now`, if one does."""
    (until,) = one_row(
        cur,
        "SELECT max(ends_at) FROM silences WHERE pair = ? AND starts_at <= ? AND ends_at > ?",
        [pair, now, now],
    )
    return until


def window_at(cur: duckdb.DuckDBPyConnection, pair: str, at: datetime) -> str | None:
    """`maintenance window: CHG-7` (or `failover_test window: ...`) when a declared window
    of `pair` covers `at`: a planned event is reported by its verdict or not at all."""
    row = cur.execute(
        "SELECT kind || ' window' || coalesce(': ' || nullif(comment, ''), '')"
        " FROM windows WHERE pair = ? AND ? BETWEEN starts_at AND ends_at"
        " ORDER BY kind DESC LIMIT 1",
        [pair, at],
    ).fetchone()
    return row[0] if row else None
