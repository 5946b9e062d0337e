"""Session drop: the pair's connections fall sharply and stay down.

The pair's connection count (both units summed per 5-minute bucket, so a failover moves the
load without looking like a drop; from the `load_days` rollup kept at ingest) is compared
with its mean over the previous clock hour; a bucket below `session_drop.drop_percent` of that
is low, and low buckets spanning `session_drop.min_minutes` make a drop. It resolves when the
count is back to 80% of the level before.

Classified by what happened around its start: after an unsynced failover (sessions reset),
`no_traffic_after_failover` when the new active unit carries next to nothing (the Virtual MAC
rejected upstream, probe failures on the new active), after another failover, after a reboot,
or without any failover (an upstream outage).
"""

from __future__ import annotations

import duckdb
from hawatch.store.execute import execute_script

_DETECT = """
-- low buckets: below the previous clock hour's mean by session_drop.drop_percent, from the
-- days analytics/load_detail.py unnested (every day with a bucket that low)
CREATE OR REPLACE TEMP TABLE session_low_buckets AS
SELECT d.pair, d.t, d.conn, d.ref AS baseline
FROM load_detail d JOIN scope s ON s.pair = d.pair
WHERE d.t >= s.start - INTERVAL 2 HOUR AND d.ref >= $session_drop_min_connections
  AND d.conn < d.ref * (1 - $session_drop_drop_percent / 100.0);

-- runs of low buckets no more than two sample intervals apart (only the few low rows are
-- sorted); a run lasting session_drop.min_minutes is a drop
CREATE OR REPLACE TEMP TABLE session_drops AS
WITH marked AS (
    SELECT *, sum(CASE WHEN gap THEN 1 ELSE 0 END) OVER (PARTITION BY pair ORDER BY t) AS run
    FROM (SELECT *, coalesce(t - lag(t) OVER (PARTITION BY pair ORDER BY t)
                             > INTERVAL 30 MINUTE, true) AS gap FROM session_low_buckets)
)
SELECT pair, min(t) AS started_at, max(t) AS last_low, count(*) AS buckets,
       arg_min(baseline, t) AS level_before, min(conn) AS lowest
FROM marked GROUP BY pair, run
HAVING epoch(max(t) - min(t)) / 60 + 5 >= $session_drop_min_minutes;

-- recovery requests (analytics/recovery.py): back to 80% of the level before, within a day
INSERT INTO recovery_wanted
SELECT 'session_drop', pair, last_low, last_low + INTERVAL 1 DAY, 0.8 * level_before
FROM session_drops;
"""

_REPORT = """
CREATE OR REPLACE TEMP TABLE session_drops_recovered AS
SELECT d.*, b.back_at AS recovered_at
FROM session_drops d LEFT JOIN recovered b
  ON b.asker = 'session_drop' AND b.pair = d.pair AND b.after = d.last_low;

INSERT INTO candidates
SELECT d.pair, 'session_drop', 'critical', d.started_at, d.recovered_at,
       printf('connections fell from about %d to %d (%s)', CAST(d.level_before AS BIGINT),
              d.lowest, replace(cause, '_', ' ')),
       json_object('cause', cause, 'level_before', round(d.level_before),
                   'lowest', d.lowest,
                   'minutes_low', epoch(d.last_low - d.started_at) / 60 + 5,
                   'failover_at', r.time, 'new_active', r.new_active,
                   'kept_percent', r.kept_pct, 'stateful_sync', r.sync_state),
       'drop@' || CAST(d.started_at AS VARCHAR)
FROM (
    SELECT d.*, r.change_no AS nearest_change_no,
           CASE WHEN r.time IS NOT NULL AND r.unsynced AND coalesce(r.kept_pct, 100) > 5
                     THEN 'after_unsynced_failover'
                WHEN r.time IS NOT NULL AND coalesce(r.kept_pct, 100) <= 5
                     AND coalesce(r.sync_state, '') NOT IN ('disabled', 'not_synced')
                     THEN 'no_traffic_after_failover'
                WHEN r.time IS NOT NULL AND r.unsynced THEN 'after_unsynced_failover'
                WHEN r.time IS NOT NULL THEN 'after_failover'
                WHEN b.time IS NOT NULL THEN 'after_reboot'
                ELSE 'no_failover' END AS cause
    FROM session_drops_recovered d
    LEFT JOIN role_changes_in_scope r
           ON r.pair = d.pair AND abs(epoch(r.time) - epoch(d.started_at))
                                  <= 60 * $session_drop_failover_minutes
    LEFT JOIN ha_events b ON b.pair = d.pair AND b.kind = 'reboot'
                         AND abs(epoch(b.time) - epoch(d.started_at)) <= 900
    QUALIFY row_number() OVER (PARTITION BY d.pair, d.started_at
                               ORDER BY abs(epoch(r.time) - epoch(d.started_at)), r.change_no,
                                        b.time, b.event_key) = 1
) d
LEFT JOIN role_changes_in_scope r ON r.pair = d.pair AND r.change_no = d.nearest_change_no
JOIN scope s ON s.pair = d.pair
WHERE d.started_at >= s.start;
"""


def request_recovery(cur: duckdb.DuckDBPyConnection, params: dict[str, object]) -> None:
    """Find the drops and ask when each pair's load came back."""
    execute_script(cur, _DETECT, params)


def detect(cur: duckdb.DuckDBPyConnection, params: dict[str, object]) -> None:
    """Classify and report them, with `recovered` answered (analytics/recovery.py)."""
    execute_script(cur, _REPORT, params)
