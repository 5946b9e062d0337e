"""The syslog spool: raw lines on disk between the listener child and the database owner.

The listener process must never open DuckDB (the owner holds it), so it appends raw lines to
`<source>-<YYYYmmddTHHMMSS>.<ms>-<pid>-<seq>.part` files and renames each one to `.log` once
it is closed and fsynced: the owner only ever sees complete files and ingests each in one
batch. The name carries the receive second in UTC, which the owner uses as the lines' receive
time (to measure device clock skew), and is never used twice: the owner deletes a file once
ingested, and a later file of the same second (a batch written late because the disk was full,
a restarted listener) under the same name would be taken for the one already read. So the rest
of the name is when the file was opened (epoch ms), by which process (pid), and a sequence
number that only grows within that process. Files are readable by their owner only (0600), as
is the folder (0700). A line counts as received once its `write()` returned: the page cache
survives a SIGKILL of the listener, and `recover_parts` turns the leftover `.part` files into
`.log` files when no listener runs.

This module is imported by the listener child: standard library only (no duckdb, no pyarrow).
"""

from __future__ import annotations

import calendar
import fcntl
import itertools
import json
import logging
import math
import os
import re
import threading
import time
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

PART = ".part"
CLOSED = ".log"
LOCK_NAME = "listener.lock"
# `<seq>` alone is the form of hawatch before names became unique (still read, never written)
NAME_RE = re.compile(
    r"^(?P<source>[a-z0-9_]+)-(?P<stamp>\d{8}T\d{6})"
    r"\.(?:(?P<opened>\d+)-(?P<pid>\d+)-)?(?P<seq>\d+)\.(?:log|part)$"
)
STAMP_FORMAT = "%Y%m%dT%H%M%S"
FILE_MODE = 0o600
DIR_MODE = 0o700
# One sequence per process, shared by its writers: with the opening time and the pid in the
# name, no two files are ever given the same name (see the module's docstring).
_SEQUENCE = itertools.count()


def stamp(seconds: float) -> str:
    """The UTC second of `seconds` as it appears in spool file names."""
    return time.strftime(STAMP_FORMAT, time.gmtime(seconds))


def atomic_write_json(path: Path, data: object) -> None:
    """Write JSON so that a reader sees the old or the new file, never half of one."""
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, FILE_MODE)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        json.dump(data, out, indent=1, sort_keys=True)
        out.write("\n")
    os.replace(tmp, path)


def make_private_dir(directory: Path) -> None:
    """Create the spool folder readable by its owner only, or take group and other access
    away from an existing one (it holds raw syslog, which may name users and addresses)."""
    directory.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
    mode = directory.stat().st_mode & 0o777
    if mode & 0o077:
        os.chmod(directory, mode & ~0o077)


def _fsync_dir(directory: Path) -> None:
    """Make a rename durable: the directory entry lives in the directory's own blocks."""
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _sort_key(path: Path) -> tuple[str, int, int, int, str]:
    """Receive second, then when the file was opened, by which process, its sequence."""
    match = NAME_RE.match(path.name)
    assert match is not None
    return (
        match["stamp"],
        int(match["opened"] or 0),
        int(match["pid"] or 0),
        int(match["seq"]),
        match["source"],
    )


def unique_name(source: str, second: float, suffix: str) -> str:
    """A spool file name for `source` and the receive second `second` that no file of any
    listener had or will have."""
    return (
        f"{source}-{stamp(second)}.{time.time_ns() // 1_000_000}-{os.getpid()}-"
        f"{next(_SEQUENCE)}{suffix}"
    )


def closed_files(directory: Path | str) -> list[Path]:
    """Closed spool files ready for ingest, oldest receive second first."""
    found = [p for p in Path(directory).glob(f"*{CLOSED}") if NAME_RE.match(p.name)]
    return sorted(found, key=_sort_key)


def receive_second(path: Path | str) -> float:
    """The UTC receive second (epoch seconds) a spool file's name carries."""
    match = NAME_RE.match(Path(path).name)
    if match is None:
        raise ValueError(f"not a spool file name: {path}")
    return float(calendar.timegm(time.strptime(match["stamp"], STAMP_FORMAT)))


@dataclass
class _Open:
    """The file currently appended to, and the rotation bucket it belongs to."""

    fd: int
    path: Path
    bucket: float
    size: int = 0


