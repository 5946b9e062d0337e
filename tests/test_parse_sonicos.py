"""The SonicOS syslog parser on real lines.

Traffic and system lines are verbatim from public test corpora (source named per case).
No public repository holds real SonicOS HA lines (FORMATS.md 2.2, research notes), so HA lines
are the documented HA texts (elastic/beats pipeline.js, RSA message table MESSAGE#205:142 ..
MESSAGE#231:165) in the exact line shape of the real m=53 line of test-drizzthacker.log.
"""

from __future__ import annotations

import logging
import socket
from datetime import UTC, datetime
from logging.handlers import SysLogHandler

import pytest
from hawatch.collector.ingest import ingest_lines, ingest_paths, sync_catalog
from hawatch.collector.inventory import load_inventory

from tests.conftest import rows, scalar

# elastic/integrations packages/sonicwall_firewall/data_stream/log/_dev/test/pipeline/
E_DRIZZ_98 = (
    'Apr 29 10:04:36 172.16.2.1 id=firewall sn=0000A0AAAA00 time="2022-04-29 10:05:12"'
    ' fw=172.16.0.2 pri=6 c=262144 m=98 msg="Connection Opened" n=15243934'
    " src=172.16.2.2:4522:X0 dst=81.2.69.143:443:X1 proto=tcp/https sent=60"
)
E_DRIZZ_53 = (
    'Apr 27 10:23:10 172.16.2.1 id=firewall sn=0000A0AAAA00 time="2022-04-27 10:23:41"'
    ' fw=172.16.0.2 pri=3 c=2 m=53 msg="The cache is full; %u open connections; some'
    ' will be dropped32000 cacheCurrentInUse, 0 freed from pendingFreeList (Total 12)"'
    " n=4094019 src=172.16.2.2:58636:X0 dst=67.43.156.13:56432:X1"
    " srcMac=00:53:a5:10:44:b8 dstMac=00:53:c5:ca:be:00 proto=tcp/56432"
)
E_DRIZZ_584 = (
    "Apr 27 10:24:05 172.16.2.1 id=firewall sn=0000A0AAAA00"
    ' time="2022-04-27 10:24:35" fw=172.16.1.1 pri=1 c=2 m=584'
    ' msg="WLB Failover in progress" n=41 src=172.16.0.2::X1 dst=172.16.1.1::X5'
)
E_DRIZZ_435 = (
    "Apr 27 23:03:52 172.16.2.1 id=firewall sn=0000A0AAAA00"
    ' time="2022-04-27 23:04:26" fw=172.16.0.2 pri=1 c=2 m=435 msg="WLB Failback'
    ' initiated by preemption due to a more preferred interface being operational"'
    " n=40 src=172.16.1.1::X5 dst=172.16.0.2::X1"
)
E_AWS_537 = (
    '<134>  id=firewall sn=0040103CE114 time="2022-05-16 15:22:26 UTC" fw=10.0.0.96'
    ' pri=6 c=1024 m=537 msg="Connection Closed" app=12 sess="Web" n=795 usr="admin"'
    " src=81.2.69.193:65055:X1 dst=10.0.0.96:443:X1 srcMac=06:08:25:81:11:30"
    " proto=tcp/https sent=1930 rcvd=1545 spkt=11 rpkt=7 dpi=0 cdur=2133"
    ' rule="Default Access Rule" fw_action="NA"'
)
E_AWS_1382 = (
    '<134>  id=firewall sn=0040103CE114 time="2022-05-16 08:18:39" fw=10.0.0.96 pri=6'
    ' c=16 gcat=2 m=1382 src=81.2.69.193:64889 dst=10.0.0.96:443:X1 usr="admin"'
    ' sess="API" msg="Configuration succeeded:  \'Logging Level\' , changed from'
    ' [WARNING], changed to [DEBUG]" n=35 fw_action="NA" auditId=34 tranxId=26'
    ' userMode="Full" oldValue="WARNING"'
)
# https://github.com/utmstack/UTMStack/issues/1715: unquoted value with a space
UTMSTACK_98 = (
    '<134> id=firewall sn=ABCDEFGHIJKLM time="2026-02-04 18:05:09 UTC"'
    ' fw=10.91.179.78 pri=6 c=262144 gcat=6 m=98 msg="Connection Opened"'
    " src=192.168.92.115:7859:X26-V92 srcZone=Student/Guest Wifi"
    " dstMac=02:e0:52:ac:35:02 dst=192.168.10.72:53:X27 dstZone=LAN"
    ' usr="guest@testdomain.org" proto=udp/dns sent=76 sess="Auto"'
    ' rule="Custom Access Rule" app=6818 n=805459302 fw_action="NA" dpi=1'
)
# https://github.com/elastic/beats/issues/24124: relay host then three spaces, no c=
BEATS_805 = (
    'Feb 11 07:31:35 _gateway   id=firewall sn=C0EAE4000777 time="2021-02-11 06:31:35'
    ' UTC" fw=10.1.1.1 pri=6 m=805 msg="Interface statistics report" n=1047533 if=U1'
    " ucastRx=0 bcastRx=0 bytesRx=0 ucastTx=0 bcastTx=0 bytesTx=0"
)
# DataDog/integrations-core sonicwall_firewall tests: missing space before n=
DATADOG_537 = (
    'Jan  3 13:45:39 10.10.10.10 id=firewall sn=000SERIAL time="2007-01-03 14:48:10"'
    ' fw=10.10.10.10 pri=6 c=1024 m=537 msg="Connection Closed"n=567999'
    " src=10.10.10.10:4280:LAN dst=10.10.10.10:41850:WANproto=tcp/41850"
    ' sent=386026 rcvd=454118 vpnpolicy="name"'
)
# https://docs.logzilla.net/LogZilla_Appstore/Sonicwall/ : no id=, undocumented f=
LOGZILLA_537 = (
    'sn=0017C5178994 time="2018-02-06 16:11:09" fw=64.107.153.15 pri=6 c=1024'
    ' m=537 msg="Connection Closed" f=2 n=11782330'
    " src=192.168.97.214:60622:X0-V999 dst=172.27.14.5:53:X0-V51 proto=udp/dns"
    " sent=56 rcvd=146"
)

