"""Ingest sources into the store: idempotent, resumable, one transaction per batch.

A source is identified by its content (sha256 of its first bytes), not its name, and the
store records how far it was committed. Each batch's rows and the new committed offset are
written in one transaction, so a run killed at any moment and started again ends with the
same rows as one clean run, and a second run over the same files adds nothing.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
from hawatch.collector import export_records
from hawatch.collector.inventory import load_inventory
from hawatch.collector.pairing import refresh_pairs
from hawatch.collector.parse_sonicos import stage_sonicos
from hawatch.collector.sonicos_catalog import catalog_rows
from hawatch.collector.sources import (
    BATCH_BYTES,
    FINGERPRINT_BYTES,
    STDIN,
    Input,
    LineBatch,
    _Peekable,
    discover,
    fingerprint,
    open_input,
    prefetch,
    read_batches,
    sniff_format,
)
from hawatch.collector.stage_export import stage_export
from hawatch.collector.writer import BatchResult, commit_batch, reset_stages
from hawatch.store.db import Store, insert_rows
from hawatch.store.errors import HawatchError


@dataclass
class SourceReport:
    name: str
    format: str = ""
    status: str = "ingested"  # ingested | resumed | unchanged | inventory | skipped | failed
    lines: int = 0  # syslog: non-blank lines; exports: records
    blank: int = 0
    bytes: int = 0
    seconds: float = 0.0
    result: BatchResult = field(default_factory=BatchResult)
    error: str | None = None


@dataclass
class IngestReport:
    sources: list[SourceReport] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def total(self) -> BatchResult:
        out = BatchResult()
        for source in self.sources:
            out.add(source.result)
        return out

    @property
    def lines(self) -> int:
        return sum(s.lines for s in self.sources)

    @property
    def failed(self) -> list[SourceReport]:
        return [s for s in self.sources if s.status == "failed"]


@dataclass
class _Source:
    source_id: int
    offset: int
    lines: int
    known: bool


def sync_catalog(store: Store) -> None:
    """Refresh the `sonicos_messages` reference table from the code's catalog."""
    with store.transaction() as cur:
        cur.execute("DELETE FROM sonicos_messages")
        insert_rows(cur, "sonicos_messages", catalog_rows())


def _claim_source(store: Store, name: str, head: bytes, fmt: str,
                  identity: str | None = None) -> _Source:
    """The stored source with this content (or, given an `identity`, this identity), or a
    new one. A listener's spool files are identified by name: two seconds of traffic may
    begin with the same bytes, and must not be taken for one file."""
    if identity is not None:
        head, lengths = identity.encode(), [(0,)]
    with store.transaction() as cur:
        if identity is None:
            lengths = cur.execute(
                "SELECT DISTINCT fingerprint_bytes FROM sources"
                " WHERE fingerprint_bytes BETWEEN 1 AND ?", [len(head)]).fetchall()
        for (length,) in lengths:
            row = cur.execute(
                "SELECT source_id, committed_offset, committed_lines FROM sources"
                " WHERE fingerprint = ? AND fingerprint_bytes = ?",
                [fingerprint(head, length or None), length],
            ).fetchone()
            if row:
                return _Source(int(row[0]), int(row[1]), int(row[2]), True)
        (next_id,) = cur.execute("SELECT coalesce(max(source_id), 0) + 1 FROM sources").fetchone()
        # serve's identities are `<origin>:<file name>` (udp, tcp, http)
        origin = identity.split(":", 1)[0] if identity and ":" in identity else "file"
        cur.execute(
            "INSERT INTO sources VALUES (?, ?, ?, ?, ?, 0, 0, false, now(), now(), ?)",
            [next_id, name, fingerprint(head), 0 if identity else len(head), fmt, origin],
        )
        return _Source(int(next_id), 0, 0, False)


