"""Silences and windows changed after the fact: a new end, or removed. Each change is kept
in the audit log in its own transaction.

A window decides how the analytics judge the failovers inside it (a failover-test verdict
instead of an unsynced-failover page), so changing or removing one marks its pair for
analysis from the window's start: the incidents it suppressed come back at the next pass.
"""

from __future__ import annotations

from datetime import datetime

from hawatch.analytics.alerts.audit import record
from hawatch.store.db import Store
from hawatch.store.errors import HawatchError


def _stamp(at: datetime) -> str:
    return f"{at:%Y-%m-%d %H:%M} UTC"


def edit_silence(
    store: Store, silence_id: int, ends_at: datetime, by: str, comment: str, now: datetime
) -> str:
    with store.transaction() as cur:
        row = cur.execute(
            "SELECT pair, starts_at, ends_at FROM silences WHERE silence_id = ?", [silence_id]
        ).fetchone()
        if row is None:
            raise HawatchError(f"no silence #{silence_id}")
        pair, starts_at, old_end = row
        if ends_at <= starts_at:
            raise HawatchError("a silence must end after it starts")
        cur.execute("UPDATE silences SET ends_at = ? WHERE silence_id = ?", [ends_at, silence_id])
        record(
            cur,
            now,
            by,
            "silence_edit",
            ("silence", silence_id),
            pair,
            comment,
            f"silence #{silence_id} now until {_stamp(ends_at)} (was {_stamp(old_end)})",
        )
    return f"silence #{silence_id}: {pair} silenced until {ends_at.isoformat()}"


def remove_silence(store: Store, silence_id: int, by: str, comment: str, now: datetime) -> str:
    with store.transaction() as cur:
        row = cur.execute(
            "SELECT pair, ends_at FROM silences WHERE silence_id = ?", [silence_id]
        ).fetchone()
        if row is None:
            raise HawatchError(f"no silence #{silence_id}")
        cur.execute("DELETE FROM silences WHERE silence_id = ?", [silence_id])
        record(
            cur,
            now,
            by,
            "silence_remove",
            ("silence", silence_id),
            row[0],
            comment,
            f"silence #{silence_id} until {_stamp(row[1])} removed",
        )
    return f"silence #{silence_id} of {row[0]} removed: its alerts go out again"


def edit_window(
    store: Store, window_id: int, ends_at: datetime, by: str, comment: str, now: datetime
) -> str:
    with store.transaction() as cur:
        row = cur.execute(
            "SELECT pair, kind, starts_at, ends_at FROM windows WHERE window_id = ?", [window_id]
        ).fetchone()
        if row is None:
            raise HawatchError(f"no window #{window_id}")
        pair, kind, starts_at, old_end = row
        if ends_at <= starts_at:
            raise HawatchError("a window must end after it starts")
        cur.execute("UPDATE windows SET ends_at = ? WHERE window_id = ?", [ends_at, window_id])
        cur.execute("INSERT INTO analysis_dirty VALUES (?, ?, ?)", [pair, starts_at, now])
        record(
            cur,
            now,
            by,
            "window_edit",
            ("window", window_id),
            pair,
            comment,
            f"{kind} window #{window_id} now ends {_stamp(ends_at)} (was {_stamp(old_end)})",
        )
    return f"{kind} window #{window_id} of {pair} now ends {ends_at.isoformat()}"


def remove_window(store: Store, window_id: int, by: str, comment: str, now: datetime) -> str:
    with store.transaction() as cur:
        row = cur.execute(
            "SELECT pair, kind, starts_at, ends_at FROM windows WHERE window_id = ?", [window_id]
        ).fetchone()
        if row is None:
            raise HawatchError(f"no window #{window_id}")
        pair, kind, starts_at, ends_at = row
        cur.execute("DELETE FROM windows WHERE window_id = ?", [window_id])
        # the failovers it covered are judged again: what it suppressed comes back
        cur.execute("INSERT INTO analysis_dirty VALUES (?, ?, ?)", [pair, starts_at, now])
        record(
            cur,
            now,
            by,
            "window_remove",
            ("window", window_id),
            pair,
            comment,
            f"{kind} window #{window_id} {_stamp(starts_at)} to {_stamp(ends_at)} removed",
        )
    return (
        f"{kind} window #{window_id} of {pair} removed: its failovers are judged again"
        " at the next analysis"
    )
