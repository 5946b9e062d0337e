"""Ingest sources into the store: idempotent, resumable, one transaction per batch.

A source is identified by its content (sha256 of its first bytes), not its name, and the
store records how far it was committed. Each batch's rows and the new committed offset are
written in one transaction, so a run killed at any moment and started again ends with the
same rows as one clean run, and a second run over the same files adds nothing.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Collection, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
from hawatch.collector.exports import records as export_records
from hawatch.collector.exports.stage import stage_export
from hawatch.collector.inputs import (
    FINGERPRINT_BYTES,
    STDIN,
    Input,
    Peekable,
    discover,
    open_input,
    sniff_format,
)
from hawatch.collector.inventory import load_inventory
from hawatch.collector.limits import IngestLimits
from hawatch.collector.line_batches import BATCH_BYTES, LineBatch, prefetch, read_batches
from hawatch.collector.pairing import refresh_pairs
from hawatch.collector.source_table import Source, claim_source, commit_and_advance
from hawatch.collector.vendors.sonicos.catalog import catalog_rows
from hawatch.collector.vendors.sonicos.parse import stage_sonicos
from hawatch.collector.writer import BatchResult, reset_stages
from hawatch.store.db import Store, transient_error
from hawatch.store.errors import HawatchError, RefusedInput
from hawatch.store.execute import insert_rows


@dataclass
class SourceReport:
    name: str
    format: str = ""
    # ingested | resumed | unchanged | inventory | skipped | refused | failed | interrupted
    status: str = "ingested"
    lines: int = 0  # syslog: non-blank lines; exports: records
    blank: int = 0
    bytes: int = 0
    seconds: float = 0.0
    result: BatchResult = field(default_factory=BatchResult)
    error: str | None = None
    refusal: str | None = None  # refused: RefusedInput.kind (not_regular, inventory, ...)
    transient: bool = False  # failed because the store could not write or read: retry

    @property
    def quarantine_unstored(self) -> int:
        """Quarantined lines past the per-source cap: counted, their text not stored."""
        return self.result.quarantined - self.result.quarantine_stored

    @property
    def unusable(self) -> bool:
        """A new source whose lines were read and none could be used: not a log or export
        at all. (A resumed one may have had usable lines in its earlier part.)"""
        return self.status == "ingested" and self.lines > 0 and self.result.usable == 0


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
        return [s for s in self.sources if s.status in ("failed", "refused")]

    @property
    def unusable(self) -> list[SourceReport]:
        return [s for s in self.sources if s.unusable]


def sync_catalog(store: Store) -> None:
    """Refresh the `sonicos_messages` reference table from the code's catalog."""
    with store.transaction() as cur:
        cur.execute("DELETE FROM sonicos_messages")
        insert_rows(cur, "sonicos_messages", catalog_rows())


def _stage_syslog(store: Store, table: pa.Table, default_tz: str) -> duckdb.DuckDBPyConnection:
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


def _commit_staged(
    store: Store,
    cur: duckdb.DuckDBPyConnection,
    source: Source,
    name: str,
    offset: int,
    lines_done: int,
    limits: IngestLimits,
) -> BatchResult:
    with store.transaction(cur) as tx:
        return commit_and_advance(tx, source, name, offset, lines_done, limits)


def _with_receive_time(table: pa.Table, received_at: datetime | None) -> pa.Table:
    """The batch with a `received_at` column: the scanner's (RFC 5424 header times), filled
    with the file's receive time where known; plain files have none."""
    kind = pa.timestamp("us", tz="UTC")
    fill = pa.scalar(received_at, kind) if received_at else None
    if "received_at" not in table.column_names:
        column = (
            pa.array([received_at] * table.num_rows, kind)
            if fill
            else pa.nulls(table.num_rows, kind)
        )
        return table.append_column("received_at", column)
    if fill is None:
        return table
    at = table.column_names.index("received_at")
    return table.set_column(at, "received_at", pc.fill_null(table.column(at), fill))


@dataclass(frozen=True)
class _Run:
    """How one source is ingested: the settings that do not change between its batches."""

    default_tz: str
    batch_bytes: int
    limits: IngestLimits
    final: bool  # False: a writer may still append; leave an unfinished last line or record
    received_at: datetime | None = None
    stop: threading.Event | None = None  # set: stop after the batch being committed

    def check_stop(self) -> None:
        if self.stop is not None and self.stop.is_set():
            raise _Stopped


