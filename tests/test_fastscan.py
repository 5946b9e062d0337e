"""The C line scanner (collector/vendors/sonicos/fastscan.c) against the SQL it replaces.

The SQL in collector.vendors.sonicos.parse (`_FIELDS`) is the reference. Each corpus is cut
into a chunk, turned into `sl_fields` both ways in one DuckDB connection (the C scanner's
table, and the SQL over the plain `pos, line` table) and every row must be identical. Then whole
ingests, with and without the extension, must store the same rows.
"""

from __future__ import annotations

import random
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest
from hawatch.collector.ingest import ingest_paths
from hawatch.collector.inventory import load_inventory
from hawatch.collector.line_batches import SCAN_ROWS, _to_table
from hawatch.collector.vendors.sonicos import fastscan
from hawatch.collector.vendors.sonicos.catalog import COUNTED_MESSAGES
from hawatch.collector.vendors.sonicos.parse import stage_fields
from hawatch.simulator import simulate
from hawatch.simulator.sonicos_lines import bench_lines
from hawatch.store import Store

from tests import test_parse_sonicos as real

pytestmark = pytest.mark.skipif(
    fastscan._fastscan is None, reason="collector.vendors.sonicos._fastscan is not built"
)

IDS = [m.message_id for m in COUNTED_MESSAGES]
FIELDS = ("sn", "m", "n", "is_utc", "ts", "received_at", "line")
RFC5424 = (
    "<134>1 2026-11-01T10:00:05.000Z fw1 sonicwall - - - id=firewall sn=C0EAE4000001"
    ' time="2026-11-01 10:00:03" fw=10.0.0.1 pri=6 c=262144 m=98'
    ' msg="Connection Opened" n=8'
)


def real_lines() -> list[str]:
    """The real and documented lines of the parser tests."""
    lines = [v for k, v in vars(real).items() if k.isupper() and isinstance(v, str)]
    lines += [
        real.ha_line(m, text)
        for m, text in [
            (142, "Primary firewall has transitioned to Active"),
            (147, "Backup missed heartbeats from Active Primary: Backup going Active"),
            (165, "Forbidden E-Mail attachment disabled"),
            (1901, "Secondary unit state changed"),
        ]
    ]
    return [*lines, RFC5424]


def _sql_table(chunk: bytes, monkeypatch: pytest.MonkeyPatch) -> tuple[pa.Table, int]:
    monkeypatch.setenv(fastscan.DISABLE_ENV, "1")
    try:
        return _to_table(memoryview(chunk), 1)
    finally:
        monkeypatch.delenv(fastscan.DISABLE_ENV)


def differences(chunk: bytes, monkeypatch: pytest.MonkeyPatch) -> list[tuple]:
    """Rows of `sl_fields` that differ between the two paths (at most 5)."""
    fast, fast_lines = fastscan.scan_table(chunk, 1, IDS)
    slow, slow_lines = _sql_table(chunk, monkeypatch)
    assert fast_lines == slow_lines
    assert fast.schema == fastscan.SCHEMA
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")  # as the store's connection
    for name, table in (("sl_sql", slow), ("sl_fast", fast)):
        # as collector.ingest._ingest_syslog hands a batch to the parser
        table = table.append_column(
            "received_at", pa.nulls(table.num_rows, pa.timestamp("us", tz="UTC"))
        )
        con.register("raw_batch", table)
        stage_fields(con)
        con.execute(f"CREATE TEMP TABLE {name} AS SELECT * FROM sl_fields")
        con.unregister("raw_batch")
    differs = " OR ".join(f"s.{f} IS DISTINCT FROM f.{f}" for f in FIELDS)
    return con.execute(f"""
        SELECT coalesce(s.pos, f.pos), {", ".join(f"s.{f}, f.{f}" for f in FIELDS)}
        FROM (SELECT * REPLACE (rtrim(line, chr(13) || chr(10)) AS line) FROM sl_sql) s
        FULL JOIN sl_fast f ON s.pos = f.pos
        WHERE s.pos IS NULL OR f.pos IS NULL OR {differs}
        ORDER BY 1 LIMIT 5""").fetchall()


