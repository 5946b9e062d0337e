"""What happens to each pair: one scenario per pair, planned up front as a timeline.

A plan holds everything the writers need about a pair: which unit is active when (the
traffic, the session samples and the status records all follow it), the stateful-sync state,
firmware per unit, the HA syslog lines, the export events, maintenance windows and the
incidents written to truth.json. Writers only read plans, so the syslog, the exports and the
truth cannot disagree.

Syslog HA lines use only the documented SonicOS ids and texts (142-158, 165, older
Primary/Backup and Active/Idle wording; FORMATS.md 2.1). What has no public syslog id (sync,
HA link, heartbeat loss, monitoring, reboot, mismatch) goes to the export as event records.
"""

from __future__ import annotations

import random
from bisect import bisect_right
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from hawatch.simulator.clock import LocalClock, iso_z
from hawatch.simulator.fleet import UPGRADES, Pair
from hawatch.simulator.load import SAMPLE_SECONDS, sample

SCENARIOS: tuple[str, ...] = (
    "healthy",
    "stateful_failover",
    "unsynced_failover",
    "flapping",
    "split_brain",
    "firmware_mismatch",
    "heartbeat_bursts",
    "failover_test",
)
INCIDENT_KINDS: tuple[str, ...] = (
    "flapping",
    "unsynced_failover",
    "session_drop",
    "split_brain",
    "heartbeat_loss",
    "ha_link_down",
    "config_mismatch",
    "failover_test",
)
# Preempt would undo a failover that the scenario means to keep (or is the point of it).
PREEMPT: dict[str, bool] = {
    "flapping": True,
    "stateful_failover": False,
    "unsynced_failover": False,
    "failover_test": False,
    "split_brain": False,
}
EDGE = 6 * 3600  # incidents stay this far from the start and the end of the period
REBUILD = 1800  # seconds an unsynced new active needs to rebuild its connections
P, S = "primary", "secondary"


@dataclass(frozen=True)
class HaLine:
    t: int
    role: str  # the unit that logs it
    m: int


@dataclass(frozen=True)
class ConfigLine:
    t: int
    role: str
    setting: str
    old: str
    new: str


@dataclass(frozen=True)
class ExportEvent:
    t: int
    role: str
    kind: str
    detail: str


