"""Role changes with their context, shared by the flapping, unsynced-failover, session-drop
and failover-test detectors: who became active, who was active before, why (the message's
trigger or a monitor failure just before, and in words the interface or probe target that
failed when the monitor event names it: analytics/monitor_cause.py), the stateful-sync
state at the time, and the connections and VPN SAs on the old active just before and on
the new active just after.

Built once per pass, with as-of joins (sorted merges), never a per-failover query:
- `role_change_history`: every role change of the pairs in scope (written to the stored
  table `role_changes`), from the HA messages and the status reports (`role_messages`);
- `role_changes_in_scope`: those from the scope's start (minus two hours) with their
  context, one row per (pair, change_no), read by the detectors.
Nothing depends on the order rows were stored in: ties in one second are broken by meaning
(the view's order; the root cause; sync off over on).
"""

from __future__ import annotations

import duckdb
from hawatch.analytics.monitor_cause import cause_sql
from hawatch.store.execute import execute_script, exists

# What a role change is, written once: the table `role_changes` (docs/schema.md) that the
# fleet page and the SQL examples count holds exactly these rows, rewritten for the pairs in
# scope each pass. The pairs' whole history is computed (`role_change_history`; split_brain
# looks back to the change that began an episode), and the changes from the scope's start on
# get their neighbours (`role_change_neighbours`).
#
# Two kinds of evidence say which unit is active: HA messages (`role_messages`: syslog and
# exports' events) and status reports (`status_claims`: polls and exported status, each
# moment where exactly one unit is reported active). A change of the active unit that two
# status reports in a row show, and that no message named within crosscheck.window_minutes,
# is one syslog missed (lost UDP, a log level that drops HA): it joins the messages as one
# more (`seen_in` 'status'), so the changes are one sequence, whoever saw them.
_MESSAGES = """
CREATE OR REPLACE TEMP TABLE role_messages AS
-- every message that says which unit is active: a unit becoming active (failover or
-- failback), and m=152 "Active Backup detects Active Primary: Backup rebooting", whose
-- reporting unit steps down so that its peer is the one active unit. The meaning orders
-- the messages of one second (`step`): the decision with its cause ("missed heartbeats
-- ... going Active", "preempting") before the transition it causes ("has transitioned
-- to Active"), a dual-active report last; then a unit's n= orders its repeats of one
-- message, and the event key makes the order total, so the same events give the same
-- changes however they were stored.
SELECT e.pair, e.time, e.serial AS active, e.kind, e.trigger, e.message_id, e.seq,
       e.event_key,
       CASE WHEN e.trigger IS NOT NULL OR e.kind = 'failback' THEN 1 ELSE 2 END AS step,
       'event' AS seen_in
FROM ha_events e
WHERE e.state_to = 'active' AND e.kind IN ('failover', 'failback')
  AND e.pair IN (SELECT pair FROM scope) AND e.serial IS NOT NULL
UNION ALL
SELECT d.pair, d.time, CASE WHEN d.serial = p.primary_serial THEN p.secondary_serial
                            ELSE p.primary_serial END,
       d.kind, NULL, d.message_id, d.seq, d.event_key, 3, 'event'
FROM ha_events d JOIN pairs p ON p.pair = d.pair
WHERE d.kind = 'dual_active' AND d.pair IN (SELECT pair FROM scope)
  AND p.primary_serial IS NOT NULL AND p.secondary_serial IS NOT NULL;

-- who the status reports name active, from a day before each pair's scope (time bounds
-- first, so DuckDB's zone maps skip older reports); a moment where both units claim it (a
-- split brain, each seeing no peer) names nobody
CREATE OR REPLACE TEMP TABLE status_claims AS
SELECT s.pair, s.time, any_value(s.serial) AS active
FROM status_samples s JOIN scope c ON c.pair = s.pair
WHERE s.state = 'active' AND s.time >= (SELECT min(start) FROM scope) - INTERVAL 1 DAY
  AND s.time >= c.start - INTERVAL 1 DAY
GROUP BY s.pair, s.time HAVING count(DISTINCT s.serial) = 1;

"""

