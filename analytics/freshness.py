"""Freshness: which units are silent or unreachable now. For a monitor, silence is never
healthy: a pair whose unit went quiet is `stale` (pair_health), not `ok` with its last figures.

Judged every pass for every pair, whatever the scope: silence brings no new data, so an
incremental pass would never look at a silent pair. Written to `unit_freshness` (one row per
unit, as of the pass; the views `pair_freshness` and `pair_health` read it) from
`unit_last_seen` (kept at ingest) and `poll_status` (kept by the pollers).

- A polled unit is judged on its own, with the short threshold (`freshness.poll_intervals`
  poll intervals): it answers every interval when it is alive. It is *unreachable* when all
  its polls have failed for that long (poll_status.failing_since), *silent* when nothing at
  all arrived from it for that long.
- Units that are not polled are judged together with their pair's other unpolled unit,
  with `freshness.silent_minutes`: a standby has nothing to log, so a pair is silent when
  neither unit sent syslog or exports for that long.
- Live or not: silence is measured on hawatch's clock since data last *arrived while
  current* (`unit_last_seen.last_live`: a listener, a poll, or a file no older than an hour).
  A unit known only from old files (last month's logs) is judged as of the newest data in
  the store instead, and never opens an incident: ingesting history must not open a storm of
  silences in the past, while `hawatch analyze` on old files still shows which units went
  quiet before the end of the collection.

Incidents: `unit_unreachable` (polls failing) and `unit_silent` (no data at all), for live
units only, opened at the moment the unit was last heard from (or its polls began failing)
and resolved when data arrives again (or a poll succeeds, `poll_status.ok_since`).
"""

from __future__ import annotations

import duckdb
from hawatch.store.execute import execute_script, exists

KINDS = ("unit_silent", "unit_unreachable")

_JUDGE = """
DELETE FROM unit_freshness;

INSERT INTO unit_freshness
WITH units AS (
    SELECT pair, primary_serial AS serial, 'primary' AS role FROM pairs
    WHERE coalesce(primary_serial, '') <> ''
    UNION ALL
    SELECT pair, secondary_serial, 'secondary' FROM pairs
    WHERE coalesce(secondary_serial, '') <> ''
), seen AS (
    SELECT serial, max(last_seen) AS last_seen, arg_max(source, last_seen) AS last_source,
           max(last_live) AS heard_at
    FROM unit_last_seen GROUP BY serial
), polls AS (
    SELECT serial, bool_and(outcome <> 'ok') AS failing, max(failing_since) AS failing_since,
           max(last_success) AS last_success,
           string_agg(protocol || ': ' || outcome || coalesce(' (' || reason || ')', ''),
                      '; ' ORDER BY protocol) FILTER (WHERE outcome <> 'ok') AS problem
    FROM poll_status GROUP BY serial
), unit AS (
    SELECT u.pair, u.serial, u.role, s.last_seen, s.last_source, s.heard_at,
           q.serial IS NOT NULL AS polled, q.failing, q.failing_since, q.last_success,
           q.problem,
           CASE WHEN q.serial IS NOT NULL
                THEN CAST($freshness_poll_intervals * $poll_interval_seconds AS BIGINT)
                ELSE CAST($freshness_silent_minutes * 60 AS BIGINT) END AS threshold_seconds
    FROM units u LEFT JOIN seen s USING (serial) LEFT JOIN polls q USING (serial)
), unpolled AS (
    -- a pair's unpolled units are heard together: a standby may have nothing to log
    SELECT pair, max(last_seen) AS last_seen, max(heard_at) AS heard_at
    FROM unit WHERE NOT polled GROUP BY pair
), basis AS (
    SELECT u.*,
           CASE WHEN u.polled THEN u.heard_at ELSE p.heard_at END AS basis_heard,
           CASE WHEN u.polled THEN u.last_seen ELSE p.last_seen END AS basis_seen,
           -- the clock, or for units known only from old files the newest data stored
           least(now(), (SELECT max(last_seen) FROM unit_last_seen)) AS as_of
    FROM unit u LEFT JOIN unpolled p USING (pair)
)
SELECT pair, serial, role, last_seen, last_source, heard_at, polled, live,
       threshold_seconds, silent, CASE WHEN silent THEN quiet_since END AS silent_since,
       unreachable_since, poll_problem, now() AS judged_at
FROM (
    SELECT *, basis_heard IS NOT NULL AS live,
           CASE WHEN basis_heard IS NOT NULL
                THEN now() - basis_heard > to_seconds(threshold_seconds)
                ELSE basis_seen IS NULL OR as_of - basis_seen > to_seconds(threshold_seconds)
           END AS silent,
           coalesce(basis_heard, basis_seen) AS quiet_since,
           CASE WHEN polled AND failing AND now() - coalesce(last_success, failing_since)
                                            > to_seconds(threshold_seconds)
                THEN failing_since END AS unreachable_since,
           problem AS poll_problem
    FROM basis
);
"""