@dataclass
class Plan:
    pair: Pair
    scenario: str
    start: int
    end: int
    state_times: list[int] = field(default_factory=list)
    states: list[tuple[str, str]] = field(default_factory=list)  # (primary, secondary)
    sync_times: list[int] = field(default_factory=list)
    syncs: list[str] = field(default_factory=list)
    fw_times: list[int] = field(default_factory=list)
    firmwares: list[tuple[str, str]] = field(default_factory=list)
    ramps: list[tuple[int, str]] = field(default_factory=list)
    ha_lines: list[HaLine] = field(default_factory=list)
    config_lines: list[ConfigLine] = field(default_factory=list)
    events: list[ExportEvent] = field(default_factory=list)
    windows: list[dict[str, Any]] = field(default_factory=list)
    incidents: list[dict[str, Any]] = field(default_factory=list)
    at: int | None = None  # when the scenario's incident starts; None: at random (pick_time)

    def __post_init__(self) -> None:
        self.clock = LocalClock(self.pair.site.timezone)
        self.state_times, self.states = [self.start], [("active", "standby")]
        self.sync_times, self.syncs = [self.start], ["synced"]
        self.fw_times, self.firmwares = [self.start], [(self.pair.firmware,) * 2]

    # -- building ---------------------------------------------------------------------------
    def go(self, t: int, primary: str | None = None, secondary: str | None = None) -> None:
        """From `t` on, the units are in these states (active | standby | down)."""
        before = self.states[-1]
        _append(self.state_times, self.states, t, (primary or before[0], secondary or before[1]))

    def set_sync(self, t: int, state: str) -> None:
        _append(self.sync_times, self.syncs, t, state)

    def set_firmware(self, t: int, primary: str, secondary: str) -> None:
        _append(self.fw_times, self.firmwares, t, (primary, secondary))

    def ha(self, t: int, role: str, m: int) -> None:
        self.ha_lines.append(HaLine(t, role, m))

    def event(self, t: int, role: str, kind: str, detail: str) -> None:
        self.events.append(ExportEvent(t, role, kind, detail))

    def incident(self, kind: str, start: int, end: int, **detail: Any) -> None:
        self.incidents.append(
            {
                "pair": self.pair.name,
                "kind": kind,
                "start": iso_z(start),
                "end": iso_z(end),
                "detail": detail,
            }
        )

    # -- reading ----------------------------------------------------------------------------
    def state(self, role: str, t: int) -> str:
        current = self.states[bisect_right(self.state_times, t) - 1]
        return current[0] if role == P else current[1]

    def share(self, role: str, t: int) -> float:
        """The unit's share of the pair's traffic: both active (split brain) splits it."""
        primary, secondary = self.states[bisect_right(self.state_times, t) - 1]
        mine = primary if role == P else secondary
        if mine != "active":
            return 0.0
        if primary == secondary:
            return 0.55 if role == P else 0.45
        return self.ramp(role, t)

    def ramp(self, role: str, t: int) -> float:
        """Without stateful sync a new active starts near zero and rebuilds over REBUILD."""
        for since, who in self.ramps:
            if who == role and since <= t < since + REBUILD:
                return 0.01 + 0.99 * ((t - since) / REBUILD) ** 2
        return 1.0

    def sync(self, t: int) -> str:
        return self.syncs[bisect_right(self.sync_times, t) - 1]

    def firmware(self, role: str, t: int) -> str:
        current = self.firmwares[bisect_right(self.fw_times, t) - 1]
        return current[0] if role == P else current[1]

    def connections(self, role: str, t: int) -> tuple[int, int]:
        """The unit's (connections, VPN SAs) sample at `t`."""
        return sample(self.pair, t, self.clock.offset(t), self.share(role, t))

    def change_times(self) -> list[int]:
        """When a status poll would see something new: state, sync or firmware changed."""
        return sorted(set(self.state_times[1:] + self.sync_times[1:] + self.fw_times[1:]))

    def sample_before(self, t: int) -> int:
        """The last 5-minute sample time strictly before `t`."""
        return self.start + (t - 1 - self.start) // SAMPLE_SECONDS * SAMPLE_SECONDS

    def sample_from(self, t: int) -> int:
        """The first 5-minute sample time at or after `t`."""
        return self.start - (self.start - t) // SAMPLE_SECONDS * SAMPLE_SECONDS


def _append(times: list[int], values: list[Any], t: int, value: Any) -> None:
    """Timelines are read with bisect, so builders must add changes in time order."""
    if t < times[-1]:
        raise ValueError(f"timeline goes backwards: {t} < {times[-1]}")
    times.append(t)
    values.append(value)


def assign_scenarios(seed: int, pairs: int) -> list[str]:
    """One scenario per pair: each at least once when there are enough pairs, then mostly
    healthy, so a fleet looks like a fleet (most pairs quiet)."""
    rng = random.Random(f"{seed}/scenarios")
    faulty = list(SCENARIOS[1:])
    rng.shuffle(faulty)
    first = faulty + ["healthy"] if pairs < len(SCENARIOS) else list(SCENARIOS)
    slots = list(range(pairs))
    rng.shuffle(slots)
    names = ["healthy"] * pairs
    for slot, name in zip(slots, first, strict=False):
        names[slot] = name
    for slot in slots[len(first) :]:
        names[slot] = "healthy" if rng.random() < 0.8 else rng.choice(SCENARIOS[1:])
    return names