def nasty_lines(rng: random.Random) -> list[bytes]:
    base = real.E_AWS_537.encode()
    times = [
        "2026-02-30 10:00:00",
        "2026-11-01 24:00:00",
        "2026-1-01 10:00:00",
        "2026-11-01 10:00:60",
        "2024-02-29 23:59:59",
        "2100-02-29 00:00:00",
        "0000-01-01 00:00:00",
        "2026-1-1  1:2:3 ",
        " 2026-11-01 10:00:0",
        "2026-11-01\t1:00:00",
        "epoch              ",
        "  INFINITY         ",
        "-infinity          ",
        "2026-11-01 10:00:0\r",
        "2026-11-01 10:00:\xff",
        "2026-11-01 10\xc3\xa9:00",
        "                   ",
        "2026-11-01T10:00:00",
        "+026-11-01 10:00:00",
        "2026-11-01 10:00",
    ]
    lines: list[bytes] = []
    for t in times:
        raw = t.encode("latin-1")  # \xff: an invalid byte, \xc3\xa9: a valid "é"
        for tail in (b'"', b' UTC"', b" UTC", b"'", b'x"', b""):
            lines.append(b'id=firewall sn=AB12 time="' + raw + tail + b" m=98 n=1")
    rfc_tokens = [
        "2026-11-01T10:00:05Z",
        "2026-11-01T10:00:05.123456Z",
        "2026-11-01T10:00:05.1234567Z",
        "2026-11-01T10:00:05+02:00",
        "2026-11-01T10:00:05-23:59",
        "2026-11-01T10:00:05+24:00",
        "2026-11-01T10:00:05",
        "2026-11-01T10:00:05+0200",
        "2026-11-01T10:00:05.Z",
        "2026-11-01T24:00:00Z",
        "2026-02-29T10:00:05Z",
        "2026-11-01T10:00:05z",
        "2026-11-01Tgarbage",
        "2026-11-01T10:00:05Z\xff",
        "0000-01-01T00:00:00+01:00",
        "2026-11-01T1:00:05Z",
        "9999-12-31T23:59:59-14:00",
        "2026-11-01T10:00:05\rZ",
    ]
    for token in rfc_tokens:
        for pri in ("<1>", "<13>", "<134>", "<1345>", "<>"):
            lines.append(
                f'{pri}1 {token} fw - - - id=firewall sn=C0EA time="2026-11-01'
                f' 10:00:03" m=98 n=8'.encode("latin-1")
            )
    lines += [
        b"",
        b"\r",
        b"\r\r",
        b" ",
        b"\x00",
        b"sn=X",
        b"sn=",
        b"sn=-",
        b" sn=",
        b"a sn= sn=Q1 m=",
        b"x sn=\xffAB m=537",
        b"x m=1234567890123 n=12345678901234567890123 sn=A",
        b"x m= 5 n=-3 sn=A",
        b"x m=0009 n=000000000000000000001",
        b"x m=98\x00 n=1\x00\x00",
        b'x sn=A m=98 time="2026-11-01 10:00:00"\x00\x00',
        b"junk\x00",
        b"\x00\x01\x02 m=5",
        b'x time="\xed\xa0\x80 2026-11-01 10:00:00" sn=A m=98',
        b'x time="\xe2\x82 UTC" sn=A m=98',
        b'x time="2026-11-01 10:00:0\xff UTC" sn=A m=98',
        b'x time="\xff\xfe\xfd\xfc2026-11-01 UTC" sn=A',
        b'x time="2026-11-01 10:00:00' + b" UTC",
        base.replace(b" n=", b"n="),
        base.replace(b"sn=", b"sn=\xc3\xa9"),
        base + b"\r",
        base + b"\r\r",
        base + b"\x00",
        base[:40],
        base[:80],
        b"x" * 65536 + b' sn=A m=98 time="2026-11-01 10:00:00"',
        base + b" " + b"\xff" * 65536,
        b"%ASA-6-302013: Built",
        b"CEF:0|SonicWall|x",
        b"<134>1 2026-11-01T10:00:05Z x " + base,
        b"<134>1 ",
        b"<134>1 2026-11-01T",
        # sn= right after <PRI> (Python's SysLogHandler), and near misses
        b"<134>sn=AB1 m=98 n=1",
        b"<1>sn=AB1",
        b"<13>sn=",
        b"<134>sn=-x sn=AB2",
        b"<1345>sn=AB1 sn=AB2",
        b"<>sn=AB1",
        b"<13a>sn=AB1",
        b"<134> sn=AB1",
        b"<134>sn",
        b"<134>sn=\xffAB sn=AB2",
        b"<\xe2\x82>sn=AB1",
    ]
    for _ in range(300):  # random bytes, NULs and invalid UTF-8 included
        lines.append(bytes(rng.randrange(256) for _ in range(rng.randrange(1, 200))))
    return lines


def _mutate(rng: random.Random, line: bytes) -> bytes:
    alphabet = b" \"'=:-0123456789TZUC\x00\r\t\x0b\xff\xc3\xa9\x80\xe2\xedsnmtime<>1.+"
    data = bytearray(line)
    for _ in range(rng.randrange(1, 6)):
        at = rng.randrange(len(data) + 1)
        op = rng.randrange(3)
        byte = rng.choice(alphabet) if rng.random() < 0.8 else rng.randrange(256)
        if op == 0 and at < len(data):
            data[at] = byte
        elif op == 1:
            data.insert(at, byte)
        elif data and at < len(data):
            del data[at]
    return bytes(data).replace(b"\n", b" ")


def _chunk(lines: list[bytes], ending: bytes = b"\n") -> bytes:
    return b"".join(line.replace(b"\n", b" ") + ending for line in lines)


