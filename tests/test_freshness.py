"""Freshness (issue 13 item 2): silence is never healthy. A pair whose units went quiet is
`stale` in pair_health (and everything built on it), and `unit_silent` / `unit_unreachable`
open and resolve like other incidents; but last month's files never open silences in the
past. Real DuckDB files, real ingest of SonicOS lines; polls over HTTPS to simulated units;
a real `hawatch serve` whose simulated unit stops answering."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from hawatch.analytics.alerts.pipeline import evaluate
from hawatch.analytics.alerts.settings import alert_settings
from hawatch.analytics.analyze import analyze
from hawatch.analytics.thresholds import Thresholds
from hawatch.collector.ingest import ingest_paths
from hawatch.collector.inventory import load_inventory
from hawatch.collector.pollers.store_results import store_results
from hawatch.simulator.devices.farm import DeviceFarm
from hawatch.simulator.devices.timeline import ScenarioClock
from hawatch.store import Store

from tests.test_pollers import START, fleet_plans, poll, setup
from tests.test_serve import Server, sql, wait_for

DAY = 86_400
# elastic/integrations sonicwall_firewall test-sonicos70-aws.log, serial, time and counter set
LINE = (
    '<134>  id=firewall sn={sn} time="{time} UTC" fw=10.0.0.96 pri=6 c=1024 m=537'
    ' msg="Connection Closed" app=12 sess="Web" n={n} usr="admin"'
    " src=81.2.69.193:65055:X1 dst=10.0.0.96:443:X1 proto=tcp/https sent=1930 rcvd=1545"
)
INVENTORY = (
    "pair,site,primary_serial,secondary_serial,timezone\n"
    "fw-a,lab,AA0000000001,AA0000000002,UTC\nfw-b,lab,BB0000000001,BB0000000002,UTC\n"
)


def syslog(path: Path, lines: list[tuple[str, datetime]]) -> str:
    """A syslog file of Connection Closed lines: (serial, time) each."""
    path.write_text(
        "".join(
            LINE.format(sn=sn, time=f"{t:%Y-%m-%d %H:%M:%S}", n=n) + "\n"
            for n, (sn, t) in enumerate(lines, 1)
        )
    )
    return str(path)


def health(store: Store) -> dict[str, tuple]:
    return {
        pair: (state, score, reasons)
        for pair, state, score, reasons in store.cursor()
        .execute("SELECT pair, health, score, reasons FROM pair_health")
        .fetchall()
    }


def freshness_incidents(store: Store) -> list[tuple]:
    return (
        store.cursor()
        .execute(
            "SELECT pair, kind, status, opened_at, resolved_at FROM incidents"
            " WHERE kind IN ('unit_silent', 'unit_unreachable') ORDER BY incident_id"
        )
        .fetchall()
    )


def test_a_pair_that_went_quiet_is_stale_and_unit_silent_opens_then_resolves(tmp_path):
    """Syslog arriving now (live), then nothing for longer than freshness.silent_minutes:
    the pair is stale, never `ok`, until a line arrives again."""
    (tmp_path / "inventory.csv").write_text(INVENTORY)
    thresholds = Thresholds.from_settings({"freshness.silent_minutes": 0.1})  # 6 s
    now = datetime.now(UTC)
    with Store(tmp_path / "h.duckdb") as store:
        load_inventory(store, tmp_path / "inventory.csv")
        ingest_paths(
            store, [syslog(tmp_path / "1.log", [("AA0000000001", now), ("BB0000000001", now)])]
        )
        analyze(store, thresholds)
        assert {p: h[0] for p, h in health(store).items()} == {"fw-a": "ok", "fw-b": "ok"}
        time.sleep(4)
        ingest_paths(store, [syslog(tmp_path / "2.log", [("BB0000000001", now)])])
        time.sleep(3)  # fw-a last heard 7 s ago, fw-b 3 s ago
        analyze(store, thresholds)
        quiet = health(store)
        opened = freshness_incidents(store)
        evaluate(
            store,
            alert_settings({"alerts.to": "noc@example.com", "alerts.group_wait_seconds": 0}),
            datetime.now(UTC),
        )
        (mail,) = store.cursor().execute("SELECT text_body FROM notifications").fetchone()
        ingest_paths(store, [syslog(tmp_path / "3.log", [("AA0000000002", datetime.now(UTC))])])
        analyze(store, thresholds)
        back = health(store)
        closed = freshness_incidents(store)
    state, score, reasons = quiet["fw-a"]
    assert state == "stale" and score < 100, quiet
    assert "silent since" in reasons and "AA000000000" in reasons
    assert quiet["fw-b"][0] == "ok"
    assert [(p, k, s) for p, k, s, _, _ in opened] == [("fw-a", "unit_silent", "open")]
    # the e-mail says the pair is stale and since when: no figure in it reads as current
    assert "unit_silent" in mail and "pair health now: STALE: AA000000000" in mail, mail
    assert "last data from the pair: " + f"{now:%Y-%m-%d %H:%M:%S}"[:16] in mail
    assert back["fw-a"][0] == "ok"
    ((_, _, status, opened_at, resolved_at),) = closed
    assert status == "resolved" and resolved_at >= opened_at


def test_last_months_files_open_no_silence_but_show_who_stopped_first(tmp_path):
    """History is judged as of its newest data: the pair that stopped logging three hours
    before the other is stale, the other is not, and no incident opens for either."""
    (tmp_path / "inventory.csv").write_text(INVENTORY)
    end = datetime(2026, 10, 3, 12, 0, tzinfo=UTC)
    lines = [("AA0000000001", end - timedelta(minutes=m)) for m in range(0, 600, 20)]
    lines += [("BB0000000001", end - timedelta(hours=3, minutes=m)) for m in range(0, 420, 20)]
    with Store(tmp_path / "h.duckdb") as store:
        load_inventory(store, tmp_path / "inventory.csv")
        ingest_paths(store, [syslog(tmp_path / "old.log", lines)])
        analyze(store, Thresholds.from_settings())
        states = health(store)
        judged = (
            store.cursor()
            .execute(
                "SELECT pair, bool_or(live), bool_or(silent) FROM unit_freshness GROUP BY pair"
                " ORDER BY pair"
            )
            .fetchall()
        )
        found = freshness_incidents(store)
    assert states["fw-a"][0] == "ok" and states["fw-b"][0] == "stale", states
    assert judged == [("fw-a", False, False), ("fw-b", False, True)]
    assert found == []


def test_a_polled_unit_that_stops_answering_is_unreachable_until_it_answers(tmp_path):
    """Over HTTPS to simulated units: polls fail for longer than freshness.poll_intervals
    intervals -> unit_unreachable opens at the first failure and the pair is stale; one
    answer closes it at that poll (poll_status.ok_since)."""
    thresholds = Thresholds.from_settings(
        {"poll.interval_seconds": 1, "freshness.poll_intervals": 2}
    )
    with (
        DeviceFarm(fleet_plans(), ScenarioClock(START + DAY)) as farm,
        Store(tmp_path / "h.duckdb") as store,
    ):
        targets_, profiles = setup(farm, tmp_path)
        load_inventory(store, tmp_path / "inventory.csv")
        pair = farm.plans[0].pair
        store_results(store, poll(targets_, profiles, timeout=0.5), "UTC")
        analyze(store, thresholds)
        assert health(store)[pair.name][0] == "ok"
        farm.set_mode(pair.secondary, "silent")
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not freshness_incidents(store):
            store_results(store, poll(targets_, profiles, timeout=0.5), "UTC")
            analyze(store, thresholds)
        stale = health(store)[pair.name]
        opened = freshness_incidents(store)
        failing_since = (
            store.cursor()
            .execute("SELECT failing_since FROM poll_status WHERE serial = ?", [pair.secondary])
            .fetchone()[0]
        )
        evidence = json.loads(
            store.cursor()
            .execute("SELECT evidence FROM incidents WHERE kind = 'unit_unreachable'")
            .fetchone()[0]
        )
        farm.set_mode(pair.secondary, "ok")
        store_results(store, poll(targets_, profiles, timeout=0.5), "UTC")
        analyze(store, thresholds)
        ok_since = (
            store.cursor()
            .execute("SELECT ok_since FROM poll_status WHERE serial = ?", [pair.secondary])
            .fetchone()[0]
        )
        closed = freshness_incidents(store)
        after = health(store)[pair.name]
    assert stale[0] == "stale" and "polls failing since" in stale[2], stale
    assert [(p, k, s, o) for p, k, s, o, _ in opened] == [
        (pair.name, "unit_unreachable", "open", failing_since)
    ]
    assert evidence["serial"] == pair.secondary and "timeout" in evidence["poll_problem"]
    assert closed[0][2:] == ("resolved", failing_since, ok_since)
    assert after[0] == "ok"


def test_serve_turns_a_pair_stale_when_its_unit_stops_answering(tmp_path):
    """A real `hawatch serve` polls simulated units every second; one is switched silent:
    its pair turns stale and unit_unreachable opens (threshold 3 polls), in /api/v1/pairs
    too; when it answers again the incident resolves and the pair is ok."""
    from hawatch.dashboard.credentials import Credentials

    with DeviceFarm(fleet_plans(), ScenarioClock(START + DAY)) as farm:
        inventory = farm.write_inventory(tmp_path / "inventory.csv", lambda plan: "sim-rest")
        credentials = tmp_path / "serve.duckdb.pollers.toml"
        farm.write_credentials(credentials, farm.write_ca(tmp_path / "ca.pem"))
        server = Server(
            tmp_path,
            syslog=False,
            env={
                "HAWATCH_INVENTORY": str(inventory),
                "HAWATCH_POLL_INTERVAL_SECONDS": "1",
                "HAWATCH_POLL_JITTER_SECONDS": "0",
                "HAWATCH_POLL_TIMEOUT_SECONDS": "0.5",
                "HAWATCH_POLL_RETRIES": "0",
                "HAWATCH_FRESHNESS_POLL_INTERVALS": "3",
                "HAWATCH_SERVE_ANALYSIS_INTERVAL_SECONDS": "1",
            },
        )
        pair = farm.plans[0].pair
        try:

            def pair_health() -> dict:
                rows = sql(server.db, "SELECT pair, health, stale FROM pair_health")
                return {r["pair"]: r for r in rows}

            wait_for(
                lambda: pair_health()[pair.name]["health"] == "ok",
                "pair ok",
                server.proc,
                seconds=60,
            )
            farm.set_mode(pair.primary, "silent")
            opened = wait_for(
                lambda: sql(
                    server.db,
                    "SELECT status, evidence FROM incidents"
                    " WHERE kind = 'unit_unreachable' AND status = 'open'",
                ),
                "unit_unreachable",
                server.proc,
                seconds=60,
            )
            assert json.loads(opened[0]["evidence"])["serial"] == pair.primary
            assert json.loads(opened[0]["evidence"])["threshold_seconds"] == 3
            assert pair_health()[pair.name]["health"] == "stale"
            Credentials(server.db).add("v", "viewer", "viewer-password-1")
            pairs = api_pairs(server.url, "v", "viewer-password-1")
            row = next(p for p in pairs if p["pair"] == pair.name)
            assert row["health"] == "stale" and row["stale"] is True
            assert row["last_seen"] and row["last_source"] == "poll"
            farm.set_mode(pair.primary, "ok")
            wait_for(
                lambda: (
                    sql(server.db, "SELECT status FROM incidents WHERE kind = 'unit_unreachable'")
                    == [{"status": "resolved"}]
                ),
                "resolved",
                server.proc,
                seconds=60,
            )
            wait_for(
                lambda: pair_health()[pair.name]["health"] == "ok",
                "ok again",
                server.proc,
                seconds=60,
            )
        finally:
            code, output = server.stop()
    assert code == 0 and "Traceback" not in output


def api_pairs(base: str, user: str, password: str) -> list[dict]:
    """/api/v1/pairs after logging in through the form, as a browser would."""
    import http.cookiejar
    import urllib.parse

    from tests.conftest import csrf_token

    opener = urllib.request.build_opener(
        urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
    )
    page = opener.open(base + "/login", timeout=10).read().decode()
    form = urllib.parse.urlencode(
        {"username": user, "password": password, "csrf_token": csrf_token(page), "next": "/"}
    ).encode()
    opener.open(base + "/login", data=form, timeout=10).read()
    with opener.open(base + "/api/v1/pairs", timeout=10) as response:
        return json.loads(response.read())["pairs"]
