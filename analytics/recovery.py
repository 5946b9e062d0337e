"""When did a pair's load come back? Asked by the unsynced-failover and session-drop
detectors: the first 5-minute bucket of `load_days` after `after` and before `until` with at
least `level` connections. Their questions are answered together (`reset`, then each
detector's `request_recovery`, then `resolve`).

Decoding bucket lists is what costs, so most answers come from the buckets the pass already
unnested (analytics/load_detail.py: the first days after each question); only loads that took
longer to come back need the first later day whose maximum gets there read.
"""

from __future__ import annotations

import duckdb
from hawatch.analytics.load_detail import NEAR_DAYS
from hawatch.store.execute import execute_script, one_row

_NEAR = """
CREATE OR REPLACE TEMP TABLE recovery_questions AS
SELECT DISTINCT asker, pair, after, until, level,
       date_trunc('day', after) + to_days(CAST($near_days AS INTEGER)) AS near_until
FROM recovery_wanted;

CREATE OR REPLACE TEMP TABLE recovered AS
SELECT w.asker, w.pair, w.after, min(d.t) AS back_at
FROM recovery_questions w JOIN load_detail d
  ON d.pair = w.pair AND d.t > w.after AND d.t < least(w.until, w.near_until)
 AND d.conn >= w.level
GROUP BY ALL;

-- the rest: the first later day that can hold the answer
CREATE OR REPLACE TEMP TABLE recovery_later_days AS
SELECT w.asker, w.pair, w.after, any_value(w.until) AS until, any_value(w.level) AS level,
       min(l.day_start) AS day_start
FROM recovery_questions w JOIN load_days l
  ON l.pair = w.pair AND l.day_start >= w.near_until AND l.day_start < w.until
 AND l.max_conn >= w.level
WHERE (w.asker, w.pair, w.after) NOT IN (SELECT (asker, pair, after) FROM recovered)
GROUP BY w.asker, w.pair, w.after;
"""

_LATER = """
INSERT INTO recovered
SELECT asker, pair, after, min(b.t)
FROM (SELECT x.*, unnest(l.buckets) AS b
      FROM recovery_later_days x JOIN load_days l ON l.pair = x.pair AND l.day_start = x.day_start)
WHERE b.t < until AND b.conn >= level
GROUP BY ALL
"""


def reset(cur: duckdb.DuckDBPyConnection) -> None:
    """An empty `recovery_wanted(asker, pair, after, until, level)` for this pass."""
    cur.execute(
        "CREATE OR REPLACE TEMP TABLE recovery_wanted (asker VARCHAR, pair VARCHAR,"
        " after TIMESTAMPTZ, until TIMESTAMPTZ, level DOUBLE)"
    )


def resolve(cur: duckdb.DuckDBPyConnection) -> None:
    """Answer every request: `recovered(asker, pair, after, back_at)`; loads that never came
    back have no row. Needs `load_detail` (analytics/load_detail.py)."""
    execute_script(cur, _NEAR, {"near_days": NEAR_DAYS})
    (later,) = one_row(cur, "SELECT count(*) FROM recovery_later_days")
    if later:
        cur.execute(_LATER)