class _Stopped(Exception):
    """The run was asked to stop between two batches (server shutting down)."""


def _ingest_syslog(
    store: Store, stream: Peekable, source: Source, report: SourceReport, run: _Run
) -> None:
    """Read ahead, parse batch k+1 while batch k commits: three stages on two cores.

    Commits stay in order, each after the one before, so the committed offset always marks a
    prefix of the source and a restart resumes exactly there.
    """
    batches: Iterator[LineBatch] = prefetch(
        read_batches(stream, source.offset, source.lines, run.batch_bytes, run.final)
    )
    with ThreadPoolExecutor(1, thread_name_prefix="hawatch-commit") as committer:
        pending: tuple[Future[BatchResult], LineBatch] | None = None
        try:
            for batch in batches:
                run.check_stop()
                table = _with_receive_time(batch.table, run.received_at)
                cur = _stage_syslog(store, table, run.default_tz)
                if pending is not None:
                    _committed(report, *pending)
                pending = (
                    committer.submit(
                        _commit_staged,
                        store,
                        cur,
                        source,
                        report.name,
                        batch.end_offset,
                        batch.first_line - 1 + batch.line_count,
                        run.limits,
                    ),
                    batch,
                )
        finally:  # a source that breaks off (a truncated .gz) keeps what was committed
            if pending is not None:
                _committed(report, *pending)


def _committed(report: SourceReport, commit: Future[BatchResult], batch: LineBatch) -> None:
    """Count a batch once its commit succeeded (raises its error otherwise): what the report
    and /metrics say was ingested is what the store has."""
    report.result.add(commit.result())
    report.lines += batch.table.num_rows
    report.blank += batch.blank
    report.bytes += batch.end_offset - batch.start_offset


def _ingest_export(
    store: Store, stream: Peekable, source: Source, report: SourceReport, run: _Run
) -> None:
    """Records in batches, one transaction each: between two, other writers (syslog, the
    analysis) take their turn, however long the export."""
    reader = export_records.json_items if report.format == "json" else export_records.csv_items
    for items in export_records.batches(reader(stream, source.lines, run.final)):
        run.check_stop()
        with store.transaction() as cur:
            reset_stages(cur)
            stage_export(cur, items, run.default_tz)
            report.result.add(
                commit_and_advance(cur, source, report.name, 0, items[-1][0], run.limits)
            )
        report.lines += len(items)


FORMAT_NAMES = {
    "syslog": "syslog lines",
    "json": "JSON",
    "csv": "a CSV export (a header naming time and serial)",
    "inventory": "a pair inventory",
    "truth": "a simulator truth file",
}
INVENTORY_REFUSED = (
    "a pair inventory: not accepted here (the inventory comes only from the"
    " `inventory` setting or `hawatch ingest --inventory`)"
)


def _check_format(found: str, formats: Collection[str] | None) -> None:
    """Refuse a source whose content is not one of the `formats` its path accepts."""
    if formats is None or found in formats:
        return
    if found == "inventory":
        raise RefusedInput(INVENTORY_REFUSED, "inventory")
    wanted = " or ".join(FORMAT_NAMES[f] for f in sorted(formats) if f != "truth")
    raise RefusedInput(f"not {wanted}: it looks like {FORMAT_NAMES[found]}", "format")


