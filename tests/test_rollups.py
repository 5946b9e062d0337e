"""The ingest-time rollups (store/rollups.py): `load_days`, `failover_samples` and
`pairs.connections_now` must always equal a rebuild from the raw rows, however the data
arrives (late, duplicated, split over files, before the units were paired), and encode what a
pair's load really was (units polled minutes apart; a unit that stops reporting).

Samples come in the export CSV shape of docs/formats.md (`time,serial,connections,vpn_sas`);
the serials are the FORMATS.md §1.5 unit and its made-up peer, as in tests/test_exports.py.
"""

from __future__ import annotations

import random
import shutil
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from hawatch.analytics.analyze import analyze
from hawatch.collector.ingest import ingest_paths
from hawatch.store import Store
from hawatch.store.rollups import refresh_rollups

from tests.conftest import as_before_migration, rows, scalar

P, S = "C0EFE33057B0", "C0EFE33057B1"
INVENTORY = f"pair,site,primary_serial,secondary_serial,timezone\nber-1,BER,{P},{S},UTC\n"
T0 = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)
ROLLUPS = (
    "SELECT pair, day_start, min_conn, max_conn, min_ratio, max_ref, buckets"
    " FROM load_days ORDER BY ALL",
    "SELECT * FROM failover_samples ORDER BY ALL",
    "SELECT pair, connections_now, connections_at FROM pairs ORDER BY ALL",
)

Sample = tuple[datetime, str, int]


def write_csv(path: Path, samples: Iterable[Sample]) -> Path:
    with open(path, "w") as out:
        out.write("time,serial,connections,vpn_sas\n")
        for at, serial, conn in samples:
            out.write(f"{at:%Y-%m-%dT%H:%M:%SZ},{serial},{conn},{conn // 100}\n")
    return path


def write_inventory(folder: Path) -> Path:
    path = folder / "inventory.csv"
    path.write_text(INVENTORY)
    return path


def steady(hours: int, offset_minutes: int) -> list[Sample]:
    """Active primary at ~10,000 every 15 min; the standby polled `offset_minutes` later."""
    out: list[Sample] = []
    for q in range(hours * 4):
        at = T0 + timedelta(minutes=15 * q)
        out.append((at, P, 10_000 + 10 * (q % 7)))
        out.append((at + timedelta(minutes=offset_minutes), S, 0))
    return out


def failover_log(path: Path, at: datetime) -> Path:
    """The secondary taking over (SonicOS enhanced syslog, m=147: FORMATS.md §2.1 wording)."""
    path.write_text(
        f'<129>id=firewall sn={S} time="{at:%Y-%m-%d %H:%M:%S} UTC" fw=10.0.0.1'
        ' pri=1 c=0 m=147 msg="Backup missed heartbeats from Active Primary:'
        ' Backup going Active" n=1\n'
    )
    return path


def rebuilt(store: Store) -> list[list[tuple]]:
    """What the rollups would be if rebuilt from scratch from the stored raw rows."""
    with store.transaction() as cur:
        cur.execute(
            "DELETE FROM load_days; DELETE FROM failover_samples;"
            " UPDATE pairs SET connections_now = NULL, connections_at = NULL;"
            " INSERT INTO rollup_dirty SELECT pair, min(time), max(time)"
            " FROM session_samples WHERE pair IS NOT NULL GROUP BY pair"
        )
        assert refresh_rollups(cur)
    return [rows(store, q) for q in ROLLUPS]


