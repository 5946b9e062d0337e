"""Which units form which pair, from the inventory and from exports that name a peer.

Both feed one stage, `stg_pairing`, so pairs and devices are upserted in one place. The
inventory is authoritative for names, sites and time zones; exports fill what is unknown.
After new pairing, rows stored before it are re-attributed (`backfill`), so loading the
inventory after the logs gives the same store as loading it first.
"""

from __future__ import annotations

import duckdb
from hawatch.store.execute import execute_script, exists
from hawatch.store.rollups import refresh_rollups

PAIRING_COLUMNS = """serial VARCHAR, pair VARCHAR, role VARCHAR, peer_serial VARCHAR,
    site VARCHAR, timezone VARCHAR, unit_timezone VARCHAR, ha_mode VARCHAR, preempt BOOLEAN,
    model VARCHAR, firmware VARCHAR, seen TIMESTAMPTZ"""

_APPLY = """
-- A unit named with a peer but no pair joins the peer's pair, else a pair named after both.
CREATE OR REPLACE TEMP TABLE pg AS
SELECT s.serial, s.role, s.peer_serial, s.site, s.timezone, s.unit_timezone, s.ha_mode,
       s.preempt, s.model, s.firmware, s.seen,
       coalesce(s.pair, d.pair, dp.pair,
                CASE WHEN s.peer_serial IS NOT NULL THEN
                  CASE WHEN s.role = 'secondary' THEN s.peer_serial || '+' || s.serial
                       ELSE s.serial || '+' || s.peer_serial END END) AS pair
FROM stg_pairing s
LEFT JOIN devices d ON d.serial = s.serial
LEFT JOIN devices dp ON dp.serial = s.peer_serial;

CREATE OR REPLACE TEMP TABLE pg_units AS
SELECT serial, pair, role, site, timezone, unit_timezone, ha_mode, preempt, model, firmware,
       seen
FROM pg
UNION ALL
SELECT peer_serial, pair,
       CASE role WHEN 'primary' THEN 'secondary' WHEN 'secondary' THEN 'primary' END,
       site, timezone, NULL, ha_mode, preempt, NULL, NULL, seen
FROM pg WHERE peer_serial IS NOT NULL;

CREATE OR REPLACE TEMP TABLE pg_pairs AS
SELECT pair,
       arg_max(site, seen) FILTER (WHERE site IS NOT NULL) AS site,
       arg_max(ha_mode, seen) FILTER (WHERE ha_mode IS NOT NULL) AS ha_mode,
       arg_max(preempt, seen) FILTER (WHERE preempt IS NOT NULL) AS preempt,
       arg_max(serial, seen) FILTER (WHERE role = 'primary') AS primary_serial,
       arg_max(serial, seen) FILTER (WHERE role = 'secondary') AS secondary_serial,
       arg_max(timezone, seen) FILTER (WHERE timezone IS NOT NULL) AS timezone
FROM pg_units WHERE pair IS NOT NULL GROUP BY pair;

UPDATE pairs p SET
    site = CASE WHEN $authoritative THEN coalesce(n.site, p.site) ELSE coalesce(p.site, n.site) END,
    ha_mode = coalesce(n.ha_mode, p.ha_mode),
    preempt = coalesce(n.preempt, p.preempt),
    primary_serial = CASE WHEN $authoritative THEN coalesce(n.primary_serial, p.primary_serial)
                          ELSE coalesce(p.primary_serial, n.primary_serial) END,
    secondary_serial = CASE WHEN $authoritative
                            THEN coalesce(n.secondary_serial, p.secondary_serial)
                            ELSE coalesce(p.secondary_serial, n.secondary_serial) END,
    timezone = CASE WHEN $authoritative THEN coalesce(n.timezone, p.timezone)
                    ELSE coalesce(p.timezone, n.timezone) END,
    origin = CASE WHEN $authoritative THEN $origin ELSE p.origin END,
    updated_at = now()
FROM pg_pairs n WHERE p.pair = n.pair;

INSERT INTO pairs (pair, site, ha_mode, preempt, primary_serial, secondary_serial, timezone,
                   origin, updated_at)
SELECT pair, site, ha_mode, preempt, primary_serial, secondary_serial, timezone, $origin, now()
FROM pg_pairs WHERE pair NOT IN (SELECT pair FROM pairs);

CREATE OR REPLACE TEMP TABLE pg_devices AS
SELECT serial,
       arg_max(pair, seen) FILTER (WHERE pair IS NOT NULL) AS pair,
       arg_max(role, seen) FILTER (WHERE role IS NOT NULL) AS role,
       arg_max(model, seen) FILTER (WHERE model IS NOT NULL) AS model,
       arg_max(firmware, seen) FILTER (WHERE firmware IS NOT NULL) AS firmware,
       arg_max(unit_timezone, seen) FILTER (WHERE unit_timezone IS NOT NULL) AS timezone
FROM pg_units WHERE serial IS NOT NULL GROUP BY serial;

UPDATE devices d SET
    pair = CASE WHEN $authoritative THEN coalesce(n.pair, d.pair) ELSE coalesce(d.pair, n.pair) END,
    role = CASE WHEN $authoritative THEN coalesce(n.role, d.role) ELSE coalesce(d.role, n.role) END,
    model = coalesce(n.model, d.model),
    firmware = coalesce(n.firmware, d.firmware),
    timezone = coalesce(n.timezone, d.timezone)
FROM pg_devices n WHERE d.serial = n.serial;

INSERT INTO devices (serial, pair, role, model, firmware, timezone)
SELECT serial, pair, role, model, firmware, timezone FROM pg_devices
WHERE serial NOT IN (SELECT serial FROM devices);
"""

