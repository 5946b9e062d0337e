"""The outbox: every notification is a row in `notifications` before any SMTP traffic.

A row is `pending` until the server accepted it (`sent`, stamped right after its 250), or
`suppressed` from the start (silenced, maintenance, held back while flapping) so the log
still explains what was not sent. Delivery picks pending rows whose `next_attempt_at` has
come; a failure doubles the delay. After a crash, only rows not yet marked sent go out again.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import duckdb
from hawatch.store.db import Store


@dataclass(frozen=True)
class Draft:
    """A notification to record: what the rules decided and the renderer wrote."""

    kind: str
    pair: str | None
    incident_ids: list[int]
    recipients: list[str]
    subject: str
    text_body: str
    html_body: str
    status: str = "pending"  # or suppressed
    reason: str | None = None


@dataclass(frozen=True)
class Pending:
    notification_id: int
    recipients: list[str]
    subject: str
    text_body: str
    html_body: str
    message_id: str
    attempts: int


def message_id(notification_id: int, domain: str) -> str:
    """Stable per row, so a re-send after a crash can be recognised as a duplicate."""
    return f"<hawatch.notification.{notification_id}@{domain or socket.getfqdn()}>"


def enqueue(cur: duckdb.DuckDBPyConnection, draft: Draft, now: datetime,
            domain: str) -> int:
    """Record one notification (inside the caller's transaction); returns its id."""
    (nid,) = cur.execute("SELECT nextval('notification_ids')").fetchone()
    suppressed = draft.status != "pending"
    cur.execute(
        "INSERT INTO notifications (notification_id, incident_ids, pair, kind, status, reason,"
        " recipients, subject, text_body, html_body, message_id, created_at, attempts,"
        " next_attempt_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?)",
        [nid, draft.incident_ids, draft.pair, draft.kind, draft.status, draft.reason,
         ", ".join(draft.recipients), draft.subject, draft.text_body, draft.html_body,
         message_id(nid, domain), now, None if suppressed else now])
    return int(nid)


def due(store: Store, now: datetime) -> list[Pending]:
    """Pending rows whose next attempt has come, oldest first."""
    rows = store.cursor().execute(
        "SELECT notification_id, recipients, subject, text_body, html_body, message_id,"
        " attempts FROM notifications WHERE status = 'pending' AND next_attempt_at <= ?"
        " ORDER BY notification_id", [now]).fetchall()
    return [Pending(r[0], [a.strip() for a in r[1].split(",") if a.strip()], *r[2:])
            for r in rows]


def mark_sent(store: Store, notification_id: int, now: datetime) -> None:
    with store.transaction() as cur:
        cur.execute("UPDATE notifications SET status = 'sent', sent_at = ?,"
                    " attempts = attempts + 1, next_attempt_at = NULL, last_error = NULL"
                    " WHERE notification_id = ?", [now, notification_id])


def mark_failed(store: Store, notification_id: int, now: datetime, error: str,
                first_delay: float, max_delay: float) -> None:
    """One more failed attempt; the row stays pending with a doubled delay (capped)."""
    with store.transaction() as cur:
        (attempts,) = cur.execute("SELECT attempts FROM notifications WHERE"
                                  " notification_id = ?", [notification_id]).fetchone()
        delay = min(max_delay, first_delay * 2 ** attempts)
        cur.execute("UPDATE notifications SET attempts = attempts + 1, last_error = ?,"
                    " next_attempt_at = ? WHERE notification_id = ?",
                    [error[:500], now + timedelta(seconds=delay), notification_id])


LOG_COLUMNS = ("id", "created_at", "kind", "pair", "status", "attempts", "recipients",
               "subject", "sent_at", "next_attempt_at", "last_error")


LOG_QUERY = (
    "SELECT notification_id AS id, created_at, kind, pair,"
    " CASE WHEN status = 'pending' AND attempts > 0 THEN 'failed (retrying)'"
    "      ELSE status END || coalesce(' (' || reason || ')', '') AS status,"
    " attempts, recipients, subject, sent_at, next_attempt_at, last_error"
    " FROM notifications ORDER BY notification_id DESC LIMIT $limit")


def log_rows(store: Store, limit: int = 100) -> list[tuple[Any, ...]]:
    """The newest notifications for `hawatch alerts log`, a failed status shown as such."""
    return store.cursor().execute(LOG_QUERY.replace("$limit", str(int(limit)))).fetchall()