class SpoolWriter:
    """Appends newline-terminated lines for one source; thread-safe; rotates by receive time.

    Writers (the UDP thread, the TCP connection threads) only append and, when the receive
    bucket changes, hand the old file over; `rotate()` (a timer, about every 0.1 s) does the
    fsync and rename, so a slow fsync never stalls a receive loop. A write that blocks on a slow
    disk blocks its caller, which for TCP is the back-pressure we want.
    """

    def __init__(self, directory: Path | str, source: str, rotate_seconds: float = 1.0) -> None:
        if not re.fullmatch(r"[a-z0-9_]+", source):
            raise ValueError(f"source name must be [a-z0-9_]+: {source!r}")
        self.directory = Path(directory)
        self.source = source
        self.rotate_seconds = max(float(rotate_seconds), 0.001)
        self.lines = 0
        self.bytes = 0
        self.files_closed = 0
        self._lock = threading.Lock()  # guards the open file and the counters
        self._close_lock = threading.Lock()  # keeps renames in order
        self._open: _Open | None = None
        self._to_close: list[_Open] = []

    def _bucket(self, when: float) -> float:
        return math.floor(when / self.rotate_seconds) * self.rotate_seconds

    def _new_file(self, bucket: float) -> _Open:
        """Open a new file for this bucket's second under a name never used before."""
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND | os.O_CLOEXEC
        while True:  # O_EXCL: guards against a clock set back onto a pid used before
            path = self.directory / unique_name(self.source, bucket, PART)
            try:
                return _Open(os.open(path, flags, FILE_MODE), path, bucket)
            except FileExistsError:
                continue

    def write(
        self, data: bytes | bytearray | memoryview, lines: int, when: float | None = None
    ) -> None:
        """Append `data` (whole lines, each ending in a newline) received at `when`.

        Returns once the bytes are in the kernel (os.write done); raises OSError if not, and
        then nothing was counted, so the caller may retry the same data.
        """
        if not data:
            return
        bucket = self._bucket(time.time() if when is None else when)
        with self._lock:
            current = self._open
            if current is None or bucket > current.bucket:
                if current is not None:
                    self._to_close.append(current)
                current = self._open = self._new_file(bucket)
            _write_all(current.fd, data)
            current.size += len(data)
            self.lines += lines
            self.bytes += len(data)

    def rotate(self, now: float | None = None, force: bool = False) -> list[Path]:
        """Close every file whose bucket has ended (all files with `force`); return them."""
        now = time.time() if now is None else now
        with self._lock:
            current = self._open
            if current is not None and (force or now >= current.bucket + self.rotate_seconds):
                self._to_close.append(current)
                self._open = None
            done, self._to_close = self._to_close, []
        return self._close_files(done)

    def _close_files(self, done: list[_Open]) -> list[Path]:
        """fsync, close, rename each; a failure is logged and leaves that one a `.part`
        (which `recover_parts` publishes later) rather than stopping the others."""
        closed: list[Path] = []
        with self._close_lock:
            for item in done:
                try:
                    try:
                        os.fsync(item.fd)
                    finally:
                        os.close(item.fd)
                    target = item.path.with_suffix(CLOSED)
                    os.rename(item.path, target)
                    closed.append(target)
                except OSError:
                    log.exception("spool %s: could not close and publish", item.path)
            if closed:
                _fsync_dir(self.directory)
                with self._lock:
                    self.files_closed += len(closed)
        return closed

    def close(self) -> list[Path]:
        """Close and publish whatever is open (at shutdown)."""
        return self.rotate(force=True)


def _write_all(fd: int, data: bytes | bytearray | memoryview) -> None:
    """os.write until every byte is written (a regular file may take a short write)."""
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def lock_spool(directory: Path | str) -> int:
    """Take the spool's listener lock (one listener per folder); return its fd.

    Raises BlockingIOError if another live process holds it. The kernel drops the lock when
    the holder dies, SIGKILL included, so a stale lock cannot block a restart.
    """
    path = Path(directory) / LOCK_NAME
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, FILE_MODE)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        raise
    os.fchmod(fd, FILE_MODE)  # one made by an older version may be 0644
    os.ftruncate(fd, 0)
    os.write(fd, f"{os.getpid()}\n".encode())
    return fd


def lock_holder(directory: Path | str) -> str:
    """The pid written in the lock file (for error messages); '?' if unreadable."""
    try:
        return (Path(directory) / LOCK_NAME).read_text().strip() or "?"
    except OSError:
        return "?"


def recover_parts(directory: Path | str) -> list[Path]:
    """Publish `.part` files left by a listener that died (SIGKILL, crash, power loss).

    For the owner at start-up. If a listener is running on this folder (it holds the lock), its
    `.part` files are live and nothing is touched. An unfinished last line (the process died
    inside a write, so the line was never counted as received) is cut off, since half a
    SonicOS line would parse into wrong numbers; empty files are removed.
    """
    directory = Path(directory)
    if not directory.is_dir():
        return []
    try:
        fd = lock_spool(directory)
    except BlockingIOError:
        log.warning(
            "spool %s: a listener (pid %s) is running; its .part files are left alone",
            directory,
            lock_holder(directory),
        )
        return []
    try:
        return publish_leftover_parts(directory)
    finally:
        os.close(fd)


def publish_leftover_parts(directory: Path) -> list[Path]:
    """Rename every leftover `.part` to `.log`; for the holder of the lock (`lock_spool`),
    e.g. a listener starting where a killed one left files behind."""
    recovered: list[Path] = []
    parts = sorted((p for p in directory.glob(f"*{PART}") if NAME_RE.match(p.name)), key=_sort_key)
    for part in parts:
        if not _trim_unfinished(part):
            part.unlink()
            continue
        target = part.with_suffix(CLOSED)
        if target.exists():  # only names of the old form can meet one already published
            match = NAME_RE.match(part.name)
            assert match is not None
            target = part.with_name(unique_name(match["source"], receive_second(part), CLOSED))
        os.rename(part, target)
        recovered.append(target)
    if recovered:
        _fsync_dir(directory)
    return recovered


def _trim_unfinished(path: Path) -> bool:
    """Cut a trailing unterminated line; fsync; False if nothing is left."""
    with open(path, "r+b") as handle:
        size = handle.seek(0, os.SEEK_END)
        keep = size
        while keep > 0:
            step = min(keep, 65536)
            handle.seek(keep - step)
            chunk = handle.read(step)
            newline = chunk.rfind(b"\n")
            if newline >= 0:
                keep = keep - step + newline + 1
                break
            keep -= step
        if keep < size:
            log.warning("spool %s: cut %d bytes of an unfinished last line", path, size - keep)
            handle.truncate(keep)
        os.fsync(handle.fileno())
    return keep > 0