def assert_same(chunk: bytes, monkeypatch: pytest.MonkeyPatch) -> None:
    assert differences(chunk, monkeypatch) == []


@pytest.mark.parametrize("ending", [b"\n", b"\r\n"])
def test_real_lines(monkeypatch: pytest.MonkeyPatch, ending: bytes) -> None:
    assert_same(_chunk([line.encode() for line in real_lines()], ending), monkeypatch)


def test_nasty_input(monkeypatch: pytest.MonkeyPatch) -> None:
    lines = nasty_lines(random.Random(7))
    assert_same(_chunk(lines), monkeypatch)
    assert_same(_chunk(lines, b"\r\n"), monkeypatch)
    assert_same(_chunk(lines)[:-1] + b"x", monkeypatch)  # last line without a newline


@pytest.mark.parametrize("chunk", [b"", b"\n", b"\r\n\n", b"x", b"\r", b"\rx", b"sn=A\n\n\r"])
def test_edge_chunks(monkeypatch: pytest.MonkeyPatch, chunk: bytes) -> None:
    assert_same(chunk, monkeypatch)


def test_simulator_output(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    simulate(seed=11, pairs=6, days=2, out=tmp_path)
    for log in sorted((tmp_path / "syslog").iterdir()):
        assert_same(log.read_bytes(), monkeypatch)
    assert_same(_chunk([line.encode() for line in bench_lines(3, 20_000, 50, 3600)]), monkeypatch)


def test_mutated_lines(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = random.Random(20260101)
    seeds = [line.encode() for line in real_lines()]
    seeds += [line.encode() for line in bench_lines(5, 200, 20, 3600)]
    mutated = [_mutate(rng, rng.choice(seeds)) for _ in range(20_000)]
    assert_same(_chunk(mutated), monkeypatch)


@pytest.mark.parametrize("scanner", ["C", "SQL"])
def test_record_batches_and_line_numbers(scanner: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Both paths hand DuckDB the same record batches (it scans one per thread)."""
    if scanner == "SQL":
        monkeypatch.setenv(fastscan.DISABLE_ENV, "1")
    assert fastscan.available() == (scanner == "C")
    chunk = _chunk([b"x m=1"] * (SCAN_ROWS + 5) + [b""] + [b"y"])
    table, lines = _to_table(memoryview(chunk), 41)
    assert lines == SCAN_ROWS + 7
    assert [len(b) for b in table.to_batches()] == [SCAN_ROWS, 6]
    assert table.column("pos")[-1].as_py() == 41 + SCAN_ROWS + 6


def test_switched_off_by_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    assert fastscan.available()
    monkeypatch.setenv(fastscan.DISABLE_ENV, "1")
    assert not fastscan.available()
    table, _ = _to_table(memoryview(b"sn=A m=1\n"), 1)
    assert table.column_names == ["pos", "line"]


TABLES = {
    "ha_events": "SELECT * EXCLUDE (source_id) FROM ha_events ORDER BY ALL",
    "message_counts": "SELECT * EXCLUDE (source_id) FROM message_counts ORDER BY ALL",
    "quarantine": "SELECT * EXCLUDE (source_id, ingested_at) FROM quarantine ORDER BY ALL",
    "sequence_gaps": "SELECT * EXCLUDE (source_id) FROM sequence_gaps ORDER BY ALL",
}


def _ingest(folder: Path, db: Path, inventory: Path | None) -> dict[str, list[tuple]]:
    with Store(db) as store:
        if inventory:
            load_inventory(store, inventory)
        # small batches: many chunk boundaries, each line numbered across them
        report = ingest_paths(store, [str(folder)], batch_bytes=64 * 1024)
        assert not report.failed
        return {name: store.cursor().execute(sql).fetchall() for name, sql in TABLES.items()}


@pytest.mark.parametrize("corpus", ["fleet", "nasty"])
def test_ingest_is_the_same_without_the_extension(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, corpus: str
) -> None:
    inventory = None
    if corpus == "fleet":
        simulate(seed=3, pairs=10, days=2, out=tmp_path / "sim")
        folder, inventory = tmp_path / "sim" / "syslog", tmp_path / "sim" / "inventory.csv"
    else:
        folder = tmp_path / "nasty"
        folder.mkdir()
        rng = random.Random(3)
        lines = nasty_lines(rng) + [_mutate(rng, line.encode()) for line in real_lines() * 50]
        (folder / "nasty.log").write_bytes(_chunk(lines + [line.encode() for line in real_lines()]))
    fast = _ingest(folder, tmp_path / "fast.duckdb", inventory)
    monkeypatch.setenv(fastscan.DISABLE_ENV, "1")
    slow = _ingest(folder, tmp_path / "slow.duckdb", inventory)
    assert fast["quarantine"] if corpus == "nasty" else fast["ha_events"]
    for name in TABLES:
        assert fast[name] == slow[name], name
