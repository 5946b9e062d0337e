"""Bad input never crashes hawatch and never vanishes.

The contract checked here, through the real `hawatch` CLI on real DuckDB files:
- a file that is merely bad content ingests; every unusable line or record is stored in
  `quarantine` with its position, its raw text and a reason, and is counted; a file of which
  nothing at all was usable (not a log) also gets one `nothing usable` line on stderr and the
  run exits 1;
- syslog lines add up: lines read = HA events + counted + quarantined (CLI summary and tables);
- a source that cannot be read at all (truncated gzip, missing file, broken inventory) is one
  `hawatch: error:` line on stderr and a non-zero exit; never a traceback.

Real lines (source keys as in /work/shared/FORMATS.md §9 and /work/research/sonicos_findings.md §5):
- E-aws: elastic/integrations packages/sonicwall_firewall/data_stream/log/_dev/test/pipeline/
  test-sonicos70-aws.log @8f7e7ee3 (the m=713 lines carry a non-UTF-8 byte in msg=; the index
  shows it as U+FFFD, so the byte itself is unknown: 0x92 stands in for it here).
- E-drizz: same folder, test-drizzthacker.log @14d6e98f.
- ASA-scala: CiscoAsaParserSpec.scala (ru.gkis.soc.siem.normalizer.parsers; code index file
  17707952304), real ASA failover lines.
- KA-1686: https://github.com/acassen/keepalived/issues/1686 (old `VRRP_Instance(vi_2)` style);
  keepalived#1467: https://github.com/acassen/keepalived/issues/1467 (new `(VI_1)` style).
- OPN-3671 / OPN-2551: https://github.com/opnsense/core/issues/3671 and .../2551 (CARP).
- FGT-docs: FortiOS log message reference 37901 (MESGID_HBDEV_DOWN, fields devintfname, ha_role,
  hbdn_reason). No real FortiGate HA line is public (FORMATS.md §5), so that one line is built
  from the documented shape.
- SEKOIA: SEKOIA-IO/intake-formats SonicWall/sonicwall-fw/tests test_cef_connection_closed.json
  @e589e482 and test_cef_connection_opened.json @063bb84c (SonicOS ArcSight/CEF format).
- E-panos: elastic/integrations packages/panw/data_stream/panos/_dev/test/pipeline/
  test-panw-panos-system-sample.log.
"""

from __future__ import annotations

import gzip
import json
import random
import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from hawatch.store import Store

# -- real lines ---------------------------------------------------------------------------------

# E-aws, verbatim: a Connection Closed line (counted, m=537).
E_AWS_CLOSED = (
    '<134>  id=firewall sn=0040103CE114 time="2022-05-16 15:22:26 UTC" fw=10.0.0.96 pri=6'
    ' c=1024 m=537 msg="Connection Closed" app=12 sess="Web" n=795 usr="admin"'
    " src=81.2.69.193:65055:X1 dst=10.0.0.96:443:X1 srcMac=06:08:25:81:11:30 proto=tcp/https"
    ' sent=1930 rcvd=1545 spkt=11 rpkt=7 dpi=0 cdur=2133 rule="Default Access Rule"'
    ' fw_action="NA"'
)
# E-aws: the m=713 line whose msg= is one non-UTF-8 byte.
E_AWS_RST_BAD_BYTE = (
    b'<135>  id=firewall sn=0040103CE114 time="2022-05-16 08:18:39" fw=10.0.0.96 pri=7 c=512'
    b" gcat=6 m=713 srcMac=00:06:b1:dd:4f:d4 src=10.0.0.96:443:X1 srcZone=Untrusted"
    b' dstMac=00:17:c5:30:f9:d9 dst=81.2.69.193:64889:X1 dstZone=Untrusted usr="admin"'
    b' proto=tcp/https sent=46 sess="Web" rule="15 (WAN->WAN)" app=12 msg="\x92"'
    b' note="TCP Flag(s): RST" n=692 fw_action="drop"'
)
# E-drizz, verbatim: BSD relay header, Connection Opened (counted, m=98).
E_DRIZZ_OPENED = (
    'Apr 29 10:04:36 172.16.2.1 id=firewall sn=0000A0AAAA00 time="2022-04-29 10:05:12"'
    ' fw=172.16.0.2 pri=6 c=262144 m=98 msg="Connection Opened" n=15243934'
    " src=172.16.2.2:4522:X0 dst=81.2.69.143:443:X1 proto=tcp/https sent=60"
)
# An HA line in the E-aws shape with the documented m=147 text (B-pipeline, FORMATS.md §2.1):
# no real SonicOS HA line is public (FORMATS.md §2.2).
HA_147 = (
    '<129>  id=firewall sn=0040103CE114 time="2022-05-16 15:3{s}:00 UTC" fw=10.0.0.96 pri=1'
    ' c=0 m=147 msg="Backup missed heartbeats from Active Primary: Backup going Active"'
    " n={n}"
)

