"""Pollers against simulated units over real sockets on 127.0.0.1: the SonicOS API over
HTTPS (6.5 and 7.x behaviour) and SNMP v2c/v3, their failure modes, what reaches the store,
and the pollers inside a real `hawatch serve`."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest
from hawatch.collector.inventory import load_inventory, polled_units
from hawatch.collector.pollers.credentials import load_profiles
from hawatch.collector.pollers.cycle import poll_all, targets
from hawatch.collector.pollers.store_results import store_results
from hawatch.simulator.devices.farm import DeviceFarm, fingerprint
from hawatch.simulator.devices.timeline import ScenarioClock, report
from hawatch.simulator.run import _plans
from hawatch.store import Store
from hawatch.store.errors import HawatchError

from tests.test_serve import Server, wait_for

START = 1_700_000_000
DAY = 86_400


def fleet_plans(pairs: int = 2):
    """Pair 0 is a 7.x site (fra1), pair 1 a 6.5 site (nyc1)."""
    _, plans = _plans(7, pairs, START, START + 3 * DAY)
    return plans


@pytest.fixture
def farm():
    running = DeviceFarm(fleet_plans(), ScenarioClock(START + DAY)).start()
    yield running
    running.stop()


@pytest.fixture
def v3_farm():
    """Pair 0's secondary speaks SNMPv3 only (one pysnmp v3arch engine)."""
    plans = fleet_plans()
    running = DeviceFarm(
        plans, ScenarioClock(START + DAY), v3_serials=[plans[0].pair.secondary]
    ).start()
    yield running
    running.stop()


def setup(
    farm: DeviceFarm,
    tmp_path: Path,
    profile: str = "sim-rest",
    pin: bool = False,
    password: str | None = None,
    ca: bool = True,
) -> tuple[list, dict]:
    inventory = farm.write_inventory(tmp_path / "inventory.csv", lambda plan: profile, pin)
    ca_file = farm.write_ca(tmp_path / "ca.pem") if ca else None
    credentials = farm.write_credentials(tmp_path / "pollers.toml", ca_file, password)
    units = polled_units(inventory)
    profiles = load_profiles(credentials, {u.profile for u in units}, env={})
    return targets(units, profiles), profiles


def poll(targets_, profiles, timeout: float = 5.0, retries: int = 0):
    return asyncio.run(poll_all(targets_, profiles, timeout, retries, 50))


def uptime_during(farm, device, started: int, result) -> bool:
    """The polled uptime is the unit's at some moment of the poll: on a loaded machine the
    simulated clock moves on between the answer and the check."""
    low = report(device.plan, device.role, started).uptime_seconds
    high = report(device.plan, device.role, farm.clock.now()).uptime_seconds
    return low <= result.uptime_seconds <= high


def test_rest_poll_reads_both_generations_then_logs_out(farm, tmp_path):
    started = farm.clock.now()
    results = poll(*setup(farm, tmp_path))
    assert [r.outcome for r in results] == ["ok"] * 4, [r.reason for r in results]
    for result in results:
        device = farm.devices[result.unit.serial]
        truth = report(device.plan, device.role, farm.clock.now())
        record = result.record
        assert record["serial_number"] == result.unit.serial  # 6.5's dashes removed
        assert record["connections"] == truth.connections
        assert record["max_connections"] == truth.max_connections
        assert record[f"{device.role}_state"] == truth.own_state.upper()
        assert record["stateful_synchronization"] is True
        assert record["firmware_version"] == truth.firmware.split()[-1]
        assert uptime_during(farm, device, started, result)
        # the poll logged in once and out again: the unit's one API session is free
        assert (device.api.logins, device.api.logouts, device.api.holder) == (1, 1, None)
    generations = {farm.devices[r.unit.serial].plan.pair.site.profile.style for r in results}
    assert generations == {"gen6", "gen7"}


