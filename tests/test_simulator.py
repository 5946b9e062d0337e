"""The fleet simulator: deterministic, complete, and ingestible by the real collector.

The 8-pair, 3-day output (what sample_logs/ holds) is simulated once per module into a
temporary folder and ingested into a real DuckDB file; tests read files and the store.
"""

from __future__ import annotations

import csv
import json
import re
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hawatch.collector.ingest import ingest_paths
from hawatch.collector.inventory import load_inventory
from hawatch.simulator import simulate
from hawatch.simulator.scenarios import INCIDENT_KINDS, SCENARIOS
from hawatch.simulator.sonicos_lines import HA_TEXTS, bench_lines
from hawatch.store import Store

START = datetime(2026, 11, 1, tzinfo=UTC)
FIELD = re.compile(r" (sn|m|n)=(\w+)")
TIME = re.compile(r' time="([^"]+)"')


@pytest.fixture(scope="module")
def out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("sim") / "out"
    simulate(seed=7, pairs=8, days=3, out=folder)
    return folder


@pytest.fixture(scope="module")
def truth(out: Path) -> dict[str, Any]:
    return json.loads((out / "truth.json").read_text())


@pytest.fixture(scope="module")
def store(out: Path, tmp_path_factory: pytest.TempPathFactory) -> Store:
    opened = Store(tmp_path_factory.mktemp("db") / "x.duckdb")
    load_inventory(opened, out / "inventory.csv")
    report = ingest_paths(opened, [str(out / "syslog"), str(out / "exports")])
    assert not report.failed
    return opened


def q(store: Store, sql: str, params: list[object] | None = None) -> list[tuple[Any, ...]]:
    return store.cursor().execute(sql, params).fetchall()


def _files(folder: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()
    }


