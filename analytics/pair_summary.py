"""Per-pair summary of what the store knows: the first thing a NOC engineer asks after an
ingest is "which pairs failed over, are they in sync, and which units are unpaired?".

The same query feeds the CLI report, the dashboard's fleet page and its JSON API; callers
narrow it by site, health or a search term (bound parameters) and sort it by a column from
`SORT_COLUMNS` (an allow-list, since a column name cannot be a bound parameter).

A pair whose units went silent is `stale` (pair_health, from analytics/freshness.py), and
its row says when it was last heard from and through what (`last_seen`, `last_source`), and
how old `connections_now` is (`connections_at`): a silent pair's last count is not current.
"""

from __future__ import annotations

from typing import Any

import duckdb
from hawatch.store.errors import InvalidQuery

# Failovers and failbacks are role changes (the table `role_changes`), not messages: one
# failover is often three lines (149 "going Active", 143 "has transitioned to Active", 144
# from the old active), and both units may log it.
PAIR_SUMMARY_SQL = """
WITH ev AS (
    SELECT pair,
           count(*) FILTER (WHERE kind IN ('heartbeat_loss', 'peer_lost')
                            OR trigger = 'heartbeat') AS heartbeat_losses,
           count(*) FILTER (WHERE kind LIKE 'sync_%') AS sync_events
    FROM ha_events WHERE pair IS NOT NULL GROUP BY pair
), changes AS (
    SELECT pair, count(*) AS role_changes,
           count(*) FILTER (WHERE kind = 'failover') AS failovers,
           count(*) FILTER (WHERE kind = 'failback') AS failbacks,
           max(time) AS last_role_change,
           -- the active unit is the last role change's, whoever saw it (a failover only
           -- the polls saw too); pairs.active_serial before the first change
           arg_max(new_active, change_no) AS last_active
    FROM role_changes GROUP BY pair
), inc AS (
    SELECT pair, count(*) FILTER (WHERE status = 'open') AS open_incidents,
           max(opened_at) AS last_incident
    FROM incidents GROUP BY pair
), loss AS (
    SELECT d.pair, sum(g.missing) AS missing, sum(g.lines) AS lines
    FROM sequence_gaps g JOIN devices d USING (serial) GROUP BY d.pair
)
SELECT p.pair, p.site, h.health, h.score, p.ha_mode,
       coalesce(c.last_active, p.active_serial) AS active_unit,
       (SELECT role FROM devices d
        WHERE d.serial = coalesce(c.last_active, p.active_serial)) AS active_role,
       p.stateful_sync, coalesce(c.role_changes, 0) AS role_changes,
       coalesce(c.failovers, 0) AS failovers, coalesce(c.failbacks, 0) AS failbacks,
       coalesce(ev.heartbeat_losses, 0) AS heartbeat_losses,
       coalesce(ev.sync_events, 0) AS sync_events, c.last_role_change,
       p.connections_now, p.connections_at,
       round(100.0 * loss.missing / nullif(loss.lines + loss.missing, 0), 2) AS syslog_loss_pct,
       coalesce(inc.open_incidents, 0) AS open_incidents, inc.last_incident,
       coalesce(h.stale, false) AS stale, h.last_seen, h.last_source
FROM pairs p
LEFT JOIN pair_health h USING (pair)
LEFT JOIN ev USING (pair) LEFT JOIN changes c USING (pair) LEFT JOIN loss USING (pair)
LEFT JOIN inc USING (pair)
{where}
"""

# worst first: the order of the fleet page, its summary strip and the wallboard
HEALTH_ORDER = ("critical", "warning", "stale", "ok")
SEVERITY_ORDER = ("critical", "warning", "info")
HEALTH_RANK = (
    "CASE health "
    + " ".join(f"WHEN '{w}' THEN {i}" for i, w in enumerate(HEALTH_ORDER))
    + " ELSE 4 END"
)
# sortable columns; health sorts by severity (critical first when ascending), not by
# spelling; `worst` (the fleet page's default) is health, then the newest incident first
SORT_COLUMNS: dict[str, str] = {
    name: name
    for name in (
        "pair",
        "site",
        "score",
        "ha_mode",
        "active_unit",
        "active_role",
        "stateful_sync",
        "role_changes",
        "failovers",
        "failbacks",
        "heartbeat_losses",
        "sync_events",
        "last_role_change",
        "connections_now",
        "syslog_loss_pct",
        "open_incidents",
        "last_incident",
        "last_seen",
    )
}
SORT_COLUMNS["health"] = HEALTH_RANK
SORT_COLUMNS["worst"] = HEALTH_RANK
# what breaks a tie in the sort column, before the pair's name
TIE_BREAKS = {"worst": "last_incident DESC NULLS LAST"}


