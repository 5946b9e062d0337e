"""SonicOS "Enhanced Syslog" lines in the shapes real firewalls and relays produce.

Templates are copied from public fixtures (FORMATS.md 1.2-1.6, sonicos_findings.md 2):
- gen6 field order: elastic/integrations test-drizzthacker.log (`... msg="Connection Opened"
  n=... src=ip:port:X0 dst=ip:port:X1 proto=tcp/https sent=60`, m=537 with srcMac/dstMac,
  sent/rcvd/spkt/rpkt/cdur, WLB m=584/435, m=1107);
- gen7 field order: test-sonicos70-aws.log (`gcat=6`, zones, `rule=`, `n=` late in the line,
  m=1382 "Configuration succeeded:  '...' , changed from [...], changed to [...]");
- HA: the documented texts of ids 142-158 and 165 (elastic/beats pipeline.js, RSA table,
  older Primary/Backup and Active/Idle wording), in the same key=value shape.
Headers: `<PRI>` glued (SC4S-1367), `<PRI>` plus two spaces (E-aws), BSD relay header
`Mmm dd HH:MM:SS ip ` whose clock differs from `time=` by tens of seconds (E-drizz).
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import NamedTuple

from hawatch.simulator.clock import LocalClock, epoch
from hawatch.simulator.fleet import Pair, Site, build_fleet

DEFAULT_START = datetime(2026, 11, 1, tzinfo=UTC)

# m -> (pri, text). Severities follow the Sekoia id->priority map where it has the id.
HA_TEXTS: dict[int, tuple[int, str]] = {
    142: (1, "Primary firewall has transitioned to Active"),
    143: (1, "Backup firewall has transitioned to Active"),
    144: (1, "Primary firewall has transitioned to Idle"),
    145: (1, "Backup firewall has transitioned to Idle"),
    146: (1, "Primary missed heartbeats from Active Backup: Primary going Active"),
    147: (1, "Backup missed heartbeats from Active Primary: Backup going Active"),
    148: (3, "Primary received error signal from Active Backup: Primary going Active"),
    149: (3, "Backup received error signal from Active Primary: Backup going Active"),
    150: (3, "Backup firewall being preempted by Primary"),
    151: (3, "Primary firewall preempting Backup"),
    152: (1, "Active Backup detects Active Primary: Backup rebooting"),
    153: (3, "Imported HA hardware ID did not match this firewall"),
    155: (3, "Primary received heartbeat from wrong source"),
    156: (3, "Backup received heartbeat from wrong source"),
    157: (6, "HA packet processing error"),
    158: (3, "Heartbeat received from incompatible source"),
    165: (1, "Backup going Active in preempt mode after reboot"),
}
# Which unit logs an HA id: the one whose state the text reports.
HA_LOGGER: dict[int, str] = {
    142: "primary",
    143: "secondary",
    144: "primary",
    145: "secondary",
    146: "primary",
    147: "secondary",
    148: "primary",
    149: "secondary",
    150: "secondary",
    151: "primary",
    152: "secondary",
    153: "primary",
    155: "primary",
    156: "secondary",
    157: "primary",
    158: "secondary",
    165: "secondary",
}
_WLB_FAILBACK = (
    "WLB Failback initiated by preemption due to a more preferred interface being operational"
)
# (ip, port, proto, app, appName, weight): MaxMind test addresses as in Elastic's fixtures.
_DESTINATIONS = (
    ("81.2.69.143", 443, "tcp/https", 12, "General HTTPS", 4),
    ("1.128.3.4", 443, "tcp/https", 12, "General HTTPS", 3),
    ("216.160.83.56", 443, "tcp/https", 12, "General HTTPS", 2),
    ("67.43.156.13", 443, "tcp/https", 12, "General HTTPS", 1),
    ("89.160.20.112", 80, "tcp/http", 11, "General HTTP", 1),
    ("175.16.199.1", 53, "udp/dns", 49169, "General DNS", 3),
)
_DEST_WEIGHTS = tuple(d[5] for d in _DESTINATIONS)


class Conn(NamedTuple):
    """One connection, shared by its Opened and Closed lines."""

    src: str
    dst: str
    proto: str
    app: int
    app_name: str
    sent: int
    rcvd: int
    spkt: int
    rpkt: int
    cdur: int  # milliseconds, as SonicOS writes it
    src_mac: str


def new_connection(rng: random.Random, pair: Pair) -> Conn:
    """A LAN client's connection out through X1, with plausible sizes and duration."""
    ip, port, proto, app, app_name, _ = rng.choices(_DESTINATIONS, _DEST_WEIGHTS)[0]
    host = rng.randrange(10, 250)
    src = f"{pair.lan}.{host}:{rng.randrange(1025, 65535)}:X0"
    if proto == "udp/dns":
        sent, rcvd, spkt, rpkt = rng.randrange(60, 90), rng.randrange(80, 320), 1, 1
        cdur = rng.randrange(30_000, 60_001)
    else:
        spkt, rpkt = rng.randrange(6, 60), rng.randrange(5, 400)
        sent = spkt * rng.randrange(60, 900)
        rcvd = rpkt * rng.randrange(80, 1460)
        cdur = int(rng.lognormvariate(10.0, 1.3)) + 150
    return Conn(
        src,
        f"{ip}:{port}:X1",
        proto,
        app,
        app_name,
        sent,
        rcvd,
        spkt,
        rpkt,
        min(cdur, 3_600_000),
        f"00:53:a5:{pair.index % 256:02x}:{host:02x}:b8",
    )


