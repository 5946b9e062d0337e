"""The one object that owns the DuckDB connection.

DuckDB lets one process open a file read-write and no other process open it meanwhile, so
everything in a process shares this object: writes go through `transaction()` (one writer at a
time, in batches), readers take `cursor()` per thread.

The database file is the server's alone: it is created with mode 0600 (and an older, wider
one is narrowed), and `probe()` tells whether it can still be read and written, for
/healthz and for ingest to know when to try again after a full disk.
"""

from __future__ import annotations

import errno
import os
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources
from pathlib import Path

import duckdb
from hawatch.store.errors import HawatchError, StoreBusy
from hawatch.store.execute import insert_rows
from hawatch.store.kinds import EVENT_KINDS
from hawatch.store.lockdown import lock_down
from hawatch.store.rollups import refresh_rollups

_MIGRATION_NAME = re.compile(r"^(\d{3})_([a-z0-9_]+)\.sql$")


def _one_line(exc: BaseException) -> str:
    text = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    return text if len(text) <= 300 else text[:297] + "..."


def migrations() -> list[tuple[int, str, str]]:
    """(version, name, sql) of every packaged migration, in order."""
    found = []
    for entry in resources.files("hawatch.store.migrations").iterdir():
        match = _MIGRATION_NAME.match(entry.name)
        if match:
            found.append((int(match.group(1)), match.group(2), entry.read_text("utf-8")))
    return sorted(found)


# Errors of the store, not of the data: worth trying again later (disk full, I/O error, a
# database invalidated by a failed checkpoint, which reopen() recovers).
_TRANSIENT_ERRNOS = frozenset(
    {
        errno.ENOSPC,
        errno.EDQUOT,
        errno.EIO,
        errno.EFBIG,
        errno.EROFS,
        errno.ENOMEM,
        errno.EMFILE,
        errno.ENFILE,
        errno.EAGAIN,
        errno.EBUSY,
    }
)
_TRANSIENT_DUCKDB = (
    duckdb.IOException,
    duckdb.FatalException,
    duckdb.OutOfMemoryException,
    duckdb.InterruptException,
)
_TRANSIENT_TEXT = re.compile(
    r"could not write|failed to commit|no space left|conflict|"
    r"invalidated",
    re.I,
)
_HEADER_BYTES = 3 * 4096  # DuckDB's file header and its two database headers


def transient_error(exc: BaseException) -> bool:
    """True when `exc` is the store's (or the disk's) trouble, not the input's: the same
    input will go in once the store can write again."""
    if isinstance(exc, OSError):
        return exc.errno in _TRANSIENT_ERRNOS
    if isinstance(exc, _TRANSIENT_DUCKDB):
        return True
    return isinstance(exc, duckdb.Error) and bool(_TRANSIENT_TEXT.search(str(exc)))


def invalidated(exc: BaseException | str) -> bool:
    """DuckDB refuses every query until the database is opened again (see Store.reopen)."""
    return isinstance(exc, duckdb.FatalException) or "invalidated" in str(exc)