def pick_time(rng: random.Random, plan: Plan, span: int) -> int:
    """An incident start at least EDGE from both ends, whose local times are unambiguous.

    A local-time site repeats an hour when DST ends; lines in it cannot be placed in UTC
    exactly (a real ambiguity, left in the traffic), so incidents are kept out of it. A plan
    given its moment (`plan.at`, the live demo's timeline) takes that.
    """
    if plan.at is not None:
        return plan.at
    low = plan.start + EDGE
    high = max(low + 1, plan.end - EDGE - span)
    chosen = rng.randrange(low, high)
    for _ in range(200):
        if plan.pair.site.profile.log_utc or plan.clock.steady(chosen - 900, chosen + span):
            return chosen
        chosen = rng.randrange(low, high)
    return chosen


def _stateful_failover(plan: Plan, rng: random.Random) -> None:
    """A monitored interface fails, the backup takes over with sync on: nothing is lost."""
    t = pick_time(rng, plan, 120)
    plan.event(t - 3, P, "interface_monitor_failure", "Monitored interface X2 link down")
    plan.ha(t, S, 149)
    plan.go(t + 1, primary="standby", secondary="active")
    plan.ha(t + 1, S, 143)
    plan.ha(t + 2, P, 144)


def _disable_sync(plan: Plan, t: int, role: str) -> None:
    """An admin switches sync off: a config audit line (m=1382) plus the export event."""
    plan.config_lines.append(
        ConfigLine(t - 2, role, "Enable Stateful Synchronization", "Enabled", "Disabled")
    )
    plan.event(t, role, "sync_disabled", "Stateful synchronization disabled by administrator")
    plan.set_sync(t, "disabled")


def _enable_sync(plan: Plan, rng: random.Random, t: int, role: str) -> None:
    """Sync switched back on: enabled, then a full resync before it counts as synced."""
    plan.config_lines.append(
        ConfigLine(t - 2, role, "Enable Stateful Synchronization", "Disabled", "Enabled")
    )
    plan.event(t, role, "sync_enabled", "Stateful synchronization enabled by administrator")
    plan.set_sync(t, "enabled")
    _resync(plan, rng, t + 5, role)


def _resync(plan: Plan, rng: random.Random, t: int, role: str) -> None:
    """The standby is not a usable copy until the connection cache sync completes."""
    plan.event(t, role, "sync_started", "Stateful synchronization of the connection cache started")
    plan.set_sync(t, "not_synced")
    done = t + rng.randrange(30, 301)
    plan.event(done, role, "sync_completed", "Stateful synchronization completed")
    plan.set_sync(done, "synced")


def _unsynced_failover(plan: Plan, rng: random.Random) -> None:
    """Sync switched off hours earlier; the primary crashes; the backup starts empty."""
    t = pick_time(rng, plan, REBUILD + 600)
    _disable_sync(plan, max(plan.start + 3600, t - rng.randrange(3600, 4 * 3600)), P)
    plan.event(t, P, "reboot", "Primary restarted unexpectedly (watchdog)")
    plan.go(t, primary="down")
    plan.event(t + 3, S, "peer_lost", "Primary not answering on the HA link")
    plan.ha(t + 4, S, 147)
    took_over = t + 5
    plan.go(took_over, secondary="active")
    plan.ramps.append((took_over, S))
    plan.ha(took_over, S, 143)
    back = t + rng.randrange(180, 301)
    plan.event(back, S, "peer_found", "Primary answering on the HA link again")
    plan.go(back + 1, primary="standby")
    plan.ha(back + 1, P, 144)
    before = plan.connections(P, plan.sample_before(t))[0]
    after = plan.connections(S, plan.sample_from(took_over))[0]
    unit = {"from": plan.pair.primary, "to": plan.pair.secondary}
    plan.incident(
        "unsynced_failover",
        took_over,
        took_over,
        **unit,
        stateful_sync="disabled",
        connections_before=before,
        connections_after=after,
    )
    plan.incident(
        "session_drop",
        took_over,
        took_over + REBUILD,
        serial=plan.pair.secondary,
        connections_before=before,
        connections_after=after,
        drop_pct=round(100.0 * (before - after) / before, 1) if before else 0.0,
    )
    fix = took_over + REBUILD + rng.randrange(3600, 3 * 3600)
    if fix + 600 < plan.end - 3600:
        _enable_sync(plan, rng, fix, S)


