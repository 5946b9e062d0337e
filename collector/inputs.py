"""Inputs: find files, open them (gzip too), tell their format, and cut them into batches.

Reading stays in Python so that bad bytes never reach DuckDB's CSV reader (which refuses a
whole file over one invalid byte), while splitting and decoding happen in Arrow, in C++,
without a Python object per line. Memory is bounded by the batch size, whatever the input.
"""

from __future__ import annotations

import errno
import hashlib
import os
import stat
import sys
import threading
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from queue import Empty, Queue
from typing import BinaryIO, TypeVar

import numpy as np
import pyarrow as pa
from hawatch.collector.vendors.sonicos import fastscan
from hawatch.collector.vendors.sonicos.catalog import COUNTED_MESSAGES
from hawatch.store.errors import InputError, RefusedInput

T = TypeVar("T")
FINGERPRINT_BYTES = 64 * 1024
BATCH_BYTES = 32 * 1024 * 1024
SCAN_ROWS = 8192
PREFETCH_DEPTH = 2  # batches read ahead of the one being parsed
MAX_LINE_BYTES = 1024 * 1024  # a "line" longer than this is cut: binary data has no newlines
MAX_BATCH_LINES = 500_000  # SonicOS lines are 150-400 bytes: 32 MiB holds about 130,000
STDIN = "-"
# A folder walk skips databases and a store's own files (a store kept beside its logs must
# not ingest itself, nor its session secret and password hashes into the quarantine).
DATABASE_SUFFIXES = (".duckdb", ".duckdb.wal", ".db", ".wal", ".parquet")
STORE_FILE_SUFFIXES = (*DATABASE_SUFFIXES, ".secret", ".users.json", ".users.json.lock",
                       ".serve.json")


@dataclass(frozen=True)
class Input:
    name: str  # a path, or "-" for standard input
    # opens the file when its name alone must not be trusted (the drop folder's files are
    # opened through the folder, never through a link): see open_in_folder
    opener: Callable[[], BinaryIO] | None = None


def _plain_file(path: Path) -> bool:
    """A regular file that is not a link (a folder walk follows neither links nor pipes)."""
    try:
        return stat.S_ISREG(path.lstat().st_mode)
    except OSError:
        return False


def discover(paths: list[str]) -> list[Input]:
    """Every file named or under a named folder (recursively, sorted), plus stdin if named.

    A file named on the command line is read even through a link: its user chose it. Inside
    a folder only regular files are taken, never links, which could point anywhere (the
    session secret, /etc/passwd) and put what they point at into the quarantine.
    """
    found: list[Input] = []
    for raw in paths:
        if raw == STDIN:
            found.append(Input(STDIN))
            continue
        path = Path(raw)
        if path.is_dir():
            found.extend(
                Input(str(p)) for p in sorted(_walk(path))
                if _plain_file(p) and not p.name.startswith(".")
                and not p.name.endswith(STORE_FILE_SUFFIXES)
            )
        elif path.is_file():
            found.append(Input(str(path)))
        else:
            raise InputError(f"no such file or folder: {raw}")
    return found


def _walk(folder: Path) -> Iterator[Path]:
    """Every entry under `folder`, without descending into linked folders."""
    for root, dirs, files in os.walk(folder, followlinks=False):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        yield from (Path(root) / name for name in files)


def open_in_folder(folder_fd: int, name: str) -> BinaryIO:
    """Open `name` in an open folder for reading, only if it is a plain file of its own.

    The drop folder is writable by others, so its names prove nothing: a link there could
    point at the session secret or /etc/passwd. The file is opened relative to the folder
    (so it is in it), without following a link (O_NOFOLLOW), without blocking on a pipe, and
    kept only if it is a regular file on the folder's device with no other hard link (a hard
    link is a second name for a file elsewhere). Raises RefusedInput with the reason.
    """
    flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC
    if "/" in name or name in ("", ".", ".."):
        raise RefusedInput(f"{name!r} is not a file name in the folder", "not_regular")
    try:
        fd = os.open(name, flags, dir_fd=folder_fd)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise RefusedInput("a symbolic link, not a regular file: not read",
                               "not_regular") from None
        raise InputError(f"cannot read {name}: {exc.strerror or exc}") from None
    try:
        _check_plain(os.fstat(fd), os.fstat(folder_fd))
        os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def _check_plain(found: os.stat_result, folder: os.stat_result) -> None:
    if not stat.S_ISREG(found.st_mode):
        kind = ("a symbolic link" if stat.S_ISLNK(found.st_mode) else
                "a folder" if stat.S_ISDIR(found.st_mode) else
                "a named pipe" if stat.S_ISFIFO(found.st_mode) else
                "a socket" if stat.S_ISSOCK(found.st_mode) else "a device")
        raise RefusedInput(f"{kind}, not a regular file: not read", "not_regular")
    if found.st_dev != folder.st_dev:
        raise RefusedInput("on another file system than the folder (a mount): not read",
                           "not_regular")
    if found.st_nlink != 1:
        raise RefusedInput(f"a file with {found.st_nlink} hard links (a second name for a"
                           " file elsewhere): not read; copy it in instead", "not_regular")


class _Peekable:
    """A binary stream whose first bytes were read to fingerprint and sniff it."""

    def __init__(self, raw: BinaryIO) -> None:
        self._raw = raw
        self.head = raw.read(FINGERPRINT_BYTES)
        self._pending = self.head

    def readinto(self, view: memoryview) -> int:
        if self._pending:
            got = min(len(view), len(self._pending))
            view[:got] = self._pending[:got]
            self._pending = self._pending[got:]
            return got
        if hasattr(self._raw, "readinto"):
            return self._raw.readinto(view)
        data = self._raw.read(len(view))
        view[: len(data)] = data
        return len(data)

    def read(self, size: int) -> bytes:
        if self._pending:
            out, self._pending = self._pending[:size], self._pending[size:]
            if len(out) < size:
                out += self._raw.read(size - len(out))
            return out
        return self._raw.read(size)

    def close(self) -> None:
        self._raw.close()