def pair_summary_sql(
    site: str | None = None,
    health: str | None = None,
    search: str | None = None,
    sort: str = "pair",
    descending: bool = False,
    limit: int | None = None,
    offset: int = 0,
    health_not: str | None = None,
) -> tuple[str, list[Any]]:
    """The summary query and its parameters; `sort` must be a key of SORT_COLUMNS.

    With a `limit` it returns one page (from `offset`) and a column `total`: the count of
    every matching pair, from the same scan (a second query would read it all again)."""
    if sort not in SORT_COLUMNS:
        raise InvalidQuery(f"cannot sort by {sort!r}; use one of {', '.join(SORT_COLUMNS)}")
    conditions: list[str] = []
    params: list[Any] = []
    if site:
        conditions.append("p.site = ?")
        params.append(site)
    if health:
        conditions.append("h.health = ?")
        params.append(health)
    if health_not:
        conditions.append("coalesce(h.health, '') <> ?")
        params.append(health_not)
    if search:
        # a part of the pair's name or of either unit's serial, any case
        conditions.append(
            "contains(lower(concat_ws(' ', p.pair, p.primary_serial,"
            " p.secondary_serial, p.active_serial)), lower(?))"
        )
        params.append(search.strip())
    where = ("WHERE " + " AND ".join(conditions)) if conditions else ""
    direction = "DESC" if descending else "ASC"
    ties = "".join(f"{t}, " for t in [TIE_BREAKS.get(sort)] if t)
    total = ", count(*) OVER () AS total" if limit is not None else ""
    sql = (
        f"SELECT *{total} FROM ({PAIR_SUMMARY_SQL.format(where=where)}) summary"
        f" ORDER BY {SORT_COLUMNS[sort]} {direction} NULLS LAST, {ties}pair"
    )
    if limit is not None:
        sql += " LIMIT ? OFFSET ?"
        params += [limit, offset]
    return sql, params


def pair_summary(
    cur: duckdb.DuckDBPyConnection,
    site: str | None = None,
    health: str | None = None,
    search: str | None = None,
    sort: str = "pair",
    descending: bool = False,
    limit: int | None = None,
    offset: int = 0,
    health_not: str | None = None,
) -> tuple[list[str], list[tuple[Any, ...]]]:
    """Column names and rows of the summary, narrowed and sorted as asked (one page of it
    with a `limit`; `health_not` leaves out the pairs of that health)."""
    sql, params = pair_summary_sql(
        site, health, search, sort, descending, limit, offset, health_not
    )
    relation = cur.execute(sql, params)
    columns = [d[0] for d in relation.description or []]
    return columns, relation.fetchall()


def unpaired_serials(cur: duckdb.DuckDBPyConnection) -> list[str]:
    return [
        r[0] for r in cur.execute("SELECT serial FROM unpaired_devices ORDER BY serial").fetchall()
    ]


def fleet_sites(cur: duckdb.DuckDBPyConnection) -> list[str]:
    """Every site of the inventory, for the pages' site filters."""
    return [
        s
        for (s,) in cur.execute(
            "SELECT DISTINCT site FROM pairs WHERE site IS NOT NULL ORDER BY site"
        ).fetchall()
    ]


def fleet_counts(cur: duckdb.DuckDBPyConnection) -> dict[str, dict[str, int]]:
    """Pairs per health and open incidents per severity, for the fleet's summary strip and
    the wallboard: every health and severity word present, zero when none."""
    health = dict(
        cur.execute(
            "SELECT coalesce(h.health, 'unknown'), count(*) FROM pairs p"
            " LEFT JOIN pair_health h USING (pair) GROUP BY ALL"
        ).fetchall()
    )
    severity = dict(
        cur.execute(
            "SELECT severity, count(*) FROM incidents WHERE status = 'open' GROUP BY severity"
        ).fetchall()
    )
    return {
        "health": {w: health.get(w, 0) for w in HEALTH_ORDER}
        | {w: n for w, n in health.items() if w not in HEALTH_ORDER},
        "severity": {w: severity.get(w, 0) for w in SEVERITY_ORDER}
        | {w: n for w, n in severity.items() if w not in SEVERITY_ORDER},
    }
