"""Line batches: an input cut into whole-line batches as Arrow tables, read ahead in a thread.

Splitting and decoding happen in Arrow, in C++ (or in the C line scanner), without a Python
object per line. Memory is bounded by the batch size, whatever the input; a run resumed at a
committed offset cuts the same batches as an uninterrupted one.
"""

from __future__ import annotations

import threading
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from queue import Empty, Queue
from typing import TypeVar

import numpy as np
import pyarrow as pa
from hawatch.collector.inputs import Peekable
from hawatch.collector.vendors.sonicos import fastscan
from hawatch.collector.vendors.sonicos.catalog import COUNTED_MESSAGES
from hawatch.store.errors import InputError

T = TypeVar("T")
BATCH_BYTES = 32 * 1024 * 1024
SCAN_ROWS = 8192
PREFETCH_DEPTH = 2  # batches read ahead of the one being parsed
MAX_LINE_BYTES = 1024 * 1024  # a "line" longer than this is cut: binary data has no newlines
MAX_BATCH_LINES = 500_000  # SonicOS lines are 150-400 bytes: 32 MiB holds about 130,000


@dataclass
class LineBatch:
    start_offset: int  # byte offset of the batch's first line
    end_offset: int  # byte offset just past the batch's last line
    first_line: int  # line number of its first line, from 1
    table: pa.Table  # pos (line number), line (text; invalid bytes as \\xNN)
    line_count: int  # lines in the batch, blank ones included
    blank: int  # blank lines skipped


def _repair(chunk: memoryview, offsets: np.ndarray) -> pa.Array:
    """The slow path for a batch with invalid UTF-8: bad bytes kept visibly as \\xNN."""
    lines = [
        bytes(chunk[offsets[i] : offsets[i + 1]]).decode("utf-8", "backslashreplace")
        for i in range(len(offsets) - 1)
    ]
    return pa.array(lines, pa.string())


def _to_table(chunk: memoryview, first_line: int) -> tuple[pa.Table, int]:
    """Lines of a chunk as an Arrow table, blank lines (empty, or only "\\r") dropped and
    counted.

    With the C scanner (collector.vendors.sonicos.fastscan) the table holds each line's
    fields, and its text only where later steps read it. Without it, `pos, line` sharing the
    chunk's memory (no object per line); each line keeps its newline: the parsers' patterns do
    not care, and cutting it out would cost a copy of the whole chunk.
    """
    if fastscan.available() and len(chunk) <= fastscan.MAX_CHUNK_BYTES:
        table, lines = fastscan.scan_table(
            chunk, first_line, [m.message_id for m in COUNTED_MESSAGES]
        )
        return _record_batches(table), lines
    buf = np.frombuffer(chunk, np.uint8)
    ends = np.flatnonzero(buf == 10) + 1
    if len(buf) and buf[-1] != 10:
        ends = np.append(ends, len(chunk))
    offsets = np.zeros(len(ends) + 1, np.int32)
    offsets[1:] = ends
    text = pa.StringArray.from_buffers(len(ends), pa.py_buffer(offsets), pa.py_buffer(chunk))
    if len(buf) and buf.max() >= 128:
        try:
            text.validate(full=True)
        except pa.ArrowInvalid:
            text = _repair(chunk, offsets)
    pos = pa.array(np.arange(first_line, first_line + len(ends), dtype=np.int64))
    table = pa.table({"pos": pos, "line": text})
    # a line's length without its newline (the last line may have none)
    lengths = np.diff(offsets) - (buf[np.maximum(offsets[1:] - 1, 0)] == 10)
    blank = (lengths == 0) | ((lengths == 1) & (buf[np.minimum(offsets[:-1], len(buf) - 1)] == 13))
    if blank.any():
        table = table.filter(pa.array(~blank))
    return _record_batches(table), len(ends)


def _record_batches(table: pa.Table) -> pa.Table:
    """The table in record batches of SCAN_ROWS rows, so DuckDB scans it on all its threads."""
    return pa.Table.from_batches(table.to_batches(max_chunksize=SCAN_ROWS), table.schema)


class _BufferRing:
    """Reused batch buffers: fresh 32 MiB allocations cost more in page faults than reading.

    A buffer comes back round only after `RING` more batches were taken, by when its batch
    (read ahead at most PREFETCH_DEPTH + 1 batches) has been parsed, copied into DuckDB and
    released, so a buffer is never overwritten while its Arrow table is in use.
    """

    RING = PREFETCH_DEPTH + 4  # + the batch being parsed, the one committing, and a spare

    def __init__(self) -> None:
        self._buffers: list[bytearray] = []
        self._next = 0

    def take(self, size: int) -> bytearray:
        if len(self._buffers) < self.RING:
            self._buffers.append(bytearray(size))
            return self._buffers[-1]
        buffer = self._buffers[self._next]
        self._next = (self._next + 1) % self.RING
        if len(buffer) < size:
            buffer.extend(bytes(size - len(buffer)))
        return buffer