class _Gunzip:
    """gzip decompression that hands over every byte before a break.

    GzipFile drops the data of a read that runs into a truncated end; a log file cut off
    mid-transfer should lose its last unfinished line, not its last 32 MiB. Concatenated
    members (as `cat a.gz b.gz` makes) are read one after another.
    """

    def __init__(self, raw: BinaryIO, limit: int = 0) -> None:
        self._raw = raw
        self._inflate = zlib.decompressobj(16 + zlib.MAX_WBITS)
        self._pending = b""  # compressed input not yet inflated
        self._in_member = False
        self._limit = limit  # decompressed bytes allowed (0: any)
        self._total = 0

    def read(self, size: int) -> bytes:
        out = self._read(size)
        self._total += len(out)
        if self._limit and self._total > self._limit:
            raise RefusedInput(
                f"decompressed data exceeds {self._limit // (1024 * 1024)} MiB"
                " (ingest.max_decompressed_megabytes): not ingested further", "too_large")
        return out

    def _read(self, size: int) -> bytes:
        out = bytearray()
        while len(out) < size:
            data, self._pending = self._pending or self._raw.read(1 << 20), b""
            if not data:
                if self._in_member and not out:
                    raise EOFError("compressed file ended before the end-of-stream marker")
                return bytes(out)
            self._in_member = True
            out += self._inflate.decompress(data, size - len(out))
            self._pending = self._inflate.unconsumed_tail
            if self._inflate.eof:
                rest = self._inflate.unused_data
                self._inflate = zlib.decompressobj(16 + zlib.MAX_WBITS)
                self._in_member = False
                self._pending = rest if rest.strip(b"\x00") else b""  # zero padding: end
        return bytes(out)

    def close(self) -> None:
        self._raw.close()


def open_input(item: Input, max_decompressed: int = 0) -> _Peekable:
    """Open a file or stdin, transparently gunzipping by content (not by name); compressed
    input stops with RefusedInput past `max_decompressed` bytes (0: no limit)."""
    try:
        if item.name == STDIN:
            raw: BinaryIO = sys.stdin.buffer
        elif item.opener is not None:
            raw = item.opener()
        else:
            raw = open(item.name, "rb")  # noqa: SIM115 - closed by the caller via _Peekable
        magic = raw.peek(2)[:2] if hasattr(raw, "peek") else b""
        if magic == b"\x1f\x8b":
            raw = _Gunzip(raw, max_decompressed)  # type: ignore[assignment]
        return _Peekable(raw)
    except OSError as exc:
        raise InputError(f"cannot read {item.name}: {exc.strerror or exc}") from None
    except (EOFError, zlib.error) as exc:
        raise InputError(f"{item.name}: broken gzip data ({exc})") from None


def fingerprint(head: bytes, length: int | None = None) -> str:
    """Identity of a source by content: the same file under another name is the same source."""
    data = head if length is None else head[:length]
    return hashlib.sha256(data).hexdigest()


def sniff_format(head: bytes) -> str:
    """Tell the format from the first bytes: JSON array/NDJSON, CSV with a header, or syslog."""
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if text[:1] == b"{" and b'"incidents"' in head and b'"scenarios"' in head:
        return "truth"  # hawatch simulate's answer key: kept out of the store
    if text[:1] in (b"[", b"{"):
        return "json"
    first_line = text.split(b"\n", 1)[0].lower()
    if b"," in first_line and b"=" not in first_line:
        columns = {c.strip(b' "\r') for c in first_line.split(b",")}
        if {b"pair", b"primary_serial"} <= columns:
            return "inventory"
        if {b"time", b"serial"} <= columns or b"serial_number" in columns:
            return "csv"
    return "syslog"


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
    lines = [bytes(chunk[offsets[i]:offsets[i + 1]]).decode("utf-8", "backslashreplace")
             for i in range(len(offsets) - 1)]
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
        return fastscan.scan_table(chunk, first_line,
                                   [m.message_id for m in COUNTED_MESSAGES])
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
    blank = (lengths == 0) | ((lengths == 1) & (buf[np.minimum(offsets[:-1], len(buf) - 1)]
                                                 == 13))
    if blank.any():
        table = table.filter(pa.array(~blank))
    # Several record batches, so DuckDB scans the batch on all its threads.
    table = pa.Table.from_batches(table.to_batches(max_chunksize=SCAN_ROWS), table.schema)
    return table, len(ends)


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


def _fill(stream: _Peekable, ring: _BufferRing, rest: bytes, size: int
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
    stream: _Peekable, skip_bytes: int, skip_lines: int, batch_bytes: int = BATCH_BYTES,
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
            chunk, ended, broken = _fill(stream, ring, rest,
                                         max(batch_bytes - len(rest), 64 * 1024))
        limit = _batch_limit(chunk, ended, final and broken is None)
        cut = _cap_lines(chunk, limit)
        if cut:
            table, lines = _to_table(chunk[:cut], line_no)
            yield LineBatch(offset, offset + cut, line_no, table, lines,
                            lines - table.num_rows)
            offset += cut
            line_no += lines
        rest = bytes(chunk[cut:])
        if ended and cut == limit:
            if broken:
                # the complete lines before the break are in; the unfinished one is not
                # committed, so a later run over the whole file resumes exactly there
                raise InputError(f"{broken}; {len(rest)} bytes of an unfinished line "
                                 "not ingested")
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
