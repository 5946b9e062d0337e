"""Split brain: both units of a pair active at once, usually after the HA link was lost.

A unit becoming active while its peer's last state was also active starts an overlap; it
ends at the next standby or reboot of either unit. Because the old active unit does not
always log its own step down, an overlap counts only with corroboration: SonicOS's
"Active Backup detects Active Primary" (m=152, kind dual_active) during or right after it,
or the HA link (or peer) reported lost and not yet back when it began. And m=152 alone is
one: the old active unit may never have logged its state at all, and the firewall itself
says both were active.
"""

from __future__ import annotations

import duckdb
from hawatch.store.execute import execute_script

_DETECT = """
CREATE OR REPLACE TEMP TABLE split_brain_unit_states AS
SELECT e.pair, e.serial, e.time, e.state_to AS state, e.kind
FROM ha_events e JOIN scope s ON s.pair = e.pair
WHERE e.state_to IN ('active', 'standby', 'reboot') AND e.time >= s.start - INTERVAL 1 DAY;

CREATE OR REPLACE TEMP TABLE split_brain_overlaps AS
SELECT a.pair, a.serial, a.time AS started_at, o.serial AS peer
FROM split_brain_unit_states a
JOIN pairs p ON p.pair = a.pair
ASOF JOIN split_brain_unit_states o
  ON o.pair = a.pair AND o.time <= a.time
 AND o.serial = CASE WHEN a.serial = p.primary_serial THEN p.secondary_serial
                     ELSE p.primary_serial END
WHERE a.state = 'active' AND o.state = 'active';

CREATE OR REPLACE TEMP TABLE split_brain_overlap_ends AS
SELECT v.pair, v.started_at, min(x.time) AS ended_at
FROM split_brain_overlaps v
LEFT JOIN split_brain_unit_states x ON x.pair = v.pair AND x.time > v.started_at
                                   AND x.state IN ('standby', 'reboot')
GROUP BY ALL;

-- several "became active" messages (147, 143, 142) during one overlap are one split brain
DELETE FROM split_brain_overlaps v USING split_brain_overlap_ends e
WHERE e.pair = v.pair AND e.started_at = v.started_at
  AND EXISTS (SELECT 1 FROM split_brain_overlap_ends f
              WHERE f.pair = e.pair AND f.started_at < e.started_at
                AND f.ended_at IS NOT DISTINCT FROM e.ended_at);

CREATE OR REPLACE TEMP TABLE split_brain_link_states AS
SELECT v.pair, v.started_at, l.kind AS link_state, l.time AS link_at
FROM split_brain_overlaps v ASOF JOIN (
    SELECT pair, time, kind FROM ha_events
    WHERE kind IN ('ha_link_down', 'ha_link_up', 'peer_lost', 'peer_found')
) l ON l.pair = v.pair AND l.time <= v.started_at;

INSERT INTO candidates
SELECT v.pair, 'split_brain', 'critical', v.started_at, e.ended_at,
       printf('both units active: %s and %s%s', v.peer, v.serial,
              CASE WHEN l.link_state IN ('ha_link_down', 'peer_lost')
                   THEN ' after ' || replace(l.link_state, '_', ' ') ELSE '' END),
       json_object('units', [v.peer, v.serial], 'overlap_started', v.started_at,
                   'overlap_ended', e.ended_at, 'link_state', l.link_state,
                   'link_changed_at', l.link_at, 'dual_active_reported', d.time IS NOT NULL),
       'overlap@' || CAST(v.started_at AS VARCHAR)
FROM split_brain_overlaps v
JOIN scope s ON s.pair = v.pair
LEFT JOIN split_brain_overlap_ends e ON e.pair = v.pair AND e.started_at = v.started_at
LEFT JOIN split_brain_link_states l ON l.pair = v.pair AND l.started_at = v.started_at
LEFT JOIN (SELECT pair, min(time) AS time, any_value(x) AS x FROM (
              SELECT pair, time, 1 AS x FROM ha_events WHERE kind = 'dual_active')
           GROUP BY pair, time) d
  ON d.pair = v.pair AND d.time BETWEEN v.started_at
                                    AND coalesce(e.ended_at, v.started_at) + INTERVAL 1 MINUTE
WHERE (d.time IS NOT NULL OR l.link_state IN ('ha_link_down', 'peer_lost'))
  AND coalesce(e.ended_at, v.started_at) >= s.start
QUALIFY row_number() OVER (PARTITION BY v.pair, v.started_at ORDER BY d.time) = 1;
"""

# The firewall's own word: m=152 says both units were active, so it is a split brain even
# when the old active unit never logged its state (no overlap to see). It ran from the role
# change that made the reporting unit active (within a day) to the report, when that unit
# reboots; several reports of one episode are one incident.
_REPORTED = """
INSERT INTO candidates
WITH reported AS (
    SELECT d.pair, d.serial, d.time AS reported_at,
           CASE WHEN d.serial = p.primary_serial THEN p.secondary_serial
                ELSE p.primary_serial END AS peer,
           CASE WHEN d.time - r.time <= INTERVAL 1 DAY THEN r.time ELSE d.time END
               AS started_at
    FROM ha_events d
    JOIN pairs p ON p.pair = d.pair
    ASOF LEFT JOIN (SELECT pair, new_active, time FROM role_change_history
                    WHERE kind <> 'dual_active') r
      ON r.pair = d.pair AND r.new_active = d.serial AND r.time <= d.time
    WHERE d.kind = 'dual_active' AND d.pair IN (SELECT pair FROM scope)
    QUALIFY row_number() OVER (PARTITION BY d.pair, started_at
                               ORDER BY d.time, d.event_key) = 1
)
SELECT v.pair, 'split_brain', 'critical', v.started_at, v.reported_at,
       printf('both units active: %s and %s; %s reported it (m=152) and rebooted', v.peer,
              v.serial, v.serial),
       json_object('units', [v.peer, v.serial], 'overlap_started', v.started_at,
                   'overlap_ended', v.reported_at, 'link_state', NULL, 'link_changed_at', NULL,
                   'dual_active_reported', true),
       'overlap@' || CAST(v.started_at AS VARCHAR)
FROM reported v JOIN scope s ON s.pair = v.pair
WHERE v.reported_at >= s.start
  AND NOT EXISTS (SELECT 1 FROM candidates c
                  WHERE c.kind = 'split_brain' AND c.pair = v.pair
                    AND v.reported_at BETWEEN c.opened_at
                                          AND coalesce(c.resolved_at, v.reported_at)
                                              + INTERVAL 1 MINUTE);
"""


def detect(cur: duckdb.DuckDBPyConnection, params: dict[str, object]) -> None:
    """Overlaps with corroboration first, then episodes only the firewall's report shows."""
    execute_script(cur, _DETECT, params)
    execute_script(cur, _REPORTED, params)
