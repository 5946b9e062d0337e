"""The analytics against ground truth, on real DuckDB files.

Simulated fleets (simulator/, whose truth.json lists every injected incident) are ingested and
analysed, one of them end to end through the `hawatch` CLI; detected incidents must match the
truth. Then what a real fleet does to a pipeline: passes repeated, data arriving in pieces, out
of order, twice, with skewed clocks, with gaps, from units in no inventory, and later data
contradicting an earlier finding. Those datasets are built by hand: SonicOS HA lines in the
documented texts and the real line shape (tests/test_parse_sonicos.py `ha_line`), export
records as docs/formats.md describes them.
"""

from __future__ import annotations

import csv
import json
import re
import shutil
import subprocess
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hawatch.analytics.analyze import analyze
from hawatch.collector.ingest import ingest_lines, ingest_paths
from hawatch.collector.inventory import load_inventory
from hawatch.simulator.run import simulate
from hawatch.simulator.scenarios import INCIDENT_KINDS, SCENARIOS
from hawatch.store import Store

from tests.conftest import as_before_migration

SEEDS = (7, 11, 23, 42)
CLI_SEED = 7  # this fleet goes through `hawatch ingest` and `hawatch analyze --format json`
PAIRS, DAYS = 8, 3
SLACK = timedelta(minutes=10)  # a detection may be this far outside the injected interval
QUIET = ("healthy", "stateful_failover")  # scenarios after which no incident may exist


# -- helpers ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Found:
    """One incident as the store or the CLI reports it."""

    incident_id: int
    pair: str
    kind: str
    status: str
    severity: str
    opened_at: datetime
    resolved_at: datetime | None
    summary: str
    evidence: dict[str, Any]


def _utc(value: str | datetime | None) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _evidence(value: Any) -> dict[str, Any]:
    return json.loads(value) if isinstance(value, str) else dict(value)


def stored(store: Store, withdrawn: bool = False) -> list[Found]:
    """Incidents in the store (without withdrawn ones unless asked), oldest first."""
    sql = (
        "SELECT incident_id, pair, kind, status, severity, opened_at, resolved_at, summary,"
        " evidence FROM incidents"
        + ("" if withdrawn else " WHERE status <> 'withdrawn'")
        + " ORDER BY opened_at, pair, kind"
    )
    return [
        Found(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], _evidence(r[8]))
        for r in store.cursor().execute(sql).fetchall()
    ]


def snapshot(store: Store) -> list[tuple[Any, ...]]:
    """Every stored incident, every column: what must not change when nothing is new."""
    return (
        store.cursor()
        .execute(
            "SELECT incident_id, pair, kind, incident_key, severity, opened_at, resolved_at,"
            " status, summary, CAST(evidence AS VARCHAR), first_detected, last_updated"
            " FROM incidents ORDER BY incident_id"
        )
        .fetchall()
    )


def outcome(incidents: list[Found]) -> set[tuple[Any, ...]]:
    """What two analyses of the same data must agree on."""
    return {
        (i.pair, i.kind, i.opened_at, i.resolved_at, i.status)
        for i in incidents
        if i.status != "withdrawn"
    }


def last_run(store: Store) -> tuple[Any, ...]:
    return (
        store.cursor()
        .execute(
            "SELECT mode, pairs, opened, updated, resolved, withdrawn FROM analysis_runs"
            " ORDER BY run_at DESC LIMIT 1"
        )
        .fetchone()
    )


def hawatch(*args: str) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(["hawatch", *args], capture_output=True, text=True, timeout=120)
    assert "Traceback" not in result.stderr, result.stderr
    assert result.returncode == 0, result.stderr
    return result


def cli_incidents(db: Path, *extra: str) -> list[Found]:
    out = hawatch("analyze", "--db", str(db), "--format", "json", *extra).stdout
    return [
        Found(
            int(r["id"]),
            r["pair"],
            r["kind"],
            r["status"],
            r["severity"],
            _utc(r["opened_at"]),
            _utc(r["resolved_at"]),
            r["summary"],
            _evidence(r["evidence"]),
        )
        for r in json.loads(out)
    ]


def matching(found: list[Found], truth: dict[str, Any]) -> list[Found]:
    """Detections of one injected incident: same pair and kind, and [opened_at, resolved_at
    or opened_at] overlapping the truth's [start, end] widened by SLACK on each side."""
    start, end = _utc(truth["start"]) - SLACK, _utc(truth["end"]) + SLACK
    return [
        f
        for f in found
        if f.pair == truth["pair"]
        and f.kind == truth["kind"]
        and f.opened_at <= end
        and (f.resolved_at or f.opened_at) >= start
    ]


# -- simulated fleets -------------------------------------------------------------------------


@dataclass
class Fleet:
    seed: int
    out: Path
    db: Path
    truth: dict[str, Any]
    found: list[Found]  # after the first analysis (the CLI's JSON for CLI_SEED)


@pytest.fixture(scope="session")
def fleets(tmp_path_factory: pytest.TempPathFactory) -> dict[int, Fleet]:
    made = {}
    for seed in SEEDS:
        base = tmp_path_factory.mktemp(f"fleet{seed}")
        out, db = base / "sim", base / "hawatch.duckdb"
        simulate(seed, PAIRS, DAYS, out)
        truth = json.loads((out / "truth.json").read_text())
        if seed == CLI_SEED:
            hawatch("ingest", "--db", str(db), str(out))
            found = cli_incidents(db)
        else:
            with Store(db) as store:
                report = ingest_paths(store, [str(out)])
                assert not report.failed
                analyze(store)
                found = stored(store)
        made[seed] = Fleet(seed, out, db, truth, found)
    return made


def test_every_scenario_is_simulated(fleets):
    for fleet in fleets.values():
        assert sorted(fleet.truth["scenarios"].values()) == sorted(SCENARIOS)
        assert {i["kind"] for i in fleet.truth["incidents"]} == set(INCIDENT_KINDS)


