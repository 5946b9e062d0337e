"""Polled state cross-checked with syslog (issue 13 item 3), over real sockets: simulated units
answer SonicOS API polls over HTTPS on 127.0.0.1 (simulator/devices), syslog lines come from
a file in the units' own format, and a real analysis pass decides.

- A failover only the polls saw (the HA lines were lost) is a role change all the same, so
  the unsynced failover behind it is found from polls alone, and the pair is flagged
  "syslog missed a failover".
- A failover syslog reported and the polls agree with is one role change, not two.
- A failover syslog reported while the polls still show the old unit active is said so.

Poll records carry hawatch's own clock (the units' plans are set to the moment to show), so
the syslog lines are written at the wall-clock times of the polls.
"""

from __future__ import annotations

import json
import random
import time
from pathlib import Path

from hawatch.analytics.analyze import analyze
from hawatch.analytics.thresholds import Thresholds
from hawatch.collector.ingest import ingest_paths
from hawatch.collector.inventory import load_inventory
from hawatch.collector.pollers.store_results import store_results
from hawatch.simulator.devices.farm import DeviceFarm
from hawatch.simulator.devices.timeline import ScenarioClock
from hawatch.simulator.run import _plans
from hawatch.simulator.scenarios import Plan
from hawatch.simulator.sonicos_lines import LineFormatter, new_connection
from hawatch.store import Store

from tests.test_pollers import START, poll, setup

DAY = 86_400


def scenario_plan(name: str) -> Plan:
    _, plans = _plans(7, 8, START, START + 3 * DAY)
    return next(p for p in plans if p.scenario == name)


def first_time(plan: Plan, primary: str | None = None, secondary: str | None = None) -> int:
    """When the plan first puts the units in these states."""
    return next(
        t
        for t, (p, s) in zip(plan.state_times, plan.states, strict=True)
        if primary in (None, p) and secondary in (None, s)
    )


def write_syslog(path: Path, plan: Plan, lines: list[tuple[float, str, int | None]]) -> Path:
    """SonicOS lines of the plan's pair, `(wall-clock time, logging role, m= or None for a
    Connection Opened)`, in the site's header and time style."""
    fmt, rng, pair = LineFormatter(plan.pair.site), random.Random(5), plan.pair
    text = []
    for n, (t, role, m) in enumerate(lines, 1):
        sn = pair.logged_sn(role)
        text.append(
            fmt.ha(int(t), sn, pair.fw_ip, n, m)
            if m
            else fmt.opened(int(t), sn, pair.fw_ip, n, new_connection(rng, pair))
        )
    path.write_text("\n".join(text) + "\n")
    return path


def poll_at(
    store: Store, clock: ScenarioClock, moments: list[int], targets_, profiles, pause: float = 1.1
) -> list[float]:
    """Poll every unit at each plan moment, a second of wall clock apart (distinct times)."""
    stamps = []
    for moment in moments:
        clock.set(moment)
        store_results(store, poll(targets_, profiles, timeout=1.0), "UTC")
        stamps.append(time.time())
        time.sleep(pause)
    return stamps


def role_changes(store: Store, pair: str) -> list[tuple]:
    return (
        store.cursor()
        .execute(
            "SELECT old_active, new_active, seen_in, status_agrees FROM role_changes"
            " WHERE pair = ? ORDER BY change_no",
            [pair],
        )
        .fetchall()
    )


def incidents(store: Store, pair: str) -> dict[str, tuple]:
    return {
        kind: (status, json.loads(evidence))
        for kind, status, evidence in store.cursor()
        .execute("SELECT kind, status, evidence FROM incidents WHERE pair = ?", [pair])
        .fetchall()
    }


def pages(store: Store, pair: str) -> tuple[str, dict]:
    """The pair's dashboard page and its row of /api/v1/pairs, as a logged-in viewer."""
    from hawatch.dashboard.credentials import Credentials

    from tests.conftest import dashboard_app, log_in

    Credentials(store.path).add("v", "viewer", "viewer-password-1")
    client, status = log_in(dashboard_app(store), "v", "viewer-password-1")
    assert status == 302
    page = client.get(f"/pairs/{pair}").get_data(as_text=True)
    rows = client.get("/api/v1/pairs").get_json()["pairs"]
    return page, next(r for r in rows if r["pair"] == pair)


