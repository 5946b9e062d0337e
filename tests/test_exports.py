"""Every accepted export shape (collector/exports/parse.py, collector/exports/records.py),
through the real `hawatch ingest` CLI into a real DuckDB file.

Serials: C0EFE33057B0 is the sn= example of FORMATS.md §1.5; 0040103CE114 the unit of E-aws
(elastic/integrations .../test-sonicos70-aws.log); 0017C5178994 the unit of LogZilla's
SonicOS example (https://docs.logzilla.net/LogZilla_Appstore/Sonicwall/). Their peers are
made up (last digit + 1). SonicOS texts: B-pipeline (elastic/beats x-pack/filebeat/module/
sonicwall/firewall/config/pipeline.js, MESSAGE#205:142 ..) for the old wording; the new
Secondary/Standby wording per HELP-6200 / SW8-HA (FORMATS.md §2.2). REST API poll fields:
sonicwall/sonicos-automation reset_credentials.py (`status`, `primary_state`,
`secondary_state`, `active_up_time`), the Gen7 system status report (`serial_number`, `model`,
`firmware_version`, `current_connections` as "Current: 6374"), /work/research/
sonicos_findings.md §3.
"""

from __future__ import annotations

import csv
import io
import json
import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hawatch.store import Store

BER_P, BER_S = "C0EFE33057B0", "C0EFE33057B1"
BOM_P, BOM_S = "0040103CE114", "0040103CE115"
INVENTORY = (
    "pair,site,primary_serial,secondary_serial,timezone\n"
    f"berlin-1,BER,{BER_P},{BER_S},Europe/Berlin\n"
    f"mumbai-1,BOM,{BOM_P},{BOM_S},+05:30\n"
)


def hawatch(*args: str) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(["hawatch", *args], capture_output=True, text=True, timeout=60)
    assert "Traceback" not in result.stderr
    assert "internal error" not in result.stderr
    return result


def ingest(
    db: Path, *sources: Path, inventory: Path | None = None, options: tuple[str, ...] = ()
) -> subprocess.CompletedProcess[str]:
    extra = ("--inventory", str(inventory)) if inventory else ()
    result = hawatch("ingest", "--db", str(db), *extra, *options, *map(str, sources))
    assert result.returncode == 0, result.stderr
    return result


def query(db: Path, sql: str) -> list[tuple]:
    with Store(db, read_only=True) as store:
        return store.cursor().execute(sql).fetchall()


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def inventory(folder: Path) -> Path:
    path = folder / "inventory.csv"
    path.write_text(INVENTORY)
    return path