CISCO_ASA = "Cisco ASA line: vendor not supported"
FORTIGATE = "FortiGate line: vendor not supported"
KEEPALIVED = "keepalived line: vendor not supported"
CARP = "CARP line: vendor not supported"
CEF = "SonicOS ArcSight/CEF format: set the syslog format to Enhanced Syslog"
NOT_SONICOS = "not a SonicOS key=value line"
BINARY = "binary data, not a log line"
NO_TIME = "no time= field"
NO_SN = "no serial (sn=)"
BAD_TIME = "unparseable time"

OTHER_VENDORS: list[tuple[str, str]] = [
    # ASA-scala (leading space before <161> as in the spec's literal)
    (
        " <161>Sep 28 2016 13:51:57 192.168.1.254 : %ASA-1-104001: (Secondary) Switching to"
        " ACTIVE - HELLO not heard from mate.",
        CISCO_ASA,
    ),
    (
        " <161>Sep 28 2016 13:51:57 192.168.1.253 : %ASA-1-104002: (Primary) Switching to STNDBY"
        " - interface check, mate is healthier",
        CISCO_ASA,
    ),
    (
        "<161> Dec 27 2016 07:43:48 192.168.59.254 : %ASA-1-105009: (Secondary_group_1) Testing on"
        " interface ins Status Undetermined",
        CISCO_ASA,
    ),
    (
        " <161>Sep 28 2016 13:51:53 192.168.1.254 : %ASA-1-105005: (Secondary) Lost Failover"
        " communications with mate on interface intACS",
        CISCO_ASA,
    ),
    # FGT-docs: documented shape and fields of 37901 (no real line is public)
    (
        'date=2019-05-10 time=09:53:21 logid="0108037901" type="event" subtype="ha"'
        ' level="critical" vd="root" logdesc="Heartbeat device interface down"'
        ' msg="Heartbeat device interface down" devintfname="port3" ha_role="master"'
        ' hbdn_reason="neighbor-info-lost"',
        FORTIGATE,
    ),
    # KA-1686 and keepalived#1467
    (
        "Jul 08 22:30:23 SERVER2 Keepalived_vrrp[4474]: VRRP_Instance(vi_2) Entering MASTER STATE",
        KEEPALIVED,
    ),
    (
        "Jul 08 22:41:22 SERVER2 Keepalived_vrrp[4474]: VRRP_Instance(vi_2) Received higher prio"
        " advert 255",
        KEEPALIVED,
    ),
    (
        "Dec 16 09:16:47 mdb3 Keepalived_vrrp[1171]: (VI_1) Receive advertisement timeout",
        KEEPALIVED,
    ),
    # OPN-3671 / OPN-2551 (FORMATS.md §8)
    ("carp: 1@igb1: MASTER -> BACKUP (more frequent advertisement received)", CARP),
    ("carp: 2@em1: MASTER -> INIT (hardware interface up)", CARP),
    ("carp: demoted by 240 to 240 (sysctl)", CARP),
    # SEKOIA (the opened line un-escaped from its JSON test file: one backslash)
    (
        "CEF:0|SonicWall|NSa 4500|7.0.1-1234-R5678|537|Connection Closed|4|cat=1024 gcat=6"
        " src=192.0.2.1 spt=40000 deviceInboundInterface=X0-V12 cs3Label=LAN"
        " dmac=33:33:33:33:33:33 dst=192.0.2.1 dpt=55 deviceOutboundInterface=X0-V13"
        " cs4Label=LAN proto=udp/dns out=77 in=99 cn2Label=1 cn1Label=1 cn3Label=33333"
        ' cs1="Default Access Rule" app=49169 appName="General DNS" cnt=2162123123'
        ' fw_action="NA" dpi=0',
        CEF,
    ),
    (
        "CEF:0|SonicWall|NSa 4500|7.0.1-1234-R5678|98|Connection Opened|4|cat=262111 gcat=6"
        " src=10.0.10.20 spt=12345 deviceInboundInterface=X6-V333 cs1Label=123.123.123.123"
        " snpt=12345 dst=192.0.2.1 dpt=123 deviceOutboundInterface=X1 cs2Label=192.0.2.1"
        ' dnpt=123 susr="example.com\\user1" proto=tcp/https out=12 cs5Label="Auto" app=12345'
        ' appName="General HTTPS" cnt=1234567890 fw_action="NA" dpi=0',
        CEF,
    ),
    # E-panos: no vendor-specific reason exists for PAN-OS; the generic one is fine
    (
        "1,2021/10/26 15:05:03,,SYSTEM,general,2561,2021/10/26 15:05:03,,general,,0,0,general,"
        'informational,"Connection to Update server closed: updates.paloaltonetworks.com, source:'
        ' 81.2.69.193",1234567890,0x0,0,0,0,0,,PA-VM,0,0,2021-10-26T15:05:03.440-07:00',
        NOT_SONICOS,
    ),
]

# -- helpers ------------------------------------------------------------------------------------

SUMMARY = re.compile(
    r"syslog lines ([\d,]+) = HA events ([\d,]+) \+ counted ([\d,]+)"
    r" \+ quarantined ([\d,]+)"
)


def hawatch(*args: str) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        ["hawatch", *args], capture_output=True, text=True, errors="replace", timeout=60
    )
    assert "Traceback" not in result.stderr + result.stdout
    return result


def ingest(
    db: Path, *sources: Path | str, options: tuple[str, ...] = ()
) -> subprocess.CompletedProcess[str]:
    return hawatch("ingest", "--db", str(db), *options, *map(str, sources))