def _commit(cur: duckdb.DuckDBPyConnection, source: _Source, name: str,
            offset: int, lines: int) -> BatchResult:
    result = commit_batch(cur, source.source_id, name)
    cur.execute(
        "UPDATE sources SET committed_offset = ?, committed_lines = ?, last_ingest = now()"
        " WHERE source_id = ?", [offset, lines, source.source_id])
    return result


def _stage_syslog(store: Store, table: pa.Table, default_tz: str
                  ) -> duckdb.DuckDBPyConnection:
    """Parse one batch (`pos`, `line`, `received_at`) into the temp tables of a new cursor.

    Staging writes only that cursor's temp tables, so it can run while the previous batch
    commits on another cursor.
    """
    cur = store.cursor()
    reset_stages(cur)
    cur.register("raw_batch", table)
    stage_sonicos(cur, default_tz)
    cur.unregister("raw_batch")
    return cur


def _commit_staged(store: Store, cur: duckdb.DuckDBPyConnection, source: _Source, name: str,
                   offset: int, lines_done: int) -> BatchResult:
    with store.transaction(cur) as tx:
        return _commit(tx, source, name, offset, lines_done)


def _with_receive_time(table: pa.Table, received_at: datetime | None) -> pa.Table:
    """The batch with a `received_at` column: the scanner's (RFC 5424 header times), filled
    with the file's receive time where known; plain files have none."""
    kind = pa.timestamp("us", tz="UTC")
    fill = pa.scalar(received_at, kind) if received_at else None
    if "received_at" not in table.column_names:
        column = pa.array([received_at] * table.num_rows, kind) if fill else \
            pa.nulls(table.num_rows, kind)
        return table.append_column("received_at", column)
    if fill is None:
        return table
    at = table.column_names.index("received_at")
    return table.set_column(at, "received_at", pc.fill_null(table.column(at), fill))


def _ingest_syslog(store: Store, stream: _Peekable, source: _Source, report: SourceReport,
                   default_tz: str, batch_bytes: int,
                   received_at: datetime | None = None) -> None:
    """Read ahead, parse batch k+1 while batch k commits: three stages on two cores.

    Commits stay in order, each after the one before, so the committed offset always marks a
    prefix of the source and a restart resumes exactly there.
    """
    batches: Iterator[LineBatch] = prefetch(
        read_batches(stream, source.offset, source.lines, batch_bytes))
    with ThreadPoolExecutor(1, thread_name_prefix="hawatch-commit") as committer:
        pending: Future[BatchResult] | None = None
        try:
            for batch in batches:
                table = _with_receive_time(batch.table, received_at)
                cur = _stage_syslog(store, table, default_tz)
                if pending is not None:
                    report.result.add(pending.result())
                pending = committer.submit(
                    _commit_staged, store, cur, source, report.name, batch.end_offset,
                    batch.first_line - 1 + batch.line_count)
                report.lines += batch.table.num_rows
                report.blank += batch.blank
                report.bytes += batch.end_offset - batch.start_offset
        finally:  # a source that breaks off (a truncated .gz) keeps what was committed
            if pending is not None:
                report.result.add(pending.result())


def _ingest_export(store: Store, stream: _Peekable, source: _Source, report: SourceReport,
                   default_tz: str) -> None:
    reader = export_records.json_items if report.format == "json" else \
        export_records.csv_items
    for items in export_records.batches(reader(stream, source.lines)):
        with store.transaction() as cur:
            reset_stages(cur)
            stage_export(cur, items, default_tz)
            report.result.add(_commit(cur, source, report.name, 0, items[-1][0]))
        report.lines += len(items)


