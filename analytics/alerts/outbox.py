"""The outbox: every notification is a row in `notifications` before any SMTP traffic.

A row is `pending` until the server accepted it (`sent`, stamped right after its 250), or
`suppressed` from the start (silenced, maintenance, held back while flapping) so the log
still explains what was not sent. Delivery picks pending rows whose `next_attempt_at` has
come and claims each right before sending it (`sending`, the attempt counted and timed), so
no two rounds send one row; a failure puts it back with a doubled delay. A row whose server
never answered the end of the message is `unconfirmed` and is not sent again (see
analytics/alerts/smtp.py). After a crash, only rows not yet marked sent go out again: one
left `sending` by a process that died mid-send is pending again once no live attempt can
still be running.
"""

from __future__ import annotations

import logging
import socket
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import duckdb
from hawatch.store.db import Store
from hawatch.store.execute import one_row

log = logging.getLogger(__name__)


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


def enqueue(cur: duckdb.DuckDBPyConnection, draft: Draft, now: datetime, domain: str) -> int:
    """Record one notification (inside the caller's transaction); returns its id."""
    (nid,) = one_row(cur, "SELECT nextval('notification_ids')")
    suppressed = draft.status != "pending"
    cur.execute(
        "INSERT INTO notifications (notification_id, incident_ids, pair, kind, status, reason,"
        " recipients, subject, text_body, html_body, message_id, created_at, attempts,"
        " next_attempt_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?)",
        [
            nid,
            draft.incident_ids,
            draft.pair,
            draft.kind,
            draft.status,
            draft.reason,
            ", ".join(draft.recipients),
            draft.subject,
            draft.text_body,
            draft.html_body,
            message_id(nid, domain),
            now,
            None if suppressed else now,
        ],
    )
    return int(nid)


def due(store: Store, now: datetime) -> list[Pending]:
    """Pending rows whose next attempt has come, oldest first."""
    rows = (
        store.cursor()
        .execute(
            "SELECT notification_id, recipients, subject, text_body, html_body, message_id,"
            " attempts FROM notifications WHERE status = 'pending' AND next_attempt_at <= ?"
            " ORDER BY notification_id",
            [now],
        )
        .fetchall()
    )
    return [Pending(r[0], [a.strip() for a in r[1].split(",") if a.strip()], *r[2:]) for r in rows]


def claim(store: Store, notification_id: int, now: datetime) -> bool:
    """Record an attempt before sending: the row becomes `sending` (attempt counted, its
    start in next_attempt_at); False when it is no longer pending (another round has it)."""
    with store.transaction() as cur:
        (claimed,) = one_row(
            cur,
            "UPDATE notifications SET status = 'sending', attempts = attempts + 1,"
            " next_attempt_at = ? WHERE notification_id = ? AND status = 'pending'",
            [now, notification_id],
        )
    return bool(claimed)


def mark_sent(store: Store, notification_id: int, now: datetime) -> None:
    with store.transaction() as cur:
        cur.execute(
            "UPDATE notifications SET status = 'sent', sent_at = ?,"
            " next_attempt_at = NULL, last_error = NULL"
            " WHERE notification_id = ?",
            [now, notification_id],
        )


def mark_failed(
    store: Store,
    notification_id: int,
    now: datetime,
    error: str,
    first_delay: float,
    max_delay: float,
) -> None:
    """A failed attempt (counted now unless the row was claimed for it); the row is pending
    again with a doubled delay (capped)."""
    with store.transaction() as cur:
        (attempts,) = one_row(
            cur,
            "UPDATE notifications SET attempts = attempts + CASE WHEN status = 'sending'"
            " THEN 0 ELSE 1 END, status = 'pending', last_error = ?"
            " WHERE notification_id = ? RETURNING attempts",
            [error[:500], notification_id],
        )
        delay = min(max_delay, first_delay * 2 ** (attempts - 1))
        cur.execute(
            "UPDATE notifications SET next_attempt_at = ? WHERE notification_id = ?",
            [now + timedelta(seconds=delay), notification_id],
        )


def mark_unconfirmed(store: Store, notification_id: int, error: str) -> None:
    """The server had the whole message but never answered: not sent again."""
    with store.transaction() as cur:
        cur.execute(
            "UPDATE notifications SET status = 'unconfirmed', next_attempt_at = NULL,"
            " last_error = ? WHERE notification_id = ?",
            [error[:500], notification_id],
        )


def note_error(store: Store, notification_ids: list[int], error: str) -> None:
    """Why waiting rows are not sent (a setting to fix), without counting an attempt."""
    with store.transaction() as cur:
        cur.execute(
            "UPDATE notifications SET last_error = ? WHERE notification_id IN (SELECT unnest(?))",
            [error[:500], notification_ids],
        )


def recover_interrupted(store: Store, claimed_before: datetime) -> int:
    """Rows left `sending` by a process that stopped mid-send (claimed before any attempt
    still running could have started) are pending again: rather one more copy, with the same
    Message-ID, than a page lost to a crash."""
    with store.transaction() as cur:
        (count,) = one_row(
            cur,
            "UPDATE notifications SET status = 'pending', last_error = 'delivery interrupted"
            " (the process stopped while sending); sending again' WHERE status = 'sending'"
            " AND next_attempt_at < ?",
            [claimed_before],
        )
    return int(count)


@dataclass
class Recorder:
    """What deliver (analytics/alerts/smtp.py) reports, written to the outbox at once."""

    store: Store
    now: datetime
    first_delay: float
    max_delay: float

    def claim(self, item: Pending) -> bool:
        return claim(self.store, item.notification_id, self.now)

    def sent(self, item: Pending) -> None:
        mark_sent(self.store, item.notification_id, datetime.now(UTC))

    def failed(self, item: Pending, error: str) -> None:
        mark_failed(
            self.store, item.notification_id, self.now, error, self.first_delay, self.max_delay
        )

    def unconfirmed(self, item: Pending, error: str) -> None:
        log.warning("alert e-mail %s (%s): %s", item.notification_id, item.message_id, error)
        mark_unconfirmed(self.store, item.notification_id, error)


LOG_COLUMNS = (
    "id",
    "created_at",
    "kind",
    "pair",
    "status",
    "attempts",
    "recipients",
    "subject",
    "sent_at",
    "next_attempt_at",
    "last_error",
)


LOG_QUERY = (
    "SELECT notification_id AS id, created_at, kind, pair,"
    " CASE WHEN status = 'pending' AND attempts > 0 THEN 'failed (retrying)'"
    "      WHEN status = 'unconfirmed' THEN 'unconfirmed (may have been delivered)'"
    "      ELSE status END || coalesce(' (' || reason || ')', '') AS status,"
    " attempts, recipients, subject, sent_at, next_attempt_at, last_error"
    " FROM notifications ORDER BY notification_id DESC LIMIT ?"
)  # ?: how many


def log_rows(store: Store, limit: int = 100) -> list[tuple[Any, ...]]:
    """The newest notifications for `hawatch alerts log`, a failed status shown as such."""
    return store.cursor().execute(LOG_QUERY, [int(limit)]).fetchall()