def test_units_polled_minutes_apart_add_up_in_every_bucket(store, tmp_path):
    ingest_paths(
        store,
        [
            str(write_inventory(tmp_path)),
            str(write_csv(tmp_path / "s.csv", steady(6, offset_minutes=7))),
        ],
    )
    buckets = rows(
        store, "SELECT b.t, b.conn FROM (SELECT unnest(buckets) AS b FROM load_days) ORDER BY 1"
    )
    # the standby's buckets (at :05, :20, ...) still carry the primary's load; the very last
    # one has no primary sample after it yet, so it cannot tell
    assert len(buckets) == 6 * 4 * 2
    assert min(conn for _, conn in buckets[:-1]) >= 10_000
    assert buckets[-1][1] == 0
    # connections now: each unit's newest sample
    assert rows(store, "SELECT connections_now FROM pairs") == [(10_000 + 10 * (23 % 7),)]
    analyze(store, full=True)
    assert scalar(store, "SELECT count(*) FROM incidents WHERE kind = 'session_drop'") == 0


def test_a_unit_that_stops_reporting_stops_counting(store, tmp_path):
    samples = [
        s
        for s in steady(6, offset_minutes=0)
        if not (s[1] == P and s[0] >= T0 + timedelta(hours=3))
    ]
    ingest_paths(
        store, [str(write_inventory(tmp_path)), str(write_csv(tmp_path / "s.csv", samples))]
    )
    after = rows(
        store,
        "SELECT b.conn FROM (SELECT unnest(buckets) AS b FROM load_days) WHERE b.t >= ?",
        [T0 + timedelta(hours=3)],
    )
    assert after and all(conn == 0 for (conn,) in after)
    analyze(store, full=True)
    drops = rows(store, "SELECT opened_at FROM incidents WHERE kind = 'session_drop'")
    assert [opened for (opened,) in drops] == [T0 + timedelta(hours=3)]


def test_rollups_equal_a_rebuild_however_the_data_arrives(tmp_path):
    samples = steady(30, offset_minutes=3)
    change = T0 + timedelta(hours=12, minutes=4)
    # after the failover the secondary carries a tenth of the load
    samples = [
        (
            at,
            serial,
            (conn // 10 if serial == P else 0) if at < change else (0 if serial == P else 1_000),
        )
        for at, serial, conn in samples
    ]
    one = tmp_path / "one"
    one.mkdir()
    log = failover_log(tmp_path / "failover.log", change)
    with Store(one / "h.duckdb") as store:
        ingest_paths(
            store,
            [str(write_inventory(tmp_path)), str(write_csv(one / "all.csv", samples)), str(log)],
        )
        whole = [rows(store, q) for q in ROLLUPS]
        assert whole == rebuilt(store)
    assert whole[0] and whole[1] and whole[2][0][1] == 1_000

    # the same rows in shuffled pieces, the log in the middle, duplicates, samples before
    # the inventory pairs their units
    pieces = tmp_path / "pieces"
    pieces.mkdir()
    shuffled = samples[:]
    random.Random(5).shuffle(shuffled)
    chunks = [shuffled[i::5] for i in range(5)]
    with Store(pieces / "h.duckdb") as store:
        ingest_paths(store, [str(write_csv(pieces / "early.csv", chunks[0]))])
        ingest_paths(store, [str(write_inventory(tmp_path))])
        for i, chunk in enumerate(chunks[1:], 1):
            ingest_paths(store, [str(write_csv(pieces / f"c{i}.csv", chunk + chunks[0][:9]))])
            if i == 2:
                ingest_paths(store, [str(log)])
        assert [rows(store, q) for q in ROLLUPS] == whole


def test_migration_builds_rollups_for_a_database_made_before_them(tmp_path):
    samples = steady(8, offset_minutes=0)
    db = tmp_path / "h.duckdb"
    with Store(db) as store:
        ingest_paths(
            store,
            [
                str(write_inventory(tmp_path)),
                str(write_csv(tmp_path / "s.csv", samples)),
                str(failover_log(tmp_path / "f.log", T0 + timedelta(hours=4))),
            ],
        )
        before = [rows(store, q) for q in ROLLUPS]
        as_before_migration(store, 5)  # a database from before the rollups
    old = tmp_path / "old.duckdb"
    shutil.copy(db, old)
    with Store(old) as store:
        assert store.schema_version() >= 5
        assert [rows(store, q) for q in ROLLUPS] == before
    assert before[0] and before[1]
