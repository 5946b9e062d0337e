"""The drop folder of `hawatch serve`: which files to ingest now, how far, and when to file
them away.

Whoever can write to the folder decides what is in it, so nothing in it is trusted: only
regular files are read, opened through the folder without following links (see
`collector.inputs.open_in_folder`); a link, pipe, device or a store's own file is filed
into `failed/` unread, with the reason beside it (`NAME.why`).

A file may still be being written. It is ingested once nobody has written to it for
`serve.drop_quiet_seconds`, up to its last complete line; if it grows later, the new lines
are ingested too (ingest resumes at the committed offset of the same content). Only after
`serve.drop_settle_seconds` without a write is it taken as finished: its last line is
ingested even without a newline, and it moves to `processed/`. Writing under a `.part` or
dot name and renaming when done needs neither wait to be right.
"""

from __future__ import annotations

import os
import stat
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from hawatch.collector.inputs import STORE_FILE_SUFFIXES, Input, open_in_folder

PROCESSED, FAILED = "processed", "failed"
WHY = ".why"


@dataclass(frozen=True)
class DropFile:
    name: str
    final: bool  # finished: ingest to its very end, then file it away
    refusal: str | None = None  # not to be read at all, and why
    state: tuple[int, int, int] = (0, 0, 0)  # inode, size, mtime (ns) when it was seen


def _kind(mode: int) -> str:
    return (
        "a symbolic link"
        if stat.S_ISLNK(mode)
        else "a named pipe"
        if stat.S_ISFIFO(mode)
        else "a socket"
        if stat.S_ISSOCK(mode)
        else "a device"
    )


class DropFolder:
    """The files of one drop folder and what has been done with them (in memory: after a
    restart a file is ingested again, which resumes and adds nothing twice)."""

    def __init__(self, path: Path, quiet_seconds: float, settle_seconds: float) -> None:
        self.path = path
        self.quiet = max(0.0, quiet_seconds)
        self.settle = max(self.quiet, settle_seconds)
        self._ingested: dict[str, tuple[int, int, int]] = {}  # name -> state at ingest

    def due(self, now: float | None = None) -> list[DropFile]:
        """Files to act on now, by name: refused ones, quiet ones, finished ones."""
        now = time.time() if now is None else now
        found: list[DropFile] = []
        present = set()
        for entry in self._entries():
            present.add(entry.name)
            item = self._judge(entry, now)
            if item is not None:
                found.append(item)
        for gone in set(self._ingested) - present:
            del self._ingested[gone]
        return found

    def waiting(self) -> int:
        """Files in the folder not yet filed away (for the backlog figure)."""
        return sum(1 for e in self._entries() if e.is_file(follow_symlinks=False))

    def _entries(self) -> Iterator[os.DirEntry[str]]:
        try:
            with os.scandir(self.path) as entries:
                listed = sorted(entries, key=lambda e: e.name)
        except FileNotFoundError:
            return
        for entry in listed:
            if not entry.name.startswith(".") and not entry.name.endswith(".part"):
                yield entry

    def _judge(self, entry: os.DirEntry[str], now: float) -> DropFile | None:
        try:
            found = entry.stat(follow_symlinks=False)
        except FileNotFoundError:
            return None
        if stat.S_ISDIR(found.st_mode):
            return None  # processed/, failed/, or the operator's own folders
        if not stat.S_ISREG(found.st_mode):
            return DropFile(
                entry.name, True, f"{_kind(found.st_mode)}, not a regular file: not read"
            )
        if entry.name.endswith(STORE_FILE_SUFFIXES):
            return DropFile(entry.name, True, "a database or a store's own file: not read")
        state = (found.st_ino, found.st_size, found.st_mtime_ns)
        quiet_for = now - found.st_mtime
        if self._ingested.get(entry.name) == state:  # nothing new since the last ingest
            return DropFile(entry.name, True, None, state) if quiet_for >= self.settle else None
        if quiet_for >= self.quiet:
            return DropFile(entry.name, quiet_for >= self.settle, None, state)
        return None

    def input(self, name: str) -> Input:
        """The file as an ingest input, opened through the folder when it is read."""
        folder = self.path

        def opener() -> object:
            folder_fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
            try:
                return open_in_folder(folder_fd, name)
            finally:
                os.close(folder_fd)

        return Input(str(folder / name), opener)  # type: ignore[arg-type]

    def ingested(self, item: DropFile) -> None:
        """Remember how the file looked when it was ingested without being finished."""
        self._ingested[item.name] = item.state

    def file_away(self, name: str, failed: bool, why: str | None = None) -> Path | None:
        """Move a finished (or refused) file into processed/ or failed/, never over an
        older file of the same name; a failure gets its reason in NAME.why beside it.
        Returns where it went (None: it was gone already).

        Others can write to the folder, so everything goes through folder descriptors: a
        processed/ or failed/ that is a link, or a NAME.why planted as a link, is never
        followed (a `.why` written through a link could overwrite any file of ours).
        """
        self._ingested.pop(name, None)
        sub = FAILED if failed else PROCESSED
        drop_fd = os.open(self.path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            sub_fd = _subfolder(drop_fd, sub)
            try:
                target = _free_name(sub_fd, name)
                try:
                    os.rename(name, target, src_dir_fd=drop_fd, dst_dir_fd=sub_fd)
                except FileNotFoundError:
                    return None
                if failed and why:
                    _write_new(sub_fd, target + WHY, why.strip() + "\n")
            finally:
                os.close(sub_fd)
        finally:
            os.close(drop_fd)
        return self.path / sub / target


def _subfolder(drop_fd: int, name: str) -> int:
    """processed/ or failed/ of the drop folder, made if missing, opened only if it is a
    real folder (not a link to one elsewhere)."""
    try:
        os.mkdir(name, 0o777, dir_fd=drop_fd)
    except FileExistsError:
        pass
    try:
        return os.open(
            name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=drop_fd
        )
    except OSError as exc:
        raise OSError(
            exc.errno,
            f"{name}/ in the drop folder is not a folder of its own"
            " (a link?): nothing is moved until it is removed",
        ) from None


def _free_name(folder_fd: int, name: str) -> str:
    """`name`, or name-1, name-2 ... (before the extensions) if it is taken in the folder."""
    stem, dot, suffix = name.partition(".")
    candidate, number = name, 0
    while _exists(folder_fd, candidate) or _exists(folder_fd, candidate + WHY):
        number += 1
        candidate = f"{stem}-{number}{dot}{suffix}"
    return candidate


def _exists(folder_fd: int, name: str) -> bool:
    try:
        os.stat(name, dir_fd=folder_fd, follow_symlinks=False)
    except FileNotFoundError:
        return False
    return True


def _write_new(folder_fd: int, name: str, text: str) -> None:
    """Create `name` in the folder with `text`; never through a link, never over a file."""
    try:
        fd = os.open(
            name,
            os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC,
            0o644,
            dir_fd=folder_fd,
        )
    except OSError:
        return  # planted by someone: the reason is in the server's log anyway
    with os.fdopen(fd, "w") as out:
        out.write(text)
