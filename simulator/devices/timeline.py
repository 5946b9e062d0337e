"""What a simulated unit reports when polled: read from the same scenario plan as its syslog.

A `Plan` (simulator/scenarios.py) says, for every second of the simulated period, which unit
is active, standby or down (rebooting), the stateful-sync state, each unit's firmware and
its connections. `report()` turns that into what the unit's REST API and SNMP agent answer at
a moment, so a failover the syslog stream shows is the failover the polls see.

`ScenarioClock` maps the wall clock onto the plan's time: the devices run live (one
simulated second per second, or faster), and a test can jump to a moment (`set`) to see a
failover without waiting for it.
"""

from __future__ import annotations

import threading
import time
from bisect import bisect_right
from dataclasses import dataclass

from hawatch.simulator.scenarios import Plan

# Connection-cache capacity per model (illustrative figures of the order SonicWall's data
# sheets give; the simulator needs a plausible maximum, not the exact one)
MAX_CONNECTIONS = {
    "NSa 2650": 1_000_000,
    "NSa 3650": 1_500_000,
    "TZ600": 150_000,
    "NSa 4650": 2_000_000,
    "NSa 2700": 1_500_000,
    "NSa 3700": 2_000_000,
    "TZ670": 750_000,
    "NSa 4700": 3_000_000,
}
BOOT_DAYS = 41  # how long the units have been up when the plan starts


class ScenarioClock:
    """Plan time (UTC epoch seconds of the simulated period) as a function of the wall clock."""

    def __init__(self, start: float, speed: float = 1.0) -> None:
        self._lock = threading.Lock()
        self._anchor_wall = time.monotonic()
        self._anchor_plan = float(start)
        self.speed = speed

    def now(self) -> int:
        with self._lock:
            return int(self._anchor_plan + (time.monotonic() - self._anchor_wall) * self.speed)

    def set(self, plan_time: float) -> None:
        """Jump to a moment of the plan; time runs on from there."""
        with self._lock:
            self._anchor_wall, self._anchor_plan = time.monotonic(), float(plan_time)


@dataclass(frozen=True)
class UnitReport:
    """One unit at one moment, as its management plane would describe it."""

    answering: bool  # False while the unit is down (rebooting): it answers nothing
    serial: str
    role: str  # primary | secondary
    generation: str  # gen6 (SonicOS 6.5) | gen7 (SonicOS 7.x)
    model: str
    firmware: str  # as SonicOS prints it: "SonicOS 7.0.1-5145", "SonicOS Enhanced 6.5..."
    own_state: str  # active | standby
    peer_state: str  # active | standby | none (no heartbeats from the peer)
    sync_enabled: bool  # the HA setting "stateful synchronization"
    connections: int
    peak_connections: int
    max_connections: int
    uptime_seconds: int
    active_up_seconds: int  # how long the pair's active unit has been active
    primary_serial: str
    secondary_serial: str
    preempt: bool


def firmware_text(version: str, generation: str) -> str:
    """The firmware as SonicOS shows it (sonicwall/sonicos-automation takes the last word)."""
    return f"SonicOS Enhanced {version}" if generation == "gen6" else f"SonicOS {version}"


def _stretch_start(plan: Plan, t: int, role: str, up_only: bool) -> int:
    """When the unit's current stretch began: of being up (`up_only`) or of being active."""
    column = 0 if role == "primary" else 1
    i = bisect_right(plan.state_times, t) - 1
    if i < 0:
        return t

    def inside(state: str) -> bool:
        return state != "down" if up_only else state == "active"

    if not inside(plan.states[i][column]):
        return t
    while i >= 0 and inside(plan.states[i][column]):
        i -= 1
    if i < 0:
        return plan.start - BOOT_DAYS * 86_400 if up_only else plan.start
    return plan.state_times[i + 1]


def report(plan: Plan, role: str, t: int) -> UnitReport:
    """What unit `role` of the plan's pair reports at plan time `t`."""
    pair = plan.pair
    peer = "secondary" if role == "primary" else "primary"
    own, other = plan.state(role, t), plan.state(peer, t)
    both_active = own == other == "active"
    # a down peer sends no heartbeats; two active units lost each other's (split brain)
    peer_state = "none" if other == "down" or both_active else other
    active = role if own == "active" else peer
    generation = pair.site.profile.style
    connections = plan.connections(role, t)[0] if own != "down" else 0
    return UnitReport(
        answering=own != "down",
        serial=pair.serial(role),
        role=role,
        generation=generation,
        model=pair.model,
        firmware=firmware_text(plan.firmware(role, t), generation),
        own_state=own if own != "down" else "none",
        peer_state=peer_state,
        sync_enabled=plan.sync(t) != "disabled",
        connections=connections,
        peak_connections=max(connections, pair.peak_connections),
        max_connections=MAX_CONNECTIONS.get(pair.model, 1_000_000),
        uptime_seconds=max(0, t - _stretch_start(plan, t, role, True)),
        active_up_seconds=max(0, t - _stretch_start(plan, t, active, False)),
        primary_serial=pair.primary,
        secondary_serial=pair.secondary,
        preempt=pair.preempt,
    )


def days_clock(seconds: int) -> str:
    """`13 Days 10:56:12`, SonicOS's uptime text (mjryan253/homeassistant-sonicwall README)."""
    days, rest = divmod(max(0, seconds), 86_400)
    hours, rest = divmod(rest, 3600)
    return f"{days} Days {hours:02d}:{rest // 60:02d}:{rest % 60:02d}"