def _flapping(plan: Plan, rng: random.Random) -> None:
    """Preempt plus a twitchy probe: failover, failback, failover... within about an hour."""
    cycles = rng.randint(5, 10)
    cycle = 3600 // cycles
    t0 = pick_time(rng, plan, 3700)
    first = last = 0
    for i in range(cycles):
        t = t0 + i * cycle + rng.randrange(0, cycle // 5)
        plan.event(
            t,
            P,
            "probe_monitor_failure",
            "Logical probe 198.51.100.20 on X1 not responding (3 of 3 probes lost)",
        )
        plan.ha(t + 1, S, 149)
        plan.go(t + 2, primary="standby", secondary="active")
        plan.ha(t + 2, S, 143)
        plan.ha(t + 2, P, 144)
        back = t + 2 + rng.randrange(90, max(91, int(cycle * 0.6)))
        plan.ha(back, P, 151)
        plan.ha(back, S, 150)
        plan.go(back + 1, primary="active", secondary="standby")
        plan.ha(back + 1, P, 142)
        plan.ha(back + 1, S, 145)
        first, last = first or t + 2, back + 1
    plan.incident(
        "flapping",
        first,
        last,
        cycles=cycles,
        transitions=2 * cycles,
        trigger="probe_monitor_failure",
    )


def _split_brain(plan: Plan, rng: random.Random) -> None:
    """The HA link goes down: the backup misses heartbeats and goes active beside the
    primary; when the link returns the backup sees the active primary and reboots (152)."""
    t = pick_time(rng, plan, 1500)
    for role in (P, S):
        plan.event(t, role, "ha_link_down", "HA link X5 down")
    plan.event(t + 3, S, "heartbeat_loss", "Missed 5 heartbeats from Primary on X5")
    plan.event(t + 3, S, "peer_lost", "Primary not answering on the HA link")
    plan.event(t + 4, P, "sync_failed", "Stateful synchronization stopped: HA link down")
    plan.set_sync(t + 4, "not_synced")
    plan.ha(t + 4, S, 147)
    plan.go(t + 5, secondary="active")
    plan.ha(t + 5, S, 143)
    plan.ha(t + 6, P, 142)
    link_up = t + rng.randrange(180, 901)
    for role in (P, S):
        plan.event(link_up, role, "ha_link_up", "HA link X5 up")
    for role in (P, S):
        plan.event(
            link_up + 1,
            role,
            "peer_found",
            f"{'Backup' if role == P else 'Primary'} answering on the HA link again",
        )
    resolved = link_up + 2
    plan.ha(resolved, S, 152)
    plan.go(resolved, secondary="down")
    plan.event(resolved + 1, S, "reboot", "Backup rebooting to resolve dual active")
    back = resolved + rng.randrange(150, 241)
    plan.go(back, secondary="standby")
    plan.ha(back, S, 145)
    _resync(plan, rng, back + 5, P)
    plan.incident(
        "split_brain",
        t + 5,
        resolved,
        duration_s=resolved - t - 5,
        resolved_by="backup reboot (m=152)",
    )
    plan.incident("ha_link_down", t, link_up, duration_s=link_up - t, link="X5")


def _firmware_mismatch(plan: Plan, rng: random.Random) -> None:
    """The backup alone is upgraded, runs mismatched for hours, then is rolled back."""
    old = plan.pair.firmware
    new = UPGRADES[old]
    t = pick_time(rng, plan, 6 * 3600)
    plan.event(t, S, "reboot", f"Firmware upgrade to {new}")
    plan.go(t, secondary="down")
    up = t + rng.randrange(240, 481)
    plan.go(up, secondary="standby")
    plan.set_firmware(up, old, new)
    plan.event(up + 20, P, "firmware_mismatch", f"Peer firmware {new} differs from local {old}")
    plan.event(up + 20, S, "firmware_mismatch", f"Peer firmware {old} differs from local {new}")
    rollback = up + rng.randrange(2 * 3600, 5 * 3600)
    plan.event(rollback, S, "reboot", f"Firmware rollback to {old}")
    plan.go(rollback, secondary="down")
    fixed = rollback + rng.randrange(240, 481)
    plan.go(fixed, secondary="standby")
    plan.set_firmware(fixed, old, old)
    plan.incident("config_mismatch", up, fixed, field="firmware", primary=old, secondary=new)


def _heartbeat_bursts(plan: Plan, rng: random.Random) -> None:
    """Bursts of missed heartbeats, each below the failover trigger level: no failover."""
    bursts = rng.randint(3, 5)
    t = first = pick_time(rng, plan, bursts * 1500)
    last = events = 0
    for _ in range(bursts):
        for _ in range(rng.randint(3, 8)):
            plan.event(
                t,
                S,
                "heartbeat_loss",
                f"Missed {rng.randint(2, 4)} heartbeats from Primary on X5"
                " (failover trigger level 5)",
            )
            last, events = t, events + 1
            t += rng.randrange(2, 11)
        t += rng.randrange(300, 1201)
    plan.incident("heartbeat_loss", first, last, bursts=bursts, events=events, failover=False)


def _failover_test(plan: Plan, rng: random.Random) -> None:
    """A planned manual failover and failback inside a declared window; sync on."""
    t = pick_time(rng, plan, 5400)
    window_start = t - rng.randrange(600, 1201)
    plan.ha(t, P, 144)
    plan.go(t + 1, primary="standby", secondary="active")
    plan.ha(t + 1, S, 143)
    back = t + rng.randrange(900, 2401)
    plan.ha(back, S, 145)
    plan.go(back + 1, primary="active", secondary="standby")
    plan.ha(back + 1, P, 142)
    window_end = back + rng.randrange(900, 1801)
    change = f"CHG{rng.randrange(10**6):06d}"
    plan.windows.append(
        {
            "pair": plan.pair.name,
            "start": iso_z(window_start),
            "end": iso_z(window_end),
            "kind": "failover_test",
            "comment": f"Planned HA failover test, change {change}",
        }
    )
    before = plan.connections(P, plan.sample_before(t))[0]
    after = plan.connections(S, plan.sample_from(t + 1))[0]
    plan.incident(
        "failover_test",
        t + 1,
        back + 1,
        survived=True,
        connections_before=before,
        connections_after=after,
        window_start=iso_z(window_start),
        window_end=iso_z(window_end),
    )


_BUILDERS: dict[str, Callable[[Plan, random.Random], None]] = {
    "stateful_failover": _stateful_failover,
    "unsynced_failover": _unsynced_failover,
    "flapping": _flapping,
    "split_brain": _split_brain,
    "firmware_mismatch": _firmware_mismatch,
    "heartbeat_bursts": _heartbeat_bursts,
    "failover_test": _failover_test,
}


def make_plan(
    seed: int, pair: Pair, scenario: str, start: int, end: int, at: int | None = None
) -> Plan:
    """The pair's timeline; its own random stream, so pairs do not disturb each other.
    `at`: when its incident starts (default: a random moment well inside the period)."""
    plan = Plan(pair, scenario, start, end, at=at)
    builder = _BUILDERS.get(scenario)
    if builder is not None:
        builder(plan, random.Random(f"{seed}/scenario/{pair.name}"))
    plan.ha_lines.sort(key=lambda line: line.t)
    plan.events.sort(key=lambda event: event.t)
    plan.config_lines.sort(key=lambda line: line.t)
    return plan
