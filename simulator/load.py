"""How busy a pair is: connections and VPN SAs over the local day, plus per-sample noise.

Loads are pure functions of (pair, time) rather than draws from a shared random stream, so
the session export, the traffic rate and the numbers quoted in truth.json (sessions before
and after a failover) agree exactly without holding samples in memory.
"""

from __future__ import annotations

import math

from hawatch.simulator.fleet import Pair

SAMPLE_SECONDS = 300
_TROUGH_SHARE = 0.12  # night-time load as a share of the afternoon peak


def noise(salt: int, k: int) -> float:
    """A deterministic value in [-1, 1) for (salt, k): a 32-bit integer hash, cheap per call."""
    x = (salt ^ (k * 0x9E3779B1)) & 0xFFFFFFFF
    x = ((x ^ (x >> 16)) * 0x45D9F3B) & 0xFFFFFFFF
    x = ((x ^ (x >> 16)) * 0x45D9F3B) & 0xFFFFFFFF
    x ^= x >> 16
    return x / 2_147_483_648.0 - 1.0


def diurnal(local_seconds: int) -> float:
    """0 at 02:00 local, 1 at 14:00 local, smooth in between (people work in the day)."""
    hour = (local_seconds % 86_400) / 3600.0
    return 0.5 - 0.5 * math.cos(2 * math.pi * (hour - 2.0) / 24.0)


def traffic_factor(local_seconds: int) -> float:
    """Relative syslog traffic rate over the day, averaging 1."""
    return 0.3 + 1.4 * diurnal(local_seconds)


def base_load(pair: Pair, ts: int, offset: int) -> tuple[float, float]:
    """(connections, VPN SAs) an active unit carries at `ts`, before shares and noise."""
    level = diurnal(ts + offset)
    trough_c = max(2_000.0, pair.peak_connections * _TROUGH_SHARE)
    trough_sa = 5.0
    connections = trough_c + (pair.peak_connections - trough_c) * level
    vpn_sas = trough_sa + (pair.peak_vpn_sas - trough_sa) * level
    return connections, vpn_sas


def sample(pair: Pair, ts: int, offset: int, factor: float) -> tuple[int, int]:
    """One unit's sample: its share `factor` of the pair's load with +/-0.5 % noise.

    The noise depends on the pair and the time only, so after a stateful failover the new
    active unit reports what the old one would have: sessions survived.
    """
    if factor <= 0.0:
        return 0, 0
    connections, vpn_sas = base_load(pair, ts, offset)
    wobble = 1.0 + 0.005 * noise(pair.salt, ts // SAMPLE_SECONDS)
    return (round(connections * factor * wobble), max(0, round(vpn_sas * factor * wobble)))