def write(path: Path, records: list[dict], shape: str) -> Path:
    if shape == "json_array":
        text = json.dumps(records)
    elif shape == "json_array_pretty":
        text = json.dumps(records, indent=2)
    elif shape == "ndjson":
        text = "\n".join(json.dumps(r) for r in records) + "\n"
    elif shape == "pretty_concatenated":
        text = "\n".join(json.dumps(r, indent=2) for r in records) + "\n"
    elif shape == "csv":
        columns = list(dict.fromkeys(k for r in records for k in r))
        out = io.StringIO()
        writer = csv.DictWriter(out, columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows({k: "" if v is None else str(v) for k, v in r.items()} for r in records)
        text = out.getvalue()
    else:
        raise AssertionError(shape)
    path.write_text(text)
    return path


# -- every shape, every time and event form -----------------------------------------------------

RECORDS = [
    # kind name, ISO 8601 with Z
    {"time": "2024-07-01T10:00:00Z", "serial": BER_P, "event": "failover", "role": "primary"},
    # SonicOS message id, ISO 8601 with an offset; the message names its unit (secondary)
    {"time": "2024-07-01T12:05:00+02:00", "serial": BER_P, "event": "143"},
    # SonicOS text, old wording, naive local time (Europe/Berlin, summer: UTC+2)
    {
        "time": "2024-07-01T12:10:00",
        "serial": BER_P,
        "event": "Backup firewall has transitioned to Active",
    },
    # SonicOS text, new wording, epoch seconds (a JSON number; a string in CSV)
    {
        "time": 1719829200,
        "serial": BOM_P,
        "event": "Secondary firewall has transitioned to Standby",
    },
    # connections and no event: a session sample; naive local time at +05:30
    {"time": "2024-07-01T16:00:00", "serial": BOM_P, "connections": 1234, "vpn_sas": 12},
    # a status record
    {
        "time": "2024-07-01T10:40:00Z",
        "serial": BER_S,
        "state": "active",
        "stateful_sync": "synced",
        "model": "NSa 4700",
        "firmware": "7.0.1-5145",
        "ha_mode": "active_standby",
    },
    # SonicOS-style time with " UTC", a sync event after the synced status
    {"time": "2024-07-01 10:50:00 UTC", "serial": BER_P, "event": "sync_failed"},
    # message id with a trigger, fractional seconds
    {"time": "2024-07-01T11:00:00.250Z", "serial": BOM_S, "event": "147"},
]

# (time, pair, serial, reported_serial, kind, state_to, trigger, message_id)
EXPECTED_EVENTS = [
    (utc("2024-07-01T10:00:00Z"), "berlin-1", BER_P, BER_P, "failover", "active", None, None),
    (utc("2024-07-01T10:05:00Z"), "berlin-1", BER_S, BER_P, "failover", "active", None, 143),
    (utc("2024-07-01T10:10:00Z"), "berlin-1", BER_S, BER_P, "failover", "active", None, 143),
    (utc("2024-07-01T10:20:00Z"), "mumbai-1", BOM_S, BOM_P, "standby", "standby", None, 145),
    (utc("2024-07-01T10:50:00Z"), "berlin-1", BER_P, BER_P, "sync_failed", None, None, None),
    (
        utc("2024-07-01T11:00:00.250Z"),
        "mumbai-1",
        BOM_S,
        BOM_S,
        "failover",
        "active",
        "heartbeat",
        147,
    ),
]
EXPECTED_SAMPLES = [(utc("2024-07-01T10:30:00Z"), "mumbai-1", BOM_P, 1234, 12)]
EXPECTED_STATUS = [
    (
        utc("2024-07-01T10:40:00Z"),
        "berlin-1",
        BER_S,
        "active",
        "synced",
        "NSa 4700",
        "7.0.1-5145",
        "active_standby",
    )
]
# (pair, active_serial, stateful_sync, ha_mode): the newest evidence wins
EXPECTED_PAIRS = [
    ("berlin-1", BER_S, "not_synced", "active_standby"),
    ("mumbai-1", BOM_S, None, None),
]

EVENTS_SQL = (
    "SELECT time, pair, serial, reported_serial, kind, state_to, trigger, message_id"
    " FROM ha_events ORDER BY time"
)
SAMPLES_SQL = "SELECT time, pair, serial, connections, vpn_sas FROM session_samples ORDER BY time"
STATUS_SQL = (
    "SELECT time, pair, serial, state, stateful_sync, model, firmware, ha_mode"
    " FROM status_samples ORDER BY time, serial"
)
PAIRS_SQL = "SELECT pair, active_serial, stateful_sync, ha_mode FROM pairs ORDER BY pair"

SHAPES = ["json_array", "json_array_pretty", "ndjson", "pretty_concatenated", "csv"]


def snapshot(db: Path) -> dict[str, list[tuple]]:
    return {sql: query(db, sql) for sql in (EVENTS_SQL, SAMPLES_SQL, STATUS_SQL, PAIRS_SQL)}


@pytest.mark.parametrize("shape", SHAPES)
def test_every_shape_gives_the_same_rows(tmp_path, shape):
    path = write(tmp_path / f"export.{'csv' if shape == 'csv' else 'json'}", RECORDS, shape)
    db = tmp_path / "x.duckdb"
    result = ingest(db, path, inventory=inventory(tmp_path))
    assert f"{path}: {len(RECORDS)} records [{'csv' if shape == 'csv' else 'json'}]" in (
        result.stdout
    )
    assert ", 0 quarantined;" in result.stdout
    assert query(db, EVENTS_SQL) == EXPECTED_EVENTS
    assert query(db, SAMPLES_SQL) == EXPECTED_SAMPLES
    assert query(db, STATUS_SQL) == EXPECTED_STATUS
    assert query(db, PAIRS_SQL) == EXPECTED_PAIRS
    assert query(db, "SELECT model, firmware FROM devices WHERE serial = 'C0EFE33057B1'") == [
        ("NSa 4700", "7.0.1-5145")
    ]


def test_sonicos_texts_keep_their_wording_and_message_id(tmp_path):
    path = write(tmp_path / "export.json", RECORDS, "ndjson")
    db = tmp_path / "x.duckdb"
    ingest(db, path, inventory=inventory(tmp_path))
    assert query(
        db,
        "SELECT source_pos, message_id, role, detail FROM ha_events"
        " WHERE message_id IS NOT NULL ORDER BY source_pos",
    ) == [
        (2, 143, "secondary", "Backup firewall has transitioned to Active"),
        (3, 143, "secondary", "Backup firewall has transitioned to Active"),
        (4, 145, "secondary", "Secondary firewall has transitioned to Standby"),
        (8, 147, "secondary", "Backup missed heartbeats from Active Primary: Backup going Active"),
    ]


def test_export_events_take_the_units_role_from_the_inventory(tmp_path):
    path = write(tmp_path / "export.json", RECORDS, "ndjson")
    db = tmp_path / "x.duckdb"
    ingest(db, path, inventory=inventory(tmp_path))
    assert query(db, "SELECT serial, role FROM ha_events WHERE kind = 'sync_failed'") == [
        (BER_P, "primary")
    ]


def test_naive_times_use_the_units_zone_then_the_default(tmp_path):
    records = [
        # inventory zone Europe/Berlin: summer UTC+2, winter UTC+1
        {"time": "2024-07-01T12:00:00", "serial": BER_P, "event": "failover"},
        {"time": "2024-01-15T12:00:00", "serial": BER_S, "event": "failover"},
        # inventory zone as a fixed offset +05:30
        {"time": "2024-01-15T12:00:00", "serial": BOM_P, "event": "failover"},
        # a unit in no inventory: --timezone America/New_York (EST, UTC-5)
        {"time": "2024-01-15T12:00:00", "serial": "0017C5178994", "event": "failover"},
        # explicit zones are never converted again
        {"time": "2024-01-15T12:00:00+01:00", "serial": "0017C5178994", "event": "standby"},
        {"time": "2024-01-15 13:00:00 UTC", "serial": BOM_S, "event": "standby"},
        {"time": "1705323600", "serial": BER_P, "event": "standby"},
    ]
    path = write(tmp_path / "export.json", records, "json_array")
    db = tmp_path / "x.duckdb"
    ingest(db, path, inventory=inventory(tmp_path), options=("--timezone", "America/New_York"))
    assert query(db, "SELECT source_pos, time FROM ha_events ORDER BY source_pos") == [
        (1, utc("2024-07-01T10:00:00Z")),
        (2, utc("2024-01-15T11:00:00Z")),
        (3, utc("2024-01-15T06:30:00Z")),
        (4, utc("2024-01-15T17:00:00Z")),
        (5, utc("2024-01-15T11:00:00Z")),
        (6, utc("2024-01-15T13:00:00Z")),
        (7, utc("2024-01-15T13:00:00Z")),
    ]


# -- SonicOS REST API polls ---------------------------------------------------------------------

POLLS = [
    # both endpoints saved together; the serial with dashes as some tools print it
    {
        "polled_at": "2024-07-01T14:00:00Z",
        "serial_number": "0040-103C-E114",
        "model": "NSa 2700",
        "firmware_version": "SonicOS 7.0.1-5145",
        "current_connections": "Current: 6374",
        "status": "Primary Active",
        "primary_state": "ACTIVE",
        "secondary_state": "STANDBY",
        "active_up_time": "0 Days 03:12:44",
    },
    # after a failover; the unit's own clock (system_time, local: +05:30)
    {
        "system_time": "2024-07-01 20:00:00",
        "serial_number": BOM_P,
        "current_connections": "Current: 5980",
        "status": "Secondary Active",
        "primary_state": "STANDBY",
        "secondary_state": "ACTIVE",
        "active_up_time": "0 Days 00:02:10",
    },
    # only the HA status string, upper-cased as SonicWall's script sees it; epoch number
    {
        "polled_at": 1719846000,
        "serial_number": BER_P,
        "status": "PRIMARY ACTIVE",
        "active_up_time": "1 Day 00:00:05",
    },
]


def test_rest_api_polls_become_status_and_session_samples(tmp_path):
    path = write(tmp_path / "polls.json", POLLS, "ndjson")
    db = tmp_path / "x.duckdb"
    result = ingest(db, path, inventory=inventory(tmp_path))
    assert f"{path}: 3 records [json]" in result.stdout
    assert ", 0 quarantined;" in result.stdout
    assert query(
        db, "SELECT time, pair, serial, state FROM status_samples ORDER BY time, serial"
    ) == [
        (utc("2024-07-01T14:00:00Z"), "mumbai-1", BOM_P, "active"),
        (utc("2024-07-01T14:00:00Z"), "mumbai-1", BOM_S, "standby"),
        (utc("2024-07-01T14:30:00Z"), "mumbai-1", BOM_P, "standby"),
        (utc("2024-07-01T14:30:00Z"), "mumbai-1", BOM_S, "active"),
        (utc("2024-07-01T15:00:00Z"), "berlin-1", BER_P, "active"),
    ]
    assert query(db, SAMPLES_SQL) == [
        (utc("2024-07-01T14:00:00Z"), "mumbai-1", BOM_P, 6374, None),
        (utc("2024-07-01T14:30:00Z"), "mumbai-1", BOM_P, 5980, None),
    ]
    assert query(db, "SELECT model, firmware FROM devices WHERE serial = '0040103CE114'") == [
        ("NSa 2700", "SonicOS 7.0.1-5145")
    ]
    assert query(db, "SELECT pair, active_serial FROM pairs ORDER BY pair") == [
        ("berlin-1", BER_P),
        ("mumbai-1", BOM_S),
    ]


# -- pairing from exports -----------------------------------------------------------------------

PEERS = [
    {
        "time": "2024-07-01T13:00:00Z",
        "serial": "0018B0000001",
        "peer_serial": "0018B0000002",
        "role": "primary",
        "event": "failover",
        "model": "TZ 370",
        "firmware": "7.0.1-5050",
    },
    {
        "time": "2024-07-01T13:05:00Z",
        "serial": "0018B0000002",
        "peer_serial": "0018B0000001",
        "role": "secondary",
        "state": "active",
        "stateful_sync": "not_synced",
    },
]
PEER_PAIR = "0018B0000001+0018B0000002"


def test_peer_serial_pairs_two_units_in_no_inventory(tmp_path):
    db = tmp_path / "x.duckdb"
    result = ingest(db, write(tmp_path / "peers.json", PEERS, "ndjson"))
    assert "unpaired units" not in result.stdout
    assert query(db, "SELECT pair, primary_serial, secondary_serial, origin FROM pairs") == [
        (PEER_PAIR, "0018B0000001", "0018B0000002", "export")
    ]
    assert query(db, "SELECT serial, pair, role, model FROM devices ORDER BY serial") == [
        ("0018B0000001", PEER_PAIR, "primary", "TZ 370"),
        ("0018B0000002", PEER_PAIR, "secondary", None),
    ]
    assert query(db, "SELECT count(*) FROM unpaired_devices") == [(0,)]


def test_peer_paired_units_own_rows_belong_to_the_pair(tmp_path):
    db = tmp_path / "x.duckdb"
    ingest(db, write(tmp_path / "peers.json", PEERS, "ndjson"))
    assert query(db, "SELECT pair FROM ha_events UNION ALL SELECT pair FROM status_samples") == [
        (PEER_PAIR,),
        (PEER_PAIR,),
    ]
    assert query(db, "SELECT active_serial, stateful_sync FROM pairs") == [
        ("0018B0000002", "not_synced")
    ]


def test_a_serial_in_no_inventory_is_kept_and_listed_unpaired(tmp_path):
    records = [
        {"time": "2024-07-01T13:00:00Z", "serial": "0017C5178994", "event": "failover"},
        {"time": "2024-07-01T13:01:00Z", "serial": "0017C5178994", "connections": 77},
    ]
    db = tmp_path / "x.duckdb"
    result = ingest(
        db, write(tmp_path / "lone.json", records, "json_array"), inventory=inventory(tmp_path)
    )
    assert "unpaired units (1; in no inventory or export): 0017C5178994" in result.stdout
    assert query(db, "SELECT serial, pair, kind FROM ha_events") == [
        ("0017C5178994", None, "failover")
    ]
    assert query(db, "SELECT serial, pair, connections FROM session_samples") == [
        ("0017C5178994", None, 77)
    ]
    assert query(db, "SELECT serial, first_seen, last_seen FROM unpaired_devices") == [
        ("0017C5178994", utc("2024-07-01T13:00:00Z"), utc("2024-07-01T13:01:00Z"))
    ]
    assert query(db, "SELECT count(*) FROM pairs") == [(2,)]


# -- idempotence and de-duplication --------------------------------------------------------------


def test_reingesting_the_same_export_adds_nothing(tmp_path):
    path = write(tmp_path / "export.json", RECORDS, "json_array")
    db = tmp_path / "x.duckdb"
    inv = inventory(tmp_path)
    ingest(db, path, inventory=inv)
    before = snapshot(db)
    copy = tmp_path / "renamed.json"
    shutil.copy(path, copy)
    again = ingest(db, path, copy, inventory=inv)
    assert f"{path}: already ingested, nothing new" in again.stdout
    assert f"{copy}: already ingested, nothing new" in again.stdout
    assert snapshot(db) == before
    assert query(db, "SELECT count(*) FROM sources") == [(1,)]


def test_the_same_events_in_two_files_are_stored_once(tmp_path):
    """Two different files (JSON, then CSV with one more record) repeat the same events."""
    first = write(tmp_path / "a.json", RECORDS, "json_array")
    extra = {"time": "2024-07-01T12:00:00Z", "serial": BER_P, "event": "failback"}
    second = write(tmp_path / "b.csv", [*RECORDS[:6], extra], "csv")
    db = tmp_path / "x.duckdb"
    result = ingest(db, first, second, inventory=inventory(tmp_path))
    assert f"{second}: 7 records [csv] -> 5 HA events (4 duplicates)" in result.stdout
    events = query(db, EVENTS_SQL)
    assert len(events) == len(EXPECTED_EVENTS) + 1
    assert [e for e in events if e[4] != "failback"] == EXPECTED_EVENTS
    assert query(db, SAMPLES_SQL) == EXPECTED_SAMPLES
    assert query(db, STATUS_SQL) == EXPECTED_STATUS
    assert query(db, "SELECT count(DISTINCT event_key) = count(*) FROM ha_events") == [(True,)]


OLDER = [
    {"time": "2024-07-01T08:00:00Z", "serial": BER_S, "event": "failover"},
    {"time": "2024-07-01T08:00:00Z", "serial": BER_S, "stateful_sync": "not_synced"},
    {"time": "2024-07-01T08:30:00Z", "serial": BER_S, "event": "sync_completed"},
]
NEWER = [
    {"time": "2024-07-02T09:00:00Z", "serial": BER_P, "event": "151"},  # Primary preempting
    {"time": "2024-07-02T09:05:00Z", "serial": BER_P, "event": "sync_disabled"},
    {"time": "2024-07-02T09:10:00Z", "serial": BOM_S, "state": "active"},
]


@pytest.mark.parametrize("order", ["older_first", "newer_first"])
def test_pair_state_reflects_the_newest_evidence_whatever_the_file_order(tmp_path, order):
    older = write(tmp_path / "older.json", OLDER, "ndjson")
    newer = write(tmp_path / "newer.json", NEWER, "ndjson")
    files = (older, newer) if order == "older_first" else (newer, older)
    db = tmp_path / "x.duckdb"
    ingest(db, *files, inventory=inventory(tmp_path))
    assert query(db, "SELECT pair, active_serial, stateful_sync FROM pairs ORDER BY pair") == [
        ("berlin-1", BER_P, "disabled"),
        ("mumbai-1", BOM_S, None),
    ]


# -- a record with connections and status fields keeps both (issue 13 item 4) ------------------

BOTH = [
    # a poll as hawatch's own record: counts plus the unit's state, sync, model, firmware
    {
        "time": "2024-07-01T14:00:00Z",
        "serial": BER_S,
        "role": "secondary",
        "state": "active",
        "connections": 5100,
        "vpn_sas": 7,
        "max_connections": 750000,
        "stateful_sync": "synced",
        "model": "NSa 4700",
        "firmware": "7.1.1-7058",
    },
    # only firmware beside the count (a drifted unit seen by a counter-only poll)
    {"time": "2024-07-01T14:01:00Z", "serial": BER_P, "connections": 0, "firmware": "7.0.1-5145"},
]


def test_a_record_with_connections_and_status_fields_keeps_both(tmp_path):
    db = tmp_path / "x.duckdb"
    result = ingest(
        db, write(tmp_path / "both.json", BOTH, "ndjson"), inventory=inventory(tmp_path)
    )
    assert ", 0 quarantined;" in result.stdout
    assert query(db, SAMPLES_SQL) == [
        (utc("2024-07-01T14:00:00Z"), "berlin-1", BER_S, 5100, 7),
        (utc("2024-07-01T14:01:00Z"), "berlin-1", BER_P, 0, None),
    ]
    assert query(
        db,
        "SELECT time, serial, state, stateful_sync, model, firmware,"
        " max_connections FROM status_samples ORDER BY time",
    ) == [
        (utc("2024-07-01T14:00:00Z"), BER_S, "active", "synced", "NSa 4700", "7.1.1-7058", 750000),
        (utc("2024-07-01T14:01:00Z"), BER_P, None, None, None, "7.0.1-5145", None),
    ]
    assert query(db, "SELECT active_serial, stateful_sync FROM pairs WHERE pair = 'berlin-1'") == [
        (BER_S, "synced")
    ]


def test_a_rest_poll_gives_model_and_firmware_to_the_polled_unit_only(tmp_path):
    """The HA report names both units' states, but model, firmware and counts are the
    polled unit's: the peer's status row must not take them (a firmware mismatch would
    vanish). 6.5's `connections` string holds Peak, Current and Max: Current is the count."""
    poll = {
        "polled_at": "2024-07-01T14:00:00Z",
        "serial_number": BOM_P,
        "role": "primary",
        "model": "NSa 2650",
        "firmware_version": "SonicOS Enhanced 6.5.4.4-44n",
        "connections": "Peak: 6843 Current: 5433 Max Allowed: 90000 Max: 90000",
        "status": "Primary Active",
        "primary_state": "ACTIVE",
        "secondary_state": "STANDBY",
        "stateful_synchronization": True,
    }
    db = tmp_path / "x.duckdb"
    ingest(db, write(tmp_path / "poll.json", [poll], "json_array"), inventory=inventory(tmp_path))
    assert query(
        db,
        "SELECT serial, state, stateful_sync, model, firmware, max_connections"
        " FROM status_samples ORDER BY serial",
    ) == [
        (BOM_P, "active", "enabled", "NSa 2650", "SonicOS Enhanced 6.5.4.4-44n", 90000),
        (BOM_S, "standby", None, None, None, None),
    ]
    assert query(db, "SELECT serial, connections FROM session_samples") == [(BOM_P, 5433)]
