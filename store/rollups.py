"""Rollups kept up to date at ingest: `load_days` (each pair's connections per 5-minute
bucket, one row per pair and day) and `failover_samples` (the samples around role changes).

Why at ingest: any query that aggregates every raw session sample costs 0.3 s or more per
10M samples, against 15 ms for a plain count; an analysis pass over the whole fleet must
read pre-aggregated rows to stay within a few times that. Ingest already has the new rows in
hand and touches a few pair-hours at a time.

Writers mark what changed in `rollup_dirty` (pair, since, until); `refresh_rollups` rebuilds
exactly the affected days from the stored samples, so late, duplicated or re-paired data
needs no merge logic: a rebuild from the source rows is always right.
"""

from __future__ import annotations

import duckdb
from hawatch.store.execute import execute_script

# failover_samples holds the samples this close to a role change; the role-change context
# (unsynced.before_minutes / after_minutes) may look no further.
CONTEXT_MINUTES = 60

# Mark from a batch's stage tables (collector/writer.py).
MARK_FROM_STAGES = """
INSERT INTO rollup_dirty
SELECT pair, min(time), max(time) FROM (
    SELECT pair, time FROM stg_samples
    UNION ALL SELECT pair, time FROM stg_events WHERE state_to = 'active'
) WHERE pair IS NOT NULL AND time IS NOT NULL GROUP BY pair
"""

_REBUILD = """
-- per pair, the days whose buckets can change: a sample also stands in for its unit in
-- buckets up to 15 minutes either side, and an hour's mean is the reference of the next hour
CREATE OR REPLACE TEMP TABLE rr AS
SELECT pair, date_trunc('day', min(since) - INTERVAL 15 MINUTE) AS d0,
       date_trunc('day', max(until) + INTERVAL 75 MINUTE) AS d1
FROM rollup_dirty GROUP BY pair;

-- each unit's value per bucket (its latest sample in it), from an hour before the first day
-- (the reference of its first hour); the outer time bounds let DuckDB's zone maps skip the
-- rest of the table
CREATE OR REPLACE TEMP TABLE rr_units AS
SELECT x.pair, x.serial, time_bucket(INTERVAL 5 MINUTE, x.time) AS t,
       arg_max(x.connections, x.time) AS conn
FROM session_samples x JOIN rr ON rr.pair = x.pair
WHERE x.time >= (SELECT min(d0) FROM rr) - INTERVAL 75 MINUTE
  AND x.time < (SELECT max(d1) FROM rr) + INTERVAL 1455 MINUTE
  AND x.time >= rr.d0 - INTERVAL 75 MINUTE AND x.time < rr.d1 + INTERVAL 1455 MINUTE
  AND x.connections IS NOT NULL
GROUP BY ALL;

-- the pair's load in every bucket where any unit reported: a unit without a sample in it
-- counts with the lower of its samples just before and just after (polls a few minutes
-- apart), or not at all when it has no sample on both sides (a unit that died or stopped
-- reporting must not keep its old load)
CREATE OR REPLACE TEMP TABLE rr_buckets AS
WITH grid AS (SELECT DISTINCT pair, t FROM rr_units),
units AS (SELECT DISTINCT pair, serial FROM rr_units)
SELECT g.pair, g.t,
       sum(CASE WHEN b.t = g.t THEN b.conn
                WHEN g.t - b.t <= INTERVAL 15 MINUTE AND a.t - g.t <= INTERVAL 15 MINUTE
                     THEN least(b.conn, a.conn)
                ELSE 0 END) AS conn
FROM grid g JOIN units d ON d.pair = g.pair
ASOF LEFT JOIN rr_units b ON b.pair = d.pair AND b.serial = d.serial AND b.t <= g.t
ASOF LEFT JOIN rr_units a ON a.pair = d.pair AND a.serial = d.serial AND a.t >= g.t
GROUP BY ALL;

-- every bucket with the mean of the previous clock hour (the session-drop reference)
CREATE OR REPLACE TEMP TABLE rr_days AS
WITH hours AS (
    SELECT pair, date_trunc('hour', t) + INTERVAL 1 HOUR AS next_hour, avg(conn) AS level
    FROM rr_buckets GROUP BY ALL
), refd AS (
    SELECT b.pair, b.t, b.conn, h.level AS ref
    FROM rr_buckets b JOIN rr ON rr.pair = b.pair
    LEFT JOIN hours h ON h.pair = b.pair AND h.next_hour = date_trunc('hour', b.t)
    WHERE b.t >= rr.d0 AND b.t < rr.d1 + INTERVAL 1 DAY
)
SELECT pair, date_trunc('day', t) AS day_start, min(conn) AS min_conn, max(conn) AS max_conn,
       min(conn / ref) FILTER (WHERE ref > 0) AS min_ratio, max(ref) AS max_ref,
       list(struct_pack(t := t, conn := conn, ref := ref) ORDER BY t) AS buckets
FROM refd GROUP BY ALL;

DELETE FROM load_days l USING rr
WHERE l.pair = rr.pair AND l.day_start BETWEEN rr.d0 AND rr.d1;

INSERT INTO load_days SELECT * FROM rr_days;

-- connections now: each unit's newest value summed (a unit whose newest sample is more than
-- 15 minutes older than the pair's does not count), when the rebuild reached the newest data
UPDATE pairs p SET connections_now = n.conn, connections_at = n.newest
FROM (SELECT pair, sum(conn) FILTER (WHERE t >= newest - INTERVAL 15 MINUTE) AS conn,
             any_value(newest) AS newest
      FROM (SELECT pair, serial, max(t) AS t, arg_max(conn, t) AS conn,
                   max(max(t)) OVER (PARTITION BY pair) AS newest
            FROM rr_units GROUP BY pair, serial)
      GROUP BY pair) n
WHERE p.pair = n.pair AND (p.connections_at IS NULL OR n.newest >= p.connections_at);

DELETE FROM failover_samples f USING rr
WHERE f.pair = rr.pair AND f.time >= rr.d0 - INTERVAL 1 HOUR
  AND f.time < rr.d1 + INTERVAL 25 HOUR;

INSERT INTO failover_samples
SELECT x.time, x.pair, x.serial, x.connections, x.vpn_sas
FROM session_samples x JOIN rr ON rr.pair = x.pair
WHERE x.time >= (SELECT min(d0) FROM rr) - INTERVAL 1 HOUR
  AND x.time < (SELECT max(d1) FROM rr) + INTERVAL 25 HOUR
  AND x.time >= rr.d0 - INTERVAL 1 HOUR AND x.time < rr.d1 + INTERVAL 25 HOUR
  AND EXISTS (SELECT 1 FROM ha_events e
              WHERE e.pair = x.pair AND e.state_to = 'active'
                AND e.kind IN ('failover', 'failback')
                AND e.time BETWEEN x.time - INTERVAL 1 HOUR AND x.time + INTERVAL 1 HOUR);

DELETE FROM rollup_dirty;
"""


def refresh_rollups(cur: duckdb.DuckDBPyConnection) -> bool:
    """Rebuild what `rollup_dirty` names, in the caller's transaction; False if nothing was."""
    row = cur.execute("SELECT count(*) FROM rollup_dirty").fetchone()
    if not row or not row[0]:
        return False
    execute_script(cur, _REBUILD)
    return True