def query(db: Path, sql: str, params: list[object] | None = None) -> list[tuple]:
    with Store(db, read_only=True) as store:
        return store.cursor().execute(sql, params).fetchall()


@dataclass
class Run:
    """One `hawatch ingest --format json` over a folder of files: per-file reports and the db."""

    db: Path
    folder: Path
    stdout: str
    stderr: str
    reports: dict[str, dict]  # file name -> its per-source report

    def source_id(self, name: str) -> int:
        [(source_id,)] = query(
            self.db, "SELECT source_id FROM sources WHERE name = ?", [str(self.folder / name)]
        )
        return source_id

    def rows(self, name: str, sql: str) -> list[tuple]:
        """`sql` with `$id` standing for the file's source_id."""
        return query(self.db, sql.replace("$id", str(self.source_id(name))))


def only_unusable(result: subprocess.CompletedProcess[str]) -> bool:
    """Exit 0, or exit 1 where every complaint is a source of which nothing was usable."""
    lines = result.stderr.strip().splitlines()
    return result.returncode == 0 or (
        result.returncode == 1
        and bool(lines)
        and all(
            line.startswith("hawatch: error: ") and ": nothing usable: " in line for line in lines
        )
    )


def ingest_folder(folder: Path, db: Path) -> Run:
    result = hawatch("ingest", "--db", str(db), "--format", "json", str(folder))
    assert only_unusable(result), result.stderr
    reports = {Path(s["name"]).name: s for s in json.loads(result.stdout)["sources"]}
    return Run(db, folder, result.stdout, result.stderr, reports)


def summary(stdout: str) -> tuple[int, int, int, int]:
    """(lines, HA events, counted, quarantined) from the ingest summary line."""
    match = SUMMARY.search(stdout)
    assert match, stdout
    assert "MISMATCH" not in stdout
    return tuple(int(g.replace(",", "")) for g in match.groups())  # type: ignore[return-value]


def physical_lines(data: bytes) -> list[bytes]:
    lines = data.split(b"\n")
    return lines[:-1] if lines and lines[-1] == b"" else lines


def expected_raw(line: bytes) -> str:
    """What quarantine.raw holds: the line, invalid bytes as \\xNN, no line ending, 4096 chars."""
    return line.decode("utf-8", "backslashreplace").rstrip("\r\n\x00")[:4096]


