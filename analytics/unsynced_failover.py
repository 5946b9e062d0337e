"""Unsynced failover: the standby took over without the live sessions.

Either stateful synchronization was disabled or not yet synchronized when the failover
happened, or the new active unit carried far fewer connections shortly after than the old
one did just before (`unsynced.min_kept_percent`). Failovers inside a declared failover-test
window are judged by the failover-test detector instead, so a planned test is not paged as
an outage. The incident resolves when the pair is back to 80% of the connections the old
active carried.
"""

from __future__ import annotations

import duckdb
from hawatch.store.execute import execute_script

_DETECT = """
CREATE OR REPLACE TEMP TABLE unsynced_failovers AS
SELECT r.* FROM role_changes_in_scope r JOIN scope s USING (pair)
WHERE r.unsynced AND NOT r.in_test_window AND r.time >= s.start
  -- role changes while both units were active belong to the split-brain incident
  AND NOT EXISTS (SELECT 1 FROM candidates b
                  WHERE b.kind = 'split_brain' AND b.pair = r.pair
                    AND r.time BETWEEN b.opened_at - INTERVAL 1 MINUTE
                                   AND coalesce(b.resolved_at, r.time));

-- recovery requests (analytics/recovery.py): the pair's connections back to 80% of what the
-- old active carried, before the next role change
INSERT INTO recovery_wanted
SELECT 'unsynced_failover', pair, time,
       coalesce(next_change, TIMESTAMPTZ '9999-01-01 00:00:00+00') AS until,
       0.8 * conn_before AS level
FROM unsynced_failovers WHERE conn_before > 0;
"""

_REPORT = """
INSERT INTO candidates
SELECT u.pair, 'unsynced_failover', 'critical', u.time,
       -- over at recovery, or when the pair changed roles again
       coalesce(v.back_at, u.next_change),
       printf('failover to %s%s kept %s of %s connections; stateful sync %s',
              u.new_active,
              coalesce(' (' || coalesce(u.monitor_cause, u.trigger, u.monitor) || ')', ''),
              coalesce(u.kept_pct || '%', 'an unknown share'),
              coalesce(CAST(nullif(u.conn_before, 0) AS VARCHAR), 'unknown'),
              coalesce(u.sync_state, 'unknown')),
       json_object('failover_at', u.time, 'from_serial', u.old_active,
                   'to_serial', u.new_active, 'trigger', coalesce(u.trigger, u.monitor),
                   'cause', coalesce(u.monitor_cause, u.trigger, u.monitor),
                   'stateful_sync', u.sync_state, 'connections_before', u.conn_before,
                   'connections_after', u.conn_after, 'kept_percent', u.kept_pct,
                   'vpn_sas_before', u.vpn_before, 'vpn_sas_after', u.vpn_after,
                   'vpn_kept_percent', u.vpn_kept_pct, 'recovered_at', v.back_at),
       'failover@' || CAST(u.time AS VARCHAR)
FROM unsynced_failovers u LEFT JOIN recovered v
  ON v.asker = 'unsynced_failover' AND v.pair = u.pair AND v.after = u.time;
"""


def request_recovery(cur: duckdb.DuckDBPyConnection, params: dict[str, object]) -> None:
    """Find the unsynced failovers and ask when each pair's load came back."""
    execute_script(cur, _DETECT, params)


def detect(cur: duckdb.DuckDBPyConnection, params: dict[str, object]) -> None:
    """Report them, with `recovered` answered (analytics/recovery.py)."""
    execute_script(cur, _REPORT, params)