def _private(path: str) -> None:
    """Narrow the database file and its log to 0600: they hold every log line, which
    analysts reach through the server only. (The command line creates them so from the
    start, with umask 077; this covers files made before, or by a library caller.)"""
    for name in (path, path + ".wal"):
        try:
            if os.stat(name).st_mode & 0o077:
                os.chmod(name, 0o600)
        except FileNotFoundError:
            pass


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
        self._locked_down: list[str] | None = None  # lock_down()'s folders, once called
        self._con.execute("SET GLOBAL TimeZone = 'UTC'")  # every cursor shows UTC
        if not read_only:
            if self.path != ":memory:":
                _private(self.path)
            self.migrate()
            self._refresh_kinds()

    # -- connection ---------------------------------------------------------------------------
    def cursor(self) -> duckdb.DuckDBPyConnection:
        """A cursor for one thread; cursors share the connection's database instance."""
        return self._con.cursor()

    @contextmanager
    def transaction(
        self, cursor: duckdb.DuckDBPyConnection | None = None
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
        lock_down(self._con, allowed_directories)
        self._locked_down = list(allowed_directories or [])

    def reopen(self) -> None:
        """Open the database file again, after DuckDB invalidated this instance (a failed
        checkpoint on a full disk): until then every query fails. Committed data is in the
        file or its log, and the new instance recovers it. Cursors of the old instance fail
        from now on; callers take new ones."""
        with self._write_lock:
            try:
                self._con.close()
            except duckdb.Error:
                pass
            self._con = connect(self.path, self.read_only)
            self._con.execute("SET GLOBAL TimeZone = 'UTC'")
            if self._locked_down is not None:
                lock_down(self._con, self._locked_down or None)

    def probe(self, wait_seconds: float = 1.0) -> str | None:
        """None when the store can be read and written; else what is wrong, in one line.

        Reads a table, checks that the file is as long as the blocks DuckDB says it has (a
        truncated file opens and answers until a missing block is needed), and commits a
        one-row write (`health_probe`): a full disk or a read-only file system fails it.
        The write waits at most `wait_seconds` for a transaction in progress, which is
        itself proof of writing, and is then skipped.
        """
        try:
            cur = self.cursor()
        except duckdb.Error as exc:
            return _one_line(exc)
        try:
            cur.execute("SELECT count(*) FROM schema_migrations").fetchone()
            if self.read_only or not self._write_lock.acquire(timeout=wait_seconds):
                return None
            try:
                problem = self._size_problem(cur)
                if problem is None:
                    self._write_probe(cur)
                return problem
            finally:
                self._write_lock.release()
        except (duckdb.Error, OSError) as exc:
            return _one_line(exc)
        finally:
            cur.close()

    def _size_problem(self, cur: duckdb.DuckDBPyConnection) -> str | None:
        """The file must hold every block its header counts (checked under the write lock:
        no checkpoint is growing it meanwhile)."""
        if self.path == ":memory:":
            return None
        row = cur.execute(
            "SELECT block_size, total_blocks FROM pragma_database_size()"
            " WHERE database_name = current_database()"
        ).fetchone()
        if not row:
            return None
        needed = _HEADER_BYTES + int(row[0]) * int(row[1])
        size = os.stat(self.path).st_size
        if size < needed:
            return (
                f"database file {self.path} is truncated: {size:,} bytes, its blocks need"
                f" {needed:,}; restore it from a backup"
            )
        return None

    def _write_probe(self, cur: duckdb.DuckDBPyConnection) -> None:
        cur.execute("BEGIN TRANSACTION")
        try:
            cur.execute("UPDATE health_probe SET probed_at = now()")
        except BaseException:
            try:
                cur.execute("ROLLBACK")
            except duckdb.Error:
                pass  # the instance may be invalidated: the first error is the one to tell
            raise
        cur.execute("COMMIT")

    def interrupt(self) -> None:
        self._con.interrupt()

    def close(self) -> None:
        self._con.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- schema -------------------------------------------------------------------------------
    # These read with fetchall(), never fetchone(): a result left unread keeps its read
    # transaction open on the long-lived connection, and while one is open DuckDB never
    # checkpoints ("other write transactions active"): the log grew without end (333 MB
    # for 278 MB of input) and a restart replayed all of it.
    def schema_version(self) -> int:
        if not self._has_table("schema_migrations"):
            return 0
        rows = self._con.execute("SELECT max(version) FROM schema_migrations").fetchall()
        return int(rows[0][0]) if rows and rows[0][0] is not None else 0

    def _has_table(self, name: str) -> bool:
        rows = self._con.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_name = ?", [name]
        ).fetchall()
        return bool(rows and rows[0][0])

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
                with self.transaction() as cur:
                    refresh_rollups(cur)  # a migration may ask for rollups to be built
            return applied

    def _refresh_kinds(self) -> None:
        with self.transaction() as cur:
            cur.execute("DELETE FROM event_kinds")
            insert_rows(cur, "event_kinds", list(EVENT_KINDS))