def one_error_line(stderr: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("hawatch: error: "), stderr
    return lines[0]


def binary_garbage(seed: int, size: int) -> bytes:
    """Random bytes with NULs and no newline, not starting like JSON, gzip or a BOM and not
    ending in a byte the quarantine trims."""
    data = random.Random(seed).randbytes(size).replace(b"\n", b"\x00")
    return b"\x00\x01" + data[2:-1] + b"Z"


# -- syslog corpora -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Corpus:
    name: str
    lines: list[bytes]
    rejected: dict[int, str]  # line number -> the reason starts with this
    events: int
    counted: int
    newline: bytes = b"\n"
    blank: list[int] = field(default_factory=list)  # line numbers that are blank

    @property
    def data(self) -> bytes:
        return b"".join(line + self.newline for line in self.lines)


def _b(text: str) -> bytes:
    return text.encode()


AWS = _b(E_AWS_CLOSED)
CUT_TIME = AWS[: AWS.index(b'time="') + len(b'time="2022-05-')]
CUT_KEY = AWS[: AWS.index(b" m=537") + len(b" m")]
CUT_SERIAL = AWS[: AWS.index(b"sn=") + len(b"sn=0040")]
CUT_MSG = AWS[: AWS.index(b'msg="') + len(b'msg="Connection Clo')]  # still usable: counted
# FORMATS.md §1.1: key order is not fixed, so m= may come before a time= that is cut off.
CUT_TIME_AFTER_M = _b(
    "<134>  id=firewall sn=0040103CE114 fw=10.0.0.96 pri=6 c=1024 m=537"
    ' msg="Connection Closed" n=796 time="2022-05-16 15:2'
)
NO_SERIAL = AWS.replace(b" sn=0040103CE114", b"")

CORPORA = [
    Corpus(
        "truncated_sonicos",
        [
            AWS,
            CUT_TIME,
            CUT_KEY,
            CUT_SERIAL,
            CUT_MSG,
            CUT_TIME_AFTER_M,
            NO_SERIAL,
            _b(E_DRIZZ_OPENED),
        ],
        # CUT_KEY keeps sn= and time=: the unit's activity, counted (issue 11.3)
        {2: BAD_TIME, 4: NO_TIME, 6: BAD_TIME, 7: NO_SN},
        events=0,
        counted=4,
    ),
    Corpus(
        "invalid_utf8",
        [
            E_AWS_RST_BAD_BYTE,
            _b(HA_147.format(s=1, n=11)).replace(b'Active"', b'Active \xe9\x80"'),
            b"\xc3\x28\xa0\xa1 garbage \xff\xfe",
            b"\xff" * 300,
            AWS,
        ],
        {3: NOT_SONICOS, 4: NOT_SONICOS},
        events=1,
        counted=2,
    ),
    Corpus(
        "binary_block_between_lines",
        [AWS, binary_garbage(1, 1536 * 1024), AWS],
        {2: BINARY},
        events=0,
        counted=2,
    ),
    Corpus(
        "only_binary_no_newline",
        [binary_garbage(2, 1100 * 1024)],
        {1: BINARY},
        events=0,
        counted=0,
        newline=b"",
    ),
    Corpus(
        "line_of_64_kib",
        [b"A" * 65536, AWS.replace(b'fw_action="NA"', b'note="' + b"x" * 65536 + b'"'), AWS],
        {1: NOT_SONICOS},
        events=0,
        counted=2,
    ),
    Corpus(
        "crlf_line_endings",
        [AWS, _b(HA_147.format(s=2, n=12)), b"this is not a syslog line", b""],
        {3: NOT_SONICOS},
        events=1,
        counted=1,
        newline=b"\r\n",
        blank=[4],
    ),
    Corpus(
        "empty_and_whitespace_lines",
        [AWS, b"", b"", b"   ", b"\t", b" \t \r", b"\r", AWS, b""],
        {4: NOT_SONICOS, 5: NOT_SONICOS, 6: NOT_SONICOS},
        events=0,
        counted=2,
        blank=[2, 3, 7, 9],
    ),
    Corpus(
        "nuls_left_by_a_crash_before_a_line", [b"\x00" * 4096 + AWS, AWS], {}, events=0, counted=2
    ),
    Corpus(
        "other_vendors",
        [AWS] + [_b(line) for line, _ in OTHER_VENDORS],
        {i: reason for i, (_, reason) in enumerate(OTHER_VENDORS, start=2)},
        events=0,
        counted=1,
    ),
]


VENDOR_FILES = (0, 4, 5, 8, 11, 13)  # ASA, FortiGate, keepalived, CARP, CEF, PAN-OS
RAW_LENGTH_CASES = {
    "binary": binary_garbage(3, 1536 * 1024),
    "invalid_utf8": b"\xc3\x28\xa0\xa1 garbage \xff\xfe",
    "nul_block": b"\x00" * 65536,  # a zero-filled block, what a crash can leave in a log file
}
# OPN-2551 via FORMATS.md §8 (the member's description is elided there; "WAN" stands in).
OPNSENSE_CARP = (
    '/usr/local/etc/rc.carpbackup: Carp cluster member "WAN (2@em1)" has resumed'
    ' the state "BACKUP" for vhid 2'
)


@pytest.fixture(scope="module")
def syslog_run(tmp_path_factory) -> Run:
    """Every syslog corpus, one file each, ingested by one CLI run (as a folder)."""
    root = tmp_path_factory.mktemp("syslog")
    logs = root / "logs"
    logs.mkdir()
    for corpus in CORPORA:
        (logs / f"{corpus.name}.log").write_bytes(corpus.data)
    for i in VENDOR_FILES:
        (logs / f"vendor_{i:02}.log").write_text(OTHER_VENDORS[i][0] + "\n")
    for name, line in RAW_LENGTH_CASES.items():
        (logs / f"raw_length_{name}.log").write_bytes(AWS + b"\n" + line + b"\n")
    (logs / "opnsense.log").write_text(OPNSENSE_CARP + "\n")
    ha = HA_147.format(s=3, n=42).encode().replace(b'Active"', b'Active \x92"')
    (logs / "utf8_in_msg.log").write_bytes(E_AWS_RST_BAD_BYTE + b"\n" + ha + b"\n" + AWS + b"\n")
    (logs / "crlf_detail.log").write_bytes(HA_147.format(s=4, n=7).encode() + b"\r\nnot syslog\r\n")
    run = ingest_folder(logs, root / "x.duckdb")
    # a lone other vendor's line is nothing usable: said once per such file, on stderr
    complaints = [line.split(": nothing usable")[0] for line in run.stderr.splitlines()]
    assert complaints == [
        f"hawatch: error: {logs / name}"
        for name, report in sorted(run.reports.items())
        if report["quarantined"] == report["lines"] > 0
    ]
    return run


@pytest.mark.parametrize("corpus", CORPORA, ids=lambda c: c.name)
def test_bad_syslog_lines_are_quarantined_and_every_line_is_accounted(syslog_run, corpus):
    name = f"{corpus.name}.log"
    report = syslog_run.reports[name]
    lines = physical_lines(corpus.data)
    assert report["status"] == "ingested"
    assert report["blank"] == len(corpus.blank)
    assert report["lines"] == len(lines) - len(corpus.blank)
    assert report["lines"] == report["events"] + report["counted"] + report["quarantined"]
    assert (report["events"], report["counted"], report["quarantined"]) == (
        corpus.events,
        corpus.counted,
        len(corpus.rejected),
    )
    assert syslog_run.rows(name, "SELECT count(*) FROM ha_events WHERE source_id = $id") == [
        (corpus.events,)
    ]
    assert syslog_run.rows(
        name, "SELECT coalesce(sum(lines), 0) FROM message_counts WHERE source_id = $id"
    ) == [(corpus.counted,)]

    stored = syslog_run.rows(
        name,
        "SELECT position, raw, reason, source FROM quarantine"
        " WHERE source_id = $id ORDER BY position",
    )
    assert [row[0] for row in stored] == sorted(corpus.rejected)
    for position, raw, reason, source in stored:
        assert reason.startswith(corpus.rejected[position]), (position, reason)
        assert raw == expected_raw(lines[position - 1])
        assert raw and len(raw) <= 4096
        assert source == str(syslog_run.folder / name)


def test_the_summary_adds_up_over_the_whole_bad_corpus(syslog_run):
    reports = syslog_run.reports.values()
    assert all(r["format"] == "syslog" and r["status"] == "ingested" for r in reports)
    lines = sum(r["lines"] for r in reports)
    assert lines == sum(r["events"] + r["counted"] + r["quarantined"] for r in reports)
    assert query(
        syslog_run.db,
        "SELECT (SELECT count(*) FROM ha_events)"
        " + (SELECT sum(lines) FROM message_counts)"
        " + (SELECT count(*) FROM quarantine)",
    ) == [(lines,)]
    assert query(
        syslog_run.db,
        "SELECT count(*) FROM quarantine WHERE reason = '' OR raw_length < 0 OR position < 1",
    ) == [(0,)]


@pytest.mark.parametrize("index", VENDOR_FILES)
def test_a_lone_vendor_line_gets_its_vendor_reason(syslog_run, index):
    """Alone in a file, the line is still sniffed as syslog and named by vendor."""
    line, reason = OTHER_VENDORS[index]
    name = f"vendor_{index:02}.log"
    [(position, stored)] = syslog_run.rows(
        name, "SELECT position, reason FROM quarantine WHERE source_id = $id"
    )
    assert position == 1 and stored.startswith(reason), (line, stored)


def test_opnsense_carp_script_line_is_recognised_as_carp(syslog_run):
    assert syslog_run.rows(
        "opnsense.log", "SELECT reason FROM quarantine WHERE source_id = $id"
    ) == [(CARP,)]


def test_invalid_utf8_in_msg_still_parses(syslog_run):
    """A non-UTF-8 byte inside msg= (as in E-aws) costs neither the line nor its batch."""
    name = "utf8_in_msg.log"
    assert syslog_run.rows(
        name,
        "SELECT message_id, sum(lines)::INT FROM message_counts"
        " WHERE source_id = $id GROUP BY ALL ORDER BY 1",
    ) == [(537, 1), (713, 1)]
    [(kind, seq, detail, pos)] = syslog_run.rows(
        name, "SELECT kind, seq, detail, source_pos FROM ha_events WHERE source_id = $id"
    )
    assert (kind, seq, pos) == ("failover", 42, 2)
    assert detail.startswith("Backup missed heartbeats from Active Primary")
    assert "\\x92" in detail  # the bad byte stays visible, never silently dropped
    assert syslog_run.reports[name]["quarantined"] == 0


def test_crlf_lines_lose_the_carriage_return(syslog_run):
    name = "crlf_detail.log"
    assert syslog_run.rows(name, "SELECT detail, seq FROM ha_events WHERE source_id = $id") == [
        ("Backup missed heartbeats from Active Primary: Backup going Active", 7)
    ]
    assert syslog_run.rows(
        name, "SELECT raw, raw_length FROM quarantine WHERE source_id = $id"
    ) == [("not syslog", 10)]


@pytest.mark.parametrize("case", sorted(RAW_LENGTH_CASES))
def test_raw_length_is_the_lines_size_in_bytes(syslog_run, case):
    assert syslog_run.rows(
        f"raw_length_{case}.log",
        "SELECT position, raw_length FROM quarantine WHERE source_id = $id",
    ) == [(2, len(RAW_LENGTH_CASES[case]))]


def test_seeded_random_byte_lines_mixed_with_valid_lines_add_up(tmp_path):
    rng = random.Random(20261125)
    valid = []
    for i in range(500):
        if i % 5 == 0:
            valid.append(HA_147.format(s=i % 10, n=1000 + i).encode())
        else:
            valid.append(AWS.replace(b" n=795 ", f" n={i} ".encode()))
    noise = []
    for _ in range(2000):
        line = rng.randbytes(rng.randint(1, 200)).replace(b"\n", b"\x00")
        noise.append(line if line != b"\r" else b"\r\r")
    rest = valid[1:] + noise
    rng.shuffle(rest)
    lines = valid[:1] + rest  # a valid first line: the file is sniffed as syslog
    path = tmp_path / "fuzz.log"
    path.write_bytes(b"\n".join(lines) + b"\n")
    db = tmp_path / "x.duckdb"

    result = ingest(db, path)
    assert result.returncode == 0, result.stderr
    assert summary(result.stdout) == (2500, 100, 400, 2000)

    noise_set = set(noise)
    noise_at = {i for i, line in enumerate(lines, start=1) if line in noise_set}
    stored = query(db, "SELECT position, raw, reason FROM quarantine ORDER BY position")
    assert {row[0] for row in stored} == noise_at
    for position, raw, reason in stored:
        assert raw == expected_raw(lines[position - 1])
        assert reason.startswith((BINARY, NOT_SONICOS)), reason
    assert query(db, "SELECT count(*), count(DISTINCT seq) FROM ha_events") == [(100, 100)]
    assert query(db, "SELECT sum(lines)::INT FROM message_counts") == [(400,)]


# -- unreadable sources -------------------------------------------------------------------------


def _truncated_gzip(path: Path, lines: int) -> None:
    """`lines` E-aws lines, gzipped, with the last third of the compressed bytes cut off."""
    body = b"".join(AWS.replace(b" n=795 ", f" n={i} ".encode()) + b"\n" for i in range(lines))
    packed = gzip.compress(body)
    path.write_bytes(packed[: len(packed) * 2 // 3])


@pytest.fixture(scope="module")
def gzip_run(tmp_path_factory) -> tuple[Path, Path, subprocess.CompletedProcess[str]]:
    """Two truncated .gz files, one with gzip's magic bytes but no gzip data, one good file."""
    folder = tmp_path_factory.mktemp("gzip")
    _truncated_gzip(folder / "a_small.log.gz", 3)
    _truncated_gzip(folder / "b_large.log.gz", 20000)
    (folder / "c_fake.log.gz").write_bytes(b"\x1f\x8bthis is not gzip at all\n")
    (folder / "d_good.log").write_text(E_DRIZZ_OPENED + "\n")
    db = folder / "x.duckdb"
    names = ["a_small.log.gz", "b_large.log.gz", "c_fake.log.gz", "d_good.log"]
    return folder, db, ingest(db, *(folder / n for n in names))


def test_unreadable_sources_are_one_error_line_each_and_others_still_ingest(gzip_run):
    folder, db, result = gzip_run
    assert result.returncode == 1
    errors = result.stderr.strip().splitlines()
    broken = ["a_small.log.gz", "b_large.log.gz", "c_fake.log.gz"]
    assert len(errors) == len(broken), result.stderr
    for line, name in zip(errors, broken, strict=True):
        assert line.startswith(f"hawatch: error: {folder / name}: "), line
        assert f"{folder / name}: FAILED" in result.stdout
    # the healthy source is complete; a truncated .gz keeps its complete lines (next test)
    assert ("0000A0AAAA00", 1) in query(
        db, "SELECT serial, sum(lines)::INT FROM message_counts GROUP BY ALL"
    )
    assert query(db, "SELECT count(*) FROM sources WHERE complete") == [(1,)]


def test_truncated_gzip_keeps_the_complete_lines_before_the_cut(gzip_run):
    _, db, _ = gzip_run
    counted = query(
        db, "SELECT coalesce(sum(lines), 0) FROM message_counts WHERE serial = '0040103CE114'"
    )
    assert counted[0][0] > 1000  # zcat recovers about two thirds of the 20,000 lines
    assert query(db, "SELECT count(*) FROM quarantine") == [(0,)]  # and no half line


@pytest.mark.parametrize("fmt", ["json", "csv"])
def test_failed_source_has_an_error_line_in_machine_formats_too(tmp_path, fmt):
    broken = tmp_path / "fw.log.gz"
    _truncated_gzip(broken, 3)
    result = hawatch("ingest", "--db", str(tmp_path / "x.duckdb"), "--format", fmt, str(broken))
    assert result.returncode == 1
    assert str(broken) in one_error_line(result.stderr)


INVENTORY_HEADER = b"pair,site,primary_serial,secondary_serial,timezone\n"
INVENTORY = ("--inventory", "{dir}/inv.csv")


@pytest.mark.parametrize(
    "sources, files, options, expect",
    [
        pytest.param(["nope.log"], {}, (), "nope.log", id="missing_source"),
        pytest.param(["fw.log"], {}, INVENTORY, "inv.csv", id="missing_inventory"),
        pytest.param(
            ["fw.log"],
            {"inv.csv": b"name,serial\nfw1,C0EFE33057B0\n"},
            INVENTORY,
            "pair",
            id="inventory_without_pair_column",
        ),
        pytest.param(
            ["fw.log"],
            {"inv.csv": INVENTORY_HEADER + b"p1,s,A1,A2,Mars/Olympus\n"},
            INVENTORY,
            "Mars/Olympus",
            id="inventory_unknown_timezone",
        ),
        pytest.param(
            ["fw.log"],
            {"inv.csv": INVENTORY_HEADER + b",s,A1,A2,UTC\n"},
            INVENTORY,
            "pair #1",
            id="inventory_pair_without_name",
        ),
        pytest.param(
            ["fw.log"],
            {"inv.csv": b"\xff\xfe garbage\n"},
            INVENTORY,
            "inv.csv",
            id="inventory_not_utf8",
        ),
        pytest.param(
            ["fw.log"],
            {"inv.toml": b"[[pairs]\n"},
            ("--inventory", "{dir}/inv.toml"),
            "inv.toml",
            id="inventory_broken_toml",
        ),
        pytest.param(
            ["fw.log"],
            {},
            ("--timezone", "Mars/Olympus"),
            "Mars/Olympus",
            id="unknown_default_timezone",
        ),
    ],
)
def test_unusable_source_or_option_is_one_error_line(tmp_path, sources, files, options, expect):
    (tmp_path / "fw.log").write_text(E_AWS_CLOSED + "\n")
    for name, content in files.items():
        (tmp_path / name).write_bytes(content)
    result = ingest(
        tmp_path / "x.duckdb",
        *(tmp_path / s for s in sources),
        options=tuple(o.format(dir=tmp_path) for o in options),
    )
    assert result.returncode == 1
    assert expect in one_error_line(result.stderr)


# -- exports ------------------------------------------------------------------------------------

GOOD = '{"time": "2024-07-01T10:0%d:00Z", "serial": "C0EFE33057B0", "event": "failover"}'


@dataclass(frozen=True)
class Export:
    name: str
    text: str
    rejected: dict[int, str]  # record (JSON) or line (CSV) number -> start of the reason
    events: int
    samples: int = 0


EXPORTS = [
    Export(
        "json_unterminated_last_object",
        GOOD % 1 + "\n" + '{"time": "2024-07-01T10:02:00Z", "serial": "C0EFE33057B0"',
        {2: "broken JSON"},
        events=1,
    ),
    Export(
        "ndjson_unterminated_object_in_the_middle",
        "\n".join([GOOD % 1, '{"time": "2024-07-01T10:02:00Z", "serial": "C0', GOOD % 3]),
        {2: "broken JSON"},
        events=2,
    ),
    Export(
        "json_array_with_trailing_garbage",
        f"[{GOOD % 1}, {GOOD % 2}] trailing garbage\n",
        {3: "broken JSON"},
        events=2,
    ),
    Export(
        "json_array_of_numbers",
        "[1, 2.5, -3, 1e5]\n",
        {1: "JSON int", 2: "JSON float", 3: "JSON int", 4: "JSON float"},
        events=0,
    ),
    Export(
        "json_records_missing_fields",
        "\n".join(
            [
                GOOD % 1,
                '{"time": "2024-07-01T10:02:00Z", "event": "failover"}',
                '{"serial": "C0EFE33057B0", "event": "failover"}',
                '{"time": "2024-07-01T10:04:00Z", "serial": "C0EFE33057B0"}',
                '{"time": "2024-07-01T10:05:00Z", "serial": "C0EFE33057B0",'
                ' "event": "Connection Closed"}',
                '{"time": "yesterday", "serial": "C0EFE33057B0", "event": "failover"}',
            ]
        ),
        {
            2: "no serial",
            3: "no time",
            4: "record has no event",
            5: "event ",
            6: "unparseable time",
        },
        events=1,
    ),
    Export(
        "csv_wrong_field_count_bad_time_bad_numbers",
        "time,serial,event,connections,state\n"
        "2024-07-01T10:01:00Z,C0EFE33057B0,failover,,\n"
        "2024-07-01T10:02:00Z,C0EFE33057B0,failover\n"
        "2024-07-01T10:03:00Z,C0EFE33057B0,failover,,,extra\n"
        "2024-13-45T10:04:00Z,C0EFE33057B0,failover,,\n"
        "2024-07-01T10:05:00Z,C0EFE33057B0,,lots,\n"
        "2024-07-01T10:06:00Z,C0EFE33057B0,,12,\n"
        "2024-07-01T10:07:00Z,C0EFE33057B0,,,sideways\n",
        {
            3: "CSV row has 3 fields",
            4: "CSV row has 6 fields",
            5: "unparseable time",
            6: "connections is not a number",
            8: "unknown state",
        },
        events=1,
        samples=1,
    ),
]


def _ingest_export(
    tmp_path: Path, name: str, text: str | bytes
) -> tuple[subprocess.CompletedProcess[str], Path, dict]:
    path = tmp_path / name
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    db = tmp_path / "x.duckdb"
    result = hawatch("ingest", "--db", str(db), "--format", "json", str(path))
    source = json.loads(result.stdout)["sources"][0] if only_unusable(result) else {}
    return result, db, source


def _suffix(export: Export) -> str:
    return ".csv" if export.name.startswith("csv") else ".json"


# SonicOS REST API polls whose status is documented but neither Active, Standby nor Idle.
# Status strings: HELP-6200 / SW8-HA (FORMATS.md §2.2); 'HIGH AVAILABILITY DISABLED' as
# active_up_time: sonicwall/sonicos-automation reset_credentials.py (sonicos_findings.md §3.1).
ODD_POLLS = [
    {
        "polled_at": "2024-07-01T14:00:00Z",
        "serial_number": "0040103CE116",
        "status": "PRIMARY DISABLED",
        "active_up_time": "HIGH AVAILABILITY DISABLED",
    },
    {
        "polled_at": "2024-07-01T14:00:00Z",
        "serial_number": "0040103CE118",
        "status": "Primary not in a steady state",
        "active_up_time": "0 Days 00:00:02",
    },
]


@pytest.fixture(scope="module")
def export_run(tmp_path_factory) -> Run:
    """Every broken export, one file each, ingested by one CLI run (as a folder)."""
    root = tmp_path_factory.mktemp("exports")
    folder = root / "exports"
    folder.mkdir()
    for export in EXPORTS:
        (folder / (export.name + _suffix(export))).write_text(export.text)
    (folder / "garbage.json").write_bytes(b"[" + random.Random(5).randbytes(200_000))
    (folder / "odd_polls.json").write_text("\n".join(json.dumps(p) for p in ODD_POLLS) + "\n")
    return ingest_folder(folder, root / "x.duckdb")


@pytest.mark.parametrize("export", EXPORTS, ids=lambda e: e.name)
def test_broken_export_records_are_quarantined_and_counted(export_run, export):
    name = export.name + _suffix(export)
    report = export_run.reports[name]
    assert report["status"] == "ingested"
    assert report["events"] == export.events
    assert report["session_samples"] == export.samples
    assert report["quarantined"] == len(export.rejected)
    assert report["lines"] == export.events + export.samples + len(export.rejected)
    stored = export_run.rows(
        name, "SELECT position, raw, reason FROM quarantine WHERE source_id = $id ORDER BY position"
    )
    assert [row[0] for row in stored] == sorted(export.rejected)
    for position, raw, reason in stored:
        assert reason.startswith(export.rejected[position]), (position, reason)
        assert raw.strip()


def test_broken_csv_quarantine_keeps_the_offending_values(export_run):
    name = EXPORTS[-1].name + ".csv"
    raws = dict(export_run.rows(name, "SELECT position, raw FROM quarantine WHERE source_id = $id"))
    assert "2024-13-45T10:04:00Z" in raws[5]
    assert "lots" in raws[6]
    assert "sideways" in raws[8]


def test_binary_garbage_sniffed_as_json_is_quarantined(export_run):
    report = export_run.reports["garbage.json"]
    assert report["format"] == "json"
    assert report["lines"] == report["quarantined"] > 0
    assert export_run.rows(
        "garbage.json",
        "SELECT count(*) FROM quarantine WHERE source_id = $id AND (reason = '' OR raw = '')",
    ) == [(0,)]


def test_every_api_poll_record_is_stored_or_quarantined(export_run):
    report = export_run.reports["odd_polls.json"]
    assert report["lines"] == len(ODD_POLLS)
    assert report["status_samples"] + report["session_samples"] + report["quarantined"] >= 2


# Each record below is one an export can really contain or a fuzzer finds; each once escaped
# normalise() as a Python exception, which aborted the whole run with exit 70.
CRASHERS = [
    pytest.param(
        '{"time": "2024-07-01T10:02:00Z", "serial": "C0EFE33057B0", "event": "\u00b2"}',
        id="event_superscript_digit",
    ),
    pytest.param(
        '{"time": "2024-07-01T10:02:00Z", "serial": "C0EFE33057B0", "connections": 1e400}',
        id="connections_infinite",
    ),
    pytest.param(
        '{"time": "2024-07-01T10:02:00Z", "serial": "C0EFE33057B0", "connections": NaN}',
        id="connections_nan",
    ),
    pytest.param(
        '{"time": "2024-07-01T10:02:00Z", "serial": "C0EFE33057B0",'
        ' "connections": 99999999999999999999999}',
        id="connections_beyond_int64",
    ),
    pytest.param(
        '{"polled_at": "2024-07-01T10:02:00Z", "serial_number": "C0EFE33057B0",'
        ' "primary_state": "ACTIVE",'
        ' "current_connections": "Current: 99999999999999999999"}',
        id="api_current_connections_beyond_int64",
    ),
    pytest.param(
        '{"time": "0001-01-01T00:00:00+01:00", "serial": "C0EFE33057B0", "event": "failover"}',
        id="time_offset_before_year_1",
    ),
    pytest.param('{"a": ' + "[" * 50000 + "]" * 50000 + "}", id="json_nested_50000_deep"),
]


@pytest.mark.parametrize("record", CRASHERS)
def test_records_that_break_python_are_quarantined_not_fatal(tmp_path, record):
    text = "\n".join([GOOD % 1, record, GOOD % 3]) + "\n"
    result, db, source = _ingest_export(tmp_path, "export.json", text)
    assert result.returncode == 0, result.stderr
    assert "internal error" not in result.stderr
    assert (source["events"], source["quarantined"]) == (2, 1)
    [(position, reason)] = query(db, "SELECT position, reason FROM quarantine")
    assert position == 2 and reason


def test_csv_field_over_the_csv_modules_limit_is_quarantined(tmp_path):
    text = (
        "time,serial,event,detail\n2024-07-01T10:01:00Z,C0EFE33057B0,failover,\n"
        '2024-07-01T10:02:00Z,C0EFE33057B0,failover,"' + "x" * 200_000 + '"\n'
        "2024-07-01T10:03:00Z,C0EFE33057B0,failover,\n"
    )
    result, db, source = _ingest_export(tmp_path, "export.csv", text)
    assert result.returncode == 0, result.stderr
    assert (source["events"], source["quarantined"]) == (2, 1)


def test_one_bad_source_does_not_stop_the_others(tmp_path):
    first = tmp_path / "a.json"
    first.write_text(GOOD % 1 + "\n" + CRASHERS[0].values[0] + "\n")
    second = tmp_path / "b.log"
    second.write_text(E_AWS_CLOSED + "\n")
    db = tmp_path / "x.duckdb"
    result = ingest(db, first, second)
    assert "internal error" not in result.stderr
    assert query(db, "SELECT coalesce(sum(lines), 0) FROM message_counts") == [(1,)]
