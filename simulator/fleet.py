"""The simulated fleet: sites, HA pairs, serials, time zones, models and firmware.

A fleet is a pure function of (seed, pair count), so the syslog simulator and the benchmark
line generator agree on serials and time zones, and one inventory describes both. Sites cycle
through profiles that each exercise one real-world variation a collector has to survive:
local wall-clock time with and without DST, "Display UTC in logs" (`time="... UTC"`), a site
whose time zone is UTC itself, and the three header shapes seen in real SonicOS syslog.
"""

from __future__ import annotations

import csv
import math
import random
from dataclasses import dataclass
from pathlib import Path

ROLES = ("primary", "secondary")


@dataclass(frozen=True)
class SiteProfile:
    code: str
    timezone: str  # IANA name, as the inventory holds it
    log_utc: bool  # "Display UTC in logs": time="... UTC" instead of local wall-clock time
    header: str  # glued (`<134>id=`) | pri2 (`<134>  id=`) | relay (`Nov  1 10:00:00 ip id=`)
    style: str  # gen6 (6.5-style field order) | gen7 (7.x order with gcat, zones, rule)
    syslog_id: str  # the configurable `id=`; real exports do not always say "firewall"


# Ordered so that any five consecutive sites cover every header, both time styles and UTC.
SITE_PROFILES: tuple[SiteProfile, ...] = (
    SiteProfile("fra", "Europe/Berlin", False, "glued", "gen7", "firewall"),
    SiteProfile("nyc", "America/New_York", False, "relay", "gen6", "firewall"),
    SiteProfile("tyo", "Asia/Tokyo", True, "pri2", "gen7", "firewall"),
    SiteProfile("dc", "UTC", False, "glued", "gen6", "firewall"),
    SiteProfile("syd", "Australia/Sydney", True, "relay", "gen7", "firewall"),
    SiteProfile("blr", "Asia/Kolkata", False, "pri2", "gen6", "hqfw"),
    SiteProfile("sao", "America/Sao_Paulo", True, "glued", "gen7", "firewall"),
    SiteProfile("lon", "Europe/London", False, "relay", "gen7", "firewall"),
)

# SonicWall serials are the X0 MAC address; these are SonicWall's OUIs.
_OUIS = ("004010", "0017C5", "C0EAE4", "18B169", "2CB8ED")
_MODELS = {
    "gen6": (
        ("NSa 2650", "6.5.4.4-44n"),
        ("NSa 3650", "6.5.4.7-83n"),
        ("TZ600", "6.5.4.11-97n"),
        ("NSa 4650", "6.5.4.12-101n"),
    ),
    "gen7": (
        ("NSa 2700", "7.0.1-5145"),
        ("NSa 3700", "7.1.1-7051"),
        ("TZ670", "7.1.2-7019"),
        ("NSa 4700", "7.1.1-7058"),
    ),
}
UPGRADES = {
    "6.5.4.4-44n": "6.5.4.7-83n",
    "6.5.4.7-83n": "6.5.4.11-97n",
    "6.5.4.11-97n": "6.5.4.12-101n",
    "6.5.4.12-101n": "6.5.4.15-116n",
    "7.0.1-5145": "7.1.1-7051",
    "7.1.1-7051": "7.1.2-7019",
    "7.1.2-7019": "7.1.3-7015",
    "7.1.1-7058": "7.1.3-7015",
}


@dataclass(frozen=True)
class Site:
    name: str
    index: int
    profile: SiteProfile
    relay_ip: str
    lossy: bool  # UDP loss on the way to the collector: n= gaps show it

    @property
    def timezone(self) -> str:
        return self.profile.timezone