def test_a_poll_never_takes_over_a_session_someone_else_holds(farm, tmp_path):
    targets_, profiles = setup(farm, tmp_path)
    device = farm.devices[targets_[0].unit.serial]
    device.api.holder, device.api.last_used = "an administrator", time.monotonic()
    result = poll(targets_[:1], profiles)[0]
    assert result.outcome == "protocol" and "single API session is in use" in result.reason
    assert device.api.holder == "an administrator"


def test_snmp_v2c_and_v3_read_counts_capacity_and_identity(v3_farm, tmp_path):
    farm = v3_farm
    targets_, profiles = setup(farm, tmp_path, "sim-snmp")
    v3_serial = farm.plans[0].pair.secondary
    three = [t for t in setup(farm, tmp_path, "sim-snmp3")[0] if t.unit.serial == v3_serial]
    _, v3_profiles = setup(farm, tmp_path, "sim-snmp3")
    two = [t for t in targets_ if t.unit.serial != v3_serial]
    started = farm.clock.now()
    results = poll(two, profiles) + poll(three, v3_profiles)
    assert [r.outcome for r in results] == ["ok"] * 4, [r.reason for r in results]
    for result in results:
        device = farm.devices[result.unit.serial]
        truth = report(device.plan, device.role, farm.clock.now())
        assert result.record["serial"] == result.unit.serial
        assert (
            result.record["connections"],
            result.record["max_connections"],
            result.record["model"],
        ) == (truth.connections, truth.max_connections, truth.model)
        assert uptime_during(farm, device, started, result)


def test_wrong_password_is_an_auth_error_and_is_not_retried(farm, tmp_path):
    targets_, profiles = setup(farm, tmp_path, password="not-the-password")
    results = poll(targets_, profiles, retries=3)
    assert {r.outcome for r in results} == {"auth"}
    assert "login refused (HTTP 401" in results[0].reason
    assert "not-the-password" not in results[0].reason
    assert all(farm.devices[r.unit.serial].api.refused_logins == 1 for r in results)


def test_wrong_snmp_v3_key_is_an_auth_error(v3_farm, tmp_path):
    farm = v3_farm
    serial = farm.plans[0].pair.secondary
    text = farm.credentials_toml(None).replace(farm.secrets.v3_auth_key, "wrong-auth-key-1")
    inventory = farm.write_inventory(tmp_path / "inventory.csv", lambda plan: "sim-snmp3")
    (tmp_path / "p.toml").write_text(text)
    (tmp_path / "p.toml").chmod(0o600)
    units = [u for u in polled_units(inventory) if u.serial == serial]
    profiles = load_profiles(tmp_path / "p.toml", {"sim-snmp3"}, env={})
    result = poll(targets(units, profiles), profiles)[0]
    assert result.outcome == "auth" and "digest" in result.reason.lower()


def test_a_certificate_from_another_ca_is_a_tls_error_and_no_login_is_sent(farm, tmp_path):
    targets_, profiles = setup(farm, tmp_path)
    unit = targets_[0].unit
    farm.set_mode(unit.serial, "bad_cert")
    result = poll(targets_[:1], profiles)[0]
    assert result.outcome == "tls" and "certificate not trusted" in result.reason
    assert farm.devices[unit.serial].api.logins == 0
    assert farm.devices[unit.serial].api.refused_logins == 0


def test_a_pinned_certificate_is_checked_before_anything_is_sent(farm, tmp_path):
    targets_, profiles = setup(farm, tmp_path, pin=True, ca=False)
    assert poll(targets_[:1], profiles)[0].outcome == "ok"
    farm.set_mode(targets_[0].unit.serial, "bad_cert")
    result = poll(targets_[:1], profiles)[0]
    assert result.outcome == "tls" and "not the pinned one" in result.reason
    assert fingerprint(farm.cert_pem) in result.reason  # what was pinned
    assert farm.devices[targets_[0].unit.serial].api.logins == 1  # only the first poll


