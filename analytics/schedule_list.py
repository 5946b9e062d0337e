"""Silences and declared windows as the incidents page and `hawatch silences|windows list`
show them, each with its id (to edit or remove it)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import duckdb
from hawatch.analytics.window_list import WINDOW_QUERY
from hawatch.store.execute import fetch_dicts

SILENCE_COLUMNS = ["silence_id", "pair", "starts_at", "ends_at", "comment", "created_at"]

# `?`s: the pair (NULL: every pair), and the time before which ended silences are left out
# (NULL: every silence), as ISO 8601 text (it travels as JSON to a running server)
SILENCE_QUERY = f"""
SELECT {", ".join(SILENCE_COLUMNS)} FROM silences
WHERE pair = coalesce(?, pair)
  AND ends_at > coalesce(CAST(? AS TIMESTAMPTZ), '-infinity'::TIMESTAMPTZ)
ORDER BY ends_at DESC, silence_id DESC
"""

# the page lists this many of each; the command line lists them all
PAGE_ROWS = 200


def current_silences(cur: duckdb.DuckDBPyConnection, now: datetime) -> list[dict[str, Any]]:
    """Silences in force now or later."""
    return fetch_dicts(cur.execute(SILENCE_QUERY + f" LIMIT {PAGE_ROWS}", [None, now]))


def recent_windows(cur: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    """Declared windows, newest first."""
    return fetch_dicts(cur.execute(WINDOW_QUERY + f" LIMIT {PAGE_ROWS}", [None]))
