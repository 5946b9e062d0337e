"""The table every detector writes its findings to, before they are reconciled with the
stored incidents (analytics.incidents). One row per incident a detector sees in scope."""

from __future__ import annotations

import duckdb

# `key`: what makes a finding the same incident on the next run (e.g. the failover's time).
# NULL: it is the same incident when the time ranges overlap (flapping, heartbeat bursts,
# config drift, whose start moves as data arrives).
COLUMNS = """pair VARCHAR, kind VARCHAR, severity VARCHAR, opened_at TIMESTAMPTZ,
    resolved_at TIMESTAMPTZ, summary VARCHAR, evidence JSON, key VARCHAR"""


def reset_candidates(cur: duckdb.DuckDBPyConnection) -> None:
    cur.execute(f"CREATE OR REPLACE TEMP TABLE candidates ({COLUMNS})")
