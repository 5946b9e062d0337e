"""The incidents of the whole fleet as the dashboard lists them: filtered with bound
parameters (kind, site, severity, status), newest first, each with whether it is
acknowledged now; and the kinds there are, for the page's filter."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import duckdb
from hawatch.store.execute import fetch_dicts

# filter name -> the column it narrows (names come from here, values are bound)
FILTER_COLUMNS = {
    "kind": "i.kind",
    "site": "p.site",
    "severity": "i.severity",
    "status": "i.status",
}

_LIST = """
SELECT i.incident_id, i.pair, p.site, i.kind, i.severity, i.status, i.opened_at,
       i.resolved_at, i.summary,
       EXISTS (SELECT 1 FROM acknowledgements a WHERE a.incident_id = i.incident_id
               AND a.cleared_at IS NULL) AS acknowledged
FROM incidents i LEFT JOIN pairs p USING (pair)
{where}
ORDER BY i.opened_at DESC, i.incident_id DESC LIMIT ?
"""


def list_incidents(
    cur: duckdb.DuckDBPyConnection, filters: Mapping[str, str | None], limit: int
) -> list[dict[str, Any]]:
    """At most `limit` incidents matching every filter given (None: any)."""
    where, params = [], []
    for name, column in FILTER_COLUMNS.items():
        if filters.get(name) is not None:
            where.append(f"{column} = ?")
            params.append(filters[name])
    sql = _LIST.format(where="WHERE " + " AND ".join(where) if where else "")
    return fetch_dicts(cur.execute(sql, [*params, limit]))


def incident_kinds(cur: duckdb.DuckDBPyConnection) -> list[str]:
    """The kinds of incident stored, in name order."""
    return [
        k for (k,) in cur.execute("SELECT DISTINCT kind FROM incidents ORDER BY kind").fetchall()
    ]
