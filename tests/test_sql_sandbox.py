"""`hawatch sql` through the real CLI: one read-only SELECT, no file or network access, no
writes or settings, a time limit and a row cap; every refusal is one `hawatch: error:` line
with exit 1, and the database file is byte-for-byte unchanged afterwards.

The database is built by `hawatch ingest` from the real E-aws Connection Closed line
(elastic/integrations packages/sonicwall_firewall/data_stream/log/_dev/test/pipeline/
test-sonicos70-aws.log) and documented HA texts in the same shape (B-pipeline, m=147).
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hawatch.store import Store

TRAFFIC = (
    '<134>  id=firewall sn=0040103CE114 time="2022-05-16 15:22:{s:02} UTC"'
    ' fw=10.0.0.96 pri=6 c=1024 m=537 msg="Connection Closed" app=12 sess="Web" n={n}'
    ' usr="admin" src=81.2.69.193:65055:X1 dst=10.0.0.96:443:X1'
    " srcMac=06:08:25:81:11:30 proto=tcp/https sent=1930 rcvd=1545 spkt=11 rpkt=7"
    ' dpi=0 cdur=2133 rule="Default Access Rule" fw_action="NA"'
)
HA = (
    '<129>  id=firewall sn=0040103CE114 time="2022-05-16 15:3{s}:00 UTC" fw=10.0.0.96 pri=1'
    ' c=0 m=147 msg="Backup missed heartbeats from Active Primary: Backup going Active"'
    " n={n}"
)
TABLES = ("ha_events", "message_counts", "quarantine", "devices", "sources", "session_samples")


def hawatch(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        ["hawatch", *args], capture_output=True, text=True, timeout=60, input=stdin
    )
    assert "Traceback" not in result.stderr
    return result


def sql(db: Path, query: str, *options: str) -> subprocess.CompletedProcess[str]:
    return hawatch("sql", "--db", str(db), *options, query)


def one_error_line(result: subprocess.CompletedProcess[str]) -> str:
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("hawatch: error: "), result.stderr
    return lines[0]


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def counts(db: Path) -> dict[str, int]:
    with Store(db, read_only=True) as store:
        cur = store.cursor()
        return {t: cur.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in TABLES}


@pytest.fixture(scope="module")
def db(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("sql")
    log = folder / "fw.log"
    lines = [TRAFFIC.format(s=s, n=100 + s) for s in range(20)]
    lines += [HA.format(s=s, n=200 + s) for s in range(3)] + ["not a syslog line"]
    log.write_text("\n".join(lines) + "\n")
    export = folder / "export.json"
    export.write_text(
        json.dumps(
            [
                {
                    "time": "2022-05-16T15:40:00Z",
                    "serial": "0040103CE114",
                    "event": "sync_completed",
                },
                {"time": "2022-05-16T15:41:00Z", "serial": "0040103CE114", "connections": 6374},
            ]
        )
    )
    path = folder / "hawatch.duckdb"
    result = hawatch("ingest", "--db", str(path), str(log), str(export))
    assert result.returncode == 0, result.stderr
    return path


def test_a_select_works_in_every_format(db):
    query = "SELECT kind, count(*) AS n FROM ha_events GROUP BY kind ORDER BY kind"
    expected = [("failover", 3), ("sync_completed", 1)]

    as_json = sql(db, query, "--format", "json")
    assert as_json.returncode == 0, as_json.stderr
    assert json.loads(as_json.stdout) == [{"kind": k, "n": n} for k, n in expected]

    as_csv = sql(db, query, "--format", "csv")
    assert as_csv.returncode == 0, as_csv.stderr
    assert list(csv.reader(io.StringIO(as_csv.stdout))) == [
        ["kind", "n"],
        *([k, str(n)] for k, n in expected),
    ]

    as_table = sql(db, query)
    assert as_table.returncode == 0, as_table.stderr
    header, rule, *rows = as_table.stdout.splitlines()
    assert header.split() == ["kind", "n"]
    assert set(rule.replace(" ", "")) == {"-"}
    assert [tuple(r.split()) for r in rows] == [(k, str(n)) for k, n in expected]
    assert as_json.stderr == as_csv.stderr == as_table.stderr == ""


@pytest.mark.parametrize(
    "query, expected",
    [
        ("SELECT min(time) AS t FROM ha_events", [{"t": "2022-05-16T15:30:00Z"}]),
        (
            "SELECT reason FROM quarantine",
            [{"reason": "not a SonicOS key=value line (no sn=, time=, m=)"}],
        ),
        ("SELECT count(*) AS n FROM range(10)", [{"n": 10}]),
        (
            "SELECT name FROM pragma_table_info('quarantine') WHERE name = 'raw_length'",
            [{"name": "raw_length"}],
        ),
        ("SELECT sum(lines)::INT AS lines FROM message_counts", [{"lines": 20}]),
    ],
    ids=["timestamp", "quarantine", "range", "pragma_table_info", "message_counts"],
)
def test_selects_over_the_schema_return_json(db, query, expected):
    result = sql(db, query, "--format", "json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == expected


def test_query_from_stdin(db):
    result = hawatch("sql", "--db", str(db), "--format", "csv", "-", stdin="SELECT 42 AS answer")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["answer", "42"]


REFUSED = {
    "read_csv": "SELECT * FROM read_csv('/etc/passwd')",
    "copy_to_tmp": "COPY ha_events TO '/tmp/x.csv'",
    "copy_to_file": "COPY ha_events TO '{out}/x.csv'",
    "attach": "ATTACH '{out}/other.duckdb' AS other",
    "install": "INSTALL httpfs",
    "load": "LOAD httpfs",
    "set": "SET threads=1",
    "create_table": "CREATE TABLE stolen AS SELECT * FROM ha_events",
    "delete": "DELETE FROM ha_events",
    "update": "UPDATE ha_events SET kind = 'failback'",
    "drop": "DROP TABLE ha_events",
    "pragma": "PRAGMA database_list",
    "read_blob_of_the_db": "SELECT * FROM read_blob('{db}')",
    "read_text": "SELECT content FROM read_text('/etc/passwd')",
    "query": "SELECT * FROM query('SELECT * FROM read_text(''/etc/passwd'')')",
    "glob": "SELECT * FROM glob('/etc/*')",
    "two_statements": "SELECT 1; DROP TABLE ha_events",
    "syntax_error": "SELEC kind FROM ha_events",
    "empty": "   ",
    # the same reads hidden deeper in a SELECT
    "read_text_in_cte": "WITH x AS (SELECT * FROM read_text('/etc/passwd')) SELECT * FROM x",
    "read_blob_in_subquery": "SELECT (SELECT content FROM read_blob('{db}')) AS c",
    "read_csv_in_union": (
        "SELECT kind FROM ha_events UNION ALL SELECT * FROM read_csv('/etc/passwd')"
    ),
    "quoted_upper_case_name": "SELECT * FROM \"READ_TEXT\"('/etc/passwd')",
    "file_as_table": "SELECT * FROM '/etc/passwd'",
    "pivot_over_read_blob": "PIVOT (SELECT * FROM read_blob('{db}')) ON filename USING count(*)",
    "export_database": "EXPORT DATABASE '{out}/dump'",
    "checkpoint": "CHECKPOINT",
    "call": "CALL pragma_version()",
    # data-modifying and file-writing statements hidden where DuckDB still says SELECT
    "delete_in_cte": "WITH x AS (DELETE FROM ha_events RETURNING *) SELECT * FROM x",
    "insert_in_cte": (
        "WITH x AS (INSERT INTO quarantine SELECT * FROM quarantine RETURNING 1)"
        " SELECT count(*) FROM x"
    ),
    "update_in_cte": "WITH x AS (UPDATE devices SET model = 'x' RETURNING 1) SELECT * FROM x",
    "delete_in_subquery": (
        "SELECT * FROM devices WHERE serial IN (WITH x AS (DELETE FROM"
        " devices RETURNING serial) SELECT serial FROM x)"
    ),
    "delete_in_scalar_subquery": (
        "SELECT (WITH x AS (DELETE FROM sources RETURNING 1) SELECT count(*) FROM x) AS n"
    ),
    "update_in_union": (
        "SELECT 1 UNION ALL (WITH x AS (UPDATE session_samples SET"
        " connections = 0 RETURNING 1) SELECT count(*) FROM x)"
    ),
    "delete_in_nested_cte": (
        "WITH a AS (SELECT 1), b AS (WITH c AS (DELETE FROM ha_events"
        " RETURNING 1) SELECT * FROM c) SELECT * FROM a, b"
    ),
    "copy_in_cte": "WITH x AS (COPY ha_events TO '{out}/x.csv') SELECT * FROM x",
    # sequences, settings and the catalog views that name server paths
    "nextval": "SELECT nextval('incident_ids')",
    "setval": "SELECT setval('incident_ids', 99)",
    "nextval_as_method": "SELECT 'incident_ids'.nextval()",
    "current_setting": "SELECT current_setting('temp_directory')",
    "duckdb_databases_view": "SELECT path FROM duckdb_databases",
    "pragma_database_list_view": "SELECT * FROM pragma_database_list",
    "pg_settings": "SELECT * FROM pg_catalog.pg_settings",
    "wal_as_table": "SELECT * FROM '{db}.wal'",
}


@pytest.mark.parametrize("name", list(REFUSED))
def test_everything_but_one_plain_select_is_refused(db, tmp_path, name):
    out = tmp_path / "out"
    out.mkdir()
    query = REFUSED[name].format(db=db, out=out)
    before, rows_before = digest(db), counts(db)
    tmp_csv_existed = Path("/tmp/x.csv").exists()
    started = time.monotonic()

    result = sql(db, query)

    assert result.returncode == 1, result.stdout
    assert result.stdout == ""
    one_error_line(result)
    assert time.monotonic() - started < 20
    assert digest(db) == before
    assert counts(db) == rows_before
    assert list(out.iterdir()) == []
    assert Path("/tmp/x.csv").exists() == tmp_csv_existed
    assert not Path(f"{db}.wal").exists()


@pytest.mark.parametrize("fmt", ["table", "json"])
def test_a_runaway_query_is_stopped_at_the_time_limit(db, fmt):
    started = time.monotonic()
    result = sql(
        db,
        "SELECT count(*) FROM range(1000000000) a, range(1000000000) b",
        "--timeout",
        "1",
        "--format",
        fmt,
    )
    elapsed = time.monotonic() - started
    assert result.returncode == 1
    assert result.stdout == ""
    assert "time limit" in one_error_line(result)
    assert elapsed < 6


def test_max_rows_caps_the_output_and_says_so(db):
    result = sql(db, "SELECT * FROM range(100) t(i)", "--max-rows", "5", "--format", "json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == [{"i": i} for i in range(5)]
    assert "truncated" in result.stderr
    assert len(result.stderr.splitlines()) == 1


def test_no_truncation_note_at_exactly_the_cap(db):
    result = sql(db, "SELECT * FROM range(5) t(i)", "--max-rows", "5", "--format", "csv")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["i", "0", "1", "2", "3", "4"]
    assert result.stderr == ""


def test_a_missing_database_is_one_error_line(tmp_path):
    missing = tmp_path / "nope.duckdb"
    result = sql(missing, "SELECT 1")
    assert result.returncode == 1
    assert str(missing) in one_error_line(result)
    assert not missing.exists()


def test_a_file_that_is_not_a_database_is_one_error_line(tmp_path):
    bogus = tmp_path / "notes.duckdb"
    bogus.write_text("hello\n")
    result = sql(bogus, "SELECT 1")
    assert result.returncode == 1
    assert str(bogus) in one_error_line(result)
    assert bogus.read_text() == "hello\n"


def test_a_database_held_by_another_process_is_one_error_line(db, tmp_path):
    held = tmp_path / "held.duckdb"
    held.write_bytes(db.read_bytes())
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time\nfrom store import Store\n"
            "store = Store(sys.argv[1])\nprint('open', flush=True)\ntime.sleep(60)\n",
            str(held),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "open\n"
        result = sql(held, "SELECT count(*) FROM ha_events")
        assert result.returncode == 1
        assert "held by another process" in one_error_line(result)
    finally:
        holder.kill()
        holder.wait(timeout=10)
        if holder.stdout:
            holder.stdout.close()


@pytest.mark.parametrize(
    "query",
    [
        "WITH x AS (DELETE FROM ha_events RETURNING *) SELECT count(*) FROM x",
        "WITH x AS (UPDATE devices SET model = 'owned' RETURNING 1) SELECT count(*) FROM x",
        "WITH x AS (INSERT INTO quarantine SELECT * FROM quarantine RETURNING 1)"
        " SELECT count(*) FROM x",
        "SELECT nextval('incident_ids')",
    ],
    ids=["delete", "update", "insert", "nextval"],
)
def test_the_read_only_transaction_alone_stops_writes(db, tmp_path, monkeypatch, query):
    """The second layer on its own: with the parse-tree check switched off, a serving
    store's cursor still cannot write, because analyst SQL runs in a read-only transaction
    that is rolled back."""
    from hawatch.store import readonly
    from hawatch.store.errors import InvalidQuery
    from hawatch.store.readonly import Limits, run_query

    copy = tmp_path / "rw.duckdb"
    copy.write_bytes(db.read_bytes())
    before = counts(copy)
    monkeypatch.setattr(readonly, "check_statement", lambda q: q)
    with Store(copy) as served:
        served.lock_down()
        with pytest.raises(InvalidQuery, match="read-only"):
            run_query(served.cursor(), query, Limits())
        assert served.cursor().execute("SELECT nextval('incident_ids')").fetchone() == (1,)
    assert counts(copy) == before


def test_analyst_sql_on_a_store_that_is_not_locked_down_is_refused(db, tmp_path):
    from hawatch.store.errors import InvalidQuery
    from hawatch.store.readonly import Limits, run_query

    copy = tmp_path / "open.duckdb"
    copy.write_bytes(db.read_bytes())
    with Store(copy) as opened, pytest.raises(InvalidQuery, match="not locked down"):
        run_query(opened.cursor(), "SELECT 1", Limits())


def test_a_locked_down_store_reads_only_the_folders_it_was_given(tmp_path):
    """The allowed folders reach DuckDB as a bound value: a quote in a path is just a
    character of it, and every other folder stays closed."""
    import duckdb

    allowed, other = tmp_path / "it's allowed", tmp_path / "other"
    for folder in (allowed, other):
        folder.mkdir()
        (folder / "a.csv").write_text("x\n1\n")
    with Store(tmp_path / "locked.duckdb") as store:
        store.lock_down([str(allowed)])
        cur = store.cursor()
        # DuckDB adds its own temporary folder
        assert (
            f"{allowed}/"
            in cur.execute("SELECT current_setting('allowed_directories')").fetchone()[0]
        )
        assert cur.execute("SELECT x FROM read_csv(?)", [str(allowed / "a.csv")]).fetchall() == [
            (1,)
        ]
        with pytest.raises(duckdb.PermissionException):
            cur.execute("SELECT x FROM read_csv(?)", [str(other / "a.csv")])