# Python's logging.handlers.SysLogHandler sending LOGZILLA_537 (facility local0, INFO): `<PRI>`
# glued to `sn=`, no timestamp or host, a trailing NUL (TESTING.md; checked against the real
# handler in test_python_sysloghandler_line_is_read_like_the_bare_line)
PYTHON_SYSLOG_537 = "<134>" + LOGZILLA_537 + "\x00"
# elastic/integrations test-general.log @7c72cbe8 (E-general), line 23: no c= and no m=
E_GENERAL_NO_M = (
    'id=firewall sn=XXXXXXX time="2015-11-21 14:30:38" fw=10.0.0.1 pri=5'
    ' msg="Unhandled link-local or multicast IPv6 packet dropped"'
    " srcV6=fe80::d4db:99b9:6f20:f6bd dstV6=ff02::c srcMac=00:53:ff:ff:55:55"
    " dstMac=00:53:00:00:00:0c proto=udp/65535"
)


def ha_line(
    m: int,
    msg: str,
    sn: str = "0040103CE114",
    t: str = "2022-04-27 10:23:41",
    n: int = 100,
    extra: str = "",
) -> str:
    """A documented HA text in the real E-drizz relay-header line shape."""
    return (
        f'Apr 27 10:23:10 172.16.2.1 id=firewall sn={sn} time="{t}" fw=172.16.0.2'
        f' pri=1 c=0{extra} m={m} msg="{msg}" n={n}'
    )


@pytest.fixture
def parse(store):
    sync_catalog(store)

    def run(lines: list[str], **kwargs: object) -> dict[str, object]:
        report = ingest_lines(store, lines, f"test-{len(lines)}-{hash(tuple(lines))}", **kwargs)
        return {
            "report": report,
            "events": rows(
                store,
                "SELECT kind, serial, role, state_to,"
                " trigger, message_id, time FROM ha_events"
                " ORDER BY source_pos",
            ),
        }

    return run