@pytest.mark.parametrize("seed", SEEDS)
def test_every_injected_incident_is_found(fleets, seed):
    fleet = fleets[seed]
    missed = [t for t in fleet.truth["incidents"] if not matching(fleet.found, t)]
    assert missed == []
    for truth in fleet.truth["incidents"]:
        found, detail = matching(fleet.found, truth), truth["detail"]
        if truth["kind"] == "failover_test":
            assert {f.evidence["survived"] for f in found} == {detail["survived"]}
        if truth["kind"] == "unsynced_failover":
            assert {(f.evidence["from_serial"], f.evidence["to_serial"]) for f in found} == {
                (detail["from"], detail["to"])
            }
        if truth["kind"] == "config_mismatch":
            assert {
                (
                    f.evidence["field"],
                    f.evidence["primary_firmware"],
                    f.evidence["secondary_firmware"],
                )
                for f in found
            } == {(detail["field"], detail["primary"], detail["secondary"])}


@pytest.mark.parametrize("seed", SEEDS)
def test_no_incident_on_quiet_pairs(fleets, seed):
    fleet = fleets[seed]
    quiet = {pair for pair, scenario in fleet.truth["scenarios"].items() if scenario in QUIET}
    assert len(quiet) == 2
    assert [f for f in fleet.found if f.pair in quiet] == []
    with Store(fleet.db) as store:
        health = (
            store.cursor()
            .execute("SELECT pair, health, score FROM pair_health ORDER BY pair")
            .fetchall()
        )
    assert {(p, h, s) for p, h, s in health if p in quiet} == {(p, "ok", 100) for p in quiet}


def test_cli_json_is_the_store(fleets):
    """`hawatch analyze --format json` shows exactly the stored, non-withdrawn incidents."""
    fleet = fleets[CLI_SEED]
    with Store(fleet.db) as store:
        assert sorted(fleet.found, key=lambda f: f.incident_id) == sorted(
            stored(store), key=lambda f: f.incident_id
        )
    assert len({f.incident_id for f in fleet.found}) == len(fleet.found) > 0


def test_no_false_unsynced_failover_on_flapping_pairs(fleets):
    """Flapping pairs keep stateful sync on (simulator/_flapping): their failovers lose
    nothing, so no unsynced_failover incident and no unsynced transition in the flap."""
    wrong = []
    for fleet in fleets.values():
        flapping = {p for p, s in fleet.truth["scenarios"].items() if s == "flapping"}
        wrong += [
            (fleet.seed, f.pair, f.opened_at.isoformat(), f.summary)
            for f in fleet.found
            if f.pair in flapping
            and (f.kind == "unsynced_failover" or f.evidence.get("unsynced_transitions"))
        ]
    assert wrong == []


def test_role_changes_match_the_injected_ones(fleets):
    """Every simulated failover, failback and flap is one role change, counted alike by the
    table `role_changes`, the pair summary (fleet page, `hawatch analyze`) and the
    incidents: a stateful failover is 1 (its three lines once), a failover test 2 (the
    switch and the switch back; the status poll of that second already shows the new active
    unit), a flap 2 per cycle."""
    from hawatch.analytics.pair_summary import pair_summary

    expected = {"stateful_failover": 1, "unsynced_failover": 1, "failover_test": 2}
    wrong = []
    for fleet in fleets.values():
        with Store(fleet.db) as store:
            cur = store.cursor()
            columns, rows = pair_summary(cur)
            summary = {r[0]: dict(zip(columns, r, strict=True)) for r in rows}
            table = dict(
                cur.execute("SELECT pair, count(*) FROM role_changes GROUP BY pair").fetchall()
            )
        for pair, scenario in fleet.truth["scenarios"].items():
            counted = summary[pair]["failovers"] + summary[pair]["failbacks"]
            want = expected.get(scenario, table.get(pair, 0))
            if not summary[pair]["role_changes"] == counted == table.get(pair, 0) == want:
                wrong.append(
                    (
                        fleet.seed,
                        pair,
                        scenario,
                        summary[pair]["role_changes"],
                        counted,
                        table.get(pair, 0),
                        want,
                    )
                )
        for truth in fleet.truth["incidents"]:
            found = matching(fleet.found, truth)
            if truth["kind"] == "flapping":
                got = [f.evidence["transitions"] for f in found]
                if got != [truth["detail"]["transitions"]]:
                    wrong.append((fleet.seed, truth["pair"], "flapping", got))
            if truth["kind"] == "failover_test":
                got = [f.evidence["role_changes"] for f in found]
                if got != [2]:
                    wrong.append((fleet.seed, truth["pair"], "failover_test", got))
    assert wrong == []


# -- idempotency and stable ids ---------------------------------------------------------------


def test_repeated_passes_and_reingest_change_nothing(fleets, tmp_path):
    fleet = fleets[11]
    db = tmp_path / "copy.duckdb"
    shutil.copy(fleet.db, db)
    with Store(db) as store:
        first = snapshot(store)
        assert len(first) == len(fleet.found) > 0
        again = analyze(store)
        assert (again.mode, again.pairs) == ("incremental", 0)
        full = analyze(store, full=True)
        assert (full.mode, full.pairs) == ("full", PAIRS)
        assert vars(full.reconciled) == {"opened": 0, "updated": 0, "resolved": 0, "withdrawn": 0}
        assert snapshot(store) == first
        report = ingest_paths(store, [str(fleet.out)])
        assert report.total.events_new == report.total.samples == 0
        analyze(store)
        assert snapshot(store) == first


def test_cli_full_pass_keeps_every_incident_id(fleets, tmp_path):
    fleet = fleets[CLI_SEED]
    db = tmp_path / "copy.duckdb"
    shutil.copy(fleet.db, db)
    for extra in ((), ("--full",)):
        again = cli_incidents(db, *extra)
        assert again == fleet.found  # same ids, same times, same evidence: no duplicates
    hawatch("ingest", "--db", str(db), str(fleet.out))
    assert cli_incidents(db) == fleet.found


# -- incremental passes -----------------------------------------------------------------------

_TIME = re.compile(r'\btime="([^"]+)"')
_SN = re.compile(r"\bsn=([0-9A-Z]+)")


