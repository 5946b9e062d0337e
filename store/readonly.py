"""Analysts' SQL: one SELECT, read-only, no file or network access, time- and row-limited.

Three layers, because each alone leaks: the statement allow-list (DuckDB's own parser says
what a statement is; only SELECT passes, which refuses COPY, ATTACH, SET, INSTALL, CREATE,
DELETE...), the instance's `enable_external_access=false` plus `lock_configuration=true`
(table functions cannot read or write files, and the query cannot switch that back), and a
read-only open of the file when this process is not the server. DuckDB has no statement
timeout, so a watchdog timer calls `interrupt()`.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import duckdb
from hawatch.store.db import connect
from hawatch.store.errors import InvalidQuery, QueryTimeout

ALLOWED = {duckdb.StatementType.SELECT}

# Table functions a query may call. An allow-list, because with file access off DuckDB still
# lets read_blob()/read_text() read the instance's own database file, and query() would hide
# a nested statement from this check.
TABLE_FUNCTIONS = frozenset({
    "range", "generate_series", "unnest", "json_each", "json_tree", "duckdb_tables",
    "duckdb_views", "duckdb_columns", "duckdb_functions", "duckdb_types", "duckdb_schemas",
    "duckdb_constraints", "duckdb_keywords", "pragma_table_info", "summary",
})


@dataclass
class QueryResult:
    columns: list[str]
    rows: list[tuple[Any, ...]]
    truncated: bool  # more rows existed than the row cap
    seconds: float


def plain_value(value: Any) -> Any:
    """A query value as JSON has it: times in ISO 8601 (UTC as Z), decimals as floats."""
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, bytes):
        return value.hex()
    return value


def first_line(exc: BaseException) -> str:
    """DuckDB errors span several lines (hints, carets); users get the first."""
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def check_statement(query: str) -> str:
    """The single SELECT in `query`, or InvalidQuery saying why not."""
    try:
        statements = duckdb.extract_statements(query)
    except duckdb.Error as exc:
        raise InvalidQuery(first_line(exc)) from None
    if len(statements) != 1:
        raise InvalidQuery(f"send exactly one statement (got {len(statements)})")
    statement = statements[0]
    if statement.type not in ALLOWED:
        kind = statement.type.name
        raise InvalidQuery(f"only SELECT queries are allowed here (this is {kind})")
    refused = sorted(set(_table_functions(statement.query)) - TABLE_FUNCTIONS)
    if refused:
        raise InvalidQuery(f"table function {refused[0]}() is not allowed here")
    return statement.query


def _table_functions(sql: str) -> list[str]:
    """Names of the table functions a statement calls, from DuckDB's own parse tree."""
    with duckdb.connect() as parser:
        (tree,) = parser.execute("SELECT json_serialize_sql(?)", [sql]).fetchone()
    found: list[str] = []
    stack: list[object] = [json.loads(tree)]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if node.get("type") == "TABLE_FUNCTION":
                found.append(str(node.get("function", {}).get("function_name", "")).lower())
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return found


def lock_down(con: duckdb.DuckDBPyConnection, allowed_directories: list[str] | None = None
              ) -> None:
    """Refuse file and network access for the whole instance, for good.

    Global to the database instance: every cursor of the process loses file access, so a
    serving process ingests through registered Arrow tables, and lists the spool folder in
    `allowed_directories` (set before the lock) for its own `read_csv`.
    """
    if allowed_directories:
        quoted = ", ".join("'" + d.replace("'", "''") + "'" for d in allowed_directories)
        con.execute(f"SET allowed_directories = [{quoted}]")
    con.execute("SET enable_external_access = false")
    con.execute("SET lock_configuration = true")


def open_for_analysts(path: str) -> duckdb.DuckDBPyConnection:
    """A read-only, locked-down connection to a database no server holds."""

    con = connect(path, read_only=True)
    con.execute("SET TimeZone = 'UTC'")
    lock_down(con)
    return con


def run_query(con: duckdb.DuckDBPyConnection, query: str, timeout_seconds: float,
              max_rows: int) -> QueryResult:
    """Run one checked SELECT on `con` (a locked-down connection or cursor)."""
    sql = check_statement(query)
    timer = threading.Timer(timeout_seconds, con.interrupt)
    started = time.perf_counter()
    timer.start()
    try:
        relation = con.execute(sql)
        columns = [d[0] for d in relation.description or []]
        rows = relation.fetchmany(max_rows + 1)
    except duckdb.InterruptException:
        raise QueryTimeout(
            f"query stopped after the {timeout_seconds:g} s time limit") from None
    except duckdb.Error as exc:
        if not timer.is_alive() and "interrupt" in str(exc).lower():
            raise QueryTimeout(
                f"query stopped after the {timeout_seconds:g} s time limit") from None
        raise InvalidQuery(first_line(exc)) from None
    finally:
        timer.cancel()
    return QueryResult(columns, rows[:max_rows], len(rows) > max_rows,
                       time.perf_counter() - started)
