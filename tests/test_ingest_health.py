"""Ingest health (analytics/ingest_health.py) on a real store: files are listed one by one,
the listeners' one-second spool files are summed per origin and hour (a day of them would
otherwise be 170,000 rows), the list is capped with its total, and the last hour's rate is
per origin. Spool files are ingested as `hawatch serve` ingests them: named like its
listeners' files, with an identity and a receive time."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from hawatch.analytics.ingest_health import ingest_health
from hawatch.collector.ingest import ingest_one, ingest_paths
from hawatch.collector.inputs import Input

# SonicOS "Connection Closed" (m=537) as in FORMATS.md §1.5 / the elastic sonicwall fixture:
# counted per unit and minute, no HA event
LINE = (
    '<134>id=firewall sn=C0EFE33057B0 time="2026-11-25 10:00:{s:02d} UTC" fw=10.0.0.1'
    ' pri=6 c=1024 m=537 msg="Connection Closed" n={n}\n'
)


def spool_file(folder: Path, origin: str, stamp: str, lines: int, start: int) -> Path:
    path = folder / f"{origin}-{stamp}.0.log"
    path.write_text("".join(LINE.format(s=i % 60, n=start + i) for i in range(lines)))
    return path


def test_spool_files_are_summed_per_origin_and_hour(store, tmp_path):
    files = [
        ("tcp", "20261125T100001", 3),
        ("tcp", "20261125T100002", 4),
        ("udp", "20261125T100001", 5),
        ("tcp", "20261125T110005", 6),
    ]
    n = 0
    for origin, stamp, lines in files:
        path = spool_file(tmp_path, origin, stamp, lines, n)
        n += lines
        report = ingest_one(
            store,
            Input(str(path)),
            received_at=datetime(2026, 11, 25, 10, tzinfo=UTC),
            identity=f"{origin}:{path.name}",
        )
        assert report.error is None
    plain = tmp_path / "export.log"
    plain.write_text(LINE.format(s=1, n=999))
    ingest_paths(store, [str(plain)])

    health = ingest_health(store.cursor())
    rows = {(r["origin"], r["files"], r["lines"]) for r in health["sources"]}
    # all four spool files were ingested within this hour: tcp summed, udp alone, the file
    # from elsewhere on its own row
    assert rows == {("tcp", 3, 13), ("udp", 1, 5), ("file", 1, 1)}
    assert health["sources_total"] == 3
    names = [r["name"] for r in health["sources"]]
    assert any(name.startswith("tcp files, ") and name.endswith(":00 UTC") for name in names)
    assert str(plain) in names
    by_origin = {r["origin"]: r for r in health["by_origin"]}
    assert by_origin["tcp"]["sources"] == 3 and by_origin["tcp"]["lines_last_hour"] == 13
    assert by_origin["tcp"]["lines_per_second"] == round(13 / 3600, 2)
    assert by_origin["udp"]["lines"] == 5


def test_the_source_list_is_capped_with_its_total(store, tmp_path):
    for i in range(5):
        path = tmp_path / f"f{i}.log"
        path.write_text(LINE.format(s=i, n=100 + i))
        ingest_paths(store, [str(path)])
    health = ingest_health(store.cursor(), sources_limit=2)
    assert len(health["sources"]) == 2 and health["sources_total"] == 5
    # newest first
    assert [r["name"] for r in health["sources"]] == [
        str(tmp_path / "f4.log"),
        str(tmp_path / "f3.log"),
    ]


def test_quarantined_lines_past_the_cap_are_counted_and_said(store, tmp_path):
    """The quarantine keeps a sample of a file that is not a log; the page says how many
    more lines were quarantined without their text being stored."""
    path = tmp_path / "notes.txt"
    path.write_text("".join(f"a note, not a log line {n}\n" for n in range(500)))
    report = ingest_one(store, Input(str(path)))
    assert report.result.quarantined == 500 and report.result.quarantine_stored == 20
    health = ingest_health(store.cursor())
    assert health["quarantine_unstored"] == 480
    assert health["by_origin"][0]["quarantined"] == 500
    assert health["quarantine_reasons"][0]["lines"] == 20