class LineFormatter:
    """One site's way of writing lines: header shape, time style and field order."""

    def __init__(self, site: Site) -> None:
        self.site = site
        self.clock = LocalClock(site.timezone)
        profile = site.profile
        self.gen7 = profile.style == "gen7"
        self.utc = profile.log_utc
        self.skew = 20 + site.index % 25  # device clock ahead of the relay's, as in E-drizz

    def head(self, ts: int, pri: int, sn: str, fw: str) -> str:
        """Header plus the fixed leading keys, up to and including `pri=`."""
        profile = self.site.profile
        if profile.header == "glued":
            prefix = f"<{128 + pri}>"
        elif profile.header == "pri2":
            prefix = f"<{128 + pri}>  "
        else:
            prefix = f"{self.clock.bsd(ts - self.skew)} {self.site.relay_ip} "
        stamp = self.clock.stamp(ts, self.utc) + (" UTC" if self.utc else "")
        return f'{prefix}id={profile.syslog_id} sn={sn} time="{stamp}" fw={fw} pri={pri}'

    def opened(self, ts: int, sn: str, fw: str, n: int, c: Conn) -> str:
        """m=98; TCP opens report the SYN's bytes (60 on gen6 fixtures, 64 on gen7)."""
        head = self.head(ts, 6, sn, fw)
        first = c.sent if c.proto.startswith("udp") else (64 if self.gen7 else 60)
        if self.gen7:
            return (
                f'{head} c=262144 gcat=6 m=98 msg="Connection Opened" src={c.src}'
                f" srcZone=LAN dst={c.dst} dstZone=WAN proto={c.proto} sent={first}"
                f" rule=\"15 (LAN->WAN)\" app={c.app} appName='{c.app_name}' n={n}"
                ' fw_action="NA" dpi=1'
            )
        return (
            f'{head} c=262144 m=98 msg="Connection Opened" n={n} src={c.src}'
            f" dst={c.dst} proto={c.proto} sent={first}"
        )

    def closed(self, ts: int, sn: str, fw: str, n: int, c: Conn) -> str:
        """m=537 with the byte, packet and duration counters only a close carries."""
        head = self.head(ts, 6, sn, fw)
        sizes = f"sent={c.sent} rcvd={c.rcvd} spkt={c.spkt} rpkt={c.rpkt} cdur={c.cdur}"
        if self.gen7:
            return (
                f'{head} c=1024 gcat=6 m=537 msg="Connection Closed" srcMac={c.src_mac}'
                f" src={c.src} srcZone=LAN dst={c.dst} dstZone=WAN proto={c.proto}"
                f" {sizes} rule=\"15 (LAN->WAN)\" app={c.app} appName='{c.app_name}'"
                f' n={n} fw_action="NA" dpi=1'
            )
        return (
            f'{head} c=1024 m=537 msg="Connection Closed" app={c.app} n={n} src={c.src}'
            f" dst={c.dst} srcMac={c.src_mac} dstMac=00:53:2a:7d:1d:35 proto={c.proto}"
            f" {sizes}"
        )

    def ha(self, ts: int, sn: str, fw: str, n: int, m: int) -> str:
        pri, text = HA_TEXTS[m]
        return f'{self.head(ts, pri, sn, fw)} c=0 m={m} msg="{text}" n={n}'

    def config(
        self,
        ts: int,
        sn: str,
        fw: str,
        n: int,
        admin: str,
        setting: str,
        old: str,
        new: str,
        audit: int,
    ) -> str:
        """m=1382 in the E-aws shape (two spaces after "succeeded:" are real)."""
        gcat = " gcat=2" if self.gen7 else ""
        return (
            f"{self.head(ts, 6, sn, fw)} c=16{gcat} m=1382 src={admin}"
            f' dst={fw}:443:X1 usr="admin" sess="Web" msg="Configuration succeeded:  '
            f"'{setting}' , changed from [{old}], changed to [{new}]\" n={n}"
            f' fw_action="NA" auditId={audit} tranxId={audit + 7} userMode="Full"'
            f' oldValue="{old}"'
        )

    def wlb(self, ts: int, sn: str, fw: str, n: int, failback: bool) -> str:
        """WAN load balancing m=584/435: reads like HA failover, is not (a detector trap)."""
        if failback:
            return (
                f'{self.head(ts, 1, sn, fw)} c=2 m=435 msg="{_WLB_FAILBACK}" n={n}'
                f" src={fw}::X5 dst={fw}::X1"
            )
        return (
            f'{self.head(ts, 1, sn, fw)} c=2 m=584 msg="WLB Failover in progress" n={n}'
            f" src={fw}::X1 dst={fw}::X5"
        )

    def ntp(self, ts: int, sn: str, fw: str, n: int) -> str:
        return (
            f"{self.head(ts, 1, sn, fw)} c=2 m=1107"
            f' msg="Response from NTP Server is either incomplete or invalid" n={n}'
        )


