"""Inputs: find files (never through a link inside a folder), open them (gzip too, by
content) and tell their format from their first bytes.

Reading stays in Python so that bad bytes never reach DuckDB's CSV reader (which refuses a
whole file over one invalid byte); collector/line_batches.py cuts what is read into batches.
"""

from __future__ import annotations

import errno
import hashlib
import os
import stat
import sys
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from hawatch.store.errors import InputError, RefusedInput

FINGERPRINT_BYTES = 64 * 1024
STDIN = "-"
# A folder walk skips databases and a store's own files (a store kept beside its logs must
# not ingest itself, nor its session secret and password hashes into the quarantine).
DATABASE_SUFFIXES = (".duckdb", ".duckdb.wal", ".db", ".wal", ".parquet")
STORE_FILE_SUFFIXES = (
    *DATABASE_SUFFIXES,
    ".secret",
    ".users.json",
    ".users.json.lock",
    ".serve.json",
)


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
                Input(str(p))
                for p in sorted(_walk(path))
                if _plain_file(p)
                and not p.name.startswith(".")
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
            raise RefusedInput(
                "a symbolic link, not a regular file: not read", "not_regular"
            ) from None
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
        kind = (
            "a symbolic link"
            if stat.S_ISLNK(found.st_mode)
            else "a folder"
            if stat.S_ISDIR(found.st_mode)
            else "a named pipe"
            if stat.S_ISFIFO(found.st_mode)
            else "a socket"
            if stat.S_ISSOCK(found.st_mode)
            else "a device"
        )
        raise RefusedInput(f"{kind}, not a regular file: not read", "not_regular")
    if found.st_dev != folder.st_dev:
        raise RefusedInput(
            "on another file system than the folder (a mount): not read", "not_regular"
        )
    if found.st_nlink != 1:
        raise RefusedInput(
            f"a file with {found.st_nlink} hard links (a second name for a"
            " file elsewhere): not read; copy it in instead",
            "not_regular",
        )


class Peekable:
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
                " (ingest.max_decompressed_megabytes): not ingested further",
                "too_large",
            )
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


def open_input(item: Input, max_decompressed: int = 0) -> Peekable:
    """Open a file or stdin, transparently gunzipping by content (not by name); compressed
    input stops with RefusedInput past `max_decompressed` bytes (0: no limit)."""
    try:
        if item.name == STDIN:
            raw: BinaryIO = sys.stdin.buffer
        elif item.opener is not None:
            raw = item.opener()
        else:
            raw = open(item.name, "rb")  # noqa: SIM115 - closed by the caller via Peekable
        magic = raw.peek(2)[:2] if hasattr(raw, "peek") else b""
        if magic == b"\x1f\x8b":
            raw = _Gunzip(raw, max_decompressed)  # type: ignore[assignment]
        return Peekable(raw)
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
