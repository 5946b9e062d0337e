"""Role changes with their context, shared by the flapping, unsynced-failover, session-drop
and failover-test detectors: who became active, who was active before, why (the message's
trigger or a monitor failure just before), the stateful-sync state at the time, and the
connections and VPN SAs on the old active just before and on the new active just after.

Built once per pass, with as-of joins (sorted merges), never a per-failover query:
- `rc_history`: every role change of the pairs in scope (the view `role_changes`);
- `rc`: those from the scope's start (minus two hours) with their context, one row per
  (pair, change_no), read by the detectors.
Nothing depends on the order rows were stored in: ties in one second are broken by meaning
(the view's order; the root cause; sync off over on).
"""

from __future__ import annotations

import duckdb

from store.db import execute_script

# What a role change is lives in one place, the view `role_changes` (store/migrations/007):
# the fleet page and the SQL examples count the same rows. The pairs' whole history is read
# once a pass (`rc_history`; split_brain looks back to the change that began an episode),
# and the changes from the scope's start on get their neighbours.
_ROLE_CHANGES = """
CREATE OR REPLACE TEMP TABLE rc_history AS
SELECT * FROM role_changes WHERE pair IN (SELECT pair FROM scope);

CREATE OR REPLACE TEMP TABLE rc_raw AS
SELECT c.pair, c.time, c.change_no, c.new_active, c.old_active, c.kind, c.trigger,
       -- samples are read only up to the next change and from the previous one: a unit
       -- that fails back before its next sample must not look like it lost everything
       lag(c.time) OVER w AS prev_change, lead(c.time) OVER w AS next_change
FROM rc_history c JOIN scope s USING (pair)
WHERE c.time >= s.start - INTERVAL 2 HOUR
WINDOW w AS (PARTITION BY c.pair ORDER BY c.change_no)
"""

# Where several causes or sync states share one second, one is chosen by meaning (the root
# cause; any evidence that sync was off), never by the order rows happen to be read in.
_CAUSES = ("'reboot', 'interface_monitor_failure', 'probe_monitor_failure', 'interface_down',"
           " 'ha_link_down', 'peer_lost', 'heartbeat_loss'")
_SYNC_STATES = "'disabled', 'not_synced', 'enabled', 'synced'"

# One statement: the monitor failure just before, the sync state, the connections before and
# after, the test window; then the shares kept and the verdict.
_CONTEXT = f"""
CREATE OR REPLACE TEMP TABLE rc AS
WITH monitor AS (
    SELECT r.pair, r.change_no, m.kind AS monitor_kind
    FROM rc_raw r ASOF JOIN (
        SELECT pair, time,
               arg_min(kind, coalesce(list_position([{_CAUSES}], kind), 99)) AS kind
        FROM ha_events
        WHERE kind IN ({_CAUSES}) AND pair IN (SELECT pair FROM scope)
        GROUP BY pair, time
    ) m ON m.pair = r.pair AND m.time <= r.time
    WHERE r.time - m.time <= INTERVAL 2 MINUTE
), sync AS (
    SELECT r.pair, r.change_no, s.state AS sync_state
    FROM rc_raw r ASOF JOIN (
        SELECT pair, time,
               arg_min(state, (coalesce(list_position([{_SYNC_STATES}], state), 99), state))
                   AS state
        FROM sync_timeline WHERE pair IN (SELECT pair FROM scope)
        GROUP BY pair, time
    ) s ON s.pair = r.pair AND s.time < r.time
), before AS (
    -- from failover_samples (store/rollups.py: the samples within an hour of a role change,
    -- a small fraction of all), with bounded range joins
    SELECT r.pair, r.change_no, arg_max(b.connections, b.time) AS conn_before,
           arg_max(b.vpn_sas, b.time) AS vpn_before
    FROM rc_raw r JOIN failover_samples b
      ON b.serial = r.old_active AND b.time < r.time
     AND b.time >= r.time - to_minutes(CAST($unsynced_before_minutes AS BIGINT))
     AND b.time > coalesce(r.prev_change, TIMESTAMPTZ '1970-01-01 00:00:00+00')
    GROUP BY r.pair, r.change_no
), after AS (
    SELECT r.pair, r.change_no, arg_min(a.connections, a.time) AS conn_after,
           arg_min(a.vpn_sas, a.time) AS vpn_after
    FROM rc_raw r JOIN failover_samples a
      ON a.serial = r.new_active AND a.time > r.time
     AND a.time <= r.time + to_minutes(CAST($unsynced_after_minutes AS BIGINT))
     AND a.time < coalesce(r.next_change, TIMESTAMPTZ '9999-01-01 00:00:00+00')
    GROUP BY r.pair, r.change_no
), joined AS (
    SELECT r.*, any_value(m.monitor_kind) AS monitor, any_value(s.sync_state) AS sync_state,
           any_value(b.conn_before) AS conn_before, any_value(b.vpn_before) AS vpn_before,
           any_value(a.conn_after) AS conn_after, any_value(a.vpn_after) AS vpn_after,
           bool_or(w.pair IS NOT NULL) AS in_test_window,
           min(w.starts_at) AS window_start, max(w.ends_at) AS window_end
    FROM rc_raw r
    LEFT JOIN monitor m USING (pair, change_no)
    LEFT JOIN sync s USING (pair, change_no)
    LEFT JOIN before b USING (pair, change_no)
    LEFT JOIN after a USING (pair, change_no)
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
    """Fill `rc_history` and `rc` for the pairs in `scope` (see module docstring)."""
    execute_script(cur, _ROLE_CHANGES, params)
    execute_script(cur, _CONTEXT, params)