def _utc(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _pair_of(truth: dict[str, Any], scenario: str) -> str:
    return next(p for p, s in truth["scenarios"].items() if s == scenario)


def _incident(truth: dict[str, Any], kind: str) -> dict[str, Any]:
    return next(i for i in truth["incidents"] if i["kind"] == kind)


def test_same_seed_gives_identical_bytes_and_another_seed_differs(tmp_path: Path) -> None:
    simulate(seed=3, pairs=8, days=1, out=tmp_path / "a")
    simulate(seed=3, pairs=8, days=1, out=tmp_path / "b")
    simulate(seed=4, pairs=8, days=1, out=tmp_path / "c")
    first, second, other = (_files(tmp_path / n) for n in "abc")
    assert first == second
    assert set(first) == set(other)
    assert first["truth.json"] != other["truth.json"]
    assert first["syslog/fra1.log"] != other["syslog/fra1.log"]


def test_layout_and_every_scenario_for_eight_pairs(out: Path, truth: dict[str, Any]) -> None:
    assert {
        "inventory.csv",
        "windows.json",
        "truth.json",
        "exports/sessions.csv",
        "exports/events.ndjson",
        "exports/status.json",
    } <= set(_files(out))
    assert sorted(truth["scenarios"].values()) == sorted(SCENARIOS)
    kinds = {i["kind"] for i in truth["incidents"]}
    assert kinds == set(INCIDENT_KINDS)
    windows = json.loads((out / "windows.json").read_text())
    assert [w["pair"] for w in windows] == [_pair_of(truth, "failover_test")]
    test = _incident(truth, "failover_test")
    assert windows[0]["start"] <= test["start"] <= test["end"] <= windows[0]["end"]
    assert test["detail"]["survived"] is True


def test_inventory_has_sites_in_several_zones_including_utc(
    out: Path, truth: dict[str, Any]
) -> None:
    with (out / "inventory.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == [
        "pair",
        "site",
        "primary_serial",
        "secondary_serial",
        "timezone",
        "ha_mode",
        "preempt",
    ]
    assert [r["pair"] for r in rows] == list(truth["scenarios"])
    zones = {r["timezone"] for r in rows}
    assert "UTC" in zones and len(zones) >= 4
    flapping = next(r for r in rows if r["pair"] == _pair_of(truth, "flapping"))
    assert flapping["preempt"] == "true"
    assert {r["site"] + ".log" for r in rows} == {p.name for p in (out / "syslog").iterdir()}


def test_incidents_lie_inside_the_period_away_from_its_edges(
    out: Path, truth: dict[str, Any]
) -> None:
    pairs = set(truth["scenarios"])
    low, high = START + timedelta(hours=6), START + timedelta(days=3, hours=-6)
    assert truth["start"] == "2026-11-01T00:00:00Z"
    for incident in truth["incidents"]:
        assert incident["pair"] in pairs
        assert incident["kind"] in INCIDENT_KINDS
        assert low <= _utc(incident["start"]) <= _utc(incident["end"]) <= high
    flapping = _incident(truth, "flapping")["detail"]
    assert 5 <= flapping["cycles"] <= 10 and flapping["transitions"] == 2 * flapping["cycles"]


def test_syslog_lines_use_real_shapes_and_only_documented_ha_ids(out: Path) -> None:
    headers, utc_stamps, local_stamps = set(), 0, 0
    for path in sorted((out / "syslog").iterdir()):
        last_n: dict[tuple[str, str], int] = {}
        stamps = []
        for line in path.read_text().splitlines():
            headers.add("relay" if line[0].isalpha() else "pri2" if ">  id=" in line else "glued")
            fields = dict(FIELD.findall(line))
            key = (fields["sn"], fields["m"])
            assert int(fields["n"]) > last_n.get(key, -1), line
            last_n[key] = int(fields["n"])
            stamp = TIME.search(line).group(1)
            stamps.append(stamp)
            if " c=0 " in line:
                pri, text = HA_TEXTS[int(fields["m"])]
                assert f' pri={pri} c=0 m={fields["m"]} msg="{text}" ' in line
        if stamps[0].endswith(" UTC"):
            utc_stamps += 1
            assert stamps == sorted(stamps), f"{path.name} not in time order"
        else:
            local_stamps += 1
    assert headers == {"relay", "pri2", "glued"}
    assert utc_stamps and local_stamps


def test_ingest_quarantines_nothing_and_pairs_every_row(store: Store) -> None:
    assert q(store, "SELECT count(*) FROM quarantine") == [(0,)]
    for table in ("ha_events", "session_samples", "status_samples"):
        total, paired = q(store, f"SELECT count(*), count(pair) FROM {table}")[0]
        assert total > 0 and total == paired, table


def test_ingest_stores_syslog_and_export_kinds(store: Store) -> None:
    from_syslog = {
        k for (k,) in q(store, "SELECT DISTINCT kind FROM ha_events WHERE message_id IS NOT NULL")
    }
    from_export = {
        k for (k,) in q(store, "SELECT DISTINCT kind FROM ha_events WHERE message_id IS NULL")
    }
    assert {"failover", "failback", "standby", "dual_active"} <= from_syslog
    assert {
        "sync_disabled",
        "sync_enabled",
        "sync_started",
        "sync_completed",
        "sync_failed",
        "ha_link_down",
        "ha_link_up",
        "heartbeat_loss",
        "peer_lost",
        "peer_found",
        "probe_monitor_failure",
        "interface_monitor_failure",
        "reboot",
        "firmware_mismatch",
    } <= from_export


def test_shared_serial_pairs_log_the_primary_serial_for_both_units(
    store: Store, truth: dict[str, Any]
) -> None:
    rows = q(
        store,
        "SELECT e.pair, e.role, e.serial = p.secondary_serial,"
        " e.reported_serial = p.primary_serial FROM ha_events e JOIN pairs p"
        " USING (pair) WHERE e.message_id IS NOT NULL AND e.role = 'secondary'",
    )
    assert rows
    for pair, _, is_secondary, reported_primary in rows:
        assert is_secondary
        assert reported_primary == (pair in truth["shared_sn_pairs"])


def test_syslog_event_times_match_truth(store: Store, truth: dict[str, Any]) -> None:
    split = _incident(truth, "split_brain")
    times = dict(
        q(
            store,
            "SELECT message_id, min(time) FROM ha_events WHERE pair = ?"
            " AND message_id IN (143, 152) GROUP BY 1",
            [split["pair"]],
        )
    )
    assert times[143] == _utc(split["start"]) and times[152] == _utc(split["end"])
    flap = _incident(truth, "flapping")
    rows = q(
        store,
        "SELECT count(*), min(time), max(time) FROM ha_events WHERE pair = ?"
        " AND message_id IN (143, 142)",
        [flap["pair"]],
    )
    count, first, last = rows[0]
    assert count == flap["detail"]["transitions"]
    assert (first, last) == (_utc(flap["start"]), _utc(flap["end"]))


def test_udp_loss_shows_as_sequence_gaps(store: Store, truth: dict[str, Any]) -> None:
    dropped = {d["serial"]: d["dropped"] for d in truth["syslog_loss"]}
    assert sum(dropped.values()) > 0
    missing = dict(
        q(
            store,
            "SELECT serial, sum(missing) FROM sequence_gaps GROUP BY 1 HAVING sum(missing) > 0",
        )
    )
    assert missing == dropped


def _sessions(out: Path) -> dict[str, list[tuple[str, int, int]]]:
    by_serial: dict[str, list[tuple[str, int, int]]] = defaultdict(list)
    with (out / "exports" / "sessions.csv").open() as handle:
        reader = csv.reader(handle)
        assert next(reader) == ["time", "serial", "pair", "connections", "vpn_sas"]
        for time, serial, _, connections, vpn_sas in reader:
            by_serial[serial].append((time, int(connections), int(vpn_sas)))
    return by_serial


def _around(samples: list[tuple[str, int, int]], at: str) -> tuple[list[int], list[int]]:
    before = [c for t, c, _ in samples if t < at]
    after = [c for t, c, _ in samples if t >= at]
    return before, after


def test_session_samples_follow_the_active_unit(
    out: Path, store: Store, truth: dict[str, Any]
) -> None:
    samples = _sessions(out)
    units = {
        p: (a, b)
        for p, a, b in q(store, "SELECT pair, primary_serial, secondary_serial FROM pairs")
    }
    healthy = units[_pair_of(truth, "healthy")]
    assert all(2_000 <= c <= 40_000 and 5 <= v <= 200 for _, c, v in samples[healthy[0]])
    assert all(c == 0 and v == 0 for _, c, v in samples[healthy[1]])
    assert len(samples[healthy[0]]) == 3 * 288

    primary, secondary = units[_pair_of(truth, "stateful_failover")]
    (at,) = q(
        store, "SELECT min(time) FROM ha_events WHERE serial = ? AND message_id = 143", [secondary]
    )[0]
    stamp = at.strftime("%Y-%m-%dT%H:%M:%SZ")
    before, _ = _around(samples[primary], stamp)
    _, after = _around(samples[secondary], stamp)
    assert max(after[:2]) >= 0.95 * before[-1]

    drop = _incident(truth, "session_drop")
    before, _ = _around(samples[units[drop["pair"]][0]], drop["start"])
    _, after = _around(samples[drop["detail"]["serial"]], drop["start"])
    assert (before[-1], after[0]) == (
        drop["detail"]["connections_before"],
        drop["detail"]["connections_after"],
    )
    assert after[0] < 0.1 * before[-1] and after[7] > 0.9 * before[-1]


def test_status_is_a_json_array_showing_the_firmware_mismatch(
    out: Path, truth: dict[str, Any]
) -> None:
    records = json.loads((out / "exports" / "status.json").read_text())
    assert isinstance(records, list)
    assert {r["state"] for r in records} == {"active", "standby"}
    assert {r["stateful_sync"] for r in records} >= {"synced", "disabled", "not_synced"}
    mismatch = _incident(truth, "config_mismatch")
    firmware = {
        (r["time"], r["role"]): r["firmware"] for r in records if r["pair"] == mismatch["pair"]
    }
    assert firmware[(mismatch["start"], "secondary")] == mismatch["detail"]["secondary"]
    assert firmware[(mismatch["start"], "primary")] == mismatch["detail"]["primary"]
    assert firmware[(mismatch["end"], "secondary")] == mismatch["detail"]["primary"]


def test_small_fleet_still_ingests(tmp_path: Path) -> None:
    summary = simulate(seed=1, pairs=3, days=1, out=tmp_path / "out")
    assert summary["pairs"] == 3 and "healthy" not in summary["scenarios"]
    with Store(tmp_path / "x.duckdb") as opened:
        load_inventory(opened, tmp_path / "out" / "inventory.csv")
        ingest_paths(opened, [str(tmp_path / "out" / "syslog"), str(tmp_path / "out" / "exports")])
        assert q(opened, "SELECT count(*) FROM quarantine") == [(0,)]


def test_bench_lines_are_deterministic_mostly_traffic_and_spread() -> None:
    lines = list(bench_lines(seed=5, total=20_000))
    assert lines == list(bench_lines(seed=5, total=20_000))
    ha = [line for line in lines if " c=0 " in line]
    assert 0.02 < len(ha) / len(lines) < 0.04
    traffic = [line for line in lines if ' msg="Connection ' in line]
    assert len(traffic) + len(ha) == len(lines)
    assert len({FIELD.search(line).group(2) for line in lines}) > 2_000


def test_the_live_fleet_writes_its_history_and_loses_one_pairs_ha_messages(tmp_path):
    """`hawatch demo`'s fleet (simulator/live.py): the last two hours as files, the
    scenarios in the next minutes, and the HA messages of one pair numbered but never sent
    (so only the polls see its failover, and the n= gap shows the loss)."""
    from hawatch.simulator.live import HISTORY, MISSED, LiveFleet

    now = 1_790_000_000
    fleet = LiveFleet(tmp_path / "live", now=now, lead=30)
    fleet.stop()  # its units are not needed here (the demo tests run them)
    (tmp_path / "inventory.csv").write_text("pair,primary_serial,secondary_serial\n")
    history = fleet.write_history(tmp_path / "history", tmp_path / "inventory.csv")
    lines = (history / "syslog" / "history.log").read_text().splitlines()
    assert len(lines) > 100 and (history / "exports" / "sessions.csv").exists()
    assert all(h.at >= now + 30 for h in fleet.schedule())
    missed = next(p for p in fleet.plans if p.scenario == MISSED)
    assert missed.at is not None and missed.ha_lines
    live = list(fleet._due(now + HISTORY))
    ha = re.compile(r" m=1(4[2-9]|5[0-2]) ")
    theirs = [line for (plan, _), line in live if plan is missed]
    others = [line for (plan, _), line in live if plan is not missed and line]
    assert theirs.count(None) >= len(missed.ha_lines) == 3
    assert not [line for line in theirs if line and ha.search(line)]
    assert [line for line in others if ha.search(line)]  # the other pairs' HA lines go out
