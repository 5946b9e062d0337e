"""Analysts' SQL: one checked SELECT, run where it cannot write, within limits of time, rows,
bytes and concurrency.

Layers, because each alone leaks:
1. the parse-tree check (store/sql_check.py): one SELECT whose every node is a SELECT, no
   data-modifying CTE or subquery, table functions from an allow-list, no sequences,
   settings or files;
2. a READ ONLY transaction that is always rolled back: DuckDB refuses every write in it
   ("transaction is launched in read-only mode"), nextval() included. A read-only
   *connection* would be stronger still, but DuckDB cannot give one inside the process that
   holds the file read-write (`access_mode` is fixed when the file is opened, and a second
   open of the same file is a "unique file handle conflict"); `hawatch sql` without a
   server does open the file read-only;
3. the instance's `enable_external_access=false` plus `lock_configuration=true`
   (store/lockdown.py: table functions cannot read or write files, and a query cannot switch
   that back); a query on an instance that is not locked down is refused.

Limits: DuckDB has no statement timeout, so a watchdog timer calls `interrupt()`; the
deadline also covers fetching, and the result carries it so the web views count writing
the answer in it too. Rows are fetched in chunks and counted in bytes as well as rows: a
query asking for gigabytes of text stops at `max_bytes` (marked truncated) instead of
being turned into Python objects and HTML first (`SELECT repeat('x', 100000) FROM
range(20000)` took the server to 4 GiB). `Sandbox` caps how many analyst queries run at
once, so analysts cannot occupy every web thread.

DuckDB's memory is one budget per database instance (`memory_limit`, by default 80% of
the RAM or of the cgroup's limit), shared with ingest and analysis; beyond it a query
spills to disk or fails with DuckDB's out-of-memory error. DuckDB 2.0's per-connection
`operator_memory_limit` was measured and did not bound the peak of sorts, windows or
string/list aggregates (a `string_agg` reached 11 GiB under a 256 MB limit), so it is not
relied on.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
from hawatch.store.db import connect
from hawatch.store.errors import InvalidQuery, QueryBusy, QueryTimeout
from hawatch.store.lockdown import lock_down
from hawatch.store.query_errors import analyst_error
from hawatch.store.settings_type import Settings
from hawatch.store.sql_check import check_statement

__all__ = [
    "Limits",
    "Param",
    "QueryResult",
    "Sandbox",
    "bound_values",
    "check_statement",
    "open_for_analysts",
    "plain_value",
    "run_query",
]

Param = str | int | float | bool | None  # a value bound to a `?` of an analyst query
FIRST_CHUNK = 64  # rows fetched before the row size is known
MAX_CHUNK = 2048


@dataclass(frozen=True)
class Limits:
    """How far one analyst query may go."""

    timeout_seconds: float = 10.0
    max_rows: int = 10_000
    max_bytes: int = 16 * 1024 * 1024

    @classmethod
    def from_settings(
        cls, settings: Settings, timeout: float | None = None, max_rows: int | None = None
    ) -> Limits:
        try:
            return cls(
                float(timeout or settings["sql.timeout_seconds"]),
                int(max_rows or settings["sql.max_rows"]),
                int(float(settings["sql.max_result_megabytes"]) * 1024 * 1024),
            )
        except (TypeError, ValueError):
            raise InvalidQuery("the time limit and row cap must be numbers") from None


@dataclass
class QueryResult:
    columns: list[str]
    rows: list[tuple[Any, ...]]
    truncated: bool  # more rows existed than the caps let through
    seconds: float
    cut_by: str = ""  # "rows" or "bytes": the cap that truncated the result
    deadline: float = float("inf")  # time.monotonic() by which the answer must be written
    timeout_seconds: float = 0.0

    def check_time(self) -> None:
        """Raise QueryTimeout when writing the answer took the query past its time limit."""
        if time.monotonic() > self.deadline:
            raise QueryTimeout(
                f"query stopped after the {self.timeout_seconds:g} s time"
                " limit (while writing the answer)"
            )


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


def value_bytes(value: Any) -> int:
    """About how many bytes `value` takes in an answer (bytes are sent as hex)."""
    if isinstance(value, str):
        return len(value) + 8
    if isinstance(value, bytes | bytearray):
        return 2 * len(value) + 8
    if isinstance(value, dict):
        return 8 + sum(value_bytes(k) + value_bytes(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return 8 + sum(value_bytes(v) for v in value)
    return 16


def open_for_analysts(path: str) -> duckdb.DuckDBPyConnection:
    """A read-only, locked-down connection to a database no server holds."""
    con = connect(path, read_only=True)
    con.execute("SET TimeZone = 'UTC'")
    lock_down(con)
    return con


def _require_locked_down(con: duckdb.DuckDBPyConnection) -> None:
    """Fail closed: analyst SQL on an instance with file access on is a wiring mistake."""
    ((external, locked),) = con.execute(
        "SELECT current_setting('enable_external_access'), current_setting('lock_configuration')"
    ).fetchall()
    if external or not locked:
        raise InvalidQuery("analyst SQL is off: the database is not locked down")


def server_paths(con: duckdb.DuckDBPyConnection) -> list[str]:
    """The instance's files and folders (database files, their folders, the spill folder),
    for error texts to hide; asked on the server's side, never through analyst SQL."""
    try:
        rows = con.execute(
            "SELECT path FROM duckdb_databases() WHERE path IS NOT NULL UNION ALL"
            " SELECT current_setting('temp_directory')"
        ).fetchall()
    except duckdb.Error:
        return []
    paths = [str(p) for (p,) in rows if p]
    return paths + [str(Path(p).parent) for p in paths if Path(p).parent != Path("/")]


