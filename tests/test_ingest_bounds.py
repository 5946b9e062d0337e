"""Ingest of input nobody vouches for: bounded work and storage whatever a file holds, a
plain word when a file is not a log at all, and the store's own files never read as input."""

from __future__ import annotations

import gzip
import io
import os
import subprocess
from pathlib import Path

from hawatch.collector.exports import records as export_records
from hawatch.collector.ingest import ingest_one
from hawatch.collector.inputs import Input, Peekable, discover
from hawatch.collector.limits import IngestLimits
from hawatch.store import Store

from tests.conftest import rows, scalar
from tests.test_serve import LINE

README = (Path(__file__).resolve().parent.parent / "README.md").read_text()


def _stream(data: bytes) -> Peekable:
    return Peekable(io.BytesIO(data))


def test_a_csv_line_without_end_is_cut_not_gathered(tmp_path):
    """10.9: CSV lines were split by re-scanning everything read so far: a 1 GiB line took
    226 s and 1.4 GiB. A line longer than the record limit is rejected in bounded pieces."""
    body = (
        b"time,serial,connections\n"
        + b"x" * (5 * 1024 * 1024 + 17)
        + b"\n2024-01-01T00:00:00Z,0040103CE114,5\n"
    )
    pieces = iter([body.decode()[i : i + 65536] for i in range(0, len(body), 65536)])
    lines = list(export_records._split_lines(pieces))
    assert max(len(line) for line in lines if isinstance(line, str)) <= 100
    assert len(lines) == 3 and not isinstance(lines[1], str)
    items = list(export_records.csv_items(_stream(body), 0))
    bad = [item for _, item in items if isinstance(item, export_records.Bad)]
    good = [item for _, item in items if not isinstance(item, export_records.Bad)]
    assert good == [{"time": "2024-01-01T00:00:00Z", "serial": "0040103CE114", "connections": "5"}]
    assert len(bad) == 1 and "longer than" in bad[0].reason


def test_json_padding_is_skipped_without_a_python_loop_per_character():
    """10.9: whitespace between JSON records was skipped one character at a time."""
    body = b"[" + b" " * (8 * 1024 * 1024) + b'{"a": 1}, \n\n {"b": 2}]'
    assert list(export_records._json_values(_stream(body))) == [{"a": 1}, {"b": 2}]


def test_a_file_that_is_not_a_log_keeps_only_a_sample_in_quarantine(store, tmp_path):
    """10.2/10.9: a file whose lines all fail keeps a bounded sample of raw lines (viewers
    can read the quarantine); the rest is counted, and the report says so."""
    path = tmp_path / "notes.txt"
    path.write_text(README * 40)
    lines = sum(1 for line in (README * 40).split("\n") if line not in ("", "\r"))
    limits = IngestLimits(quarantine_sample_rows=20, max_quarantine_rows=1000)
    report = ingest_one(store, Input(str(path)), limits=limits)
    assert (
        report.result.quarantined
        == scalar(store, "SELECT count(*) FROM quarantine") + report.quarantine_unstored
    )
    assert scalar(store, "SELECT count(*) FROM quarantine") == 20
    assert scalar(store, "SELECT quarantined FROM sources") == report.result.quarantined
    assert report.result.quarantined == lines
    assert report.quarantine_unstored == lines - 20


def test_a_log_with_junk_keeps_quarantine_rows_up_to_the_cap(store, tmp_path):
    path = tmp_path / "mixed.log"
    path.write_text("".join(LINE.format(n=n) + f"\nnot a line {n}\n" for n in range(3000)))
    report = ingest_one(
        store,
        Input(str(path)),
        limits=IngestLimits(quarantine_sample_rows=20, max_quarantine_rows=500),
    )
    assert report.result.quarantined == 3000 and report.result.counted == 3000
    assert scalar(store, "SELECT count(*) FROM quarantine") == 500
    assert scalar(store, "SELECT quarantined FROM sources") == 3000
    # a later run of the same grown file stores no more than the cap either
    with open(path, "a") as out:
        out.write("more junk\n" * 100)
    ingest_one(
        store,
        Input(str(path)),
        limits=IngestLimits(quarantine_sample_rows=20, max_quarantine_rows=500),
    )
    assert scalar(store, "SELECT count(*) FROM quarantine") == 500
    assert scalar(store, "SELECT quarantined FROM sources") == 3100