@pytest.mark.parametrize(
    "line, serial, m, minute",
    [
        (E_DRIZZ_98, "0000A0AAAA00", 98, datetime(2022, 4, 29, 10, 5, tzinfo=UTC)),
        (E_AWS_537, "0040103CE114", 537, datetime(2022, 5, 16, 15, 22, tzinfo=UTC)),
        (E_AWS_1382, "0040103CE114", 1382, datetime(2022, 5, 16, 8, 18, tzinfo=UTC)),
        (UTMSTACK_98, "ABCDEFGHIJKLM", 98, datetime(2026, 2, 4, 18, 5, tzinfo=UTC)),
        (BEATS_805, "C0EAE4000777", 805, datetime(2021, 2, 11, 6, 31, tzinfo=UTC)),
        (DATADOG_537, "000SERIAL", 537, datetime(2007, 1, 3, 14, 48, tzinfo=UTC)),
        (LOGZILLA_537, "0017C5178994", 537, datetime(2018, 2, 6, 16, 11, tzinfo=UTC)),
        (PYTHON_SYSLOG_537, "0017C5178994", 537, datetime(2018, 2, 6, 16, 11, tzinfo=UTC)),
        (E_DRIZZ_584, "0000A0AAAA00", 584, datetime(2022, 4, 27, 10, 24, tzinfo=UTC)),
        (E_DRIZZ_435, "0000A0AAAA00", 435, datetime(2022, 4, 27, 23, 4, tzinfo=UTC)),
    ],
)
def test_real_non_ha_lines_are_counted_per_unit_minute_and_id(
    parse, store, line, serial, m, minute
):
    result = parse([line])
    assert result["events"] == []  # WLB "Failover"/"preemption" included: not HA
    assert rows(store, "SELECT minute, serial, message_id, lines FROM message_counts") == [
        (minute, serial, m, 1)
    ]
    assert scalar(store, "SELECT count(*) FROM quarantine") == 0


def sysloghandler_datagram(message: str) -> bytes:
    """What Python's logging.handlers.SysLogHandler sends for `message` (UDP, local0, INFO)."""
    receiver = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    receiver.bind(("127.0.0.1", 0))
    receiver.settimeout(10)
    handler = SysLogHandler(receiver.getsockname(), SysLogHandler.LOG_LOCAL0)
    try:
        handler.emit(logging.LogRecord("fw", logging.INFO, __file__, 0, message, None, None))
        return receiver.recv(65536)
    finally:
        handler.close()
        receiver.close()


def test_python_sysloghandler_line_is_read_like_the_bare_line(parse, store, tmp_path):
    sent = sysloghandler_datagram(LOGZILLA_537)
    assert sent.decode() == PYTHON_SYSLOG_537
    parse([LOGZILLA_537])
    bare = rows(store, "SELECT minute, serial, message_id, lines FROM message_counts")
    # the same line with <PRI>, through the line list (SQL) and from a file (C scanner)
    parse([sent.decode()])
    (tmp_path / "handler.log").write_bytes(sent + b"\n")
    ingest_paths(store, [str(tmp_path / "handler.log")])
    assert scalar(store, "SELECT count(*) FROM quarantine") == 0
    assert rows(
        store, "SELECT minute, serial, message_id, sum(lines) FROM message_counts GROUP BY ALL"
    ) == [(*bare[0][:3], 3)]


def test_line_without_message_id_is_unit_activity(parse, store, tmp_path):
    """E-general line 23 carries sn= and time= but no m=: the unit is alive, nothing to
    quarantine. It is counted (message_id NULL) and keeps the unit's last-seen."""
    result = parse([E_GENERAL_NO_M])
    assert result["events"] == []
    assert scalar(store, "SELECT count(*) FROM quarantine") == 0
    assert rows(store, "SELECT minute, serial, message_id, lines FROM message_counts") == [
        (datetime(2015, 11, 21, 14, 30, tzinfo=UTC), "XXXXXXX", None, 1)
    ]
    assert rows(
        store,
        "SELECT last_seen >= TIMESTAMPTZ '2015-11-21 14:30:38+00'"
        " FROM devices WHERE serial = 'XXXXXXX'",
    ) == [(True,)]
    (tmp_path / "general.log").write_text(E_GENERAL_NO_M.replace("14:30:38", "14:31:38") + "\n")
    ingest_paths(store, [str(tmp_path / "general.log")])  # the C scanner's path
    assert scalar(store, "SELECT count(*) FROM quarantine") == 0
    assert scalar(store, "SELECT sum(lines) FROM message_counts WHERE message_id IS NULL") == 2