def _line_time(line: str, zone: ZoneInfo) -> datetime:
    stamp = _TIME.search(line).group(1)
    if stamp.endswith(" UTC"):
        return datetime.strptime(stamp[:-4], "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)
    return datetime.strptime(stamp, "%Y-%m-%d %H:%M:%S").replace(tzinfo=zone)


def split_fleet(
    out: Path, cutoff: datetime, later_pairs: set[str], first: Path, rest: Path
) -> None:
    """`first`: the inventory and everything before `cutoff`; `rest`: everything from
    `cutoff` on, of `later_pairs` only (the other pairs send nothing more)."""
    with open(out / "inventory.csv", newline="") as handle:
        inventory = list(csv.DictReader(handle))
    pair_of = {
        row[key]: row["pair"] for row in inventory for key in ("primary_serial", "secondary_serial")
    }
    zones = {row["site"]: ZoneInfo(row["timezone"]) for row in inventory}
    for folder in (first / "syslog", first / "exports", rest / "syslog", rest / "exports"):
        folder.mkdir(parents=True)
    shutil.copy(out / "inventory.csv", first / "inventory.csv")

    def keep(when: datetime, pair: str | None) -> Path | None:
        return first if when < cutoff else rest if pair in later_pairs else None

    for log in sorted((out / "syslog").glob("*.log")):
        parts: dict[Path, list[str]] = {first: [], rest: []}
        for line in log.read_text().splitlines():
            target = keep(_line_time(line, zones[log.stem]), pair_of[_SN.search(line).group(1)])
            if target:
                parts[target].append(line)
        for target, lines in parts.items():
            (target / "syslog" / log.name).write_text("".join(f"{x}\n" for x in lines))

    with open(out / "exports" / "sessions.csv", newline="") as handle:
        reader = csv.DictReader(handle)
        header, samples = reader.fieldnames, list(reader)
    for target in (first, rest):
        with open(target / "exports" / "sessions.csv", "w", newline="") as handle:
            writer = csv.DictWriter(handle, header)
            writer.writeheader()
            writer.writerows(r for r in samples if keep(_utc(r["time"]), r["pair"]) == target)
    events = [json.loads(x) for x in (out / "exports" / "events.ndjson").read_text().splitlines()]
    status = json.loads((out / "exports" / "status.json").read_text())
    windows = json.loads((out / "windows.json").read_text())
    for target in (first, rest):
        (target / "exports" / "events.ndjson").write_text(
            "".join(
                json.dumps(e) + "\n" for e in events if keep(_utc(e["time"]), e["pair"]) == target
            )
        )
        (target / "exports" / "status.json").write_text(
            json.dumps([s for s in status if keep(_utc(s["time"]), s["pair"]) == target])
        )
        (target / "windows.json").write_text(
            json.dumps([w for w in windows if keep(_utc(w["start"]), w["pair"]) == target])
        )


# seeds whose incidents straddle or follow the end of day 2: a config mismatch open across it
# (2), a flap starting 23 minutes after it (6), an unsynced failover 40 minutes after it (19)
INCREMENTAL_SEEDS = (2, 6, 19)


@pytest.mark.parametrize("seed", INCREMENTAL_SEEDS)
def test_incremental_pass_equals_one_full_pass(tmp_path, seed):
    out, first, rest = tmp_path / "sim", tmp_path / "first", tmp_path / "rest"
    simulate(seed, PAIRS, DAYS, out)
    truth = json.loads((out / "truth.json").read_text())
    cutoff = _utc(truth["start"]) + timedelta(days=2)
    later = {t["pair"] for t in truth["incidents"] if _utc(t["end"]) >= cutoff - timedelta(hours=6)}
    later.add(next(p for p, s in sorted(truth["scenarios"].items()) if s == "healthy"))
    assert 1 < len(later) < PAIRS
    split_fleet(out, cutoff, later, first, rest)

    with Store(tmp_path / "incremental.duckdb") as store:
        assert not ingest_paths(store, [str(first)]).failed
        analyze(store)
        early = stored(store)
        assert not ingest_paths(store, [str(rest)]).failed
        report = analyze(store)
        assert (report.mode, report.pairs) == ("incremental", len(later))
        assert last_run(store)[:2] == ("incremental", len(later))
        incremental = stored(store, withdrawn=True)
    with Store(tmp_path / "full.duckdb") as store:
        assert not ingest_paths(store, [str(first), str(rest)]).failed
        analyze(store)
        full = stored(store)

    assert outcome(incremental) == outcome(full)
    # the second part brought incidents (opened or closed after the cutoff) ...
    assert any((f.resolved_at or f.opened_at) >= cutoff for f in full if f.pair in later)
    # ... and every incident of the first pass is still there under its id
    now = {f.incident_id: f for f in incremental}
    assert [(e.pair, e.kind, now[e.incident_id].status != "withdrawn") for e in early] == [
        (e.pair, e.kind, True) for e in early
    ]


# -- hand-built datasets ----------------------------------------------------------------------

T0 = datetime(2026, 10, 5, 8, 0, tzinfo=UTC)  # in the past: the detectors judge up to now
FAILOVER = T0 + timedelta(hours=2, minutes=2, seconds=30)  # between two 5-minute samples
STEP = timedelta(minutes=5)
LAB, PRIMARY, SECONDARY = "lab-ha01", "C0EAE4A10001", "C0EAE4A10002"
LEVEL = 12_000  # connections the pair carries
TEXT = {  # documented SonicOS HA texts (docs/formats.md, B-pipeline)
    142: "Primary firewall has transitioned to Active",
    143: "Backup firewall has transitioned to Active",
    144: "Primary firewall has transitioned to Idle",
    145: "Backup firewall has transitioned to Idle",
    147: "Backup missed heartbeats from Active Primary: Backup going Active",
    149: "Backup received error signal from Active Primary: Backup going Active",
    150: "Backup firewall being preempted by Primary",
    151: "Primary firewall preempting Backup",
    152: "Active Backup detects Active Primary: Backup rebooting",
}
_counter = iter(range(1000, 10**9))


def ha_line(m: int, sn: str, at: datetime) -> str:
    """A documented HA text in the real E-drizz relay-header line shape (as in
    tests/test_parse_sonicos.py), the unit's clock in time=."""
    return (
        f"{at:%b} {at.day:2d} {at:%H:%M:%S} 172.16.2.1 id=firewall sn={sn}"
        f' time="{at:%Y-%m-%d %H:%M:%S}" fw=172.16.0.2 pri=1 c=0 m={m} msg="{TEXT[m]}"'
        f" n={next(_counter)}"
    )


def traffic_line(sn: str, at: datetime) -> str:
    """The real E-aws Connection Closed line (test-sonicos70-aws.log), time and counter varied."""
    return (
        f'<134>  id=firewall sn={sn} time="{at:%Y-%m-%d %H:%M:%S} UTC" fw=10.0.0.96 pri=6'
        f' c=1024 m=537 msg="Connection Closed" app=12 sess="Web" n={next(_counter)}'
        ' usr="admin" src=81.2.69.193:65055:X1 dst=10.0.0.96:443:X1 proto=tcp/https'
        ' sent=1930 rcvd=1545 spkt=11 rpkt=7 dpi=0 cdur=2133 rule="Default Access Rule"'
        ' fw_action="NA"'
    )


def write_inventory(path: Path, *pairs: tuple[str, str, str]) -> Path:
    rows = "".join(f"{pair},lab,{p},{s},UTC,active_standby,true\n" for pair, p, s in pairs)
    path.write_text("pair,site,primary_serial,secondary_serial,timezone,ha_mode,preempt\n" + rows)
    return path


def write_lines(path: Path, lines: list[str]) -> Path:
    path.write_text("".join(f"{line}\n" for line in lines))
    return path


def write_samples(path: Path, rows: list[tuple[datetime, str, str, int]]) -> Path:
    """Connection samples as an export CSV: time, serial, pair, connections, vpn_sas."""
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["time", "serial", "pair", "connections", "vpn_sas"])
        for at, serial, pair, connections in rows:
            writer.writerow(
                [f"{at:%Y-%m-%dT%H:%M:%SZ}", serial, pair, connections, connections // 400]
            )
    return path


def write_records(path: Path, records: list[dict[str, Any]]) -> Path:
    """Export records (events, status) as NDJSON."""
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


def status(
    at: datetime, pair: str, primary: str, secondary: str, sync: str
) -> list[dict[str, Any]]:
    return [
        {
            "time": f"{at:%Y-%m-%dT%H:%M:%SZ}",
            "serial": serial,
            "pair": pair,
            "role": role,
            "state": state,
            "stateful_sync": sync,
            "model": "NSa 4700",
            "firmware": "7.1.1-7058",
            "ha_mode": "active_standby",
        }
        for serial, role, state in (
            (primary, "primary", "active"),
            (secondary, "secondary", "standby"),
        )
    ]


def sync_off(at: datetime) -> dict[str, Any]:
    return event(
        at,
        PRIMARY,
        "primary",
        "sync_disabled",
        "Stateful synchronization disabled by administrator",
    )


def event(at: datetime, serial: str, role: str, kind: str, detail: str) -> dict[str, Any]:
    """An export event record (docs/formats.md 2)."""
    return {
        "time": f"{at:%Y-%m-%dT%H:%M:%SZ}",
        "serial": serial,
        "pair": LAB,
        "role": role,
        "event": kind,
        "detail": detail,
    }


def ramp(since_failover: timedelta) -> int:
    """A new active unit without the sessions: near zero, rebuilt over 30 minutes."""
    share = min(1.0, since_failover / timedelta(minutes=30))
    return int(LEVEL * (0.01 + 0.99 * share**2))


def samples(
    pair: str,
    primary: str,
    secondary: str,
    start: datetime,
    end: datetime,
    level: Any,
    skip: tuple[datetime, datetime] | None = None,
) -> list[tuple[datetime, str, str, int]]:
    """5-minute samples of both units; `level(t)` gives (primary, secondary) connections."""
    rows, at = [], start
    while at <= end:
        if not (skip and skip[0] <= at <= skip[1]):
            p, s = level(at)
            rows += [(at, primary, pair, p), (at, secondary, pair, s)]
        at += STEP
    return rows


def unsynced_level(at: datetime) -> tuple[int, int]:
    """The primary carries the load until FAILOVER, then the secondary starts from nothing."""
    return (LEVEL, 0) if at < FAILOVER else (0, ramp(at - FAILOVER))


def failover_lines(
    at: datetime = FAILOVER, primary: str = PRIMARY, secondary: str = SECONDARY
) -> list[str]:
    """The primary signals an error, the backup goes active, the primary goes idle."""
    return [
        ha_line(149, secondary, at),
        ha_line(143, secondary, at + timedelta(seconds=1)),
        ha_line(144, primary, at + timedelta(seconds=2)),
    ]


def unsynced_dataset(folder: Path, sync: str = "disabled") -> dict[str, Path]:
    """One pair, four hours: stateful sync off, a failover, the sessions rebuilt from zero."""
    folder.mkdir(parents=True, exist_ok=True)
    return {
        "inventory": write_inventory(folder / "inventory.csv", (LAB, PRIMARY, SECONDARY)),
        "status": write_records(
            folder / "status.ndjson", status(T0, LAB, PRIMARY, SECONDARY, sync)
        ),
        "samples": write_samples(
            folder / "sessions.csv",
            samples(LAB, PRIMARY, SECONDARY, T0, T0 + timedelta(hours=4), unsynced_level),
        ),
        "failover": write_lines(folder / "failover.log", failover_lines()),
    }


def ingest(store: Store, *paths: Path) -> None:
    report = ingest_paths(store, [str(p) for p in paths])
    assert not report.failed, [(s.name, s.error) for s in report.failed]


def of_kind(found: list[Found], kind: str) -> list[Found]:
    return [f for f in found if f.kind == kind]


def test_failover_file_ingested_after_later_samples(tmp_path):
    files = unsynced_dataset(tmp_path / "data")
    with Store(tmp_path / "late.duckdb") as store:
        ingest(store, files["inventory"], files["status"], files["samples"])
        analyze(store)
        without_failover = stored(store)
        ingest(store, files["failover"])  # the syslog relay delivers hours late
        report = analyze(store)
        assert report.mode == "incremental"
        late = stored(store, withdrawn=True)
    with Store(tmp_path / "in_order.duckdb") as store:
        ingest(store, *files.values())
        analyze(store)
        in_order = stored(store)

    assert outcome(late) == outcome(in_order)
    (unsynced,) = of_kind(late, "unsynced_failover")
    assert unsynced.opened_at == FAILOVER
    assert (unsynced.evidence["from_serial"], unsynced.evidence["to_serial"]) == (
        PRIMARY,
        SECONDARY,
    )
    assert unsynced.evidence["stateful_sync"] == "disabled"
    drops = of_kind(late, "session_drop")
    assert [d.evidence["cause"] for d in drops] == ["after_unsynced_failover"]
    # a drop already seen before the failover was known is the same incident, explained now
    assert {d.incident_id for d in of_kind(without_failover, "session_drop")} <= {
        d.incident_id for d in drops
    }


def test_same_lines_in_two_files_make_one_incident(tmp_path):
    files = unsynced_dataset(tmp_path / "data")
    lines = files["failover"].read_text().splitlines()
    # a second relay forwarded the same lines, among traffic the first one did not see
    other = write_lines(
        tmp_path / "relay2.log",
        [
            traffic_line(PRIMARY, FAILOVER - timedelta(minutes=3)),
            *lines,
            traffic_line(SECONDARY, FAILOVER + timedelta(minutes=3)),
        ],
    )
    with Store(tmp_path / "hawatch.duckdb") as store:
        ingest(store, *files.values())
        analyze(store)
        before = snapshot(store)
        ingest(store, other)
        analyze(store)
        assert store.cursor().execute("SELECT count(*) FROM ha_events").fetchone() == (3,)
        assert snapshot(store) == before
        found = stored(store)
    with Store(tmp_path / "together.duckdb") as store:
        ingest(store, *files.values(), other)
        analyze(store)
        together = stored(store)
    assert len(of_kind(found, "unsynced_failover")) == 1
    assert outcome(found) == outcome(together)


def test_clock_skew_between_units_is_one_failover(tmp_path):
    """The primary's clock runs 90 s ahead: on paper it is still active for 90 s after the
    backup took over. Still one unsynced failover, and no split brain."""
    skew = timedelta(seconds=90)
    files = unsynced_dataset(tmp_path / "data", sync="synced")
    files["sync_off"] = write_records(
        tmp_path / "data" / "events.ndjson", [sync_off(T0 + timedelta(minutes=30))]
    )
    second = timedelta(seconds=1)
    # (true time, logging unit, line as that unit's clock writes it)
    logged = [
        (T0, PRIMARY, ha_line(142, PRIMARY, T0 + skew)),
        (FAILOVER, SECONDARY, ha_line(149, SECONDARY, FAILOVER)),
        (FAILOVER + second, SECONDARY, ha_line(143, SECONDARY, FAILOVER + second)),
        (FAILOVER + second, PRIMARY, ha_line(143, PRIMARY, FAILOVER + second + skew)),
        (FAILOVER + 2 * second, PRIMARY, ha_line(144, PRIMARY, FAILOVER + 2 * second + skew)),
    ]
    with Store(tmp_path / "hawatch.duckdb") as store:
        ingest(store, files["inventory"], files["status"], files["samples"], files["sync_off"])
        ingest_lines(
            store,
            [line for _, _, line in logged],
            "listener",
            received_at=[at for at, _, _ in logged],
        )
        analyze(store)
        skews = dict(
            store.cursor()
            .execute("SELECT serial, round(avg(skew_seconds)) FROM clock_skew GROUP BY serial")
            .fetchall()
        )
        found = stored(store)
    assert skews == {PRIMARY: 90.0, SECONDARY: 0.0}
    assert of_kind(found, "split_brain") == []
    (unsynced,) = of_kind(found, "unsynced_failover")
    assert FAILOVER <= unsynced.opened_at <= FAILOVER + skew + 2 * second
    assert unsynced.evidence["to_serial"] == SECONDARY


def test_gap_in_session_samples_around_a_failover(tmp_path):
    """No samples from 30 minutes before to 30 minutes after the failover: the share kept is
    unknown, and the incident is still found from the sync state."""
    folder = tmp_path / "data"
    files = unsynced_dataset(folder)
    files["samples"] = write_samples(
        folder / "sessions.csv",
        samples(
            LAB,
            PRIMARY,
            SECONDARY,
            T0,
            T0 + timedelta(hours=4),
            unsynced_level,
            skip=(FAILOVER - timedelta(minutes=30), FAILOVER + timedelta(minutes=30)),
        ),
    )
    files["status"] = write_records(
        folder / "status.ndjson", status(T0, LAB, PRIMARY, SECONDARY, "synced")
    )
    files["sync_off"] = write_records(
        folder / "events.ndjson", [sync_off(T0 + timedelta(minutes=30))]
    )
    with Store(tmp_path / "hawatch.duckdb") as store:
        ingest(store, *files.values())
        analyze(store)
        found = stored(store)
    (unsynced,) = of_kind(found, "unsynced_failover")
    assert unsynced.opened_at == FAILOVER
    assert unsynced.evidence["stateful_sync"] == "disabled"
    assert unsynced.evidence["connections_before"] is None
    assert unsynced.evidence["kept_percent"] is None
    assert "unknown share" in unsynced.summary


def flap_lines(primary: str, secondary: str, first: datetime) -> list[str]:
    """Four cycles, ten minutes each: the backup goes active on missed heartbeats (147), the
    primary preempts it five minutes later (151). Eight role changes in 35 minutes."""
    lines = []
    for cycle in range(4):
        at = first + cycle * timedelta(minutes=10)
        lines += [ha_line(147, secondary, at), ha_line(151, primary, at + STEP)]
    return lines


def test_units_in_no_inventory(tmp_path):
    lost_p, lost_s = "0017C5B20001", "0017C5B20002"
    folder = tmp_path / "data"
    folder.mkdir()
    files = unsynced_dataset(folder, sync="synced")
    files["samples"] = write_samples(
        folder / "sessions.csv",
        samples(  # a quiet pair
            LAB, PRIMARY, SECONDARY, T0, T0 + timedelta(hours=4), lambda at: (LEVEL, 0)
        ),
    )
    del files["failover"]
    stray = write_lines(folder / "stray.log", flap_lines(lost_p, lost_s, FAILOVER))
    with Store(tmp_path / "hawatch.duckdb") as store:
        ingest(store, *files.values(), stray)
        report = analyze(store)
        cur = store.cursor()
        assert report.pairs == 1
        assert cur.execute("SELECT count(*) FROM incidents").fetchone() == (0,)
        assert cur.execute("SELECT serial FROM unpaired_devices ORDER BY serial").fetchall() == [
            (lost_p,),
            (lost_s,),
        ]
        assert cur.execute("SELECT count(*) FROM ha_events WHERE pair IS NULL").fetchone() == (8,)
        # once an inventory names them, their history is analysed
        load_inventory(store, write_inventory(tmp_path / "more.csv", ("lost-ha01", lost_p, lost_s)))
        analyze(store)
        assert [
            (f.pair, f.evidence["transitions"]) for f in of_kind(stored(store), "flapping")
        ] == [("lost-ha01", 8)]


def test_flapping_pair_opens_one_incident_that_resolves(tmp_path):
    folder = tmp_path / "data"
    folder.mkdir()
    first = FAILOVER
    last = first + timedelta(minutes=35)

    def level(at: datetime) -> tuple[int, int]:  # the active unit carries the sessions
        into = at - first
        secondary_active = timedelta(0) <= into < timedelta(minutes=40) and (
            into % timedelta(minutes=10) < STEP
        )
        return (0, LEVEL) if secondary_active else (LEVEL, 0)

    end = last + timedelta(hours=2)  # then two quiet hours
    files = [
        write_inventory(folder / "inventory.csv", (LAB, PRIMARY, SECONDARY)),
        write_records(folder / "status.ndjson", status(T0, LAB, PRIMARY, SECONDARY, "synced")),
        write_samples(folder / "sessions.csv", samples(LAB, PRIMARY, SECONDARY, T0, end, level)),
        write_lines(
            folder / "flap.log",
            flap_lines(PRIMARY, SECONDARY, first)
            + [traffic_line(PRIMARY, last + k * timedelta(minutes=4)) for k in range(1, 31)],
        ),
    ]
    with Store(tmp_path / "hawatch.duckdb") as store:
        ingest(store, *files)
        analyze(store)
        found = stored(store)
    (flap,) = of_kind(found, "flapping")
    assert flap.evidence["transitions"] == 8
    assert flap.evidence["failbacks"] == 4
    assert flap.evidence["preempt_driven"] is True
    assert flap.evidence["unsynced_transitions"] == 0
    assert (flap.status, flap.severity) == ("resolved", "warning")
    assert (flap.opened_at, flap.resolved_at) == (first, last)
    assert of_kind(found, "unsynced_failover") == []


def test_later_samples_withdraw_an_unsynced_failover(tmp_path):
    """The old active's last sample before the failover arrives late: the load had already
    fallen to 4,600, and the new active carries 4,500. The sessions survived; the incident
    found from the early samples (10,000 before, 4,500 after: 45% kept) is withdrawn, and
    stays stored (docs/schema.md: `withdrawn`, later data showed it was not one)."""
    folder = tmp_path / "data"
    folder.mkdir()
    delayed_at = FAILOVER - timedelta(seconds=150)  # the 5-minute sample just before

    def level(at: datetime) -> tuple[int, int]:
        return (10_000, 0) if at < FAILOVER else (0, 4_500)

    early = [
        r
        for r in samples(LAB, PRIMARY, SECONDARY, T0, T0 + timedelta(hours=4), level)
        if r[0] != delayed_at
    ]
    files = [
        write_inventory(folder / "inventory.csv", (LAB, PRIMARY, SECONDARY)),
        write_records(folder / "status.ndjson", status(T0, LAB, PRIMARY, SECONDARY, "synced")),
        write_samples(folder / "sessions.csv", early),
        write_lines(folder / "failover.log", failover_lines()),
    ]
    late = write_samples(
        tmp_path / "delayed.csv",
        [(delayed_at, PRIMARY, LAB, 4_600), (delayed_at, SECONDARY, LAB, 0)],
    )
    with Store(tmp_path / "hawatch.duckdb") as store:
        ingest(store, *files)
        analyze(store)
        (found,) = of_kind(stored(store), "unsynced_failover")
        assert found.evidence["kept_percent"] == 45.0
        assert store.cursor().execute("SELECT health FROM pair_health").fetchone() == ("critical",)
        ingest(store, late)
        analyze(store)
        assert last_run(store)[5] == 1  # withdrawn
        everything = stored(store, withdrawn=True)
        assert of_kind(stored(store), "unsynced_failover") == []
        assert store.cursor().execute("SELECT health, score FROM pair_health").fetchone() == (
            "ok",
            100,
        )
    (kept,) = [f for f in everything if f.incident_id == found.incident_id]
    assert (kept.pair, kept.kind, kept.status) == (LAB, "unsynced_failover", "withdrawn")
    assert kept.resolved_at is not None


def test_active_unit_announcing_active_is_no_failover(tmp_path):
    """The status export shows the primary active with stateful sync off (a warning of its
    own); an hour later the primary logs "Primary firewall has transitioned to Active". The
    active unit did not change, and it carries every connection before and after it."""
    folder = tmp_path / "data"
    folder.mkdir()
    files = [
        write_inventory(folder / "inventory.csv", (LAB, PRIMARY, SECONDARY)),
        write_records(folder / "status.ndjson", status(T0, LAB, PRIMARY, SECONDARY, "disabled")),
        write_samples(
            folder / "sessions.csv",
            samples(LAB, PRIMARY, SECONDARY, T0, T0 + timedelta(hours=4), lambda at: (LEVEL, 0)),
        ),
        write_lines(folder / "ha.log", [ha_line(142, PRIMARY, T0 + timedelta(hours=1))]),
    ]
    with Store(tmp_path / "hawatch.duckdb") as store:
        ingest(store, *files)
        analyze(store)
        found = stored(store)
        health = store.cursor().execute("SELECT health FROM pair_health").fetchone()
    assert of_kind(found, "unsynced_failover") == []
    assert health == ("warning",)  # sync off, nothing worse


def test_one_split_brain_is_one_incident(tmp_path):
    """The simulator's split brain (scenarios._split_brain) on a pair whose primary logged
    its own transition to Active that morning, as a booting primary does."""
    folder = tmp_path / "data"
    folder.mkdir()
    second = timedelta(seconds=1)
    down, up = FAILOVER, FAILOVER + timedelta(minutes=5)

    def level(at: datetime) -> tuple[int, int]:  # both active: the traffic splits
        return (6_600, 5_400) if down <= at < up else (LEVEL, 0)

    lines = [
        ha_line(142, PRIMARY, T0 + timedelta(minutes=20)),
        ha_line(147, SECONDARY, down + 4 * second),
        ha_line(143, SECONDARY, down + 5 * second),
        ha_line(142, PRIMARY, down + 6 * second),
        ha_line(152, SECONDARY, up + 2 * second),
        ha_line(145, SECONDARY, up + 200 * second),
    ]
    events = [
        event(down, PRIMARY, "primary", "ha_link_down", "HA link X5 down"),
        event(down, SECONDARY, "secondary", "ha_link_down", "HA link X5 down"),
        event(
            down + 3 * second,
            SECONDARY,
            "secondary",
            "heartbeat_loss",
            "Missed 5 heartbeats from Primary on X5",
        ),
        event(
            down + 3 * second,
            SECONDARY,
            "secondary",
            "peer_lost",
            "Primary not answering on the HA link",
        ),
        event(up, PRIMARY, "primary", "ha_link_up", "HA link X5 up"),
        event(up, SECONDARY, "secondary", "ha_link_up", "HA link X5 up"),
        event(
            up + 3 * second,
            SECONDARY,
            "secondary",
            "reboot",
            "Backup rebooting to resolve dual active",
        ),
    ]
    files = [
        write_inventory(folder / "inventory.csv", (LAB, PRIMARY, SECONDARY)),
        write_records(folder / "status.ndjson", status(T0, LAB, PRIMARY, SECONDARY, "synced")),
        write_samples(
            folder / "sessions.csv",
            samples(LAB, PRIMARY, SECONDARY, T0, T0 + timedelta(hours=4), level),
        ),
        write_lines(folder / "ha.log", lines),
        write_records(folder / "events.ndjson", events),
    ]
    with Store(tmp_path / "hawatch.duckdb") as store:
        ingest(store, *files)
        analyze(store)
        found = stored(store)
    assert len(of_kind(found, "ha_link_down")) == 1
    assert len(of_kind(found, "split_brain")) == 1
    (split,) = of_kind(found, "split_brain")
    assert down <= split.opened_at <= down + 6 * second
    assert split.resolved_at is not None and split.resolved_at <= up + 3 * second


def test_dual_active_reported_by_the_firewall_alone_is_a_split_brain(tmp_path):
    """The primary never logs its own state (it was active all along, and says nothing): the
    backup misses heartbeats and goes active (147, 143) beside it, and when the link returns
    reports "Active Backup detects Active Primary: Backup rebooting" (152). That message alone
    says both units were active: one split brain, not an unsynced failover."""
    folder = tmp_path / "data"
    folder.mkdir()
    second = timedelta(seconds=1)
    down, up = FAILOVER, FAILOVER + timedelta(minutes=5)

    def level(at: datetime) -> tuple[int, int]:  # both active: the traffic splits
        return (6_600, 5_400) if down <= at < up else (LEVEL, 0)

    lines = [
        ha_line(147, SECONDARY, down + 4 * second),
        ha_line(143, SECONDARY, down + 5 * second),
        ha_line(152, SECONDARY, up + 2 * second),
        ha_line(145, SECONDARY, up + 200 * second),
    ]
    files = [
        write_inventory(folder / "inventory.csv", (LAB, PRIMARY, SECONDARY)),
        write_records(folder / "status.ndjson", status(T0, LAB, PRIMARY, SECONDARY, "synced")),
        write_samples(
            folder / "sessions.csv",
            samples(LAB, PRIMARY, SECONDARY, T0, T0 + timedelta(hours=4), level),
        ),
        write_lines(folder / "ha.log", lines),
    ]
    with Store(tmp_path / "hawatch.duckdb") as store:
        ingest(store, *files)
        analyze(store)
        found = stored(store)
        active = store.cursor().execute("SELECT active_serial FROM pairs").fetchone()
    (split,) = of_kind(found, "split_brain")
    assert split.opened_at == down + 4 * second
    assert split.resolved_at == up + 2 * second
    assert split.evidence["dual_active_reported"] is True
    assert set(split.evidence["units"]) == {PRIMARY, SECONDARY}
    assert of_kind(found, "unsynced_failover") == []
    assert active == (PRIMARY,)  # the backup rebooted: the primary is the active unit


def preempt_cycles(cycles: int = 4) -> tuple[list[str], list[str], list[str]]:
    """The backup goes active on missed heartbeats (147); five minutes later the primary
    preempts it (151) and reports itself active (142), both in the same second."""
    takeover, preempt, active = [], [], []
    for cycle in range(cycles):
        at = FAILOVER + cycle * timedelta(minutes=10)
        takeover.append(ha_line(147, SECONDARY, at))
        preempt.append(ha_line(151, PRIMARY, at + STEP))
        active.append(ha_line(142, PRIMARY, at + STEP))
    return takeover, preempt, active


def test_role_changes_in_one_second_do_not_depend_on_arrival_order(tmp_path):
    """Two lines of one second reach the store in either order (two relays, two files): the
    preempt (151) comes before the transition it causes (142) by meaning, whichever line was
    stored first, so the same data always gives the same role changes and incidents."""
    folder = tmp_path / "data"
    folder.mkdir()
    takeover, preempt, active = preempt_cycles()
    base = [
        write_inventory(folder / "inventory.csv", (LAB, PRIMARY, SECONDARY)),
        write_records(folder / "status.ndjson", status(T0, LAB, PRIMARY, SECONDARY, "synced")),
        write_lines(folder / "takeover.log", takeover),
    ]
    results = []
    for name, parts in (("preempt_first", (preempt, active)), ("active_first", (active, preempt))):
        with Store(tmp_path / f"{name}.duckdb") as store:
            ingest(store, *base)
            for i, lines in enumerate(parts):
                ingest(store, write_lines(folder / f"{name}{i}.log", lines))
            analyze(store)
            changes = (
                store.cursor()
                .execute(
                    "SELECT time, new_active, old_active, kind, trigger, message_id"
                    " FROM role_changes ORDER BY time"
                )
                .fetchall()
            )
            results.append(
                (
                    changes,
                    [
                        (f.kind, f.opened_at, f.resolved_at, f.summary, f.evidence)
                        for f in stored(store)
                    ],
                )
            )
    assert results[0] == results[1]
    changes, incidents = results[0]
    assert [c[3:6] for c in changes] == [
        ("failover", "heartbeat", 147),
        ("failback", "preempt", 151),
    ] * 4
    (flapping,) = [i for i in incidents if i[0] == "flapping"]
    assert (flapping[4]["transitions"], flapping[4]["failbacks"]) == (8, 4)


def test_a_database_from_before_role_changes_gets_them_at_the_next_pass(tmp_path):
    files = unsynced_dataset(tmp_path / "data")
    db = tmp_path / "old.duckdb"
    with Store(db) as store:
        ingest(store, *files.values())
        analyze(store)
        assert store.cursor().execute("SELECT count(*) FROM role_changes").fetchone() == (1,)
        as_before_migration(store, 7)  # a database from before role_changes
    with Store(db) as store:
        report = analyze(store)
        changes = (
            store.cursor()
            .execute("SELECT pair, old_active, new_active, kind FROM role_changes")
            .fetchall()
        )
    assert report.mode == "incremental"
    assert changes == [(LAB, PRIMARY, SECONDARY, "failover")]


def sim_cycle_lines(at: datetime, cycles: int) -> list[str]:
    """The simulator's flapping (scenarios._flapping): per cycle the backup goes active on an
    error signal (149, 143) while the primary goes idle (144), then the primary preempts it
    (151, 150) and both report their new state (142, 145): seven lines, two role changes."""
    lines = []
    for cycle in range(cycles):
        t = at + cycle * timedelta(minutes=10)
        back = t + timedelta(minutes=3)
        lines += [
            ha_line(149, SECONDARY, t),
            ha_line(143, SECONDARY, t + timedelta(seconds=1)),
            ha_line(144, PRIMARY, t + timedelta(seconds=1)),
            ha_line(151, PRIMARY, back),
            ha_line(150, SECONDARY, back),
            ha_line(142, PRIMARY, back + timedelta(seconds=1)),
            ha_line(145, SECONDARY, back + timedelta(seconds=1)),
        ]
    return lines


def test_failovers_count_role_changes_not_messages(tmp_path):
    """A pair flaps five times (ten role changes, seven messages per cycle) and another fails
    over once (149, 143, 144): the fleet's failover and failback counts, the role_changes
    table, the flapping incident and the SQL console's example all say the same."""
    from hawatch.analytics.pair_summary import pair_summary
    from hawatch.analytics.sql_examples import EXAMPLES

    other_p, other_s = "C0EAE4B10001", "C0EAE4B10002"
    folder = tmp_path / "data"
    folder.mkdir()
    files = [
        write_inventory(
            folder / "inventory.csv", (LAB, PRIMARY, SECONDARY), ("calm-ha01", other_p, other_s)
        ),
        write_records(
            folder / "status.ndjson",
            status(T0, LAB, PRIMARY, SECONDARY, "synced")
            + status(T0, "calm-ha01", other_p, other_s, "synced"),
        ),
        write_lines(
            folder / "ha.log",
            sim_cycle_lines(FAILOVER, 5) + failover_lines(FAILOVER, other_p, other_s),
        ),
    ]
    with Store(tmp_path / "hawatch.duckdb") as store:
        ingest(store, *files)
        analyze(store)
        cur = store.cursor()
        columns, rows = pair_summary(cur)
        summary = {r[0]: dict(zip(columns, r, strict=True)) for r in rows}
        changes = dict(
            cur.execute("SELECT pair, count(*) FROM role_changes GROUP BY pair").fetchall()
        )
        (example,) = [sql for title, sql in EXAMPLES if title == "Failovers per month"]
        per_month = cur.execute(example).fetchall()
        (flapping,) = of_kind(stored(store), "flapping")
    assert changes == {LAB: 10, "calm-ha01": 1}
    assert (summary[LAB]["failovers"], summary[LAB]["failbacks"]) == (5, 5)
    assert (summary["calm-ha01"]["failovers"], summary["calm-ha01"]["failbacks"]) == (1, 0)
    assert flapping.evidence["transitions"] == 10
    assert sum(row[-1] for row in per_month) == 6  # five for the flapping pair, one for calm


# -- pair health ------------------------------------------------------------------------------


def test_pair_health_scores(tmp_path):
    bad_p, bad_s = "18B169C30001", "18B169C30002"
    folder = tmp_path / "data"
    folder.mkdir()
    end = T0 + timedelta(hours=4)

    def never_recovers(at: datetime) -> tuple[int, int]:
        return (LEVEL, 0) if at < FAILOVER else (0, 150)

    files = [
        write_inventory(
            folder / "inventory.csv", (LAB, PRIMARY, SECONDARY), ("bad-ha01", bad_p, bad_s)
        ),
        write_records(
            folder / "status.ndjson",
            status(T0, LAB, PRIMARY, SECONDARY, "synced")
            + status(T0, "bad-ha01", bad_p, bad_s, "disabled"),
        ),
        write_samples(
            folder / "sessions.csv",
            samples(LAB, PRIMARY, SECONDARY, T0, end, lambda at: (LEVEL, 0))
            + samples("bad-ha01", bad_p, bad_s, T0, end, never_recovers),
        ),
        write_lines(folder / "failover.log", failover_lines(FAILOVER, bad_p, bad_s)),
    ]
    with Store(tmp_path / "hawatch.duckdb") as store:
        ingest(store, *files)
        analyze(store)
        found = stored(store)
        health = {
            r[0]: r[1:]
            for r in store.cursor()
            .execute(
                "SELECT pair, health, score, open_critical, open_warning, reasons FROM pair_health"
            )
            .fetchall()
        }
    (unsynced,) = of_kind(found, "unsynced_failover")
    assert (unsynced.pair, unsynced.status) == ("bad-ha01", "open")
    state, score, critical, warning, reasons = health["bad-ha01"]
    assert state == "critical" and critical >= 1
    assert score == max(0, 100 - 40 * critical - 15 * warning - 10) < 100  # sync disabled: -10
    assert f"unsynced_failover: {unsynced.summary}" in reasons
    assert "stateful sync disabled" in reasons
    assert health[LAB] == ("ok", 100, 0, 0, "")
