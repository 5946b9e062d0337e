"""Summaries that name the actual cause when the logs give it (issue 14 item 5): a pair that
flaps or fails over because a monitored link went down or a logical probe stopped answering
says which one ("link down on X2", "probe on X1 (10.0.0.1) failed"), not only the HA
message's trigger word ("error_signal").

Real ingest and analysis on a DuckDB file. The lines are real SonicOS formats:
- m=566 `Interface %s Link Is Down` (SonicOS 6.5.1 Log Events Reference Guide, Network >
  Interfaces, ALERT, "Multi-Interface Link Down", as excerpted in u-siem/usiem-sonicwall's
  README: https://www.sonicwall.com/techdocs/pdf/sonicos-6-5-1-log-events-reference-guide.pdf)
  in the E-drizz relay-header line shape (tests/test_analytics.py `ha_line`);
- the HA messages 149/143/144/151/150/142/145 in their documented texts (B-pipeline);
- probe failures as export event records (docs/formats.md 2) naming the interface and the
  probe target as SonicOS' HA monitoring configuration does (`name`, `logical_probe.ip`:
  SonicOS 7 API `/high-availability/monitoring/ipv4`, SWGEN7).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from hawatch.analytics.analyze import analyze
from hawatch.store import Store

from tests.test_analytics import (
    FAILOVER,
    LAB,
    PRIMARY,
    SECONDARY,
    T0,
    _counter,
    event,
    ingest,
    of_kind,
    sim_cycle_lines,
    status,
    stored,
    unsynced_dataset,
    write_inventory,
    write_lines,
    write_records,
)

LINK_PAIR, LINK_P, LINK_S = "lab-ha02", "C0EAE4A20001", "C0EAE4A20002"


def link_down_line(sn: str, at: datetime, interface: str) -> str:
    """SonicOS m=566 (USIEM: 6.5.1 Log Events Reference Guide) in the E-drizz line shape."""
    return (
        f"{at:%b} {at.day:2d} {at:%H:%M:%S} 172.16.2.1 id=firewall sn={sn}"
        f' time="{at:%Y-%m-%d %H:%M:%S}" fw=172.16.0.2 pri=1 c=0 m=566'
        f' msg="Interface {interface} Link Is Down" n={next(_counter)}'
    )


def probe_failure(at: datetime, serial: str, interface: str, target: str) -> dict[str, object]:
    """An export event: the active unit's logical probe on `interface` stopped answering."""
    record = event(
        at,
        serial,
        "primary",
        "probe_monitor_failure",
        "Logical monitoring: probe target not responding",
    )
    return {**record, "interface": interface, "probe_target": target}


def flapping_files(folder: Path) -> list[Path]:
    """Two pairs flap five cycles each (tests/test_analytics.py `sim_cycle_lines`): on LAB a
    probe on X1 fails a second before each failover; on LINK_PAIR the link of X2 goes down."""
    folder.mkdir(parents=True, exist_ok=True)
    cycles = [FAILOVER + k * timedelta(minutes=10) for k in range(5)]
    link_lines = [
        line.replace(PRIMARY, LINK_P).replace(SECONDARY, LINK_S)
        for line in sim_cycle_lines(FAILOVER, 5)
    ]
    return [
        write_inventory(
            folder / "inventory.csv", (LAB, PRIMARY, SECONDARY), (LINK_PAIR, LINK_P, LINK_S)
        ),
        write_records(
            folder / "status.ndjson",
            status(T0, LAB, PRIMARY, SECONDARY, "synced")
            + status(T0, LINK_PAIR, LINK_P, LINK_S, "synced")
            + [
                probe_failure(at - timedelta(seconds=1), PRIMARY, "X1", "10.0.0.1") for at in cycles
            ],
        ),
        write_lines(
            folder / "ha.log",
            sim_cycle_lines(FAILOVER, 5)
            + link_lines
            + [link_down_line(LINK_P, at - timedelta(seconds=1), "X2") for at in cycles],
        ),
    ]


def test_flapping_summary_names_the_probe_and_the_link(tmp_path):
    with Store(tmp_path / "hawatch.duckdb") as store:
        ingest(store, *flapping_files(tmp_path / "data"))
        analyze(store)
        found = {f.pair: f for f in of_kind(stored(store), "flapping")}
        details = dict(
            store.cursor()
            .execute(
                "SELECT pair, any_value(detail) FROM ha_events"
                " WHERE kind IN ('probe_monitor_failure', 'interface_down') GROUP BY pair"
            )
            .fetchall()
        )
    probe, link = found[LAB], found[LINK_PAIR]
    assert details[LINK_PAIR] == "Interface X2 Link Is Down"  # m=566 keeps its text
    assert "interface X1" in details[LAB] and "probe 10.0.0.1" in details[LAB]
    assert "failovers triggered by probe on X1 (10.0.0.1) failed (5x)" in probe.summary
    assert "error_signal" not in probe.summary
    assert probe.evidence["cause"] == "probe on X1 (10.0.0.1) failed"
    assert probe.evidence["triggers"] == {"error_signal": 5}  # the HA message's own word
    assert "failovers triggered by link down on X2 (5x)" in link.summary
    assert link.evidence["cause"] == "link down on X2"


def test_without_a_monitor_event_the_trigger_word_stays(tmp_path):
    """The fallback: no monitor event names anything, so the HA message's word is the cause."""
    folder = tmp_path / "data"
    folder.mkdir()
    files = [
        write_inventory(folder / "inventory.csv", (LAB, PRIMARY, SECONDARY)),
        write_records(folder / "status.ndjson", status(T0, LAB, PRIMARY, SECONDARY, "synced")),
        write_lines(folder / "ha.log", sim_cycle_lines(FAILOVER, 5)),
    ]
    with Store(tmp_path / "hawatch.duckdb") as store:
        ingest(store, *files)
        analyze(store)
        (flap,) = of_kind(stored(store), "flapping")
    assert "failovers triggered by error_signal (5x)" in flap.summary
    assert flap.evidence["cause"] == "error_signal"


def test_unsynced_failover_names_the_link_that_went_down(tmp_path):
    files = unsynced_dataset(tmp_path / "data")
    down = write_lines(
        tmp_path / "data" / "link.log",
        [link_down_line(PRIMARY, FAILOVER - timedelta(seconds=2), "X2")],
    )
    with Store(tmp_path / "hawatch.duckdb") as store:
        ingest(store, *files.values(), down)
        analyze(store)
        (unsynced,) = of_kind(stored(store), "unsynced_failover")
    assert unsynced.summary.startswith(f"failover to {SECONDARY} (link down on X2) kept")
    assert unsynced.evidence["cause"] == "link down on X2"
    assert unsynced.evidence["trigger"] == "error_signal"
