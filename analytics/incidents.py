"""Incident lifecycle: reconcile this pass's findings (`candidates`) with stored incidents.

A finding is the same incident as a stored one when its key matches (a failover's time, a
window's start) or, for findings without a key, when their time ranges overlap. Then the
stored incident keeps its id and is updated (its start only ever moves earlier) or
resolved; otherwise a new incident opens. A stored incident that started inside this pass's
scope but is no longer found (later data contradicted it) is withdrawn, not deleted, so what
was shown or sent stays explainable. Running the same pass twice changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
from hawatch.store.execute import execute_script

_MATCH = """
CREATE OR REPLACE TEMP TABLE candidates_unique AS
SELECT DISTINCT ON (pair, kind, coalesce(key, CAST(opened_at AS VARCHAR))) *
FROM candidates ORDER BY pair, kind, coalesce(key, CAST(opened_at AS VARCHAR)), resolved_at;

CREATE OR REPLACE TEMP TABLE candidates_matched AS
SELECT c.*, (
    SELECT min(i.incident_id) FROM incidents i
    WHERE i.pair = c.pair AND i.kind = c.kind AND i.status <> 'withdrawn'
      AND (CASE WHEN c.key IS NOT NULL THEN i.incident_key = c.key
                ELSE i.incident_key IS NULL
                     AND i.opened_at <= coalesce(c.resolved_at, TIMESTAMPTZ '9999-01-01')
                                        + INTERVAL 1 MINUTE
                     AND c.opened_at <= coalesce(i.resolved_at, TIMESTAMPTZ '9999-01-01')
                                        + INTERVAL 1 MINUTE END)
) AS incident_id
FROM candidates_unique c;

-- several findings may continue one stored incident (an episode seen in two passes)
CREATE OR REPLACE TEMP TABLE incident_updates AS
SELECT incident_id, any_value(pair) AS pair, any_value(kind) AS kind,
       min(opened_at) AS opened_at,
       CASE WHEN bool_or(resolved_at IS NULL) THEN NULL ELSE max(resolved_at) END
           AS resolved_at,
       CASE WHEN bool_or(severity = 'critical') THEN 'critical'
            WHEN bool_or(severity = 'warning') THEN 'warning' ELSE 'info' END AS severity,
       arg_max(summary, opened_at) AS summary, arg_max(evidence, opened_at) AS evidence
FROM candidates_matched WHERE incident_id IS NOT NULL GROUP BY incident_id;
"""

_UPDATE = """
UPDATE incidents i SET
    opened_at = least(i.opened_at, m.opened_at),
    resolved_at = m.resolved_at,
    status = CASE WHEN m.resolved_at IS NULL THEN 'open' ELSE 'resolved' END,
    severity = m.severity, summary = m.summary, evidence = m.evidence, last_updated = now()
FROM incident_updates m
WHERE i.incident_id = m.incident_id
  AND (i.resolved_at IS DISTINCT FROM m.resolved_at OR i.summary <> m.summary
       OR i.severity <> m.severity OR m.opened_at < i.opened_at
       OR CAST(i.evidence AS VARCHAR) <> CAST(m.evidence AS VARCHAR)
       OR i.status <> CASE WHEN m.resolved_at IS NULL THEN 'open' ELSE 'resolved' END)
"""

_INSERT = """
INSERT INTO incidents (pair, kind, incident_key, severity, opened_at, resolved_at, status,
                       summary, evidence, first_detected, last_updated)
SELECT pair, kind, key, severity, opened_at, resolved_at,
       CASE WHEN resolved_at IS NULL THEN 'open' ELSE 'resolved' END, summary, evidence,
       now(), now()
FROM candidates_matched WHERE incident_id IS NULL
"""

_WITHDRAW = """
UPDATE incidents i SET status = 'withdrawn', resolved_at = coalesce(i.resolved_at, now()),
                       last_updated = now()
FROM scope s
WHERE i.pair = s.pair AND i.opened_at >= s.start AND i.status <> 'withdrawn'
  AND i.incident_id NOT IN (SELECT incident_id FROM incident_updates)
"""


@dataclass
class Reconciled:
    opened: int = 0
    updated: int = 0
    resolved: int = 0
    withdrawn: int = 0


def _count(cur: duckdb.DuckDBPyConnection, sql: str) -> int:
    row = cur.execute(sql).fetchone()
    return int(row[0]) if row and row[0] is not None else 0


def reconcile(cur: duckdb.DuckDBPyConnection) -> Reconciled:
    execute_script(cur, _MATCH)
    resolving = _count(
        cur,
        """
        SELECT count(*) FROM incident_updates m JOIN incidents i USING (incident_id)
        WHERE i.status = 'open' AND m.resolved_at IS NOT NULL""",
    )
    result = Reconciled(resolved=resolving)
    result.updated = _count(cur, _UPDATE)
    result.withdrawn = _count(cur, _WITHDRAW)  # before inserting: new ones are not stale
    result.opened = _count(cur, _INSERT)
    return result