# runs of reports naming one unit; a change is a run of two or more reports after another
# such run (one report between others is noise: a poll racing a change, a split brain's
# alternating claims)
_STATUS_CHANGES = """
CREATE OR REPLACE TEMP TABLE status_role_changes AS
WITH runs AS (
    SELECT pair, active, min(time) AS first_at, max(time) AS last_at, count(*) AS reports
    FROM (SELECT pair, time, active,
                 sum(CASE WHEN active IS DISTINCT FROM prev THEN 1 ELSE 0 END)
                     OVER (PARTITION BY pair ORDER BY time) AS run
          FROM (SELECT *, lag(active) OVER (PARTITION BY pair ORDER BY time) AS prev
                FROM status_claims))
    GROUP BY pair, run, active
), confirmed AS (
    SELECT *, lag(active) OVER w AS prev_active, lag(last_at) OVER w AS prev_last_at
    FROM runs WHERE reports >= 2
    WINDOW w AS (PARTITION BY pair ORDER BY first_at)
)
SELECT c.pair, c.first_at AS time, c.active, c.prev_active, c.prev_last_at
FROM confirmed c
WHERE c.prev_active IS NOT NULL AND c.prev_active <> c.active
  AND NOT EXISTS (
      SELECT 1 FROM role_messages m
      WHERE m.pair = c.pair AND m.active = c.active
        AND m.time BETWEEN c.prev_last_at - to_minutes(CAST($crosscheck_window_minutes AS BIGINT))
                       AND c.first_at + to_minutes(CAST($crosscheck_window_minutes AS BIGINT)));

INSERT INTO role_messages
SELECT pair, time, active, 'failover', NULL, NULL, NULL, NULL, 2, 'status'
FROM status_role_changes;
"""

# without status reports in reach (a fleet that is not polled): the same table, empty
_NO_STATUS_CHANGES = """
CREATE OR REPLACE TEMP TABLE status_role_changes (pair VARCHAR, time TIMESTAMPTZ,
    active VARCHAR, prev_active VARCHAR, prev_last_at TIMESTAMPTZ)
"""

# changes seen in status reports before the claims' reach, as an earlier pass found them
_EARLIER_STATUS_CHANGES = """
INSERT INTO role_messages
SELECT r.pair, r.time, r.new_active, r.kind, NULL, NULL, NULL, NULL, 2, 'status'
FROM role_changes r JOIN scope c ON c.pair = r.pair
WHERE r.seen_in = 'status' AND r.time < c.start - INTERVAL 1 DAY;
"""

_HISTORY = """
CREATE OR REPLACE TEMP TABLE role_change_history AS
WITH said AS (
    SELECT *, lag(active) OVER (PARTITION BY pair ORDER BY time, step, seq, active, event_key)
                  AS previous
    FROM role_messages
), known AS (
    -- before a pair's first such message: the newest status report naming an active unit,
    -- strictly before (a poll of the same second already shows the message's outcome). A
    -- hash join, not an as-of join: DuckDB ran that one as an inequality join, seconds on
    -- 10M status samples.
    SELECT o.pair, arg_max(s.serial, (s.time, s.serial)) AS status_active
    FROM said o JOIN status_samples s ON s.pair = o.pair AND s.time < o.time
    WHERE o.previous IS NULL AND s.state = 'active' AND s.pair IN (SELECT pair FROM scope)
    GROUP BY o.pair
)
-- a change of the active unit; with nothing known before, a plain "has transitioned to
-- Active" is the initial election, while a message with a cause (or a report) is a change
SELECT o.pair, o.time, o.active AS new_active,
       coalesce(o.previous, k.status_active,
                CASE WHEN o.active = p.primary_serial THEN p.secondary_serial
                     ELSE p.primary_serial END) AS old_active,
       o.kind, o.trigger, o.message_id, o.event_key,
       row_number() OVER (PARTITION BY o.pair
                          ORDER BY o.time, o.step, o.seq, o.active, o.event_key) AS change_no,
       o.seen_in
FROM said o
JOIN pairs p ON p.pair = o.pair
LEFT JOIN known k ON k.pair = o.pair AND o.previous IS NULL
WHERE (o.previous IS NOT NULL AND o.previous <> o.active)
   OR (o.previous IS NULL AND k.status_active IS NOT NULL AND k.status_active <> o.active)
   OR (o.previous IS NULL AND k.status_active IS NULL AND o.step <> 2);
"""