def _fill(
    stream: Peekable, ring: _BufferRing, rest: bytes, size: int
) -> tuple[memoryview, bool, str | None]:
    """`rest` plus up to `size` new bytes, read in place into a ring buffer; at the end of
    the stream, whether it ended cleanly (None) or broke off (the reason)."""
    view = memoryview(ring.take(len(rest) + size))[: len(rest) + size]
    view[: len(rest)] = rest
    filled = len(rest)
    while filled < len(view):
        try:
            got = stream.readinto(view[filled:])
        except (EOFError, zlib.error) as exc:  # a truncated or corrupt .gz
            return view[:filled], True, f"compressed data broken off ({exc})"
        if not got:
            return view[:filled], True, None
        filled += got
    return view, False, None


def read_batches(
    stream: Peekable,
    skip_bytes: int,
    skip_lines: int,
    batch_bytes: int = BATCH_BYTES,
    final: bool = True,
) -> Iterator[LineBatch]:
    """Whole-line batches from `skip_bytes` on, each at most `batch_bytes` and
    MAX_BATCH_LINES lines. A last line without a newline is included when the file is
    `final`; otherwise its writer may still be writing it, and it is left for a later run,
    which resumes exactly there."""
    offset = 0
    while offset < skip_bytes:  # resume: discard what an earlier run committed
        got = stream.read(min(batch_bytes, skip_bytes - offset))
        if not got:
            return
        offset += len(got)
    line_no = skip_lines + 1
    rest = b""
    ring = _BufferRing()
    ended, broken = False, None
    while True:
        # Batches end at the last newline before start + batch_bytes (or after the
        # MAX_BATCH_LINES-th line), so a resumed run cuts the same batches (and stores the
        # same rows) as an uninterrupted one.
        if ended:  # what the line cap left over at the end
            chunk: memoryview = memoryview(rest)
        else:
            chunk, ended, broken = _fill(
                stream, ring, rest, max(batch_bytes - len(rest), 64 * 1024)
            )
        limit = _batch_limit(chunk, ended, final and broken is None)
        cut = _cap_lines(chunk, limit)
        if cut:
            table, lines = _to_table(chunk[:cut], line_no)
            yield LineBatch(offset, offset + cut, line_no, table, lines, lines - table.num_rows)
            offset += cut
            line_no += lines
        rest = bytes(chunk[cut:])
        if ended and cut == limit:
            if broken:
                # the complete lines before the break are in; the unfinished one is not
                # committed, so a later run over the whole file resumes exactly there
                raise InputError(f"{broken}; {len(rest)} bytes of an unfinished line not ingested")
            return


def _batch_limit(chunk: memoryview, ended: bool, whole: bool) -> int:
    """Where a batch of `chunk` may end: after its last newline; at the end of the stream,
    the whole of it when it is `whole` (a final file); a line longer than MAX_LINE_BYTES is
    cut there (binary data has no newlines)."""
    if ended and whole:
        return len(chunk)
    if ended:
        return bytes(chunk).rfind(b"\n") + 1
    cut = bytes(chunk[-MAX_LINE_BYTES:]).rfind(b"\n") + 1
    return len(chunk) if cut == 0 else len(chunk) - min(len(chunk), MAX_LINE_BYTES) + cut


def _cap_lines(chunk: memoryview, limit: int) -> int:
    """`limit`, or the end of the MAX_BATCH_LINES-th line before it: memory per batch grows
    with its rows, and 32 MiB of two-byte lines (50 KiB of gzip) took 3 GB in one batch."""
    if limit <= MAX_BATCH_LINES:
        return limit
    newlines = np.frombuffer(chunk, np.uint8, count=limit) == 10
    if np.count_nonzero(newlines) <= MAX_BATCH_LINES:
        return limit
    return int(np.flatnonzero(newlines)[MAX_BATCH_LINES - 1]) + 1


def prefetch(items: Iterator[T], depth: int = PREFETCH_DEPTH) -> Iterator[T]:
    """Produce items in a background thread, so reading overlaps DuckDB's parsing."""
    queue: Queue[tuple[bool, object]] = Queue(maxsize=depth)
    stop = threading.Event()

    def run() -> None:
        try:
            for item in items:
                if stop.is_set():
                    return
                queue.put((True, item))
        except BaseException as exc:  # handed to the consumer, which re-raises it
            queue.put((False, exc))
            return
        queue.put((False, None))

    worker = threading.Thread(target=run, name="hawatch-reader", daemon=True)
    worker.start()
    try:
        while True:
            ok, value = queue.get()
            if not ok:
                if value is not None:
                    raise value  # type: ignore[misc]
                return
            yield value  # type: ignore[misc]
    finally:
        stop.set()
        while worker.is_alive():
            try:
                queue.get_nowait()
            except Empty:
                worker.join(0.05)
