"""The audit log: every operator action (acknowledge, silence, window, and each edit or
removal of a silence or window), who took it, when, on what, and why.

Each action writes its row with the cursor of its own transaction (`record`), so the log can
neither miss an action that happened nor show one that was rolled back. Incidents show their
trail (`trails`): their own acknowledgements, and what was done to their pair's silences and
windows while they were open.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

import duckdb
from hawatch.store.execute import fetch_dicts

AUDIT_COLUMNS = [
    "audit_id",
    "acted_at",
    "actor",
    "action",
    "target",
    "target_id",
    "pair",
    "comment",
    "detail",
]

# `hawatch audit`: newest first; one `?` for the pair (NULL: every pair), one for the limit
AUDIT_QUERY = f"""
SELECT {", ".join(AUDIT_COLUMNS)} FROM audit_log
WHERE pair = coalesce(?, pair) ORDER BY audit_id DESC LIMIT ?
"""


def record(
    cur: duckdb.DuckDBPyConnection,
    now: datetime,
    actor: str,
    action: str,
    target: tuple[str, int],
    pair: str | None,
    comment: str,
    detail: str,
) -> None:
    """One action, in the caller's transaction (`target` is e.g. ("silence", 12))."""
    cur.execute(
        "INSERT INTO audit_log (acted_at, actor, action, target, target_id, pair, comment,"
        " detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [now, actor or "operator", action, target[0], target[1], pair, comment or None, detail],
    )


_TRAILS = """
SELECT i.incident_id, a.acted_at, a.actor, a.action, a.target, a.target_id, a.comment, a.detail
FROM (SELECT UNNEST(?::BIGINT[]) AS incident_id) w
JOIN incidents i USING (incident_id)
JOIN audit_log a
  ON (a.target = 'incident' AND a.target_id = i.incident_id)
  OR (a.target <> 'incident' AND a.pair = i.pair
      AND a.acted_at BETWEEN i.opened_at AND coalesce(i.resolved_at, 'infinity'::TIMESTAMPTZ))
ORDER BY i.incident_id, a.audit_id
"""


def trails(
    cur: duckdb.DuckDBPyConnection, incident_ids: Iterable[int]
) -> dict[int, list[dict[str, Any]]]:
    """incident id -> its trail, oldest first (incidents without one are absent)."""
    ids = list(incident_ids)
    found: dict[int, list[dict[str, Any]]] = {}
    if not ids:
        return found
    for row in fetch_dicts(cur.execute(_TRAILS, [ids])):
        found.setdefault(row.pop("incident_id"), []).append(row)
    return found
