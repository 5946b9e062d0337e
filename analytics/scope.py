"""What one analysis pass looks at: which pairs, from when.

Detectors read the temp table `scope(pair, start)` and consider data from `start` minus a
margin of context; they report incidents that intersect [start, now). A full pass puts
every pair in scope from the beginning; an incremental pass only the pairs with new data
(`analysis_dirty`), from the earliest new row minus the look-back.
"""

from __future__ import annotations

from datetime import datetime

import duckdb
from hawatch.store.execute import one_row

EPOCH = datetime(1970, 1, 1)


def build_scope(
    cur: duckdb.DuckDBPyConnection, mode: str, since: datetime | None, lookback_hours: int
) -> int:
    """Create `scope`; returns the number of pairs in it."""
    if mode == "incremental":
        cur.execute(
            """
            CREATE OR REPLACE TEMP TABLE scope AS
            SELECT pair, min(since) - to_hours(CAST($h AS BIGINT)) AS start
            FROM analysis_dirty WHERE pair IN (SELECT pair FROM pairs) GROUP BY pair""",
            {"h": lookback_hours},
        )
    else:
        cur.execute(
            "CREATE OR REPLACE TEMP TABLE scope AS"
            " SELECT pair, CAST($since AS TIMESTAMPTZ) AS start FROM pairs",
            {"since": since or EPOCH},
        )
    (count,) = one_row(cur, "SELECT count(*) FROM scope")
    return int(count)