# one finding per unreachable unit, and per silence: a polled unit alone, a pair's unpolled
# units together (named by the one heard last); only what was heard live
_FIND = """
CREATE OR REPLACE TEMP TABLE freshness_findings AS
WITH dark AS (
    SELECT pair, bool_and(silent OR unreachable_since IS NOT NULL) AS all_dark
    FROM unit_freshness GROUP BY pair
)
SELECT j.pair, 'unit_unreachable' AS kind,
       CASE WHEN d.all_dark THEN 'critical' ELSE 'warning' END AS severity,
       j.unreachable_since AS opened_at, CAST(NULL AS TIMESTAMPTZ) AS resolved_at,
       printf('%s (%s) has not answered polls since %s: %s', j.serial, j.role,
              strftime(j.unreachable_since, '%Y-%m-%d %H:%M:%S UTC'), j.poll_problem)
           AS summary,
       json_object('serial', j.serial, 'role', j.role, 'failing_since', j.unreachable_since,
                   'last_seen', j.last_seen, 'last_source', j.last_source,
                   'poll_problem', j.poll_problem, 'threshold_seconds', j.threshold_seconds)
           AS evidence,
       'unreachable:' || j.serial || '@' || CAST(j.unreachable_since AS VARCHAR) AS key
FROM unit_freshness j JOIN dark d USING (pair)
WHERE j.unreachable_since IS NOT NULL
UNION ALL
SELECT j.pair, 'unit_silent', 'warning', j.silent_since, NULL,
       printf('no data from %s since %s (last: %s at %s); expected within %d minutes',
              CASE WHEN j.polled THEN j.serial || ' (' || j.role || ')'
                   ELSE 'the pair''s units' END,
              strftime(j.silent_since, '%Y-%m-%d %H:%M:%S UTC'),
              coalesce(j.last_source, 'nothing'),
              coalesce(strftime(j.last_seen, '%Y-%m-%d %H:%M:%S UTC'), '-'),
              CAST(ceil(j.threshold_seconds / 60) AS BIGINT)),
       json_object('serial', j.serial, 'role', j.role, 'polled', j.polled,
                   'silent_since', j.silent_since, 'last_seen', j.last_seen,
                   'last_source', j.last_source, 'threshold_seconds', j.threshold_seconds),
       'silent:' || j.serial || '@' || CAST(j.silent_since AS VARCHAR)
FROM unit_freshness j
WHERE j.live AND j.silent AND j.unreachable_since IS NULL
QUALIFY j.polled OR row_number() OVER (PARTITION BY j.pair, j.polled
                                       ORDER BY j.heard_at DESC NULLS LAST, j.serial) = 1;

INSERT INTO candidates SELECT * FROM freshness_findings;
"""

# the stored ones (few): an open one no longer found is over; an ended one is found again
_STORED = """
-- an open one no longer found is over: when its unit answered again or data arrived again
-- (the pass's time when the unit is gone from the inventory or from polling)
INSERT INTO candidates
SELECT i.pair, i.kind, i.severity, i.opened_at,
       greatest(i.opened_at, least(now(), coalesce(
           CASE WHEN i.kind = 'unit_unreachable' THEN q.ok_since
                WHEN j.polled THEN j.heard_at ELSE h.heard_at END, now()))),
       i.summary, i.evidence, i.incident_key
FROM incidents i
LEFT JOIN unit_freshness j
  ON j.pair = i.pair AND j.serial = json_extract_string(i.evidence, '$.serial')
LEFT JOIN (SELECT serial, min(ok_since) AS ok_since FROM poll_status GROUP BY serial) q
  ON q.serial = j.serial
LEFT JOIN (SELECT pair, max(heard_at) AS heard_at FROM unit_freshness
           WHERE NOT polled GROUP BY pair) h ON h.pair = i.pair
WHERE i.status = 'open' AND i.kind IN ('unit_silent', 'unit_unreachable')
  AND i.incident_key NOT IN (SELECT key FROM freshness_findings);

-- ended ones are found again as they were, so a pass over their pair does not withdraw them
INSERT INTO candidates
SELECT i.pair, i.kind, i.severity, i.opened_at, i.resolved_at, i.summary, i.evidence,
       i.incident_key
FROM incidents i JOIN scope s ON s.pair = i.pair AND i.opened_at >= s.start
WHERE i.status = 'resolved' AND i.kind IN ('unit_silent', 'unit_unreachable');
"""


def judge(cur: duckdb.DuckDBPyConnection, params: dict[str, object]) -> None:
    """Rewrite `unit_freshness` for every pair and add the silences to `candidates`."""
    execute_script(cur, _JUDGE, params)
    execute_script(cur, _FIND, params)
    if exists(cur, "SELECT 1 FROM incidents WHERE kind IN ('unit_silent', 'unit_unreachable')"):
        execute_script(cur, _STORED, params)