def ingest_one(
    store: Store,
    item: Input,
    default_tz: str = "UTC",
    batch_bytes: int = BATCH_BYTES,
    received_at: datetime | None = None,
    identity: str | None = None,
    *,
    limits: IngestLimits | None = None,
    formats: Collection[str] | None = None,
    force_format: str | None = None,
    final: bool = True,
    stop: threading.Event | None = None,
) -> SourceReport:
    """Ingest one file or stdin; errors are reported on the source, never raised.

    `received_at`: when a collector received the file's lines (a listener's spool file), for
    the clock-skew figures; lines with an RFC 5424 header time keep that one. `formats`: the
    formats this path accepts (None: any, an inventory included); others are refused with
    the reason. `force_format`: read as this whatever it looks like (a listener's spool file
    is syslog, even when a sender's first line looks like JSON). `final`: False while a
    writer may still append (the drop folder); an unfinished last line waits. `stop`: when
    set, the run ends after the batch being committed (status interrupted; a later run
    resumes there).
    """
    report = SourceReport(item.name)
    started = time.perf_counter()
    run = _Run(default_tz, batch_bytes, limits or IngestLimits(), final, received_at, stop)
    try:
        stream = open_input(item, run.limits.max_decompressed_bytes)
        try:
            _ingest_stream(store, item, stream, report, run, identity, formats, force_format)
        finally:
            stream.close()
    except RefusedInput as exc:
        report.status, report.refusal, report.error = "refused", exc.kind, str(exc)
    except _Stopped:
        report.status = "interrupted"
        report.error = "stopped before its end; the next run resumes there"
    except (HawatchError, OSError, EOFError, duckdb.Error) as exc:
        report.status, report.transient = "failed", transient_error(exc)
        report.error = (str(exc).splitlines() or [""])[0] or type(exc).__name__
    except Exception as exc:  # noqa: BLE001 - one broken source must not stop the others
        report.status = "failed"
        report.error = f"internal error ({type(exc).__name__}: {exc}); its committed part is kept"
    finally:
        report.seconds = time.perf_counter() - started
    return report


def _ingest_stream(
    store: Store,
    item: Input,
    stream: Peekable,
    report: SourceReport,
    run: _Run,
    identity: str | None,
    formats: Collection[str] | None,
    force_format: str | None,
) -> None:
    report.format = force_format or sniff_format(stream.head)
    if not stream.head or report.format == "truth":
        report.status = "skipped" if stream.head else "unchanged"
        if stream.head:
            _check_format(report.format, formats)
        return
    _check_format(report.format, formats)
    if report.format == "inventory" and item.name != STDIN:
        report.lines = load_inventory(store, item.name)
        report.status = "inventory"
        return
    source = claim_source(store, item.name, stream.head, report.format, identity)
    if report.format == "syslog":
        _ingest_syslog(store, stream, source, report, run)
    else:
        _ingest_export(store, stream, source, report, run)
    if source.known:
        report.status = "resumed" if report.lines else "unchanged"
    if run.final:
        with store.transaction() as cur:
            cur.execute(
                "UPDATE sources SET complete = true WHERE source_id = ?", [source.source_id]
            )


def ingest_lines(
    store: Store,
    lines: list[str],
    name: str,
    received_at: list[datetime] | None = None,
    default_tz: str = "UTC",
) -> SourceReport:
    """Ingest syslog lines already in memory (a listener's batch, a test's real lines).

    `received_at` (UTC) gives each line's receive time, from which clock skew is measured.
    """
    report = SourceReport(name, format="syslog")
    started = time.perf_counter()
    body = "\n".join(lines).encode("utf-8", "surrogateescape")
    source = claim_source(store, name, body[:FINGERPRINT_BYTES] + name.encode(), "syslog")
    if source.known and source.offset >= len(body):
        report.status = "unchanged"
        return report
    stamp = pa.timestamp("us", tz="UTC")
    table = pa.table(
        {
            "pos": pa.array(range(1, len(lines) + 1), pa.int64()),
            "line": pa.array(lines, pa.string()),
            "received_at": pa.array(received_at, stamp)
            if received_at
            else pa.nulls(len(lines), stamp),
        }
    )
    keep = [i for i, line in enumerate(lines) if line.strip()]
    table = table.take(keep)
    cur = _stage_syslog(store, table, default_tz)
    report.result = _commit_staged(store, cur, source, name, len(body), len(lines), IngestLimits())
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


def ingest_paths(
    store: Store,
    paths: list[str],
    default_tz: str = "UTC",
    on_source: Callable[[SourceReport], None] | None = None,
    batch_bytes: int = BATCH_BYTES,
    limits: IngestLimits | None = None,
) -> IngestReport:
    """Ingest every file under `paths`, then refresh each pair's current state."""
    started = time.perf_counter()
    report = IngestReport()
    sync_catalog(store)
    for item in _inventories_first(discover(paths)):
        source_report = ingest_one(store, item, default_tz, batch_bytes, limits=limits)
        report.sources.append(source_report)
        if on_source:
            on_source(source_report)
    with store.transaction() as cur:
        refresh_pairs(cur)
    report.seconds = time.perf_counter() - started
    return report