def test_cache_full_is_a_session_drop_signal(parse):
    events = parse([E_DRIZZ_53])["events"]
    assert [(e[0], e[5]) for e in events] == [("conn_cache_full", 53)]


@pytest.mark.parametrize(
    "m, text, kind, role, state_to, trigger",
    [
        (142, "Primary firewall has transitioned to Active", "failover", "primary", "active", None),
        (
            143,
            "Backup firewall has transitioned to Active",
            "failover",
            "secondary",
            "active",
            None,
        ),
        (144, "Primary firewall has transitioned to Idle", "standby", "primary", "standby", None),
        (145, "Backup firewall has transitioned to Idle", "standby", "secondary", "standby", None),
        (
            146,
            "Primary missed heartbeats from Active Backup: Primary going Active",
            "failover",
            "primary",
            "active",
            "heartbeat",
        ),
        (
            147,
            "Backup missed heartbeats from Active Primary: Backup going Active",
            "failover",
            "secondary",
            "active",
            "heartbeat",
        ),
        (
            148,
            "Primary received error signal from Active Backup: Primary going Active",
            "failover",
            "primary",
            "active",
            "error_signal",
        ),
        (
            150,
            "Backup firewall being preempted by Primary",
            "failback",
            "secondary",
            "standby",
            "preempt",
        ),
        (151, "Primary firewall preempting Backup", "failback", "primary", "active", "preempt"),
        (
            152,
            "Active Backup detects Active Primary: Backup rebooting",
            "dual_active",
            "secondary",
            "reboot",
            None,
        ),
        (
            153,
            "Imported HA hardware ID did not match this firewall",
            "hardware_id_mismatch",
            None,
            None,
            None,
        ),
        (
            156,
            "Backup received heartbeat from wrong source",
            "heartbeat_wrong_source",
            "secondary",
            None,
            None,
        ),
        (158, "Heartbeat received from incompatible source", "incompatible_peer", None, None, None),
        (
            165,
            "Backup going Active in preempt mode after reboot",
            "failover",
            "secondary",
            "active",
            "reboot",
        ),
        # Newer firmware's wording (Secondary, Standby) for the same ids.
        (
            143,
            "Secondary firewall has transitioned to Active",
            "failover",
            "secondary",
            "active",
            None,
        ),
        (
            145,
            "Secondary firewall has transitioned to Standby",
            "standby",
            "secondary",
            "standby",
            None,
        ),
    ],
)
def test_documented_ha_messages_map_to_kinds(parse, m, text, kind, role, state_to, trigger):
    (event,) = parse([ha_line(m, text)])["events"]
    assert event[0] == kind
    assert (event[2], event[3], event[4], event[5]) == (role, state_to, trigger, m)


def ha_shaped(m: int, rest: str, n: int = 100) -> str:
    """`ha_line`'s header with the text written some other way than `msg="..."`."""
    return (
        f'Apr 27 10:23:10 172.16.2.1 id=firewall sn=0040103CE114 time="2022-04-27 10:23:41"'
        f" fw=172.16.0.2 pri=1 c=0 m={m} {rest} n={n}"
    ).replace(f" m={m}  n=", f" m={m} n=")


@pytest.mark.parametrize(
    "rest, m, kind, trigger",
    [
        # the RSA/NetWitness table's own line shape (B-pipeline HEADER#0001 `... c=%{hcategory->}
        # m=%{messageid->} %{payload}`, MESSAGE#211:147 matching the payload): the bare text
        (
            "Backup missed heartbeats from Active Primary: Backup going Active",
            147,
            "failover",
            "heartbeat",
        ),
        # single quotes, as newer firmware writes appName='...' (E-general)
        (
            "msg='Primary received error signal from Active Backup: Primary going Active'",
            148,
            "failover",
            "error_signal",
        ),
        # unquoted, as B-pipeline MESSAGE#355:598:01 reads `msg=%{msg->} sess=...`
        ("msg=Backup going Active in preempt mode after reboot", 165, "failover", "reboot"),
    ],
)
def test_ha_text_outside_msg_quotes_is_still_its_kind(parse, store, rest, m, kind, trigger):
    (event,) = parse([ha_shaped(m, rest)])["events"]
    assert (event[0], event[4], event[5]) == (kind, trigger, m)
    assert scalar(store, "SELECT count(*) FROM message_counts") == 0