def test_without_a_ca_or_pin_nothing_is_sent_and_the_fingerprint_is_shown(farm, tmp_path):
    targets_, profiles = setup(farm, tmp_path, ca=False)
    result = poll(targets_[:1], profiles)[0]
    assert result.outcome == "tls" and "no way to trust it" in result.reason
    assert f"it presents sha256 {fingerprint(farm.cert_pem)}" in result.reason
    assert farm.devices[targets_[0].unit.serial].api.logins == 0


@pytest.mark.parametrize(("mode", "outcome"), [("silent", "timeout"), ("refused", "refused")])
def test_a_unit_that_stops_answering_is_recorded_with_the_reason(farm, tmp_path, mode, outcome):
    targets_, profiles = setup(farm, tmp_path, "sim-both")
    serial = targets_[0].unit.serial
    with Store(tmp_path / "h.duckdb") as store:
        store_results(store, poll(targets_, profiles, timeout=1.0), "UTC")
        farm.set_mode(serial, mode)
        store_results(store, poll(targets_, profiles, timeout=1.0), "UTC")
        store_results(store, poll(targets_, profiles, timeout=1.0), "UTC")
        rows = (
            store.cursor()
            .execute(
                "SELECT protocol, outcome, reason, failures, failing_since IS NOT NULL,"
                " last_success IS NOT NULL, attempts, successes FROM poll_status"
                " WHERE serial = ? ORDER BY protocol",
                [serial],
            )
            .fetchall()
        )
        others = (
            store.cursor()
            .execute("SELECT DISTINCT outcome FROM poll_status WHERE serial <> ?", [serial])
            .fetchall()
        )
    # SNMP over UDP never hears "refused": ICMP is not surfaced, so it is a timeout
    assert [(r[0], r[1]) for r in rows] == [("rest", outcome), ("snmp", "timeout")]
    assert all(r[3:] == (2, True, True, 3, 1) for r in rows), rows
    assert rows[0][2] and "\n" not in rows[0][2]
    assert others == [("ok",)]


def test_the_credentials_file_must_be_private(tmp_path):
    path = tmp_path / "x.pollers.toml"
    path.write_text('[profiles.a]\nprotocols = ["snmp"]\ncommunity = "s3cret-community"\n')
    path.chmod(0o640)
    with pytest.raises(HawatchError, match=r"readable by others \(mode 0640\): chmod 600"):
        load_profiles(path, {"a"}, env={})
    path.chmod(0o600)
    assert load_profiles(path, {"a"}, env={})["a"].community == "s3cret-community"
    assert "s3cret" not in repr(load_profiles(path, {"a"}, env={}))


def test_profiles_come_from_the_environment_too(tmp_path):
    env = {
        "HAWATCH_POLL_BRANCH_7_PROTOCOLS": "rest,snmp",
        "HAWATCH_POLL_BRANCH_7_USERNAME": "u",
        "HAWATCH_POLL_BRANCH_7_PASSWORD": "p4ss",
        "HAWATCH_POLL_BRANCH_7_COMMUNITY": "c0m",
    }
    profile = load_profiles(tmp_path / "none.toml", {"branch-7"}, env=env)["branch-7"]
    assert (profile.protocols, profile.password, profile.community) == (
        ("rest", "snmp"),
        "p4ss",
        "c0m",
    )


