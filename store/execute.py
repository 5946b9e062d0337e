"""Running SQL on a cursor: a script of several statements with named parameters, many rows
in a few INSERTs, rows as dicts.

Apart from db.py (the connection's owner) so that what db.py itself uses (rollups after a
migration) can use these too without importing db.py back.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping, Sequence
from typing import Any

import duckdb

_PARAM = re.compile(r"\$([a-z_][a-z0-9_]*)")


def execute_script(
    cur: duckdb.DuckDBPyConnection, script: str, params: Mapping[str, object] | None = None
) -> None:
    """Run several statements; DuckDB binds parameters only in a single statement, so each
    statement gets the named parameters it mentions."""
    for query, names in _split(script):
        cur.execute(
            query, {k: v for k, v in (params or {}).items() if k in names} if names else None
        )


@functools.lru_cache(maxsize=256)
def _split(script: str) -> tuple[tuple[str, frozenset[str]], ...]:
    """Statements of a script and the parameters each names, parsed once per script text
    (the analysis runs the same ~40 statements every pass; splitting them cost 7 ms)."""
    return tuple(
        (s.query, frozenset(_PARAM.findall(s.query))) for s in duckdb.extract_statements(script)
    )


def insert_rows(
    cur: duckdb.DuckDBPyConnection, table: str, rows: Sequence[Sequence[object]], chunk: int = 500
) -> None:
    """INSERT many rows with a few multi-row statements: DuckDB's `executemany` runs one
    statement per row (about 0.4 ms each), which made a 20-row insert cost 9 ms."""
    for start in range(0, len(rows), chunk):
        part = rows[start : start + chunk]
        width = len(part[0])
        values = ", ".join(["(" + ", ".join(["?"] * width) + ")"] * len(part))
        cur.execute(
            f"INSERT INTO {table} VALUES {values}", [value for row in part for value in row]
        )


def fetch_dicts(relation: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    """The rows of an executed query as column -> value dicts (for templates and JSON)."""
    columns = [d[0] for d in relation.description or []]
    return [dict(zip(columns, row, strict=True)) for row in relation.fetchall()]


def exists(cur: duckdb.DuckDBPyConnection, query: str) -> bool:
    """Whether `query` returns any row: lets a pass skip statements that would find nothing
    (a fleet that is not polled has no status reports to cross-check)."""
    row = cur.execute(f"SELECT EXISTS ({query})").fetchone()
    return bool(row and row[0])


def one_row(
    cur: duckdb.DuckDBPyConnection,
    query: str,
    params: Sequence[object] | dict[str, object] | None = None,
) -> tuple[Any, ...]:
    """The single row of a query that always has one (an aggregate, a nextval, an UPDATE's
    count): `(count,) = one_row(...)` with no Optional to unpack, and a clear error instead of
    "cannot unpack None" if it ever has none."""
    row = cur.execute(query, params).fetchone()
    if row is None:
        raise LookupError(f"no row from {query.split()[0]} that always has one: {query[:80]}")
    return row
