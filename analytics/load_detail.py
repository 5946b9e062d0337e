"""The 5-minute buckets one analysis pass needs, unnested from `load_days` once.

Decoding bucket lists is the one costly read of the rollup (a join decodes the whole column,
however few rows it keeps), so the session-drop detector and the recovery search share one
read: the days that hold a bucket low enough to be a drop, the day after each of them, and the
day of each recovery question asked so far plus the day after (analytics/recovery.py then
looks further only for the few loads that took longer to come back).
"""

from __future__ import annotations

import duckdb
from hawatch.store.execute import execute_script

# Recovery questions are answered from load_detail within this many days of their start.
NEAR_DAYS = 2

_READ = """
CREATE OR REPLACE TEMP TABLE load_detail_days AS
WITH low AS (
    SELECT l.pair, l.day_start FROM load_days l JOIN scope s ON s.pair = l.pair
    WHERE l.day_start >= s.start - INTERVAL 1 DAY
      AND l.max_ref >= $session_drop_min_connections
      AND l.min_ratio < 1 - $session_drop_drop_percent / 100.0
)
SELECT DISTINCT pair, day_start + to_days(CAST(k AS INTEGER)) AS day_start
FROM (SELECT pair, day_start FROM low
      UNION ALL SELECT pair, date_trunc('day', after) FROM recovery_wanted), range(2) r(k);

CREATE OR REPLACE TEMP TABLE load_detail AS
SELECT l.pair, unnest(l.buckets, recursive := true)
FROM load_days l SEMI JOIN load_detail_days d
  ON d.pair = l.pair AND d.day_start = l.day_start;
"""


def read(cur: duckdb.DuckDBPyConnection, params: dict[str, object]) -> None:
    """Fill `load_detail(pair, t, conn, ref)`; call after the recovery questions that do not
    depend on it (unsynced failovers) are asked."""
    execute_script(cur, _READ, params)