# Does the first status report after a reported change (past the grace, before the next
# change, within the window) name the new active unit? Older changes keep what an earlier
# pass found, beyond the claims' reach.
_CHECKS = """
CREATE OR REPLACE TEMP TABLE role_change_checks AS
SELECT h.pair, h.change_no,
       CASE WHEN h.time < sc.start - INTERVAL 1 DAY THEN stored.status_agrees
            WHEN c.time < least(coalesce(nx.time, TIMESTAMPTZ '9999-01-01 00:00:00+00'),
                                h.time + to_minutes(CAST($crosscheck_window_minutes AS BIGINT)))
            THEN c.active = h.new_active END AS status_agrees,
       c.time AS status_at, c.active AS status_active
FROM role_change_history h
JOIN scope sc ON sc.pair = h.pair
LEFT JOIN role_change_history nx ON nx.pair = h.pair AND nx.change_no = h.change_no + 1
ASOF LEFT JOIN status_claims c
  ON c.pair = h.pair
 AND c.time > h.time + to_seconds(CAST($crosscheck_grace_seconds AS BIGINT))
LEFT JOIN role_changes stored ON stored.pair = h.pair AND stored.event_key = h.event_key
WHERE h.seen_in = 'event';
"""

# without status reports in reach: nothing to tell, but what an earlier pass found
_NO_CHECKS = """
CREATE OR REPLACE TEMP TABLE role_change_checks AS
SELECT h.pair, h.change_no,
       CASE WHEN h.time < sc.start - INTERVAL 1 DAY THEN stored.status_agrees END
           AS status_agrees,
       CAST(NULL AS TIMESTAMPTZ) AS status_at, CAST(NULL AS VARCHAR) AS status_active
FROM role_change_history h
JOIN scope sc ON sc.pair = h.pair
LEFT JOIN role_changes stored ON stored.pair = h.pair AND stored.event_key = h.event_key
WHERE h.seen_in = 'event'
"""

_STORE = """
DELETE FROM role_changes WHERE pair IN (SELECT pair FROM scope);
INSERT INTO role_changes BY NAME
SELECT h.*, k.status_agrees
FROM role_change_history h LEFT JOIN role_change_checks k USING (pair, change_no);

CREATE OR REPLACE TEMP TABLE role_change_neighbours AS
SELECT c.pair, c.time, c.change_no, c.new_active, c.old_active, c.kind, c.trigger,
       -- samples are read only up to the next change and from the previous one: a unit
       -- that fails back before its next sample must not look like it lost everything
       lag(c.time) OVER w AS prev_change, lead(c.time) OVER w AS next_change, c.seen_in
FROM role_change_history c JOIN scope s USING (pair)
WHERE c.time >= s.start - INTERVAL 2 HOUR
WINDOW w AS (PARTITION BY c.pair ORDER BY c.change_no)
"""

# Where several causes or sync states share one moment, one is chosen by meaning (the root
# cause; any evidence that sync was off), never by the order rows happen to be read in.
_CAUSES = (
    "'reboot', 'interface_monitor_failure', 'probe_monitor_failure', 'interface_down',"
    " 'ha_link_down', 'peer_lost', 'heartbeat_loss'"
)
_SYNC_STATES = "'disabled', 'not_synced', 'enabled', 'synced'"

