"""Each dashboard user's SQL console history (table `sql_history`, migration 012): what they
ran, when, how many rows, how long, and the error if any.

Private to its user: another user's queries can name customers, addresses or what someone
is investigating. So the analysts' sandbox refuses the table by name (store/sql_check.py
PRIVATE_RELATIONS) however a query spells it, and `recent()` is the only reader, always for
one user. Written through `Store.transaction()`, the writer path every other web write
takes (acknowledgements, silences), never through the sandbox's read-only cursor, so the
sandbox stays read-only. Each user keeps their newest KEEP entries; older ones are
deleted as new ones arrive, so the table cannot grow without end.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import duckdb
from hawatch.store.db import Store
from hawatch.store.errors import HawatchError

KEEP = 200  # entries kept per user
SHOWN = 50  # entries the console lists


@dataclass(frozen=True)
class HistoryEntry:
    ran_at: datetime
    query: str
    way: str  # console | csv | json
    row_count: int | None  # None: it failed
    seconds: float | None  # None: it did not run
    error: str | None  # None: it ran


def record(store: Store, user: str, entry: HistoryEntry) -> None:
    """Add `entry` to `user`'s history and drop what is beyond their newest KEEP;
    HawatchError when the store cannot write now (the caller's answer goes out anyway)."""
    try:
        _write(store, user, entry)
    except duckdb.Error as exc:
        raise HawatchError(f"history not kept: {str(exc).strip().splitlines()[0]}") from None


def _write(store: Store, user: str, entry: HistoryEntry) -> None:
    with store.transaction() as cur:
        cur.execute(
            "INSERT INTO sql_history (user_name, ran_at, query, way, row_count,"
            " seconds, error) VALUES (?, ?, ?, ?, ?, ?, ?)",
            [
                user,
                entry.ran_at,
                entry.query,
                entry.way,
                entry.row_count,
                entry.seconds,
                entry.error,
            ],
        )
        cur.execute(
            "DELETE FROM sql_history WHERE user_name = $user AND entry_id NOT IN"
            " (SELECT entry_id FROM sql_history WHERE user_name = $user"
            "  ORDER BY entry_id DESC LIMIT $keep)",
            {"user": user, "keep": KEEP},
        )


def recent(cur: duckdb.DuckDBPyConnection, user: str, limit: int = SHOWN) -> list[HistoryEntry]:
    """`user`'s newest `limit` entries, newest first; nobody else's."""
    rows = cur.execute(
        "SELECT ran_at, query, way, row_count, seconds, error FROM sql_history"
        " WHERE user_name = ? ORDER BY entry_id DESC LIMIT ?",
        [user, limit],
    ).fetchall()
    return [HistoryEntry(*row) for row in rows]
