"""What ingest has delivered, for the ingest-health page and its JSON API: totals by format
and by origin (with the last hour's rate), the sources, and the quarantine.

`hawatch serve` ingests its listeners' spool files one second at a time, each a row of
`sources`: a day of UDP and TCP syslog is 170,000 rows. Listing them one by one would make the
page useless (and huge), so the files of serve's listeners and uploads (`sources.origin` udp,
tcp, http) are summed per origin and hour; files ingested from a path stay one row each. The
list is the newest `limit` rows, with the total.

The quarantine keeps at most a capped number of rows per source (collector/limits.py); the
lines past the cap are counted in `sources.quarantined`, and the page says how many.
"""

from __future__ import annotations

from typing import Any

import duckdb
from hawatch.store.execute import fetch_dicts

_BY_FORMAT = """
SELECT format, count(*) AS sources, sum(committed_lines) AS lines,
       sum(quarantined) AS quarantined, max(last_ingest) AS last_ingest
FROM sources GROUP BY format ORDER BY format
"""

_BY_ORIGIN = """
SELECT origin, count(*) AS sources, sum(committed_lines) AS lines,
       coalesce(sum(committed_lines) FILTER (WHERE last_ingest >= now() - INTERVAL 1 HOUR), 0)
           AS lines_last_hour,
       round(coalesce(sum(committed_lines)
                      FILTER (WHERE last_ingest >= now() - INTERVAL 1 HOUR), 0) / 3600.0, 2)
           AS lines_per_second,
       sum(quarantined) AS quarantined, max(last_ingest) AS last_ingest
FROM sources GROUP BY origin ORDER BY origin
"""

_SOURCES = """
WITH listed AS (
    SELECT name, format, origin, 1 AS files, committed_lines AS lines, complete, last_ingest
    FROM sources WHERE origin NOT IN ('udp', 'tcp', 'http')
    UNION ALL
    SELECT origin || ' files, ' || strftime(date_trunc('hour', first_ingest),
                                                  '%Y-%m-%d %H:00 UTC'),
           string_agg(DISTINCT format, ', '), origin, count(*), sum(committed_lines),
           bool_and(complete), max(last_ingest)
    FROM sources WHERE origin IN ('udp', 'tcp', 'http')
    GROUP BY origin, date_trunc('hour', first_ingest)
)
SELECT *, count(*) OVER () AS total FROM listed
ORDER BY last_ingest DESC, name LIMIT $limit
"""

_REASONS = """
SELECT reason, count(*) AS lines FROM quarantine GROUP BY reason ORDER BY lines DESC, reason
"""

# quarantined lines counted in `sources` but not stored in `quarantine` (past the cap)
_UNSTORED = """
SELECT greatest(coalesce((SELECT sum(quarantined) FROM sources), 0)
                - (SELECT count(*) FROM quarantine), 0)
"""

_NEWEST = """
SELECT source, position, reason, raw, raw_length, ingested_at FROM quarantine
ORDER BY ingested_at DESC, source, position DESC LIMIT $limit
"""


def ingest_health(
    cur: duckdb.DuckDBPyConnection, sources_limit: int = 200, quarantined_limit: int = 50
) -> dict[str, Any]:
    """Everything the page shows, as plain rows (dicts)."""
    sources = fetch_dicts(cur.execute(_SOURCES, {"limit": sources_limit}))
    total = int(sources[0]["total"]) if sources else 0
    for row in sources:
        del row["total"]
    return {
        "by_format": fetch_dicts(cur.execute(_BY_FORMAT)),
        "by_origin": fetch_dicts(cur.execute(_BY_ORIGIN)),
        "sources": sources,
        "sources_total": total,
        "quarantine_reasons": fetch_dicts(cur.execute(_REASONS)),
        "quarantine_unstored": int(cur.execute(_UNSTORED).fetchall()[0][0]),
        "quarantine_newest": fetch_dicts(cur.execute(_NEWEST, {"limit": quarantined_limit})),
    }
