"""The alerting pipeline, assembled in one place:

    incidents -> grouping (due per pair) -> rules (silences, windows, flapping, routes)
              -> render -> outbox (recorded before any send) -> smtp (retry with backoff)

`run_alert_cycle` is what `hawatch serve` calls every minute; every stage takes an explicit
`now` so tests drive time instead of sleeping.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import duckdb
from hawatch.analytics.alerts import grouping, outbox, rules
from hawatch.analytics.alerts.acknowledgements import clear_resolved
from hawatch.analytics.alerts.outbox import Draft
from hawatch.analytics.alerts.render import render_page
from hawatch.analytics.alerts.routing import addresses
from hawatch.analytics.alerts.settings import alert_settings
from hawatch.analytics.alerts.smtp import SmtpConfig, deliver
from hawatch.store.db import Store
from hawatch.store.errors import HawatchError
from hawatch.store.execute import one_row
from hawatch.store.settings_type import Settings

log = logging.getLogger(__name__)


def _domain(settings: Mapping[str, Any]) -> str:
    return str(settings["alerts.from"]).rpartition("@")[2] or "localhost"


def _remember(cur: duckdb.DuckDBPyConnection, draft: Draft, nid: int, now: datetime) -> None:
    """What each incident was notified as: the log de-duplication is decided from."""
    for iid in draft.incident_ids:
        status, kind = one_row(
            cur, "SELECT status, kind FROM incidents WHERE incident_id = ?", [iid]
        )
        still_open = (
            draft.kind in ("new", "repeat") and status == "open" and kind != "failover_test"
        )
        cur.execute("DELETE FROM alert_state WHERE incident_id = ?", [iid])
        cur.execute(
            "INSERT INTO alert_state VALUES (?, ?, ?, ?, ?)",
            [iid, draft.pair, "open" if still_open else "resolved", now, nid],
        )


def record(
    store: Store, drafts: list[Draft], settings: Mapping[str, Any], now: datetime
) -> list[int]:
    """Write drafts to the outbox in one transaction; returns their ids."""
    with store.transaction() as cur:
        return _record(cur, drafts, settings, now)


def _record(
    cur: duckdb.DuckDBPyConnection, drafts: list[Draft], settings: Mapping[str, Any], now: datetime
) -> list[int]:
    ids = []
    for draft in drafts:
        nid = outbox.enqueue(cur, draft, now, _domain(settings))
        _remember(cur, draft, nid, now)
        ids.append(nid)
    return ids


def evaluate(store: Store, settings: Mapping[str, Any] | None, now: datetime) -> list[int]:
    """Turn what is due into outbox rows (sent later, or suppressed with a reason)."""
    s = alert_settings(settings)
    with store.transaction() as cur:
        clear_resolved(cur, now)
        drafts = [
            d
            for due in grouping.due_by_pair(cur, s, now)
            for d in rules.drafts_for(cur, due, s, now)
        ]
        return _record(cur, drafts, s, now)


def deliver_pending(store: Store, settings: Mapping[str, Any] | None, now: datetime) -> int:
    """Send every pending row that is due; returns how many the server accepted. Raises
    HawatchError (noted on the waiting rows) when the settings forbid sending."""
    s = alert_settings(settings)
    if not s["smtp.host"]:
        return 0
    longest_attempt = 4 * float(s["smtp.timeout_seconds"]) + float(s["smtp.data_timeout_seconds"])
    outbox.recover_interrupted(store, now - timedelta(seconds=longest_attempt + 60))
    items = outbox.due(store, now)
    if not items:
        return 0
    try:
        config = SmtpConfig.from_settings(s)
    except HawatchError as exc:
        outbox.note_error(store, [item.notification_id for item in items], str(exc))
        raise
    first, longest = float(s["alerts.retry_seconds"]), float(s["alerts.max_retry_seconds"])
    return deliver(config, items, outbox.Recorder(store, now, first, longest))


def _now() -> datetime:
    return datetime.now(UTC)


def run_alert_cycle(store: Store, settings: Settings, now: datetime | None = None) -> None:
    """One minute's work for `hawatch serve`: evaluate, then deliver. Never raises, so the
    scheduler's job lives on; failures are logged and retried next cycle."""
    s = alert_settings(settings)
    if not s["alerts.enabled"]:
        return
    at = now or _now()
    try:
        evaluate(store, s, at)
    except Exception:  # noqa: BLE001 - a background loop never dies
        log.exception("alert evaluation failed; retrying next cycle")
    try:
        deliver_pending(store, s, at)
    except HawatchError as exc:  # a setting to fix: one line, the mail waits in the outbox
        log.error("alert e-mails not sent: %s", exc)
    except Exception:  # noqa: BLE001
        log.exception("alert delivery failed; retrying next cycle")


def send_test(store: Store, settings: Settings, now: datetime, to: str | None = None) -> int:
    """A test e-mail through the outbox; returns its notification id."""
    s = alert_settings(settings)
    recipients = addresses(to or str(s["alerts.to"]))
    if not recipients:
        raise HawatchError("no recipient: pass --to ADDRESS or set HAWATCH_ALERT_TO")
    text, html = render_page(
        "hawatch test e-mail",
        [
            (
                "This is a test",
                [
                    f"sent at {now:%Y-%m-%d %H:%M:%S} UTC",
                    f"SMTP server {s['smtp.host']}:{s['smtp.port']} ({s['smtp.security']})",
                ],
            )
        ],
    )
    (nid,) = record(
        store, [Draft("test", None, [], recipients, "[hawatch] test e-mail", text, html)], s, now
    )
    return nid
