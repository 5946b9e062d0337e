"""When did a pair's load come back? Shared by the unsynced-failover and session-drop
detectors: the first 5-minute bucket of `load_days` after `after` and before `until` with at
least `level` connections.

Reading bucket lists is what costs, so as few as possible: the starting day's (where most
loads come back), and for the rest only the first later day whose maximum gets there.
"""

from __future__ import annotations

import duckdb

_FIRST_BACK = """
CREATE OR REPLACE TEMP TABLE {out} AS
WITH wanted AS (
    SELECT pair, after, until, level, date_trunc('day', after) AS d0 FROM {requests}
), same_day AS (
    SELECT pair, after, min(b.t) AS back_at
    FROM (SELECT w.*, unnest(l.buckets) AS b
          FROM wanted w JOIN load_days l
            ON l.pair = w.pair AND l.day_start = w.d0 AND l.max_conn >= w.level)
    WHERE b.t > after AND b.t < until AND b.conn >= level
    GROUP BY ALL
), later AS (
    SELECT w.pair, w.after, min(l.day_start) AS d
    FROM wanted w JOIN load_days l
      ON l.pair = w.pair AND l.day_start > w.d0 AND l.day_start < w.until
     AND l.max_conn >= w.level
    WHERE (w.pair, w.after) NOT IN (SELECT (pair, after) FROM same_day)
    GROUP BY ALL
), later_day AS (
    SELECT pair, after, min(b.t) AS back_at
    FROM (SELECT w.*, unnest(l.buckets) AS b
          FROM later x JOIN wanted w USING (pair, after)
          JOIN load_days l ON l.pair = x.pair AND l.day_start = x.d)
    WHERE b.t < until AND b.conn >= level
    GROUP BY ALL
)
SELECT * FROM same_day UNION ALL SELECT * FROM later_day
"""


def first_back(cur: duckdb.DuckDBPyConnection, requests: str, out: str) -> None:
    """Fill temp table `out(pair, after, back_at)` for each row of `requests(pair, after,
    until, level)`; rows whose load never came back are absent."""
    cur.execute(_FIRST_BACK.format(requests=requests, out=out))
