"""Per-pair summary of what the store knows: the first thing a NOC engineer asks after an
ingest is "which pairs failed over, are they in sync, and which units are unpaired?"."""

from __future__ import annotations

from typing import Any

import duckdb

PAIR_SUMMARY_SQL = """
WITH ev AS (
    SELECT pair,
           count(*) FILTER (WHERE kind = 'failover') AS failovers,
           count(*) FILTER (WHERE kind = 'failback' AND state_to = 'active') AS failbacks,
           count(*) FILTER (WHERE kind IN ('heartbeat_loss', 'peer_lost')
                            OR trigger = 'heartbeat') AS heartbeat_losses,
           count(*) FILTER (WHERE kind LIKE 'sync_%') AS sync_events,
           max(time) FILTER (WHERE kind IN ('failover', 'failback')
                             AND state_to = 'active') AS last_role_change
    FROM ha_events WHERE pair IS NOT NULL GROUP BY pair
), conn AS (
    SELECT pair, arg_max(connections, time) AS connections_now
    FROM session_samples WHERE pair IS NOT NULL AND connections > 0 GROUP BY pair
), loss AS (
    SELECT d.pair, sum(g.missing) AS missing, sum(g.lines) AS lines
    FROM sequence_gaps g JOIN devices d USING (serial) GROUP BY d.pair
)
SELECT p.pair, p.site, h.health, h.score, p.ha_mode, p.active_serial AS active_unit,
       (SELECT role FROM devices d WHERE d.serial = p.active_serial) AS active_role,
       p.stateful_sync, coalesce(ev.failovers, 0) AS failovers,
       coalesce(ev.failbacks, 0) AS failbacks,
       coalesce(ev.heartbeat_losses, 0) AS heartbeat_losses,
       coalesce(ev.sync_events, 0) AS sync_events, ev.last_role_change,
       conn.connections_now,
       round(100.0 * loss.missing / nullif(loss.lines + loss.missing, 0), 2) AS syslog_loss_pct
FROM pairs p
LEFT JOIN pair_health h USING (pair)
LEFT JOIN ev USING (pair) LEFT JOIN conn USING (pair) LEFT JOIN loss USING (pair)
ORDER BY p.pair
"""


def pair_summary(cur: duckdb.DuckDBPyConnection) -> tuple[list[str], list[tuple[Any, ...]]]:
    relation = cur.execute(PAIR_SUMMARY_SQL)
    columns = [d[0] for d in relation.description or []]
    return columns, relation.fetchall()


def unpaired_serials(cur: duckdb.DuckDBPyConnection) -> list[str]:
    return [r[0] for r in cur.execute(
        "SELECT serial FROM unpaired_devices ORDER BY serial").fetchall()]