def _begin_read_only(con: duckdb.DuckDBPyConnection) -> None:
    try:
        con.execute("BEGIN TRANSACTION READ ONLY")
    except duckdb.TransactionException:
        con.execute("ROLLBACK")  # a transaction left open on this cursor: end it first
        con.execute("BEGIN TRANSACTION READ ONLY")


def _roll_back(con: duckdb.DuckDBPyConnection) -> None:
    try:
        con.execute("ROLLBACK")
    except duckdb.Error:
        pass  # no transaction left (an interrupted one is already gone)


def _fetch(
    relation: duckdb.DuckDBPyConnection, limits: Limits, deadline: float
) -> tuple[list[tuple[Any, ...]], str]:
    """Rows until the result ends or a cap is reached: (rows, "" | "rows" | "bytes").

    The chunk shrinks as rows grow, so at most about the byte budget is ever turned into
    Python objects, even when each row is large."""
    rows: list[tuple[Any, ...]] = []
    used, chunk = 0, FIRST_CHUNK
    while True:
        batch = relation.fetchmany(chunk)
        if not batch:
            return rows, ""
        for row in batch:
            size = sum(value_bytes(v) for v in row)
            if len(rows) >= limits.max_rows:
                return rows, "rows"
            if used + size > limits.max_bytes:
                return rows, "bytes"
            rows.append(row)
            used += size
        if time.monotonic() > deadline:
            raise QueryTimeout(f"query stopped after the {limits.timeout_seconds:g} s time limit")
        average = max(1, used // max(1, len(rows)))
        chunk = max(
            1,
            min(
                MAX_CHUNK, (limits.max_bytes - used) // average + 1, limits.max_rows - len(rows) + 1
            ),
        )


def bound_values(params: Any) -> list[Param]:
    """The values for a query's `?` placeholders, in order: numbers, strings, true/false or
    null. They reach DuckDB as bound values, never as SQL text, so the statement check above
    holds whatever they hold; lists and objects are refused rather than turned into DuckDB
    LISTs and STRUCTs."""
    if not isinstance(params, list | tuple):
        raise InvalidQuery("params must be a list of values, one per ? in the query")
    for value in params:
        if value is not None and not isinstance(value, str | int | float | bool):
            raise InvalidQuery(
                f"params: a {type(value).__name__} is not a value (numbers,"
                " strings, true/false and null are)"
            )
    return list(params)


def run_query(
    con: duckdb.DuckDBPyConnection, query: str, limits: Limits, params: Sequence[Param] = ()
) -> QueryResult:
    """Run one checked SELECT on `con` (a locked-down connection or cursor), with `params`
    bound to its `?` placeholders, in a read-only transaction that is rolled back whatever
    happens."""
    sql, values = check_statement(query), bound_values(params)
    _require_locked_down(con)
    timeout = limits.timeout_seconds
    timer = threading.Timer(timeout, con.interrupt)
    started = time.monotonic()
    timer.start()
    try:
        _begin_read_only(con)
        try:
            relation = con.execute(sql, values)
            columns = [d[0] for d in relation.description or []]
            rows, cut_by = _fetch(relation, limits, started + timeout)
        finally:
            _roll_back(con)
    except duckdb.InterruptException:
        raise QueryTimeout(f"query stopped after the {timeout:g} s time limit") from None
    except duckdb.Error as exc:
        if not timer.is_alive() and "interrupt" in str(exc).lower():
            raise QueryTimeout(f"query stopped after the {timeout:g} s time limit") from None
        raise analyst_error(exc, query, server_paths(con)) from None
    finally:
        timer.cancel()
    return QueryResult(
        columns, rows, bool(cut_by), time.monotonic() - started, cut_by, started + timeout, timeout
    )


class Sandbox:
    """At most `slots` analyst queries at once, each on a fresh cursor of `store`.

    A query that finds every slot taken is refused at once (QueryBusy, answered 503 with
    Retry-After) rather than queued: a queued query would hold a web thread while it
    waits, and 16 of them from one viewer held all eight (/healthz took 19 s)."""

    def __init__(self, cursor: Any, slots: int) -> None:
        self._cursor = cursor  # a function returning a new cursor (Store.cursor)
        self.slots = max(1, int(slots))
        self._free = threading.BoundedSemaphore(self.slots)

    def run(self, query: str, limits: Limits, params: Sequence[Param] = ()) -> QueryResult:
        if not self._free.acquire(blocking=False):
            raise QueryBusy(
                f"{self.slots} queries are running already (sql.max_concurrent):"
                " try again in a few seconds"
            )
        try:
            cur = self._cursor()
            try:
                return run_query(cur, query, limits, params)
            finally:
                cur.close()
        finally:
            self._free.release()