def test_an_unsynced_failover_is_seen_by_polling_alone(tmp_path):
    """The simulator's unsynced failover, seen only through polls: the primary active with
    sync on; the admin switches sync off; the primary dies (its polls time out) and the
    secondary is active with a fraction of the connections."""
    _, plans = _plans(7, 8, START, START + 3 * DAY)
    plan = next(p for p in plans if p.scenario == "unsynced_failover")
    took_over = next(
        t for t, s in zip(plan.state_times, plan.states, strict=True) if s[1] == "active"
    )
    disabled = next(t for t, s in zip(plan.sync_times, plan.syncs, strict=True) if s == "disabled")
    clock = ScenarioClock(disabled - 600)
    seen = []
    with DeviceFarm([plan], clock) as devices, Store(tmp_path / "h.duckdb") as store:
        targets_, profiles = setup(devices, tmp_path)
        load_inventory(store, tmp_path / "inventory.csv")  # as `hawatch serve` does first
        for moment in (disabled - 600, took_over - 300, took_over + 60):
            clock.set(moment)
            results = poll(targets_, profiles)
            store_results(store, results, "UTC")
            step = [r.started for r in results]
            seen.append(
                (
                    [r.outcome for r in results],
                    store.cursor()
                    .execute(
                        "SELECT s.serial = p.primary_serial AS is_primary, s.state, s.stateful_sync"
                        " FROM status_samples s JOIN pairs p USING (pair) WHERE s.time >= ?"
                        " ORDER BY is_primary DESC, s.stateful_sync NULLS LAST",
                        [min(step)],
                    )
                    .fetchall(),
                    store.cursor()
                    .execute(
                        "SELECT x.serial = p.primary_serial, x.connections FROM session_samples x"
                        " JOIN pairs p USING (pair) WHERE x.time >= ? AND x.connections > 0",
                        [min(step)],
                    )
                    .fetchall(),
                )
            )
    (ok1, status1, count1), (ok2, status2, _), (ok3, status3, count3) = seen
    assert ok1 == ok2 == ["ok", "ok"] and ok3 == ["timeout", "ok"]
    assert status1 == [
        (True, "active", "enabled"),
        (True, "active", None),
        (False, "standby", "enabled"),
        (False, "standby", None),
    ]
    assert {row[2] for row in status2} == {"disabled", None}
    # the secondary alone answers: active, its peer seen as NONE (no heartbeats)
    assert status3 == [(True, "none", None), (False, "active", "disabled")]
    ((was_primary, before),) = count1
    ((is_primary, after),) = count3
    assert was_primary and not is_primary and after < before * 0.1, (before, after)