def ingest_one(store: Store, item: Input, default_tz: str = "UTC",
               batch_bytes: int = BATCH_BYTES,
               received_at: datetime | None = None,
               identity: str | None = None) -> SourceReport:
    """Ingest one file or stdin; errors are reported on the source, never raised.

    `received_at`: when a collector received the file's lines (a listener's spool file), for
    the clock-skew figures; lines with an RFC 5424 header time keep that one.
    """
    report = SourceReport(item.name)
    started = time.perf_counter()
    try:
        stream = open_input(item)
        try:
            report.format = sniff_format(stream.head)
            if not stream.head or report.format == "truth":
                report.status = "skipped" if stream.head else "unchanged"
                return report
            if report.format == "inventory" and item.name != STDIN:
                report.lines = load_inventory(store, item.name)
                report.status = "inventory"
                return report
            source = _claim_source(store, item.name, stream.head, report.format, identity)
            if report.format == "syslog":
                _ingest_syslog(store, stream, source, report, default_tz, batch_bytes,
                               received_at)
            else:
                _ingest_export(store, stream, source, report, default_tz)
            if source.known:
                report.status = "resumed" if report.lines else "unchanged"
            with store.transaction() as cur:
                cur.execute("UPDATE sources SET complete = true WHERE source_id = ?",
                            [source.source_id])
        finally:
            stream.close()
    except (HawatchError, OSError, EOFError) as exc:
        report.status, report.error = "failed", str(exc) or type(exc).__name__
    except Exception as exc:  # noqa: BLE001 - one broken source must not stop the others
        report.status = "failed"
        report.error = f"internal error ({type(exc).__name__}: {exc}); its committed part is kept"
    finally:
        report.seconds = time.perf_counter() - started
    return report


def ingest_lines(store: Store, lines: list[str], name: str,
                 received_at: list[datetime] | None = None,
                 default_tz: str = "UTC") -> SourceReport:
    """Ingest syslog lines already in memory (a listener's batch, a test's real lines).

    `received_at` (UTC) gives each line's receive time, from which clock skew is measured.
    """
    report = SourceReport(name, format="syslog")
    started = time.perf_counter()
    body = "\n".join(lines).encode("utf-8", "surrogateescape")
    source = _claim_source(store, name, body[:FINGERPRINT_BYTES] + name.encode(), "syslog")
    if source.known and source.offset >= len(body):
        report.status = "unchanged"
        return report
    table = pa.table({
        "pos": pa.array(range(1, len(lines) + 1), pa.int64()),
        "line": pa.array(lines, pa.string()),
        "received_at": pa.array(received_at or [None] * len(lines),
                                pa.timestamp("us", tz="UTC")),
    })
    keep = [i for i, line in enumerate(lines) if line.strip()]
    table = table.take(keep)
    cur = _stage_syslog(store, table, default_tz)
    report.result = _commit_staged(store, cur, source, name, len(body), len(lines))
    report.lines, report.blank = len(keep), len(lines) - len(keep)
    report.seconds = time.perf_counter() - started
    return report


def _inventories_first(items: list[Input]) -> list[Input]:
    """Inventories found among the sources are applied before any log: local device times
    are converted with the time zones they give, and that cannot be redone afterwards."""

    def is_inventory(item: Input) -> bool:
        if item.name == STDIN:
            return False
        try:
            with open(item.name, "rb") as handle:
                return sniff_format(handle.read(4096)) == "inventory"
        except OSError:
            return False  # reported when it is ingested

    return sorted(items, key=lambda item: not is_inventory(item))


def ingest_paths(store: Store, paths: list[str], default_tz: str = "UTC",
                 on_source: Callable[[SourceReport], None] | None = None,
                 batch_bytes: int = BATCH_BYTES) -> IngestReport:
    """Ingest every file under `paths`, then refresh each pair's current state."""
    started = time.perf_counter()
    report = IngestReport()
    sync_catalog(store)
    for item in _inventories_first(discover(paths)):
        source_report = ingest_one(store, item, default_tz, batch_bytes)
        report.sources.append(source_report)
        if on_source:
            on_source(source_report)
    with store.transaction() as cur:
        refresh_pairs(cur)
    report.seconds = time.perf_counter() - started
    return report
