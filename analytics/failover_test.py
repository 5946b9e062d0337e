"""Failover-test verdicts: the role changes inside a declared failover-test window are the
test; it passes when the sessions survived (connections and VPN SAs kept at or above the
thresholds, 90% by default). A window that ended without any role change is a test that did
not happen, reported as such."""

from __future__ import annotations

import duckdb
from hawatch.store.execute import execute_script

_DETECT = """
CREATE OR REPLACE TEMP TABLE failover_tests AS
SELECT w.pair, w.starts_at, w.ends_at, w.comment,
       count(r.time) AS role_changes, min(r.time) AS first_at, max(r.time) AS last_at,
       min(r.kept_pct) AS kept_pct, min(r.vpn_kept_pct) AS vpn_kept_pct,
       -- of the change that kept the least (the first of equals)
       arg_min(r.conn_before, (r.kept_pct, r.change_no)) FILTER (r.kept_pct IS NOT NULL)
           AS conn_before,
       arg_min(r.conn_after, (r.kept_pct, r.change_no)) FILTER (r.kept_pct IS NOT NULL)
           AS conn_after,
       bool_or(r.sync_state IN ('disabled', 'not_synced')) AS sync_off
FROM windows w JOIN scope s ON s.pair = w.pair
LEFT JOIN role_changes_in_scope r ON r.pair = w.pair AND r.time BETWEEN w.starts_at AND w.ends_at
WHERE w.kind = 'failover_test' AND w.ends_at >= s.start
GROUP BY ALL;

INSERT INTO candidates
SELECT pair, 'failover_test',
       CASE WHEN passed THEN 'info' ELSE 'warning' END,
       coalesce(first_at, starts_at), coalesce(last_at, ends_at),
       CASE WHEN role_changes = 0 THEN 'failover test window passed with no failover'
            WHEN passed THEN printf('failover test passed: %d role changes, kept %s%% of'
                                    ' connections', role_changes, CAST(kept_pct AS VARCHAR))
            ELSE printf('failover test FAILED: %d role changes, kept %s%% of connections%s',
                        role_changes, coalesce(CAST(kept_pct AS VARCHAR), '?'),
                        CASE WHEN sync_off THEN ' (stateful sync off)' ELSE '' END) END,
       json_object('survived', passed, 'role_changes', role_changes,
                   'kept_percent', kept_pct, 'vpn_kept_percent', vpn_kept_pct,
                   'connections_before', conn_before, 'connections_after', conn_after,
                   'window_start', starts_at, 'window_end', ends_at, 'comment', comment),
       'window@' || CAST(starts_at AS VARCHAR)
FROM (
    SELECT *, role_changes > 0 AND coalesce(kept_pct, 0) >= $failover_test_min_kept_percent
              AND coalesce(vpn_kept_pct, 100) >= $failover_test_min_vpn_kept_percent
              AS passed
    FROM failover_tests
) WHERE role_changes > 0 OR ends_at < (SELECT max(time) FROM ha_events);
"""


def detect(cur: duckdb.DuckDBPyConnection, params: dict[str, object]) -> None:
    execute_script(cur, _DETECT, params)
