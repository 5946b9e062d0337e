"""The daily digest: fleet health (`pair_health`), the last day's incidents, failover-test
verdicts, the most-flapping pairs, and what was suppressed since the previous digest."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import duckdb
from hawatch.analytics.alerts.outbox import Draft
from hawatch.analytics.alerts.pipeline import record
from hawatch.analytics.alerts.render import render_page
from hawatch.analytics.alerts.routing import addresses
from hawatch.analytics.alerts.settings import alert_settings
from hawatch.store.db import Store
from hawatch.store.errors import HawatchError
from hawatch.store.execute import one_row
from hawatch.store.settings_type import Settings

_RECENT = (
    "status <> 'withdrawn' AND (first_detected >= $since OR last_updated >= $since"
    " OR opened_at >= $since)"
)


def _lines(cur: duckdb.DuckDBPyConnection, sql: str, params: dict[str, Any]) -> list[str]:
    return [str(r[0]) for r in cur.execute(sql, params).fetchall()]


def sections(cur: duckdb.DuckDBPyConnection, now: datetime) -> list[tuple[str, list[str]]]:
    p = {"since": now - timedelta(days=1)}
    last = one_row(cur, "SELECT max(created_at) FROM notifications WHERE kind = 'digest'")[0]
    return [
        (
            "Fleet health",
            _lines(
                cur,
                "SELECT printf('%s (%s): %s, score %d%s', pair,"
                " coalesce(site, '-'), health, score, CASE WHEN reasons <> ''"
                " THEN ' - ' || reasons ELSE '' END) FROM pair_health"
                " ORDER BY score, pair",
                {},
            ),
        ),
        (
            "Incidents of the last day",
            _lines(
                cur,
                "SELECT printf('%s %s %s %s (%s): %s', strftime(opened_at, '%Y-%m-%d %H:%M'),"
                " upper(severity), pair, kind, status, summary) FROM incidents WHERE "
                + _RECENT
                + " AND kind <> 'failover_test' ORDER BY opened_at",
                p,
            ),
        ),
        (
            "Failover-test verdicts",
            _lines(
                cur,
                "SELECT printf('%s %s: %s', strftime(opened_at, '%Y-%m-%d %H:%M'), pair,"
                " summary) FROM incidents WHERE " + _RECENT + " AND kind = 'failover_test'"
                " ORDER BY opened_at",
                p,
            ),
        ),
        (
            "Most-flapping pairs",
            _lines(
                cur,
                "SELECT printf('%s: %d flapping episodes, %d role changes', pair, count(*),"
                " sum(CAST(json_extract(evidence, '$.transitions') AS INTEGER))) FROM incidents"
                " WHERE " + _RECENT + " AND kind = 'flapping' GROUP BY pair"
                " ORDER BY sum(CAST(json_extract(evidence, '$.transitions') AS INTEGER)) DESC"
                " LIMIT 10",
                p,
            ),
        ),
        (
            "Suppressed since the last digest",
            _lines(
                cur,
                "SELECT printf('%s %s %s: %s (%s)', strftime(created_at, '%Y-%m-%d %H:%M'),"
                " kind, coalesce(pair, '-'), subject, reason) FROM notifications"
                " WHERE status = 'suppressed' AND created_at > coalesce(CAST($last AS TIMESTAMPTZ),"
                " TIMESTAMPTZ '1970-01-01 00:00:00+00') ORDER BY notification_id",
                {"last": last},
            ),
        ),
    ]


def send_digest(store: Store, settings: Settings | None, now: datetime) -> int:
    """Record the digest in the outbox (delivered by the next cycle); returns its id."""
    s = alert_settings(settings)
    recipients = addresses(str(s["alerts.to"]))
    if not recipients:
        raise HawatchError("no recipient for the digest: set alerts.to (HAWATCH_ALERT_TO)")
    text, html = render_page(
        f"hawatch digest {now:%Y-%m-%d %H:%M} UTC", sections(store.cursor(), now)
    )
    draft = Draft("digest", None, [], recipients, f"[hawatch] digest {now:%Y-%m-%d}", text, html)
    (nid,) = record(store, [draft], s, now)
    return nid