@pytest.mark.parametrize(
    "rest, m",
    [
        ("", 148),  # no text at all
        ('msg="Unrecognised state report"', 147),  # text that is not the id's documented one
    ],
)
def test_ha_id_without_its_text_is_kept_not_counted(parse, store, rest, m):
    """A documented HA id never vanishes into traffic counts: without its documented text it
    is kept as ha_unknown, with the id and whatever text the line has."""
    line = ha_shaped(m, rest)
    (event,) = parse([line])["events"]
    assert (event[0], event[5]) == ("ha_unknown", m)
    (detail,) = rows(store, "SELECT detail FROM ha_events")[0]
    assert detail and (rest.split('"')[1] == detail if rest else detail in line)
    assert scalar(store, "SELECT count(*) FROM message_counts") == 0
    assert scalar(store, "SELECT count(*) FROM quarantine") == 0


@pytest.mark.parametrize(
    "m, text",
    [
        # SonicOS Log Events guide, High Availability / Cluster (EL-PIPE message_codes)
        (1149, "Your Active/Active Clustering subscription has expired."),
        (
            1152,
            "Active/Active Clustering license is not activated on the following cluster units:"
            " 0040103CE115",
        ),
    ],
)
def test_ha_cluster_license_messages_are_events(parse, m, text):
    (event,) = parse([ha_line(m, text)])["events"]
    assert (event[0], event[5]) == ("ha_license", m)


def test_reused_id_with_other_text_is_not_ha(parse, store):
    # SonicOS 6.5.1 Log Events guide (u-siem/usiem-sonicwall README): m=165 is an e-mail event
    result = parse([ha_line(165, "Forbidden E-Mail attachment disabled")])
    assert result["events"] == []
    assert scalar(store, "SELECT sum(lines) FROM message_counts WHERE message_id = 165") == 1


def test_unknown_id_in_ha_group_is_kept_as_ha_unknown(parse):
    # gcat=8 is "High Availability" (SEKOIA-IO intake-formats and DataDog SonicWall parsers)
    (event,) = parse([ha_line(1901, "Secondary unit state changed", extra=" gcat=8")])["events"]
    assert event[0] == "ha_unknown" and event[2] == "secondary"


def test_shared_serial_unit_comes_from_the_text(parse, store, tmp_path):
    inventory = tmp_path / "inv.csv"
    inventory.write_text(
        "pair,site,primary_serial,secondary_serial\nfw-a,lab,0040103CE114,0040103CE115\n"
    )
    load_inventory(store, inventory)
    # both units log with the primary's sn=: the subject of the message names the unit
    events = parse(
        [
            ha_line(147, "Backup missed heartbeats from Active Primary: Backup going Active"),
            ha_line(151, "Primary firewall preempting Backup", n=101),
        ]
    )["events"]
    assert [(e[0], e[1], e[2]) for e in events] == [
        ("failover", "0040103CE115", "secondary"),
        ("failback", "0040103CE114", "primary"),
    ]
    assert rows(store, "SELECT DISTINCT pair FROM ha_events") == [("fw-a",)]


def test_unique_serials_name_the_unit(parse, store, tmp_path):
    inventory = tmp_path / "inv.csv"
    inventory.write_text(
        "pair,site,primary_serial,secondary_serial\nfw-b,lab,C0EAE4000001,C0EAE4000002\n"
    )
    load_inventory(store, inventory)
    events = parse([ha_line(143, "Backup firewall has transitioned to Active", sn="C0EAE4000002")])[
        "events"
    ]
    assert (events[0][1], events[0][2]) == ("C0EAE4000002", "secondary")


