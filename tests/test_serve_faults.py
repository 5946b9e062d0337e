"""Faults of the store under a real `hawatch serve`: a full disk, a truncated database file,
files parked by an earlier run. Nothing acknowledged may be parked for good: ingest retries
until the store takes it, uploads that were not stored get a 5xx, and /healthz says when the
store cannot write or read. The full disk is a real one: a small tmpfs (root only)."""

from __future__ import annotations

import errno
import json
import os
import shutil
import socket
import subprocess
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest
from hawatch.store.db import Store

from tests.test_serve import LINE, ROOT, Server, post, sql, wait_for


def health(url: str) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(url + "/healthz", timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


@pytest.fixture
def small_disk(tmp_path) -> Iterator[Path]:
    """A real 24 MiB file system that can be filled up and emptied again."""
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=24m", "tmpfs", str(mount)],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], capture_output=True)


def fill(disk: Path) -> Path:
    """Write a file until the disk is full; return it (delete it to give the space back)."""
    filler = disk / "filler"
    with open(filler, "wb") as out:
        try:
            while True:
                out.write(b"\0" * (256 * 1024))
                out.flush()
        except OSError as exc:
            assert exc.errno == errno.ENOSPC
    return filler


def stored(db: Path) -> int:
    return sql(db, "SELECT coalesce(sum(lines), 0) AS n FROM message_counts")[0]["n"]


def send_tcp(server: Server, first: int, count: int) -> None:
    with socket.create_connection(("127.0.0.1", server.ports["tcp"]["port"]), timeout=10) as tcp:
        tcp.sendall("".join(LINE.format(n=n) + "\n" for n in range(first, first + count)).encode())


def test_a_full_disk_delays_ingest_and_loses_nothing(tmp_path, small_disk):
    """10.5: with the database disk full, acknowledged lines went to spool/failed/ and stayed
    there; a failed upload was answered 200 "failed"; /healthz said ok."""
    spool = tmp_path / "spool"  # on another disk, which has room: only the store's is full
    spool.mkdir()
    (small_disk / "serve.duckdb.spool").symlink_to(spool)
    running = Server(small_disk)
    try:
        send_tcp(running, 0, 1000)
        wait_for(lambda: stored(running.db) == 1000, "1000 lines stored")
        filler = fill(small_disk)
        send_tcp(running, 1000, 3000)
        wait_for(lambda: health(running.url)[0] == 503, "/healthz to fail", seconds=60)
        code, answer = health(running.url)
        assert "space" in json.dumps(answer).lower(), answer
        status = (ROOT / "sample_logs" / "exports" / "status.json").read_bytes()
        code, answer = post(running.url, status, "application/json")
        assert code == 503, answer
        assert not (spool / "failed").exists() or list((spool / "failed").iterdir()) == []
        filler.unlink()  # the space comes back: everything waiting goes in
        wait_for(lambda: stored(running.db) == 4000, "4000 lines stored", seconds=120)
        try:
            wait_for(lambda: health(running.url)[0] == 200, "/healthz to recover", seconds=60)
        except AssertionError:
            raise AssertionError(health(running.url)) from None
        assert post(running.url, status, "application/json")[0] == 200
    finally:
        code, output = running.stop()
    assert code == 0 and "Traceback" not in output, output
    assert not (spool / "failed").exists() or list((spool / "failed").iterdir()) == []


def test_a_truncated_database_is_not_healthy(tmp_path):
    """10.5: a truncated database file started "healthy"."""
    db = tmp_path / "serve.duckdb"
    done = subprocess.run(
        ["hawatch", "ingest", "--db", str(db), str(ROOT / "sample_logs")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    with open(db, "r+b") as handle:
        handle.truncate(int(db.stat().st_size * 0.9))
    running = Server(tmp_path, syslog=False)
    try:
        code, answer = health(running.url)
        assert code == 503, answer
        assert "truncated" in answer["store"], answer
    finally:
        running.stop()


def test_files_parked_by_an_earlier_run_are_retried_at_start(tmp_path):
    """Spool files an earlier version moved to spool/failed/ (e.g. while the disk was full)
    go in when the server starts again."""
    failed = tmp_path / "serve.duckdb.spool" / "failed"
    failed.mkdir(parents=True)
    (failed / "tcp-20240101T000000.1.log").write_text(
        "".join(LINE.format(n=n) + "\n" for n in range(25))
    )
    running = Server(tmp_path, syslog=False)
    try:
        wait_for(lambda: stored(running.db) == 25, "the parked file")
    finally:
        running.stop()
    assert list(failed.iterdir()) == []


def test_an_invalidated_store_is_reopened_and_probed(tmp_path, small_disk):
    """DuckDB invalidates its instance when a checkpoint fails (disk full): every query then
    fails until the database is opened again. Store.probe says so; Store.reopen recovers."""
    store = Store(small_disk / "h.duckdb")
    try:
        assert store.probe() is None
        store.cursor().execute("SET checkpoint_threshold = '1MB'")
        filler = fill(small_disk)
        os.truncate(filler, max(0, filler.stat().st_size - 4 * 1024 * 1024))  # WAL fits
        with pytest.raises(duckdb.FatalException):  # the checkpoint does not
            for _ in range(200):
                with store.transaction() as tx:
                    tx.execute(
                        "INSERT INTO quarantine SELECT 0, 'x', 0, repeat('x', 200)"
                        " || i, 1, 'r', now() FROM range(5000) t(i)"
                    )
        problem = store.probe()
        assert problem is not None and "invalidated" in problem
        filler.unlink()
        assert "invalidated" in (store.probe() or "")  # space alone does not help
        store.reopen()
        assert store.probe() is None
        with store.transaction() as tx:
            tx.execute("DELETE FROM quarantine")
    finally:
        store.close()
    shutil.rmtree(small_disk, ignore_errors=True)


def test_the_write_ahead_log_is_checkpointed_while_the_store_is_open(tmp_path):
    """A result read with fetchone() on the store's own connection kept a read transaction
    open for good, and DuckDB never checkpointed: the log grew without end (333 MB after
    ingesting 278 MB), filling the disk and making every restart replay all of it."""
    db = tmp_path / "h.duckdb"
    with Store(db) as store:
        for _ in range(4):  # about 15 MB of log each
            with store.transaction() as tx:
                tx.execute(
                    "INSERT INTO quarantine SELECT 0, 'x', i, repeat('x', 100) || i,"
                    " 1, 'r', now() FROM range(100000) t(i)"
                )
        wal = Path(str(db) + ".wal")
        logged = wal.stat().st_size if wal.exists() else 0
        assert logged < 32 * 1024 * 1024, logged
        assert db.stat().st_size > 1024 * 1024  # checkpointed into the file
