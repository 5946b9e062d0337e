"""Polling health for the ingest page and its JSON API: units per outcome and protocol, and
the units whose last poll failed, with the reason (one line, never a secret)."""

from __future__ import annotations

from typing import Any

import duckdb
from hawatch.store.execute import fetch_dicts

_BY_OUTCOME = """
SELECT protocol, outcome, count(*) AS units, max(last_attempt) AS last_attempt,
       round(avg(latency_ms), 1) AS avg_latency_ms
FROM poll_status GROUP BY protocol, outcome ORDER BY protocol, outcome
"""

# failing units first (longest failing first), then the rest by pair
_UNITS = """
SELECT pair, role, serial, protocol, address, profile, outcome, reason, last_attempt,
       last_success, failing_since, failures, latency_ms, count(*) OVER () AS total
FROM poll_status
ORDER BY outcome = 'ok', failing_since NULLS LAST, pair, role, protocol
LIMIT $limit
"""


def poll_health(cur: duckdb.DuckDBPyConnection, limit: int = 200) -> dict[str, Any]:
    units = fetch_dicts(cur.execute(_UNITS, {"limit": limit}))
    total = int(units[0]["total"]) if units else 0
    for row in units:
        del row["total"]
    return {
        "poll_outcomes": fetch_dicts(cur.execute(_BY_OUTCOME)),
        "poll_units": units,
        "poll_units_total": total,
    }
