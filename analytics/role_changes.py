"""Role changes with their context, shared by the flapping, unsynced-failover, session-drop
and failover-test detectors: who became active, who was active before, why (the message's
trigger or a monitor failure just before), the stateful-sync state at the time, and the
connections and VPN SAs on the old active just before and on the new active just after.

Built once per pass into the temp table `rc`, with as-of joins (sorted merges), never a
per-failover query.
"""

from __future__ import annotations

import duckdb
from hawatch.store.db import execute_script

# A role change is a unit becoming active (failover or failback) that changes which unit is
# active: several messages about one transition (151 "preempting" and 142 "transitioned to
# Active", or both units' copies) name the same new active unit and count once.
# The active unit before each "became active" message: the previous such message of the pair
# (over its whole history: they are few), else the newest status report naming a unit
# active. With neither, a plain "transitioned to Active" is the initial election, not a
# failover; a message with a cause (missed heartbeats, error signal, preempt) still is.
_ROLE_CHANGES = """
CREATE OR REPLACE TEMP TABLE rc_raw AS
WITH rc_events AS (
    SELECT e.pair, e.serial, e.time, e.kind, e.trigger,
           lag(e.serial) OVER w AS prev_serial
    FROM ha_events e
    WHERE e.state_to = 'active' AND e.kind IN ('failover', 'failback')
      AND e.pair IN (SELECT pair FROM scope)
    WINDOW w AS (PARTITION BY e.pair ORDER BY e.time, e.serial)
), rc_known AS (
    SELECT r.pair, r.time, r.serial, k.serial AS status_active
    FROM rc_events r ASOF JOIN (
        SELECT pair, serial, time FROM status_samples
        WHERE state = 'active' AND pair IN (SELECT pair FROM scope)
    ) k ON k.pair = r.pair AND k.time <= r.time
    WHERE r.prev_serial IS NULL
), changes AS (
    SELECT r.pair, r.time, r.serial AS new_active,
           coalesce(r.prev_serial, k.status_active) AS old_active, r.kind, r.trigger
    FROM rc_events r
    LEFT JOIN rc_known k ON k.pair = r.pair AND k.time = r.time AND k.serial = r.serial
    WHERE (r.prev_serial IS NOT NULL AND r.prev_serial <> r.serial)
       OR (r.prev_serial IS NULL AND k.status_active IS NOT NULL
           AND k.status_active <> r.serial)
       OR (r.prev_serial IS NULL AND k.status_active IS NULL
           AND (r.trigger IS NOT NULL OR r.kind = 'failback'))
)
SELECT c.pair, c.time, c.new_active,
       coalesce(c.old_active, CASE WHEN c.new_active = p.primary_serial
                                   THEN p.secondary_serial ELSE p.primary_serial END)
           AS old_active,
       c.kind, c.trigger,
       -- samples are read only up to the next change and from the previous one: a unit
       -- that fails back before its next sample must not look like it lost everything
       lag(c.time) OVER w AS prev_change, lead(c.time) OVER w AS next_change
FROM changes c JOIN pairs p USING (pair) JOIN scope s USING (pair)
WHERE c.time >= s.start - INTERVAL 2 HOUR
WINDOW w AS (PARTITION BY c.pair ORDER BY c.time)
"""

# One statement: the monitor failure just before, the sync state, the connections before and
# after, the test window; then the shares kept and the verdict.
_CONTEXT = """
CREATE OR REPLACE TEMP TABLE rc AS
WITH monitor AS (
    SELECT r.pair, r.time, m.kind AS monitor_kind
    FROM rc_raw r ASOF JOIN (
        SELECT pair, time, kind FROM ha_events
        WHERE kind IN ('probe_monitor_failure', 'interface_monitor_failure', 'heartbeat_loss',
                       'peer_lost', 'ha_link_down', 'interface_down', 'reboot')
          AND pair IN (SELECT pair FROM scope)
    ) m ON m.pair = r.pair AND m.time <= r.time
    WHERE r.time - m.time <= INTERVAL 2 MINUTE
), sync AS (
    SELECT r.pair, r.time, s.state AS sync_state
    FROM rc_raw r ASOF JOIN (
        SELECT * FROM sync_timeline WHERE pair IN (SELECT pair FROM scope)
    ) s ON s.pair = r.pair AND s.time < r.time
), before AS (
    -- from failover_samples (store/rollups.py: the samples within an hour of a role change,
    -- a small fraction of all), with bounded range joins
    SELECT r.pair, r.time, arg_max(b.connections, b.time) AS conn_before,
           arg_max(b.vpn_sas, b.time) AS vpn_before
    FROM rc_raw r JOIN failover_samples b
      ON b.serial = r.old_active AND b.time < r.time
     AND b.time >= r.time - to_minutes(CAST($unsynced_before_minutes AS BIGINT))
     AND b.time > coalesce(r.prev_change, TIMESTAMPTZ '1970-01-01 00:00:00+00')
    GROUP BY r.pair, r.time
), after AS (
    SELECT r.pair, r.time, arg_min(a.connections, a.time) AS conn_after,
           arg_min(a.vpn_sas, a.time) AS vpn_after
    FROM rc_raw r JOIN failover_samples a
      ON a.serial = r.new_active AND a.time > r.time
     AND a.time <= r.time + to_minutes(CAST($unsynced_after_minutes AS BIGINT))
     AND a.time < coalesce(r.next_change, TIMESTAMPTZ '9999-01-01 00:00:00+00')
    GROUP BY r.pair, r.time
), joined AS (
    SELECT r.*, any_value(m.monitor_kind) AS monitor, any_value(s.sync_state) AS sync_state,
           any_value(b.conn_before) AS conn_before, any_value(b.vpn_before) AS vpn_before,
           any_value(a.conn_after) AS conn_after, any_value(a.vpn_after) AS vpn_after,
           bool_or(w.pair IS NOT NULL) AS in_test_window,
           any_value(w.starts_at) AS window_start, any_value(w.ends_at) AS window_end
    FROM rc_raw r
    LEFT JOIN monitor m USING (pair, time)
    LEFT JOIN sync s USING (pair, time)
    LEFT JOIN before b USING (pair, time)
    LEFT JOIN after a USING (pair, time)
    LEFT JOIN windows w ON w.pair = r.pair AND w.kind = 'failover_test'
                       AND r.time BETWEEN w.starts_at AND w.ends_at
    GROUP BY ALL
), kept AS (
    SELECT *,
           CASE WHEN conn_before > 0 THEN round(100.0 * conn_after / conn_before, 1) END
               AS kept_pct,
           CASE WHEN vpn_before > 0 THEN round(100.0 * vpn_after / vpn_before, 1) END
               AS vpn_kept_pct
    FROM joined
)
SELECT *, sync_state IN ('disabled', 'not_synced')
          OR (conn_before >= $unsynced_min_connections
              AND kept_pct < $unsynced_min_kept_percent) AS unsynced
FROM kept
"""


def build_role_changes(cur: duckdb.DuckDBPyConnection, params: dict[str, object]) -> None:
    """Fill `rc` for the pairs in `scope` (see module docstring)."""
    execute_script(cur, _ROLE_CHANGES, params)
    execute_script(cur, _CONTEXT, params)