def test_ingesting_files_that_are_not_logs_says_so_and_fails(tmp_path):
    """11.9: a README, a binary or an unrelated CSV ended 0 with 100% quarantined, silently."""
    readme = tmp_path / "README.md"
    readme.write_text(README)
    binary = tmp_path / "blob.bin"
    binary.write_bytes(os.urandom(50_000))
    other = tmp_path / "people.csv"
    other.write_text("name,age\nalice,30\nbob,41\n")
    good = tmp_path / "good.log"
    good.write_text(LINE.format(n=1) + "\n")
    result = subprocess.run(
        [
            "hawatch",
            "ingest",
            "--db",
            str(tmp_path / "h.duckdb"),
            str(readme),
            str(binary),
            str(other),
            str(good),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1, result.stdout + result.stderr
    complaints = [line for line in result.stderr.splitlines() if "nothing usable" in line]
    assert len(complaints) == 3, result.stderr
    assert all(line.startswith("hawatch: error: ") for line in complaints)
    assert not any("good.log" in line for line in complaints)
    result = subprocess.run(
        ["hawatch", "ingest", "--db", str(tmp_path / "h.duckdb"), str(good)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr


def test_a_folder_walk_reads_no_links_and_not_the_stores_own_files(tmp_path):
    """10.2: `hawatch ingest FOLDER` followed links, and read the session secret and users
    file of a store kept in the folder."""
    folder = tmp_path / "logs"
    folder.mkdir()
    (folder / "a.log").write_text(LINE.format(n=1) + "\n")
    (folder / "passwd.log").symlink_to("/etc/passwd")
    (folder / "h.duckdb.secret").write_text("00" * 32 + "\n")
    (folder / "h.duckdb.users.json").write_text("{}\n")
    (folder / "h.duckdb.serve.json").write_text("{}\n")
    os.mkfifo(folder / "pipe.log")
    assert [Path(i.name).name for i in discover([str(folder)])] == ["a.log"]
    # a link named on the command line is the user's own choice, and is followed
    assert [i.name for i in discover([str(folder / "passwd.log")])] == [str(folder / "passwd.log")]


def test_a_new_database_file_is_private(tmp_path):
    """10.16: the database file was created 0644."""
    db = tmp_path / "new.duckdb"
    with Store(db):
        pass
    assert oct(db.stat().st_mode & 0o777) == "0o600"
    result = subprocess.run(
        ["hawatch", "ingest", "--db", str(tmp_path / "cli.duckdb"), "-"],
        input=LINE.format(n=1) + "\n",
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert oct((tmp_path / "cli.duckdb").stat().st_mode & 0o777) == "0o600"


def test_gzip_beyond_the_cap_is_refused_with_the_setting_named(store, tmp_path):
    path = tmp_path / "bomb.log.gz"
    path.write_bytes(gzip.compress(b"\n" * (3 * 1024 * 1024)))
    report = ingest_one(
        store, Input(str(path)), limits=IngestLimits(max_decompressed_bytes=1024 * 1024)
    )
    assert report.status == "refused" and report.refusal == "too_large"
    assert "ingest.max_decompressed_megabytes" in (report.error or "")
    assert rows(store, "SELECT count(*) FROM quarantine") == [(0,)]


def test_a_batch_holds_a_bounded_number_of_lines():
    """10.9: memory per batch grows with its rows; 32 MiB of two-byte lines (50 KiB of gzip)
    took 3 GB in one batch. Batches now end after MAX_BATCH_LINES lines too, and still
    follow each other exactly (a resumed run cuts the same ones)."""
    from hawatch.collector.line_batches import MAX_BATCH_LINES, read_batches

    count = 2 * MAX_BATCH_LINES + 12_345
    body = b"x\n" * count + b"tail without a newline"
    batches = list(read_batches(_stream(body), 0, 0))
    assert [b.line_count for b in batches] == [MAX_BATCH_LINES, MAX_BATCH_LINES, 12_346]
    assert [b.first_line for b in batches] == [1, MAX_BATCH_LINES + 1, 2 * MAX_BATCH_LINES + 1]
    assert [(b.start_offset, b.end_offset) for b in batches] == [
        (0, 2 * MAX_BATCH_LINES),
        (2 * MAX_BATCH_LINES, 4 * MAX_BATCH_LINES),
        (4 * MAX_BATCH_LINES, len(body)),
    ]
    held = list(read_batches(_stream(body), 0, 0, final=False))  # a writer may go on
    assert held[-1].end_offset == 2 * count and held[-1].line_count == 12_345
    resumed = list(read_batches(_stream(body), 2 * MAX_BATCH_LINES, MAX_BATCH_LINES))
    assert [(b.first_line, b.end_offset) for b in resumed] == [
        (b.first_line, b.end_offset) for b in batches[1:]
    ]