# Rows stored before their unit was paired get the pair (and, for shared-serial logs, the
# unit named by the message's subject). Those pairs are analysed again from the earliest
# such row; an export that merely repeats known pairing marks nothing.
_BACKFILL = """
INSERT INTO analysis_dirty
SELECT pair, min(time), now() FROM (
    SELECT u.pair, e.time FROM ha_events e JOIN unit_map u
      ON u.reported_serial = e.reported_serial AND u.subject IS NOT DISTINCT FROM e.role
    WHERE e.pair IS NULL
    UNION ALL
    SELECT d.pair, x.time FROM session_samples x JOIN devices d ON d.serial = x.serial
    WHERE x.pair IS NULL AND d.pair IS NOT NULL
    UNION ALL
    SELECT d.pair, x.time FROM status_samples x JOIN devices d ON d.serial = x.serial
    WHERE x.pair IS NULL AND d.pair IS NOT NULL
) GROUP BY pair;

INSERT INTO rollup_dirty
SELECT pair, min(time), max(time) FROM (
    SELECT u.pair, e.time FROM ha_events e JOIN unit_map u
      ON u.reported_serial = e.reported_serial AND u.subject IS NOT DISTINCT FROM e.role
    WHERE e.pair IS NULL AND e.state_to = 'active'
    UNION ALL
    SELECT d.pair, e.time FROM ha_events e JOIN devices d ON d.serial = e.serial
    WHERE e.pair IS NULL AND e.state_to = 'active' AND d.pair IS NOT NULL
    UNION ALL
    SELECT d.pair, x.time FROM session_samples x JOIN devices d ON d.serial = x.serial
    WHERE x.pair IS NULL AND d.pair IS NOT NULL
) GROUP BY pair;

UPDATE ha_events e SET serial = u.serial, pair = u.pair,
                       role = coalesce(e.role, u.role)
FROM unit_map u
WHERE e.pair IS NULL AND u.reported_serial = e.reported_serial
  AND u.subject IS NOT DISTINCT FROM e.role;
UPDATE ha_events e SET pair = d.pair, role = coalesce(e.role, d.role) FROM devices d
WHERE e.pair IS NULL AND d.serial = e.serial AND d.pair IS NOT NULL;
UPDATE session_samples s SET pair = d.pair FROM devices d
WHERE s.pair IS NULL AND d.serial = s.serial AND d.pair IS NOT NULL;
UPDATE status_samples s SET pair = d.pair FROM devices d
WHERE s.pair IS NULL AND d.serial = s.serial AND d.pair IS NOT NULL;
"""