class Counters:
    """`n=`: a running counter per (logged serial, message id), starting somewhere large."""

    def __init__(self, rng: random.Random) -> None:
        self._rng = rng
        self._next: dict[tuple[str, int], int] = {}

    def take(self, sn: str, m: int) -> int:
        """The next n= for this serial and id (shared-serial pairs share one counter)."""
        key = (sn, m)
        value = self._next.get(key)
        if value is None:
            value = self._rng.randrange(1, 5_000_000 if m in (98, 537) else 500)
        self._next[key] = value + 1
        return value


def bench_lines(
    seed: int, total: int, pairs: int = 2000, ha_share: float = 0.03, span_seconds: int = 86_400
) -> Iterator[str]:
    """`total` enhanced-syslog lines over `pairs` pairs and about one day, for benchmarks.

    About (1 - ha_share) of the lines are Connection Opened/Closed, the rest documented HA
    messages from the unit the text names. The fleet is `build_fleet(seed, pairs)`, so
    `simulator.fleet.write_inventory(build_fleet(seed, pairs), path)` pairs them up.
    """
    rng = random.Random(f"{seed}/bench")
    fleet = build_fleet(seed, pairs)
    formatters = {site.name: LineFormatter(site) for site in fleet.sites}
    counters = Counters(rng)
    start = epoch(DEFAULT_START)
    ha_ids = sorted(HA_TEXTS)
    active = [rng.random() < 0.8 for _ in fleet.pairs]  # primary active in most pairs
    for i in range(total):
        ts = start + i * span_seconds // max(total, 1)
        pair = fleet.pairs[rng.randrange(len(fleet.pairs))]
        fmt = formatters[pair.site.name]
        if rng.random() < ha_share:
            m = rng.choice(ha_ids)
            sn = pair.logged_sn(HA_LOGGER[m])
            yield fmt.ha(ts, sn, pair.fw_ip, counters.take(sn, m), m)
            continue
        sn = pair.logged_sn("primary" if active[pair.index] else "secondary")
        conn = new_connection(rng, pair)
        if rng.random() < 0.5:
            yield fmt.opened(ts, sn, pair.fw_ip, counters.take(sn, 98), conn)
        else:
            yield fmt.closed(ts, sn, pair.fw_ip, counters.take(sn, 537), conn)
