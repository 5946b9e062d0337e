"""HA link health: bursts of heartbeat loss (with or without a failover) and HA link outages.

Heartbeat losses and lost peers closer together than `heartbeat.window_minutes` form one
burst; a burst of at least `heartbeat.max_losses` is an incident. An HA link that went down
is an incident until it is reported up again: while it is down, the pair has no working
failover and no state synchronization.
"""

from __future__ import annotations

import duckdb
from hawatch.store.execute import execute_script

_DETECT = """
-- one loss reported three ways in one second (heartbeat_loss, peer_lost, a failover on
-- missed heartbeats) is one loss
CREATE OR REPLACE TEMP TABLE heartbeat_losses AS
SELECT e.pair, date_trunc('second', e.time) AS time,
       CASE WHEN bool_or(e.kind = 'failover') THEN 'failover' ELSE 'loss' END AS kind,
       any_value(e.serial) AS serial
FROM ha_events e JOIN scope s ON s.pair = e.pair
WHERE (e.kind IN ('heartbeat_loss', 'peer_lost') OR e.trigger = 'heartbeat')
  AND e.time >= s.start - INTERVAL 1 HOUR
GROUP BY e.pair, date_trunc('second', e.time);

INSERT INTO candidates
SELECT b.pair, 'heartbeat_loss', 'warning', b.first_at, b.last_at,
       printf('%d heartbeat losses in %d minutes%s', b.losses,
              CAST(ceil(epoch(b.last_at - b.first_at) / 60) AS BIGINT),
              CASE WHEN b.failovers > 0 THEN printf(', %d failovers', b.failovers)
                   ELSE ', no failover' END),
       json_object('losses', b.losses, 'failovers', b.failovers, 'first_at', b.first_at,
                   'last_at', b.last_at, 'units', b.units),
       NULL
FROM (
    SELECT pair, burst, count(*) AS losses, min(time) AS first_at, max(time) AS last_at,
           count(*) FILTER (WHERE kind = 'failover') AS failovers,
           list(DISTINCT serial) AS units
    FROM (
        SELECT *, sum(CASE WHEN gap THEN 1 ELSE 0 END) OVER (PARTITION BY pair ORDER BY time)
                  AS burst
        FROM (SELECT *, coalesce(time - lag(time) OVER (PARTITION BY pair ORDER BY time)
                                 > to_minutes(CAST($heartbeat_window_minutes AS BIGINT)),
                                 true) AS gap
              FROM heartbeat_losses)
    ) GROUP BY pair, burst
) b JOIN scope s ON s.pair = b.pair
WHERE b.losses >= $heartbeat_max_losses AND b.last_at >= s.start;

CREATE OR REPLACE TEMP TABLE ha_link_changes AS
SELECT e.pair, e.time, e.kind,
       lag(e.kind) OVER (PARTITION BY e.pair ORDER BY e.time) AS prev_kind
FROM ha_events e JOIN scope s ON s.pair = e.pair
WHERE e.kind IN ('ha_link_down', 'ha_link_up') AND e.time >= s.start - INTERVAL 7 DAY;

INSERT INTO candidates
SELECT d.pair, 'ha_link_down', 'warning', d.time, u.time,
       CASE WHEN u.time IS NULL THEN 'HA link down: no failover or state sync until it is back'
            ELSE printf('HA link down for %d minutes',
                        CAST(ceil(epoch(u.time - d.time) / 60) AS BIGINT)) END,
       json_object('down_at', d.time, 'up_at', u.time),
       'down@' || CAST(d.time AS VARCHAR)
FROM ha_link_changes d
JOIN scope s ON s.pair = d.pair
ASOF LEFT JOIN (SELECT pair, time FROM ha_link_changes WHERE kind = 'ha_link_up') u
  ON u.pair = d.pair AND u.time >= d.time
WHERE d.kind = 'ha_link_down' AND coalesce(d.prev_kind, '') <> 'ha_link_down'
  AND coalesce(u.time, d.time) >= s.start;
"""


def detect(cur: duckdb.DuckDBPyConnection, params: dict[str, object]) -> None:
    execute_script(cur, _DETECT, params)
