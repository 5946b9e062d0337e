"""Syslog against the status reports (polls, exported status): each can see a role change the
other did not, and a monitor that trusts only one of them is blind where it is.

- `syslog_missed_failover`: the status reports show another unit active (two reports in a
  row) and no HA message named it within `crosscheck.window_minutes`, while syslog from the
  pair kept arriving: HA messages are being lost (UDP, a relay, a log level or category that
  drops them). The change itself is recorded from the polls (analytics/role_changes.py,
  `seen_in` 'status'), so unsynced failovers and session drops are still found. Open until
  syslog reports a role change again.
- `polls_contradict_syslog`: syslog says a unit became active, but the first status report
  after it (past `crosscheck.grace_seconds`, before the next change) names another: a wrong
  unit mapping (shared sn=), a replayed or misdated line, a unit's clock. Over when a report
  names the new unit after all, or at the next change.
"""

from __future__ import annotations

import duckdb
from hawatch.store.execute import execute_script, exists

KINDS = ("syslog_missed_failover", "polls_contradict_syslog")

_MISSED = """
INSERT INTO candidates
SELECT r.pair, 'syslog_missed_failover', 'warning', r.time, nx.time,
       printf('status reports show %s active from %s (%s before); no HA message reported'
              ' it, while syslog from the pair kept arriving (syslog missed a failover)',
              r.new_active, strftime(r.time, '%Y-%m-%d %H:%M:%S UTC'), r.old_active),
       json_object('changed_at', r.time, 'from_serial', r.old_active,
                   'to_serial', r.new_active, 'seen_in', 'status',
                   'syslog_last_seen', sy.last_seen, 'next_reported_change', nx.time),
       'missed@' || CAST(r.time AS VARCHAR)
FROM role_change_neighbours r
JOIN scope s ON s.pair = r.pair
JOIN (SELECT p.pair, max(l.last_seen) AS last_seen
      FROM pairs p JOIN unit_last_seen l
        ON l.serial IN (p.primary_serial, p.secondary_serial) AND l.source = 'syslog'
      GROUP BY p.pair) sy
  -- syslog was flowing around the change (traffic is counted per minute)
  ON sy.pair = r.pair
 AND sy.last_seen >= r.time - to_minutes(CAST($crosscheck_window_minutes AS BIGINT))
ASOF LEFT JOIN (SELECT pair, time FROM role_change_history
                WHERE seen_in = 'event' AND message_id IS NOT NULL) nx
  ON nx.pair = r.pair AND nx.time > r.time
WHERE r.seen_in = 'status' AND r.time >= s.start
"""

_CONTRADICTED = """
INSERT INTO candidates
SELECT h.pair, 'polls_contradict_syslog', 'warning', h.time,
       least(b.time, nx.time),
       printf('syslog says %s became active at %s; the status report at %s still shows'
              ' %s active', h.new_active, strftime(h.time, '%Y-%m-%d %H:%M:%S UTC'),
              strftime(k.status_at, '%Y-%m-%d %H:%M:%S UTC'), k.status_active),
       json_object('changed_at', h.time, 'to_serial', h.new_active,
                   'message_id', h.message_id, 'status_at', k.status_at,
                   'status_active', k.status_active, 'confirmed_at', b.time),
       'contradicted@' || CAST(h.time AS VARCHAR)
FROM role_change_history h
JOIN role_change_checks k ON k.pair = h.pair AND k.change_no = h.change_no
JOIN scope s ON s.pair = h.pair
LEFT JOIN role_change_history nx ON nx.pair = h.pair AND nx.change_no = h.change_no + 1
ASOF LEFT JOIN status_claims b
  ON b.pair = h.pair AND b.active = h.new_active AND b.time > k.status_at
WHERE k.status_agrees = false AND h.message_id IS NOT NULL AND h.time >= s.start;
"""


def detect(cur: duckdb.DuckDBPyConnection, params: dict[str, object]) -> None:
    """Each finding only where the role changes have one to look at (most passes: none)."""
    if exists(cur, "SELECT 1 FROM role_change_neighbours WHERE seen_in = 'status'"):
        execute_script(cur, _MISSED, params)
    if exists(cur, "SELECT 1 FROM role_change_checks WHERE NOT status_agrees"):
        execute_script(cur, _CONTRADICTED, params)