# Current pair state from the newest evidence (role changes, sync events, status samples) of
# the pairs in `touched` (pair, since): only rows at or after `since` can be newer than what a
# pair already shows, so a batch's refresh reads its own time range (zone maps skip the rest).
_REFRESH = """
CREATE OR REPLACE TEMP TABLE pair_touched AS {touched};

CREATE OR REPLACE TEMP TABLE pair_now AS
WITH bound AS (SELECT min(since) AS since FROM pair_touched),
active AS (
    SELECT pair, arg_max(serial, time) AS serial FROM (
        SELECT pair, serial, time FROM ha_events
        WHERE state_to = 'active' AND pair IS NOT NULL AND time >= (SELECT since FROM bound)
        UNION ALL
        -- m=152: the reporting unit reboots, its peer is the active one (as in role_changes)
        SELECT d.pair, CASE WHEN d.serial = p.primary_serial THEN p.secondary_serial
                            ELSE p.primary_serial END, d.time
        FROM ha_events d JOIN pairs p ON p.pair = d.pair
        WHERE d.kind = 'dual_active' AND d.time >= (SELECT since FROM bound)
        UNION ALL
        SELECT pair, serial, time FROM status_samples
        WHERE state = 'active' AND pair IS NOT NULL AND time >= (SELECT since FROM bound)
    ) x JOIN pair_touched t USING (pair) WHERE x.time >= t.since GROUP BY pair
), sync AS (
    SELECT pair, arg_max(state, time) AS state FROM sync_timeline x
    JOIN pair_touched t USING (pair)
    WHERE x.time >= (SELECT since FROM bound) AND x.time >= t.since GROUP BY pair
), mode AS (
    SELECT pair, arg_max(ha_mode, time) AS ha_mode FROM status_samples x
    JOIN pair_touched t USING (pair)
    WHERE ha_mode IS NOT NULL AND x.time >= (SELECT since FROM bound) AND x.time >= t.since
    GROUP BY pair
)
SELECT t.pair, a.serial AS active_serial, s.state AS stateful_sync, m.ha_mode
FROM pair_touched t LEFT JOIN active a USING (pair) LEFT JOIN sync s USING (pair)
LEFT JOIN mode m USING (pair);

UPDATE pairs p SET active_serial = coalesce(n.active_serial, p.active_serial),
                   stateful_sync = coalesce(n.stateful_sync, p.stateful_sync),
                   ha_mode = coalesce(p.ha_mode, n.ha_mode)
FROM pair_now n WHERE p.pair = n.pair;
"""
_EVERY_PAIR = "SELECT pair, TIMESTAMPTZ '-infinity' AS since FROM pairs"
# the pairs whose state a batch's staged rows can change, from the earliest such row
_BATCH_PAIRS = """SELECT pair, min(time) AS since FROM (
    SELECT pair, time FROM stg_events
    WHERE state_to = 'active' OR kind IN ('dual_active', 'sync_enabled', 'sync_disabled',
                                          'sync_started', 'sync_completed', 'sync_failed')
    UNION ALL
    SELECT pair, time FROM stg_status
    WHERE state = 'active' OR stateful_sync IS NOT NULL OR ha_mode IS NOT NULL
) WHERE pair IS NOT NULL AND time IS NOT NULL GROUP BY pair"""


def reset_pairing_stage(cur: duckdb.DuckDBPyConnection) -> None:
    """An empty `stg_pairing` for a caller that stages pairing alone (the inventory)."""
    cur.execute(f"CREATE OR REPLACE TEMP TABLE stg_pairing ({PAIRING_COLUMNS})")


# Which unit belongs to which pair, in one value: the backfill (which scans every stored row
# for unpaired ones) is needed only when this changes. Rows are stored unpaired only while
# their unit is unknown, so they can be paired only by a change of this.
_PAIRING_STATE = """
SELECT (SELECT coalesce(sum(hash(pair, primary_serial, secondary_serial)), 0) FROM pairs),
       (SELECT coalesce(sum(hash(serial, pair, role)), 0) FROM devices)
"""


def apply_pairing(cur: duckdb.DuckDBPyConnection, origin: str) -> None:
    """Upsert pairs and devices from `stg_pairing`; the inventory overrides, exports fill in."""
    before = cur.execute(_PAIRING_STATE).fetchone()
    execute_script(cur, _APPLY, {"origin": origin, "authoritative": origin == "inventory"})
    if cur.execute(_PAIRING_STATE).fetchone() != before:
        execute_script(cur, _BACKFILL)
        refresh_rollups(cur)


def refresh_pairs(cur: duckdb.DuckDBPyConnection) -> None:
    """Recompute each pair's active unit and sync state from everything stored (after an
    ingest run, whose pairing may have attached rows stored before their unit was known)."""
    execute_script(cur, _REFRESH.format(touched=_EVERY_PAIR))


def refresh_batch_pairs(cur: duckdb.DuckDBPyConnection) -> None:
    """Bring forward the active unit and sync state of the pairs the staged batch touches:
    `hawatch serve` writes polls, spool files and uploads batch by batch and never runs the
    run-end refresh, so without this a pair page showed the state of the last `ingest`."""
    if exists(cur, _BATCH_PAIRS):
        execute_script(cur, _REFRESH.format(touched=_BATCH_PAIRS))