def test_local_time_is_converted_with_the_units_zone(parse, store, tmp_path):
    inventory = tmp_path / "inv.toml"
    inventory.write_text(
        '[sites.berlin]\ntimezone = "Europe/Berlin"\n\n[[pairs]]\n'
        'pair = "fw-ber"\nsite = "berlin"\nprimary_serial = "C0EAE4000001"\n'
        'secondary_serial = "C0EAE4000002"\n'
    )
    load_inventory(store, inventory)
    events = parse(
        [
            ha_line(
                142,
                "Primary firewall has transitioned to Active",
                sn="C0EAE4000001",
                t="2026-07-01 12:00:00",
            ),
            ha_line(
                142,
                "Primary firewall has transitioned to Active",
                sn="C0EAE4000001",
                t="2026-07-01 12:00:00 UTC",
                n=101,
            ),
        ]
    )["events"]
    assert [e[6] for e in events] == [
        datetime(2026, 7, 1, 10, tzinfo=UTC),
        datetime(2026, 7, 1, 12, tzinfo=UTC),
    ]


def test_rfc5424_framing_and_clock_skew(parse, store):
    line = (
        "<134>1 2026-11-01T10:00:05.000Z fw1 sonicwall - - - id=firewall sn=C0EAE4000001"
        ' time="2026-11-01 10:00:03" fw=10.0.0.1 pri=6 c=262144 m=98'
        ' msg="Connection Opened" n=8'
    )
    parse([line])
    assert rows(store, "SELECT serial, samples, round(skew_seconds, 3) FROM clock_skew") == [
        ("C0EAE4000001", 1, -2.0)
    ]


def test_receive_time_from_a_listener_measures_skew(parse, store):
    received = [datetime(2026, 11, 1, 10, 1, 3, tzinfo=UTC)]
    parse(
        [E_AWS_537.replace("2022-05-16 15:22:26 UTC", "2026-11-01 10:00:03 UTC")],
        received_at=received,
    )
    assert scalar(store, "SELECT round(skew_seconds) FROM clock_skew") == -60.0


def test_sequence_gaps_and_duplicates_are_counted(parse, store):
    def line(n: int, second: int) -> str:
        return E_AWS_537.replace("n=795", f"n={n}").replace("15:22:26", f"15:22:{second:02}")

    parse([line(1, 0), line(2, 1), line(5, 2), line(5, 2), line(6, 3)])
    assert rows(store, "SELECT lines, missing, duplicated FROM syslog_loss") == [(5, 2, 1)]
    parse([line(9, 10)])  # the next batch continues the counter: 7 and 8 were lost
    assert rows(store, "SELECT lines, missing, duplicated FROM syslog_loss") == [(6, 4, 1)]


def test_counter_reset_after_reboot_is_not_loss(parse, store):
    def line(n: int, minute: int) -> str:
        return E_AWS_537.replace("n=795", f"n={n}").replace("15:22:26", f"15:{minute:02}:00")

    parse([line(5000, 0), line(5001, 1)])
    parse([line(1, 30), line(2, 31)])
    assert rows(store, "SELECT missing, resets FROM syslog_loss") == [(0, 1)]


def test_the_same_ha_line_twice_is_stored_once(parse, store):
    line = ha_line(146, "Primary missed heartbeats from Active Backup: Primary going Active")
    first = parse([line, line])["report"]
    assert (first.result.events_new, first.result.events_duplicate) == (1, 1)
    assert scalar(store, "SELECT count(*) FROM ha_events") == 1


def test_many_lines_per_second_across_batches_are_not_loss(store, tmp_path):
    """Busy units log several lines a second; batch boundaries must not invent gaps."""
    from hawatch.collector.ingest import ingest_one
    from hawatch.collector.inputs import Input

    log = tmp_path / "busy.log"
    log.write_text(
        "".join(
            E_AWS_537.replace("n=795", f"n={n}").replace(
                "15:22:26", f"15:{n // 240:02}:{n // 4 % 60:02}"
            )
            + "\n"
            for n in range(1, 2001)
        )
    )
    sync_catalog(store)
    ingest_one(store, Input(str(log)), "UTC", batch_bytes=64 * 1024)
    assert rows(store, "SELECT sum(missing), sum(duplicated) FROM sequence_gaps") == [(0, 0)]
    assert rows(store, "SELECT last_seq FROM sequence_state") == [(2000,)]
