"""The one object that owns the DuckDB connection.

DuckDB lets one process open a file read-write and no other process open it meanwhile, so
everything in a process shares this object: writes go through `transaction()` (one writer at a
time, in batches), readers take `cursor()` per thread.
"""

from __future__ import annotations

import functools
import re
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from importlib import resources
from pathlib import Path
from typing import Any

import duckdb
from hawatch.store.errors import HawatchError, StoreBusy
from hawatch.store.kinds import EVENT_KINDS

_MIGRATION_NAME = re.compile(r"^(\d{3})_([a-z0-9_]+)\.sql$")
_PARAM = re.compile(r"\$([a-z_][a-z0-9_]*)")


def execute_script(
    cur: duckdb.DuckDBPyConnection, script: str, params: dict[str, object] | None = None
) -> None:
    """Run several statements; DuckDB binds parameters only in a single statement, so each
    statement gets the named parameters it mentions."""
    for query, names in _split(script):
        cur.execute(query, {k: v for k, v in (params or {}).items() if k in names}
                    if names else None)


@functools.lru_cache(maxsize=256)
def _split(script: str) -> tuple[tuple[str, frozenset[str]], ...]:
    """Statements of a script and the parameters each names, parsed once per script text
    (the analysis runs the same ~40 statements every pass; splitting them cost 7 ms)."""
    return tuple((s.query, frozenset(_PARAM.findall(s.query)))
                 for s in duckdb.extract_statements(script))


def insert_rows(cur: duckdb.DuckDBPyConnection, table: str,
                rows: Sequence[Sequence[object]], chunk: int = 500) -> None:
    """INSERT many rows with a few multi-row statements: DuckDB's `executemany` runs one
    statement per row (about 0.4 ms each), which made a 20-row insert cost 9 ms."""
    for start in range(0, len(rows), chunk):
        part = rows[start:start + chunk]
        width = len(part[0])
        values = ", ".join(["(" + ", ".join(["?"] * width) + ")"] * len(part))
        cur.execute(f"INSERT INTO {table} VALUES {values}",
                    [value for row in part for value in row])


def fetch_dicts(relation: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    """The rows of an executed query as column -> value dicts (for templates and JSON)."""
    columns = [d[0] for d in relation.description or []]
    return [dict(zip(columns, row, strict=True)) for row in relation.fetchall()]


def migrations() -> list[tuple[int, str, str]]:
    """(version, name, sql) of every packaged migration, in order."""
    found = []
    for entry in resources.files("hawatch.store.migrations").iterdir():
        match = _MIGRATION_NAME.match(entry.name)
        if match:
            found.append((int(match.group(1)), match.group(2), entry.read_text("utf-8")))
    return sorted(found)


def connect(path: str, read_only: bool) -> duckdb.DuckDBPyConnection:
    try:
        return duckdb.connect(path, read_only=read_only)
    except duckdb.IOException as exc:
        text = str(exc)
        if "lock" in text.lower():
            raise StoreBusy(
                f"database {path} is held by another process (is `hawatch serve` running?)"
            ) from None
        raise HawatchError(f"cannot open database {path}: {text.splitlines()[0]}") from None
    except duckdb.Error as exc:
        raise HawatchError(f"cannot open database {path}: {str(exc).splitlines()[0]}") from None


class Store:
    """Opens (creating and migrating) a hawatch database file."""

    def __init__(self, path: str | Path, read_only: bool = False) -> None:
        self.path = str(path)
        if not read_only and self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        elif read_only and not Path(self.path).exists():
            raise HawatchError(f"no database at {self.path} (run `hawatch ingest` first)")
        self.read_only = read_only
        self._con = connect(self.path, read_only)
        self._write_lock = threading.RLock()
        self._con.execute("SET GLOBAL TimeZone = 'UTC'")  # every cursor shows UTC
        if not read_only:
            self.migrate()
            self._refresh_kinds()

    # -- connection ---------------------------------------------------------------------------
    def cursor(self) -> duckdb.DuckDBPyConnection:
        """A cursor for one thread; cursors share the connection's database instance."""
        return self._con.cursor()

    @contextmanager
    def transaction(self, cursor: duckdb.DuckDBPyConnection | None = None
                    ) -> Iterator[duckdb.DuckDBPyConnection]:
        """One atomic batch of writes; writers are serialised so batches never interleave.

        Pass the `cursor` whose temp tables hold a staged batch to commit it; it is closed
        afterwards either way.
        """
        with self._write_lock:
            cur = cursor or self.cursor()
            cur.execute("BEGIN TRANSACTION")
            try:
                yield cur
            except BaseException:
                cur.execute("ROLLBACK")
                raise
            else:
                cur.execute("COMMIT")
            finally:
                cur.close()

    def lock_down(self, allowed_directories: list[str] | None = None) -> None:
        """Refuse file and network access to this DuckDB instance for good (every cursor).

        For a serving process whose analysts' SQL runs on this instance: ingest still works,
        it reads files in Python and hands DuckDB Arrow tables.
        """
        from hawatch.store.readonly import lock_down

        lock_down(self._con, allowed_directories)

    def interrupt(self) -> None:
        self._con.interrupt()

    def close(self) -> None:
        self._con.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- schema -------------------------------------------------------------------------------
    def schema_version(self) -> int:
        if not self._has_table("schema_migrations"):
            return 0
        row = self._con.execute("SELECT max(version) FROM schema_migrations").fetchone()
        return int(row[0]) if row and row[0] is not None else 0

    def _has_table(self, name: str) -> bool:
        row = self._con.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_name = ?", [name]
        ).fetchone()
        return bool(row and row[0])

    def migrate(self) -> list[int]:
        """Apply every migration newer than the file's schema, each in its own transaction."""
        with self._write_lock:
            self._con.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations"
                " (version INTEGER NOT NULL, name VARCHAR NOT NULL, applied_at TIMESTAMPTZ)"
            )
            current = self.schema_version()
            applied = []
            for version, name, sql in migrations():
                if version <= current:
                    continue
                with self.transaction() as cur:
                    cur.execute(sql)
                    cur.execute(
                        "INSERT INTO schema_migrations VALUES (?, ?, now())", [version, name]
                    )
                applied.append(version)
            if applied:
                from hawatch.store.rollups import refresh_rollups  # it imports this module

                with self.transaction() as cur:
                    refresh_rollups(cur)  # a migration may ask for rollups to be built
            return applied

    def _refresh_kinds(self) -> None:
        with self.transaction() as cur:
            cur.execute("DELETE FROM event_kinds")
            insert_rows(cur, "event_kinds", list(EVENT_KINDS))
