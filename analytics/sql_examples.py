"""Example analyst queries the SQL console offers (dashboard/views/sql.py), over the
documented schema (docs/schema.md): one click puts one in the form."""

from __future__ import annotations

EXAMPLES: list[tuple[str, str]] = [
    (
        "Top flapping pairs",
        "SELECT pair, count(*) AS flapping_incidents, max(opened_at) AS last_opened\n"
        "FROM incidents WHERE kind = 'flapping'\nGROUP BY pair ORDER BY flapping_incidents DESC,"
        " pair\nLIMIT 20",
    ),
    (
        "Failovers that lost sessions",
        "SELECT incident_id, pair, opened_at,\n"
        "       CAST(evidence->>'kept_percent' AS DOUBLE) AS kept_percent, summary\n"
        "FROM incidents WHERE kind = 'unsynced_failover'\nORDER BY kept_percent NULLS LAST,"
        " opened_at DESC",
    ),
    # role changes, not messages: one failover is often three lines (docs/schema.md)
    (
        "Failovers per month",
        "SELECT date_trunc('month', time) AS month, count(*) AS role_changes,\n"
        "       count(*) FILTER (WHERE kind = 'failback') AS failbacks,\n"
        "       count(*) FILTER (WHERE kind = 'failover') AS failovers\n"
        "FROM role_changes\nGROUP BY month ORDER BY month",
    ),
]
