"""Role changes with their context, shared by the flapping, unsynced-failover, session-drop
and failover-test detectors: who became active, who was active before, why (the message's
trigger or a monitor failure just before), the stateful-sync state at the time, and the
connections and VPN SAs on the old active just before and on the new active just after.

Built once per pass into the temp table `rc`, with as-of joins (sorted merges), never a
per-failover query.
"""

from __future__ import annotations

import duckdb

from store.db import execute_script

# A role change is a unit becoming active (failover or failback) that changes which unit is
# active: several messages about one transition (151 "preempting" and 142 "transitioned to
# Active", or both units' copies) name the same new active unit and count once.
_ROLE_CHANGES = """
CREATE OR REPLACE TEMP TABLE rc_raw AS
WITH ev AS (
    SELECT e.pair, e.serial, e.time, e.kind, e.trigger
    FROM ha_events e JOIN scope s ON s.pair = e.pair
    WHERE e.state_to = 'active' AND e.kind IN ('failover', 'failback')
      AND e.time >= s.start - INTERVAL 2 HOUR
), ordered AS (
    SELECT *, lag(serial) OVER w AS prev_serial, lag(time) OVER w AS prev_time
    FROM ev WINDOW w AS (PARTITION BY pair ORDER BY time, serial)
)
SELECT o.pair, o.time, o.serial AS new_active,
       coalesce(o.prev_serial, CASE WHEN o.serial = p.primary_serial THEN p.secondary_serial
                                    ELSE p.primary_serial END) AS old_active,
       o.kind, o.trigger
FROM ordered o JOIN pairs p USING (pair)
WHERE o.prev_serial IS NULL OR o.prev_serial <> o.serial
"""

_MONITORS = """
CREATE OR REPLACE TEMP TABLE rc_monitor AS
SELECT r.pair, r.time, m.kind AS monitor_kind, m.time AS monitor_time
FROM rc_raw r ASOF JOIN (
    SELECT pair, time, kind FROM ha_events
    WHERE kind IN ('probe_monitor_failure', 'interface_monitor_failure', 'heartbeat_loss',
                   'peer_lost', 'ha_link_down', 'interface_down', 'reboot')
      AND pair IN (SELECT pair FROM scope)
) m ON m.pair = r.pair AND m.time <= r.time
WHERE r.time - m.time <= INTERVAL 2 MINUTE
"""

_SYNC = """
CREATE OR REPLACE TEMP TABLE rc_sync AS
SELECT r.pair, r.time, s.state AS sync_state
FROM rc_raw r ASOF JOIN (
    SELECT pair, time, CASE kind WHEN 'sync_enabled' THEN 'enabled'
                                 WHEN 'sync_disabled' THEN 'disabled'
                                 WHEN 'sync_completed' THEN 'synced'
                                 ELSE 'not_synced' END AS state
    FROM ha_events
    WHERE kind IN ('sync_enabled', 'sync_disabled', 'sync_started', 'sync_completed',
                   'sync_failed') AND pair IN (SELECT pair FROM scope)
    UNION ALL
    SELECT pair, time, stateful_sync FROM status_samples
    WHERE stateful_sync IS NOT NULL AND pair IN (SELECT pair FROM scope)
) s ON s.pair = r.pair AND s.time < r.time
"""

_CONNECTIONS = """
-- bounded range joins (each role change meets only its unit's samples in its window), not
-- as-of joins, which would sort every sample of the fleet
CREATE OR REPLACE TEMP TABLE rc_before AS
SELECT r.pair, r.time, arg_max(b.connections, b.time) AS conn_before,
       arg_max(b.vpn_sas, b.time) AS vpn_before, max(b.time) AS before_at
FROM rc_raw r JOIN session_samples b
  ON b.serial = r.old_active AND b.time < r.time
 AND b.time >= r.time - to_minutes(CAST($unsynced_before_minutes AS BIGINT))
GROUP BY r.pair, r.time;

CREATE OR REPLACE TEMP TABLE rc_after AS
SELECT r.pair, r.time, arg_min(a.connections, a.time) AS conn_after,
       arg_min(a.vpn_sas, a.time) AS vpn_after, min(a.time) AS after_at
FROM rc_raw r JOIN session_samples a
  ON a.serial = r.new_active AND a.time > r.time
 AND a.time <= r.time + to_minutes(CAST($unsynced_after_minutes AS BIGINT))
GROUP BY r.pair, r.time;
"""

_CONTEXT = """
CREATE OR REPLACE TEMP TABLE rc AS
SELECT r.*, any_value(m.monitor_kind) AS monitor, any_value(s.sync_state) AS sync_state,
       any_value(b.conn_before) AS conn_before, any_value(b.vpn_before) AS vpn_before,
       any_value(a.conn_after) AS conn_after, any_value(a.vpn_after) AS vpn_after,
       bool_or(w.pair IS NOT NULL) AS in_test_window,
       any_value(w.starts_at) AS window_start, any_value(w.ends_at) AS window_end
FROM rc_raw r
LEFT JOIN rc_monitor m USING (pair, time)
LEFT JOIN rc_sync s USING (pair, time)
LEFT JOIN rc_before b USING (pair, time)
LEFT JOIN rc_after a USING (pair, time)
LEFT JOIN windows w ON w.pair = r.pair AND w.kind = 'failover_test'
                   AND r.time BETWEEN w.starts_at AND w.ends_at
GROUP BY ALL;

ALTER TABLE rc ADD COLUMN kept_pct DOUBLE;
UPDATE rc SET kept_pct = round(100.0 * conn_after / conn_before, 1) WHERE conn_before > 0;
ALTER TABLE rc ADD COLUMN vpn_kept_pct DOUBLE;
UPDATE rc SET vpn_kept_pct = round(100.0 * vpn_after / vpn_before, 1) WHERE vpn_before > 0;
ALTER TABLE rc ADD COLUMN unsynced BOOLEAN;
UPDATE rc SET unsynced = sync_state IN ('disabled', 'not_synced')
    OR (conn_before >= $unsynced_min_connections AND kept_pct < $unsynced_min_kept_percent);
"""


def build_role_changes(cur: duckdb.DuckDBPyConnection, params: dict[str, object]) -> None:
    """Fill `rc` for the pairs in `scope` (see module docstring)."""
    execute_script(cur, _ROLE_CHANGES, params)
    execute_script(cur, _MONITORS, params)
    execute_script(cur, _SYNC, params)
    execute_script(cur, _CONNECTIONS, params)
    execute_script(cur, _CONTEXT, params)