# One statement: the monitor failure just before, the sync state, the connections before and
# after, the test window; then the shares kept and the verdict.
_CONTEXT = """
CREATE OR REPLACE TEMP TABLE role_changes_in_scope AS
WITH monitor AS (
    SELECT r.pair, r.change_no, m.kind AS monitor_kind, {cause} AS monitor_cause
    FROM role_change_neighbours r ASOF JOIN (
        SELECT pair, time,
               arg_min(kind, coalesce(list_position([{causes}], kind), 99)) AS kind,
               arg_min(detail, coalesce(list_position([{causes}], kind), 99)) AS detail
        FROM ha_events
        WHERE kind IN ({causes}) AND pair IN (SELECT pair FROM scope)
        GROUP BY pair, time
    ) m ON m.pair = r.pair AND m.time <= r.time
    WHERE r.time - m.time <= INTERVAL 2 MINUTE
), sync AS (
    SELECT r.pair, r.change_no, s.state AS sync_state
    FROM role_change_neighbours r ASOF JOIN (
        -- states of one moment ordered by a few microseconds, the off ones last (so taken):
        -- not a GROUP BY, which costs seconds over the status samples of a polled fleet
        SELECT pair, state,
               time + to_microseconds(CAST(
                   4 - coalesce(list_position([{sync_states}], state), 5) AS BIGINT)) AS at
        FROM sync_timeline WHERE pair IN (SELECT pair FROM scope)
    ) s ON s.pair = r.pair AND s.at < r.time
{near}), before AS (
    -- from failover_samples (store/rollups.py: the samples within an hour of a role change,
    -- a small fraction of all), with bounded range joins
    SELECT r.pair, r.change_no, arg_max(b.connections, b.time) AS conn_before,
           arg_max(b.vpn_sas, b.time) AS vpn_before
    FROM role_change_neighbours r JOIN {samples} b
      ON b.serial = r.old_active AND b.time < r.time
     AND b.time >= r.time - to_minutes(CAST($unsynced_before_minutes AS BIGINT))
     AND b.time > coalesce(r.prev_change, TIMESTAMPTZ '1970-01-01 00:00:00+00')
    GROUP BY r.pair, r.change_no
), after AS (
    SELECT r.pair, r.change_no, arg_min(a.connections, a.time) AS conn_after,
           arg_min(a.vpn_sas, a.time) AS vpn_after
    FROM role_change_neighbours r JOIN {samples} a
      ON a.serial = r.new_active AND a.time > r.time
     AND a.time <= r.time + to_minutes(CAST($unsynced_after_minutes AS BIGINT))
     AND a.time < coalesce(r.next_change, TIMESTAMPTZ '9999-01-01 00:00:00+00')
    GROUP BY r.pair, r.change_no
), joined AS (
    SELECT r.*, any_value(m.monitor_kind) AS monitor,
           any_value(m.monitor_cause) AS monitor_cause, any_value(s.sync_state) AS sync_state,
           any_value(b.conn_before) AS conn_before, any_value(b.vpn_before) AS vpn_before,
           any_value(a.conn_after) AS conn_after, any_value(a.vpn_after) AS vpn_after,
           bool_or(w.pair IS NOT NULL) AS in_test_window,
           min(w.starts_at) AS window_start, max(w.ends_at) AS window_end
    FROM role_change_neighbours r
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


# the samples around changes only the status reports showed: failover_samples (store/
# rollups.py) keeps those around the HA messages' changes only, so their units' samples are
# read from session_samples, within an hour of them (a handful of changes: zone maps skip the
# rest). Left out of the statement when the scope has none (a fleet that is not polled).
_NEAR_STATUS_CHANGES = """), near AS (
    SELECT time, serial, connections, vpn_sas FROM failover_samples
    UNION ALL
    SELECT x.time, x.serial, x.connections, x.vpn_sas
    FROM session_samples x
    WHERE x.time BETWEEN (SELECT min(time) FROM role_change_neighbours
                          WHERE seen_in = 'status') - INTERVAL 1 HOUR
                     AND (SELECT max(time) FROM role_change_neighbours
                          WHERE seen_in = 'status') + INTERVAL 1 HOUR
      AND EXISTS (SELECT 1 FROM role_change_neighbours r
                  WHERE r.seen_in = 'status' AND x.serial IN (r.old_active, r.new_active)
                    AND x.time BETWEEN r.time - INTERVAL 1 HOUR AND r.time + INTERVAL 1 HOUR)
"""
_CONTEXTS = {
    with_status: _CONTEXT.format(
        causes=_CAUSES,
        sync_states=_SYNC_STATES,
        cause=cause_sql("m.kind", "m.detail"),
        near=_NEAR_STATUS_CHANGES if with_status else "",
        samples="near" if with_status else "failover_samples",
    )
    for with_status in (False, True)
}


def build_role_changes(cur: duckdb.DuckDBPyConnection, params: dict[str, object]) -> None:
    """Fill `role_change_history` and `role_changes_in_scope` for the pairs in `scope` (see
    the module docstring). The status-report steps run only when status reports are in
    reach: without them (syslog and exports only) the pass costs what it did before."""
    execute_script(cur, _MESSAGES, params)
    claims = exists(cur, "SELECT 1 FROM status_claims")
    execute_script(cur, _STATUS_CHANGES if claims else _NO_STATUS_CHANGES, params)
    execute_script(cur, _EARLIER_STATUS_CHANGES, params)
    execute_script(cur, _HISTORY, params)
    execute_script(cur, _CHECKS if claims else _NO_CHECKS, params)
    execute_script(cur, _STORE, params)
    seen_in_status = exists(cur, "SELECT 1 FROM role_change_neighbours WHERE seen_in = 'status'")
    execute_script(cur, _CONTEXTS[seen_in_status], params)