@dataclass(frozen=True)
class Pair:
    name: str
    index: int
    site: Site
    primary: str  # serial
    secondary: str
    model: str
    firmware: str
    preempt: bool
    shared_sn: bool  # both units log with the primary's serial (the SonicOS default)
    fw_ip: str
    lan: str  # first three octets of the LAN, for client addresses
    peak_connections: int
    peak_vpn_sas: int
    salt: int  # seeds this pair's deterministic noise

    def serial(self, role: str) -> str:
        return self.primary if role == "primary" else self.secondary

    def logged_sn(self, role: str) -> str:
        """The `sn=` a unit's syslog carries: shared pairs log the primary's for both."""
        return self.primary if self.shared_sn else self.serial(role)


@dataclass(frozen=True)
class Fleet:
    sites: tuple[Site, ...]
    pairs: tuple[Pair, ...]


def site_count(pairs: int) -> int:
    """Five sites for a small fleet (every profile variation), then about ten pairs a site."""
    return max(1, min(pairs, max(5, math.ceil(pairs / 10))))


def _sites(count: int) -> tuple[Site, ...]:
    """Sites cycling through the profiles; the first relay site is the lossy one (UDP
    through a relay is where real deployments lose lines)."""
    sites = []
    lossy_done = False
    for i in range(count):
        profile = SITE_PROFILES[i % len(SITE_PROFILES)]
        lossy = not lossy_done and profile.header == "relay"
        lossy_done = lossy_done or lossy
        sites.append(
            Site(
                f"{profile.code}{i // len(SITE_PROFILES) + 1}",
                i,
                profile,
                f"172.16.{i % 250}.1",
                lossy,
            )
        )
    return tuple(sites)


def _serials(rng: random.Random, count: int) -> list[str]:
    """Distinct serials in SonicWall's shape: an OUI plus six hex digits (the X0 MAC)."""
    seen: set[str] = set()
    out: list[str] = []
    while len(out) < count:
        serial = rng.choice(_OUIS) + f"{rng.randrange(16**6):06X}"
        if serial not in seen:
            seen.add(serial)
            out.append(serial)
    return out


def build_fleet(seed: int, pairs: int, preempt: list[bool | None] | None = None) -> Fleet:
    """The fleet for a seed: `preempt[i]` forces pair i's preempt setting (scenarios need it)."""
    rng = random.Random(f"{seed}/fleet")
    sites = _sites(site_count(pairs))
    serials = _serials(rng, 2 * pairs)
    shared = [i % 2 == 0 for i in range(pairs)]
    rng.shuffle(shared)
    out = []
    for i in range(pairs):
        site = sites[i % len(sites)]
        model, firmware = rng.choice(_MODELS[site.profile.style])
        forced = preempt[i] if preempt else None
        peak = rng.randrange(8_000, 40_001, 500)
        address = 2 * i + 1
        out.append(
            Pair(
                name=f"{site.name}-ha{i // len(sites) + 1:02d}",
                index=i,
                site=site,
                primary=serials[2 * i],
                secondary=serials[2 * i + 1],
                model=model,
                firmware=firmware,
                preempt=rng.random() < 0.3 if forced is None else forced,
                shared_sn=shared[i],
                fw_ip=f"100.{64 + address // 65536 % 64}.{address // 256 % 256}.{address % 256}",
                lan=f"10.{site.index % 250 + 1}.{i // len(sites) % 250}",
                peak_connections=peak,
                peak_vpn_sas=rng.randrange(20, 201),
                salt=rng.getrandbits(32),
            )
        )
    return Fleet(sites, tuple(out))


def write_inventory(fleet: Fleet, path: Path) -> None:
    """inventory.csv: one row per pair, the site's IANA zone, preempt as true/false."""
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(
            ["pair", "site", "primary_serial", "secondary_serial", "timezone", "ha_mode", "preempt"]
        )
        for pair in fleet.pairs:
            writer.writerow(
                [
                    pair.name,
                    pair.site.name,
                    pair.primary,
                    pair.secondary,
                    pair.site.timezone,
                    "active_standby",
                    "true" if pair.preempt else "false",
                ]
            )
