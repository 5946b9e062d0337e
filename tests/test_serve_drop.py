"""The drop folder of a real `hawatch serve`: it reads regular files placed in it and nothing
else (no links, no devices, no secrets), never lets a file replace the pair inventory, and
never loses the tail of a file whose writer pauses. Sockets on 127.0.0.1, deadlines on every
wait."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.test_serve import LINE, ROOT, Server, sql, wait_for

# quick settling for tests: ingest after 1 s without a write, finish after 8 s
FAST = {"HAWATCH_SERVE_DROP_QUIET_SECONDS": "1", "HAWATCH_SERVE_DROP_SETTLE_SECONDS": "8"}


@pytest.fixture
def server(tmp_path) -> Iterator[Server]:
    running = Server(tmp_path, syslog=False, env=FAST)
    yield running
    if running.proc.poll() is None:
        running.stop()


def _lines(first: int, count: int) -> str:
    return "".join(LINE.format(n=n) + "\n" for n in range(first, first + count))


def _drop(server: Server, name: str, text: str) -> None:
    """Copy a file in the documented way: under a .part name, renamed when complete."""
    part = server.drop / f"{name}.part"
    part.write_text(text)
    part.rename(server.drop / name)


def _stored_lines(db: Path) -> int:
    return sql(db, "SELECT coalesce(sum(lines), 0) AS n FROM message_counts")[0]["n"]


def test_links_devices_and_hard_links_in_the_drop_folder_are_never_read(server, tmp_path):
    """10.2: links to the session secret, the users file, serve.json and /etc/passwd were
    read and their contents landed in `quarantine.raw`, which every viewer can query."""
    users = subprocess.run(
        [
            "hawatch",
            "users",
            "add",
            "--db",
            str(server.db),
            "boss",
            "--role",
            "admin",
            "--password-stdin",
        ],
        input="correct horse battery\n",
        text=True,
        capture_output=True,
        timeout=60,
    )
    assert users.returncode == 0, users.stderr
    secret = Path(str(server.db) + ".secret")
    wait_for(secret.exists, "session secret")
    targets = {
        "secret.log": secret,
        "users.log": Path(str(server.db) + ".users.json"),
        "serve.log": Path(str(server.db) + ".serve.json"),
        "passwd.log": Path("/etc/passwd"),
    }
    for name, target in targets.items():
        (server.drop / name).symlink_to(target)
    os.link(secret, server.drop / "hardlinked.log")  # same device: a link is possible
    os.mkfifo(server.drop / "pipe.log")  # opening it for reading would block the ingester
    time.sleep(1.5)  # let the folder be scanned with only these in it
    _drop(server, "real.log", _lines(0, 10))
    wait_for(lambda: (server.drop / "processed" / "real.log").exists(), "the real file")
    assert _stored_lines(server.db) == 10
    raw = " ".join(r["raw"] for r in sql(server.db, "SELECT raw FROM quarantine"))
    leaked = [
        t for t in (secret.read_text().strip(), "root:x:0:0", "scrypt$", '"token"') if t in raw
    ]
    assert leaked == []
    names = [r["name"] for r in sql(server.db, "SELECT name FROM sources")]
    assert [n for n in names if not n.endswith("real.log")] == []
    refused = sorted(
        p.name for p in (server.drop / "failed").iterdir() if not p.name.endswith(".why")
    )
    assert refused == sorted([*targets, "hardlinked.log", "pipe.log"])
    assert secret.exists() and not secret.is_symlink()  # the targets are untouched
    why = (server.drop / "failed" / "passwd.log.why").read_text()
    assert "symbolic link" in why and "/etc" not in why  # the reason names no target
    with_links = subprocess.run(
        [
            "hawatch",
            "sql",
            "--db",
            str(server.db),
            "--format",
            "json",
            "SELECT count(*) AS n FROM quarantine",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert with_links.returncode == 0
    code, output = server.stop()
    assert code == 0 and "Traceback" not in output


def test_secrets_and_database_files_are_private_from_the_start(server):
    """10.16: the database, its write-ahead log and the secret files are 0600."""
    _drop(server, "real.log", _lines(0, 10))
    wait_for(lambda: (server.drop / "processed" / "real.log").exists(), "the real file")
    secret = Path(str(server.db) + ".secret")
    files = [server.db, secret, Path(str(server.db) + ".serve.json")]
    wal = Path(str(server.db) + ".wal")
    if wal.exists():
        files.append(wal)
    modes = {p.name: oct(p.stat().st_mode & 0o777) for p in files}
    assert set(modes.values()) == {"0o600"}, modes
    spool = Path(str(server.db) + ".spool")
    assert oct(spool.stat().st_mode & 0o777) == "0o700"


def test_a_file_in_the_drop_folder_cannot_replace_the_inventory(tmp_path):
    """10.8: inventory comes from the configured file, never from the data path."""
    inventory = tmp_path / "pairs.csv"
    inventory.write_text(
        "pair,site,primary_serial,secondary_serial\nfra1-ha01,fra1,0040103CE114,0040103CE115\n"
    )
    running = Server(tmp_path, syslog=False, env={**FAST, "HAWATCH_INVENTORY": str(inventory)})
    try:
        _drop(
            running,
            "pairs.csv",
            "pair,site,primary_serial,secondary_serial\nevil,x,0040103CE114,C0FFEE000001\n",
        )
        wait_for(lambda: (running.drop / "failed" / "pairs.csv").exists(), "refused inventory")
        why = (running.drop / "failed" / "pairs.csv.why").read_text()
        assert "inventory" in why
        assert sql(running.db, "SELECT pair, primary_serial, secondary_serial FROM pairs") == [
            {
                "pair": "fra1-ha01",
                "primary_serial": "0040103CE114",
                "secondary_serial": "0040103CE115",
            }
        ]
    finally:
        running.stop()


def test_a_writer_that_pauses_loses_nothing(server):
    """10.14: a writer pausing longer than the quiet time (once mid-line) used to lose the
    rest of its file: it was ingested, moved to processed/, and its later lines went there."""
    path = server.drop / "slow.log"
    with open(path, "w") as out:
        out.write(_lines(0, 100))
        out.flush()
        time.sleep(2.5)  # ingested now, without the writer having finished
        wait_for(lambda: _stored_lines(server.db) == 100, "the first 100 lines")
        text = _lines(100, 200)
        out.write(text[:50])  # pause in the middle of a line
        out.flush()
        time.sleep(2.5)
        out.write(text[50:])
        out.flush()
    wait_for(lambda: (server.drop / "processed" / "slow.log").exists(), "slow.log settled")
    assert _stored_lines(server.db) == 300
    assert sql(server.db, "SELECT count(*) AS n FROM quarantine") == [{"n": 0}]


def test_a_file_that_grows_after_it_was_ingested_is_ingested_to_its_end(server):
    """A file appended to while it waits to settle: the new lines are ingested (resumed at
    the committed offset), nothing twice."""
    path = server.drop / "growing.log"
    path.write_text(_lines(0, 50))
    wait_for(lambda: _stored_lines(server.db) == 50, "the first 50 lines")
    with open(path, "a") as out:
        out.write(_lines(50, 70))
    wait_for(lambda: (server.drop / "processed" / "growing.log").exists(), "settled")
    assert _stored_lines(server.db) == 120
    assert sql(server.db, "SELECT count(*) AS n FROM sources") == [{"n": 1}]


def test_the_database_folder_cannot_be_the_drop_folder(tmp_path):
    """The store's own files (database, secret, users) must never be a drop-folder file."""
    result = subprocess.run(
        [
            "hawatch",
            "serve",
            "--db",
            str(tmp_path / "h.duckdb"),
            "--http",
            "127.0.0.1:0",
            "--syslog-udp",
            "",
            "--syslog-tcp",
            "",
            "--drop-dir",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "drop" in lines[0] and "database" in lines[0], lines


def test_sample_exports_dropped_in_are_ingested(server):
    """The ordinary case still works: an export renamed in is ingested and moved."""
    _drop(server, "status.json", (ROOT / "sample_logs" / "exports" / "status.json").read_text())
    wait_for(lambda: (server.drop / "processed" / "status.json").exists(), "status.json")
    assert sql(server.db, "SELECT count(*) AS n FROM status_samples") == [{"n": 103}]


def test_links_planted_in_processed_and_failed_are_never_followed(tmp_path):
    """Whoever can write to the drop folder can also plant links where hawatch writes: a
    `failed/NAME.why` link would have the reason written over any file of the server's, a
    `processed/` link would have dropped files moved anywhere on the disk."""
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me\n")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    drop = tmp_path / "drop"
    (drop / "failed").mkdir(parents=True)
    (drop / "failed" / "passwd.log.why").symlink_to(victim)
    (drop / "processed").symlink_to(elsewhere)
    running = Server(tmp_path, syslog=False, env=FAST)
    try:
        (drop / "passwd.log").symlink_to("/etc/passwd")
        wait_for(lambda: (drop / "failed" / "passwd-1.log").is_symlink(), "refused link")
        assert victim.read_text() == "keep me\n"
        assert "symbolic link" in (drop / "failed" / "passwd-1.log.why").read_text()
        _drop(running, "real.log", _lines(0, 10))
        wait_for(lambda: (drop / "processed" / "real.log").exists(), "the real file")
        # the planted link was itself a drop-folder entry: refused, moved away unread
        assert (drop / "failed" / "processed").is_symlink()
        assert not (drop / "processed").is_symlink() and list(elsewhere.iterdir()) == []
    finally:
        code, _ = running.stop()
    assert code == 0


def test_filing_away_never_goes_through_a_linked_subfolder(tmp_path):
    """The subfolders are opened without following links: one swapped for a link after the
    folder was listed is refused, and nothing is moved through it."""
    from hawatch.collector.drop_folder import DropFolder

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    drop = tmp_path / "drop"
    drop.mkdir()
    (drop / "a.log").write_text("x\n")
    (drop / "failed").symlink_to(elsewhere)
    folder = DropFolder(drop, 1, 2)
    with pytest.raises(OSError, match="not a folder of its own"):
        folder.file_away("a.log", failed=True, why="test")
    assert (drop / "a.log").exists() and list(elsewhere.iterdir()) == []
    assert folder.file_away("gone.log", failed=False) is None  # vanished meanwhile