def test_hawatch_poll_once_prints_each_unit_and_fails_when_one_fails(farm, tmp_path):
    setup(farm, tmp_path, "sim-both")
    env = {**os.environ, "HAWATCH_POLL_CREDENTIALS_FILE": str(tmp_path / "pollers.toml")}
    command = [
        "hawatch",
        "poll",
        "--once",
        "--db",
        str(tmp_path / "none.duckdb"),
        "--inventory",
        str(tmp_path / "inventory.csv"),
        "--format",
        "json",
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=60, env=env)
    assert done.returncode == 0, done.stderr
    rows = json.loads(done.stdout)
    assert len(rows) == 8 and {r["outcome"] for r in rows} == {"ok"}
    assert not (tmp_path / "none.duckdb").exists()  # nothing stored, no database opened
    farm.set_mode(farm.plans[1].pair.primary, "refused")
    done = subprocess.run(
        [*command[:-2], "--pair", farm.plans[1].pair.name],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1
    lines = done.stdout.splitlines()
    assert len(lines) == 2 + 4 and "refused  " in done.stdout and "Traceback" not in done.stderr
    assert "4 (units x protocols)" in done.stderr and "2 failed" in done.stderr


def test_polls_inside_serve_land_as_samples_and_nothing_secret_leaks(farm, tmp_path):
    """A real `hawatch serve` polls the farm: samples and status through the export path,
    poll_status per unit; one pair has a wrong password. The secrets must appear nowhere:
    database file, logs, /metrics, the ingest page, `hawatch sql`."""
    inventory = farm.write_inventory(
        tmp_path / "inventory.csv",
        lambda plan: "sim-both" if plan is farm.plans[0] else "wrong-rest",
    )
    ca_file = farm.write_ca(tmp_path / "ca.pem")
    text = farm.credentials_toml(ca_file) + (
        f'\n[profiles.wrong-rest]\nprotocols = ["rest"]\nusername = "x"\n'
        f'password = "Wr0ng-Pa55word"\nca_file = "{ca_file}"\n'
    )
    credentials = tmp_path / "serve.duckdb.pollers.toml"
    credentials.write_text(text)
    credentials.chmod(0o600)
    server = Server(
        tmp_path,
        syslog=False,
        env={
            "HAWATCH_INVENTORY": str(inventory),
            "HAWATCH_POLL_INTERVAL_SECONDS": "1",
            "HAWATCH_POLL_JITTER_SECONDS": "0",
        },
    )
    try:
        from tests.test_serve import sql

        wait_for(
            lambda: (
                sql(server.db, "SELECT count(*) AS n FROM poll_status WHERE attempts >= 2")[0]["n"]
                == 6
            ),
            "two polls each",
            server.proc,
            seconds=60,
        )
        rows = sql(
            server.db,
            "SELECT protocol, outcome, count(*) AS n FROM poll_status GROUP BY ALL ORDER BY ALL",
        )
        assert rows == [
            {"protocol": "rest", "outcome": "auth", "n": 2},
            {"protocol": "rest", "outcome": "ok", "n": 2},
            {"protocol": "snmp", "outcome": "ok", "n": 2},
        ]
        samples = sql(
            server.db, "SELECT count(*) AS n, count(DISTINCT serial) AS units FROM session_samples"
        )[0]
        assert samples["units"] == 2 and samples["n"] >= 4
        status = sql(
            server.db,
            "SELECT count(*) AS n FROM status_samples WHERE state ="
            " 'active' AND max_connections > 0 AND firmware IS NOT NULL",
        )
        assert status[0]["n"] >= 1
        assert sql(server.db, "SELECT origin, committed_lines > 0 AS any FROM sources") == [
            {"origin": "poll", "any": True}
        ]
        with urllib.request.urlopen(server.url + "/metrics", timeout=10) as response:
            metrics = response.read().decode()
        assert 'hawatch_polls_total{protocol="rest",outcome="auth"}' in metrics
        assert 'hawatch_poll_units{outcome="auth"} 2' in metrics
        everything = sql(server.db, "SELECT * FROM poll_status")
    finally:
        code, output = server.stop()
    assert code == 0 and "Traceback" not in output
    auth_lines = [line for line in output.splitlines() if ": auth: login refused" in line]
    assert len(auth_lines) == 2, output  # once per unit, not once per poll
    secrets = [farm.secrets.password, farm.secrets.community, "Wr0ng-Pa55word"]
    stored = b"".join(
        p.read_bytes()
        for p in tmp_path.glob("serve.duckdb*")
        if p.is_file() and not p.name.endswith(".toml")
    )
    for secret in secrets:
        for where, text in (
            ("log", output),
            ("metrics", metrics),
            ("sql", json.dumps(everything)),
            ("database", stored.decode("latin-1")),
        ):
            assert secret not in text, (secret, where)


def test_snmp_reads_identity_at_the_first_poll_then_counts_only(farm, tmp_path):
    """Model, serial and firmware change only with a reboot: read at a unit's first poll
    (and every tenth, and after a reboot), not at every poll."""
    from hawatch.collector.pollers.cycle import Poller

    targets_, profiles = setup(farm, tmp_path, "sim-snmp")

    async def twice() -> list:
        poller = Poller(profiles, 5.0, 0)
        try:
            return [
                await poll_all(targets_[:1], profiles, 5.0, 0, 1, poller=poller) for _ in range(2)
            ]
        finally:
            poller.close()

    (first,), (second,) = asyncio.run(twice())
    assert first.ok and second.ok
    assert {"model", "firmware", "connections", "max_connections"} <= set(first.record)
    assert "model" not in second.record and second.record["connections"] >= 0
    assert second.record["serial"] == targets_[0].unit.serial  # the inventory's


def test_the_ingest_page_shows_failing_units_with_their_reason(farm, tmp_path):
    from hawatch.dashboard.credentials import Credentials

    from tests.conftest import dashboard_app, log_in

    targets_, profiles = setup(farm, tmp_path, "sim-rest")
    farm.set_mode(targets_[0].unit.serial, "refused")
    with Store(tmp_path / "h.duckdb") as store:
        store_results(store, poll(targets_, profiles), "UTC")
        Credentials(store.path).add("v", "viewer", "viewer-password-1")
        client, status = log_in(dashboard_app(store), "v", "viewer-password-1")
        assert status == 302
        page = client.get("/ingest").get_data(as_text=True)
        health = client.get("/api/v1/ingest-health").get_json()
    assert 'class="poll-unit-row outcome-refused"' in page
    assert "connection refused (nothing listens on the port)" in page
    assert {(o["protocol"], o["outcome"], o["units"]) for o in health["poll_outcomes"]} == {
        ("rest", "ok", 3),
        ("rest", "refused", 1),
    }
    assert health["poll_units"][0]["serial"] == targets_[0].unit.serial  # failing first


@pytest.mark.parametrize(
    ("row", "error"),
    [
        ("p,AA1,AA2,10.0.0.1,,", "primary_address needs a poll_profile"),
        ("p,AA1,,,10.0.0.2,prof", "secondary_address needs secondary_serial"),
        ("p,AA1,AA2,10.0.0.1:99999,,prof", "is not host, host:port or [v6]:port"),
        ("p,AA1,AA2,[::1]:443,,prof,abc", "tls_sha256 must be 64 hex digits"),
    ],
)
def test_inventory_poll_columns_are_checked(tmp_path, row, error):
    path = tmp_path / "inv.csv"
    path.write_text(
        "pair,primary_serial,secondary_serial,primary_address,secondary_address,"
        f"poll_profile,primary_tls_sha256\n{row}\n"
    )
    with pytest.raises(HawatchError, match=error.replace("[", r"\[").replace("]", r"\]")):
        polled_units(path)


def test_inventory_poll_columns_in_toml(tmp_path):
    path = tmp_path / "inv.toml"
    pin = "AB:" * 31 + "CD"
    path.write_text(
        '[[pairs]]\npair = "p"\nprimary_serial = "aa1"\nsecondary_serial = "AA2"\n'
        f'primary_address = "[::1]:8443"\nsecondary_address = "fw-b.example"\n'
        f'poll_profile = "prof"\nprimary_tls_sha256 = "{pin}"\n'
    )
    first, second = polled_units(path)
    assert (first.serial, first.host, first.port, first.tls_sha256) == (
        "AA1",
        "::1",
        8443,
        pin.replace(":", "").lower(),
    )
    assert (second.host, second.port, second.tls_sha256) == ("fw-b.example", None, None)


def test_serve_refuses_a_credentials_file_others_can_read(tmp_path):
    inventory = tmp_path / "inv.csv"
    inventory.write_text(
        "pair,primary_serial,secondary_serial,primary_address,poll_profile\n"
        "p,AA1,AA2,127.0.0.1:9,prof\n"
    )
    credentials = tmp_path / "h.duckdb.pollers.toml"
    credentials.write_text('[profiles.prof]\nprotocols = ["snmp"]\ncommunity = "zz-secret"\n')
    credentials.chmod(0o644)
    done = subprocess.run(
        [
            "hawatch",
            "serve",
            "--db",
            str(tmp_path / "h.duckdb"),
            "--inventory",
            str(inventory),
            "--http",
            "127.0.0.1:0",
            "--syslog-udp",
            "",
            "--syslog-tcp",
            "",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        f"hawatch: error: credentials {credentials} is readable by others (mode 0644):"
        f" chmod 600 {credentials}"
    ]
    assert "zz-secret" not in done.stderr + done.stdout