def test_a_failover_only_the_polls_saw_is_found_and_syslog_missed_it(tmp_path):
    plan = scenario_plan("unsynced_failover")
    pair = plan.pair
    disabled = next(t for t, s in zip(plan.sync_times, plan.syncs, strict=True) if s == "disabled")
    took_over = first_time(plan, secondary="active")
    clock = ScenarioClock(disabled - 600)
    with DeviceFarm([plan], clock) as farm, Store(tmp_path / "h.duckdb") as store:
        targets_, profiles = setup(farm, tmp_path)
        load_inventory(store, tmp_path / "inventory.csv")
        # primary active with sync on, then off; the primary dies (its polls time out) and
        # the secondary is active with a fraction of the connections
        before = poll_at(
            store, clock, [disabled - 600, disabled + 60, took_over - 120], targets_, profiles
        )
        after = poll_at(
            store, clock, [took_over + 60, took_over + 120, took_over + 180], targets_, profiles
        )
        # syslog from the pair kept arriving (traffic), but no HA line about the failover
        syslog = write_syslog(
            tmp_path / "fw.log",
            plan,
            [
                (before[0], "primary", None),
                (before[-1], "primary", None),
                (after[-1], "secondary", None),
            ],
        )
        ingest_paths(store, [str(syslog)])
        analyze(store, Thresholds.from_settings())
        changes = role_changes(store, pair.name)
        found = incidents(store, pair.name)
        page, fleet = pages(store, pair.name)
    assert changes == [(pair.primary, pair.secondary, "status", None)]
    # the dashboard: the pair page says so, and the active unit is the one the polls saw
    assert "status reports only: syslog missed a failover" in page
    assert "failover seen by polls only" in page  # the chart's marker
    assert fleet["active_unit"] == pair.secondary and fleet["open_incidents"] == 2
    status, evidence = found["unsynced_failover"]
    assert evidence["stateful_sync"] == "disabled" and evidence["kept_percent"] < 10, evidence
    assert evidence["from_serial"] == pair.primary and evidence["to_serial"] == pair.secondary
    status, evidence = found["syslog_missed_failover"]
    assert status == "open" and evidence["to_serial"] == pair.secondary


def test_a_failover_syslog_and_the_polls_both_saw_is_one_role_change(tmp_path):
    plan = scenario_plan("stateful_failover")
    pair = plan.pair
    took_over = first_time(plan, secondary="active")
    clock = ScenarioClock(took_over - 600)
    with DeviceFarm([plan], clock) as farm, Store(tmp_path / "h.duckdb") as store:
        targets_, profiles = setup(farm, tmp_path)
        load_inventory(store, tmp_path / "inventory.csv")
        before = poll_at(store, clock, [took_over - 600, took_over - 300], targets_, profiles)
        reported = time.time()
        after = poll_at(store, clock, [took_over + 60, took_over + 120], targets_, profiles)
        # "Backup received error signal ...: Backup going Active", then "has transitioned"
        syslog = write_syslog(
            tmp_path / "fw.log",
            plan,
            [
                (before[0], "primary", None),
                (reported, "secondary", 149),
                (reported, "secondary", 143),
                (after[-1], "secondary", None),
            ],
        )
        ingest_paths(store, [str(syslog)])
        analyze(store, Thresholds.from_settings({"crosscheck.grace_seconds": 0}))
        changes = role_changes(store, pair.name)
        found = incidents(store, pair.name)
    assert changes == [(pair.primary, pair.secondary, "event", True)]
    assert "syslog_missed_failover" not in found and "polls_contradict_syslog" not in found


def test_a_failover_syslog_reports_but_the_polls_contradict_is_said_so(tmp_path):
    plan = scenario_plan("healthy")
    pair = plan.pair
    clock = ScenarioClock(START + DAY)
    with DeviceFarm([plan], clock) as farm, Store(tmp_path / "h.duckdb") as store:
        targets_, profiles = setup(farm, tmp_path)
        load_inventory(store, tmp_path / "inventory.csv")
        before = poll_at(store, clock, [START + DAY], targets_, profiles)
        reported = time.time()
        poll_at(store, clock, [START + DAY + 60, START + DAY + 120], targets_, profiles)
        # syslog says the backup became active; every poll after it shows the primary
        syslog = write_syslog(
            tmp_path / "fw.log", plan, [(before[0], "primary", None), (reported, "secondary", 143)]
        )
        ingest_paths(store, [str(syslog)])
        analyze(store, Thresholds.from_settings({"crosscheck.grace_seconds": 0}))
        changes = role_changes(store, pair.name)
        found = incidents(store, pair.name)
    assert changes == [(pair.primary, pair.secondary, "event", False)]
    status, evidence = found["polls_contradict_syslog"]
    assert status == "open" and evidence["status_active"] == pair.primary


def test_polls_alone_keep_the_pairs_current_state(tmp_path):
    """`hawatch serve` ingests polls, spool files and uploads batch by batch, never through
    ingest_paths' final refresh: the pair's active unit and sync state (the pair page, the
    fleet API, the e-mails' context) must follow each batch, not only `hawatch ingest`."""
    plan = scenario_plan("unsynced_failover")
    pair = plan.pair
    disabled = next(t for t, s in zip(plan.sync_times, plan.syncs, strict=True) if s == "disabled")
    took_over = first_time(plan, secondary="active")
    clock = ScenarioClock(disabled - 600)
    with DeviceFarm([plan], clock) as farm, Store(tmp_path / "h.duckdb") as store:
        targets_, profiles = setup(farm, tmp_path)
        load_inventory(store, tmp_path / "inventory.csv")
        state = "SELECT active_serial, stateful_sync FROM pairs WHERE pair = ?"
        poll_at(store, clock, [disabled - 600], targets_, profiles)
        first = store.cursor().execute(state, [pair.name]).fetchone()
        poll_at(store, clock, [disabled + 60, took_over + 60], targets_, profiles)
        later = store.cursor().execute(state, [pair.name]).fetchone()
    assert first == (pair.primary, "enabled"), first
    assert later == (pair.secondary, "disabled"), later
