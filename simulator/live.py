"""A simulated fleet that runs now, in real time: what `hawatch demo` serves.

The sample fleet's pairs (same seed, names and serials as sample_logs/) with their scenarios
moved to the next minutes, so a newcomer sees incidents open and resolve while watching:

- each unit answers polls over HTTPS and SNMP (simulator/devices: the same `Plan` as its
  syslog, on the wall clock);
- each site's syslog is sent over UDP to the server's listener as its lines fall due (the
  last `HISTORY` seconds are written to a file first, so charts and the session-drop baseline
  have an hour behind them), and the scenarios' export events (reboots, sync, HA link) are
  dropped into the server's drop folder when they happen;
- one pair's HA messages are lost on the way (their lines are numbered, so the `n=` gap
  shows, but never sent): only the polls see its failover ("syslog missed a failover");
- one unit of the healthy pair stops answering for a few minutes and comes back
  (`unit_unreachable`, its pair `stale`, then resolved).

Real time, not accelerated: polls are stamped with hawatch's clock, so everything the fleet
says must happen on it.
"""

from __future__ import annotations

import heapq
import json
import os
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hawatch.simulator.clock import iso_z
from hawatch.simulator.devices.farm import DeviceFarm
from hawatch.simulator.devices.timeline import ScenarioClock
from hawatch.simulator.exports import write_json, write_sessions, write_status
from hawatch.simulator.fleet import build_fleet
from hawatch.simulator.scenarios import PREEMPT, assign_scenarios, make_plan
from hawatch.simulator.syslog_stream import SiteWriter

HISTORY = 2 * 3600  # seconds of the plans written as files before the live part
SPAN = 7 * 86_400  # how long the plans run on (traffic, polls) once started
# minutes after the lead to each scenario's incident: one every two minutes
OFFSETS = {
    "unsynced_failover": 0,
    "split_brain": 2,
    "stateful_failover": 4,
    "heartbeat_bursts": 6,
    "firmware_mismatch": 8,
    "failover_test": 10,
    "flapping": 12,
}
MISSED = "stateful_failover"  # the pair whose HA messages never arrive
QUIET_AT, QUIET_FOR = 3 * 60, 3 * 60  # the healthy pair's secondary stops answering
TRAFFIC_PER_HOUR = 240  # syslog traffic lines per pair per hour (a line every 15 s)

WHAT = {
    "unsynced_failover": "unsynced failover: sync was switched off, the primary reboots, the"
    " secondary takes over without the sessions (then a session drop)",
    "split_brain": "HA link down: split brain, the secondary reboots to end it",
    "stateful_failover": "failover with sync on, whose HA syslog messages are lost on the way:"
    " only the polls see it (syslog missed a failover)",
    "heartbeat_bursts": "bursts of missed heartbeats, no failover",
    "firmware_mismatch": "the secondary alone is upgraded: firmware mismatch for hours",
    "failover_test": "a planned failover test inside a declared window",
    "flapping": "preempt plus a twitchy probe: flapping for about an hour",
}


@dataclass(frozen=True)
class Happening:
    at: int
    pair: str
    what: str


class LiveFleet:
    """The plans, their units (a DeviceFarm), and the streams that feed a running server."""

    def __init__(
        self,
        folder: Path,
        seed: int = 7,
        pairs: int = 8,
        now: float | None = None,
        traffic_per_hour: int = TRAFFIC_PER_HOUR,
        lead: float = 60.0,
    ) -> None:
        self.folder = folder
        self.now = int(now if now is not None else time.time())
        self.start, self.end = self.now - HISTORY, self.now + SPAN
        names = assign_scenarios(seed, pairs)
        fleet = build_fleet(seed, pairs, [PREEMPT.get(name) for name in names])
        self.plans = [
            make_plan(
                seed,
                pair,
                name,
                self.start,
                self.end,
                at=(self.now + int(lead) + 60 * OFFSETS[name] if name in OFFSETS else None),
            )
            for pair, name in zip(fleet.pairs, names, strict=True)
        ]
        self.quiet_at = self.now + int(lead) + QUIET_AT
        self.missed = {p.pair.name for p in self.plans if p.scenario == MISSED}
        healthy = [p for p in self.plans if p.scenario == "healthy"]
        self.quiet = healthy[0].pair.secondary if healthy else None
        self.farm = DeviceFarm(self.plans, ScenarioClock(self.now))
        self.sites = [
            SiteWriter(
                site,
                [p for p in self.plans if p.pair.site is site],
                seed,
                self.end,
                traffic_per_hour,
            )
            for site in fleet.sites
        ]
        self._lines = heapq.merge(
            *(self._site_lines(w) for w in self.sites), key=lambda item: item[0]
        )
        self._next: tuple[int, Any, str | None] | None = None  # read, not yet due
        self.stopping = threading.Event()
        self._threads: list[threading.Thread] = []

    # -- what happens when ----------------------------------------------------------------
    def schedule(self) -> list[Happening]:
        """The incidents to come, in order (printed by `hawatch demo`)."""
        found = [
            Happening(p.at, p.pair.name, WHAT[p.scenario])
            for p in self.plans
            if p.at is not None and p.scenario in WHAT
        ]
        if self.quiet:
            pair = next(p.pair.name for p in self.plans if p.pair.secondary == self.quiet)
            found.append(
                Happening(
                    self.quiet_at,
                    pair,
                    f"its secondary {self.quiet} stops answering for"
                    f" {QUIET_FOR // 60} minutes (unreachable, stale)",
                )
            )
        return sorted(found, key=lambda h: h.at)

    # -- before the server starts ---------------------------------------------------------
    def start_units(self) -> tuple[Path, Path]:
        """Start the simulated units; returns (inventory with their addresses, credentials)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        self.farm.start()
        inventory = self.farm.write_inventory(
            self.folder / "inventory.csv", lambda plan: "sim-rest"
        )
        credentials = self.farm.write_credentials(
            self.folder / "pollers.toml", self.farm.write_ca(self.folder / "ca.pem")
        )
        return inventory, credentials

    def write_history(self, out: Path, inventory: Path) -> Path:
        """The plans' first `HISTORY` seconds as files a server ingests before going live:
        the inventory, each site's syslog, samples, status, export events and windows."""
        (out / "syslog").mkdir(parents=True, exist_ok=True)
        (out / "exports").mkdir(exist_ok=True)
        (out / "inventory.csv").write_bytes(inventory.read_bytes())
        with (out / "syslog" / "history.log").open("w", encoding="utf-8") as handle:
            for _item, line in self._due(self.now):
                if line is not None:
                    handle.write(line + "\n")
        write_sessions(out / "exports" / "sessions.csv", self.plans, self.start, self.now)
        write_status(out / "exports" / "status.json", self.plans, self.start, self.now)
        with (out / "exports" / "events.ndjson").open("w", encoding="utf-8") as handle:
            for record in self._events(self.start, self.now):
                handle.write(json.dumps(record) + "\n")
        write_json(out / "windows.json", [w for p in self.plans for w in p.windows])
        return out

    # -- live -------------------------------------------------------------------------------
    def go_live(self, ports_file: Path, drop: Path) -> None:
        """Stream syslog to the listener that writes `ports_file` (once it has), drop export
        events into `drop` as they happen, and take the quiet unit down and up again."""
        drop.mkdir(parents=True, exist_ok=True)
        for target, name in (
            (lambda: self._stream_syslog(ports_file), "syslog"),
            (lambda: self._drop_events(drop), "events"),
            (self._quiet_unit, "quiet"),
        ):
            thread = threading.Thread(
                target=_forever(target, name, self.stopping), name=f"live-{name}", daemon=True
            )
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        self.stopping.set()
        for thread in self._threads:
            thread.join(5)
        self.farm.stop()

    # -- the streams ----------------------------------------------------------------------
    def _site_lines(self, writer: SiteWriter) -> Iterator[tuple[int, Any, str | None]]:
        """(time, item, line) of one site in time order; a lost HA message is numbered (its
        n= leaves a gap) but has no line."""
        for item in writer.items(self.start):
            line = writer.render(item)
            t, _, code, plan, role, _ = item
            if code == "ha" and plan.pair.name in self.missed and t >= self.now:
                line = None
            yield t, (plan, role), line

    def _due(self, until: float) -> Iterator[tuple[Any, str | None]]:
        """The lines of every site due before `until`, in time order."""
        while True:
            head = self._next or next(self._lines, None)
            self._next = None
            if head is None:
                return
            t, item, line = head
            if t >= until:
                self._next = head
                return
            yield item, line

    def _stream_syslog(self, ports_file: Path) -> None:
        port = _wait_for_port(ports_file, self.stopping)
        if port is None:
            return
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender:
            while not self.stopping.wait(0.5):
                for (plan, role), line in self._due(time.time()):
                    device = self.farm.devices[plan.pair.serial(role)]
                    if line is not None and device.mode == "ok":
                        sender.sendto(line.encode(), ("127.0.0.1", port))

    def _events(self, since: int, until: int) -> Iterator[dict[str, Any]]:
        events = sorted(
            (
                (e.t, p.pair.index, i, e, p)
                for p in self.plans
                for i, e in enumerate(p.events)
                if since <= e.t < until
            ),
            key=lambda row: row[:3],
        )
        for t, _, _, event, plan in events:
            yield {
                "time": iso_z(t),
                "serial": plan.pair.serial(event.role),
                "pair": plan.pair.name,
                "event": event.kind,
                "role": event.role,
                "detail": event.detail,
            }

    def _drop_events(self, drop: Path) -> None:
        since = self.now
        while not self.stopping.wait(1.0):
            until = int(time.time()) + 1
            records = list(self._events(since, until))
            since = until
            if records:
                name = f"events-{since}.ndjson"
                part = drop / (name + ".part")
                part.write_text("".join(json.dumps(r) + "\n" for r in records))
                os.replace(part, drop / name)

    def _quiet_unit(self) -> None:
        if self.quiet is None:
            return
        if self.stopping.wait(max(0.0, self.quiet_at - time.time())):
            return
        self.farm.set_mode(self.quiet, "silent")
        self.stopping.wait(QUIET_FOR)
        self.farm.set_mode(self.quiet, "ok")


def _wait_for_port(ports_file: Path, stopping: threading.Event) -> int | None:
    """The UDP port of the listener once its ports file appears (None if stopped first)."""
    while not stopping.is_set():
        try:
            return int(json.loads(ports_file.read_text())["udp"]["port"])
        except (OSError, ValueError, KeyError, TypeError):
            stopping.wait(0.2)
    return None


def _forever(
    target: Callable[[], None], name: str, stopping: threading.Event
) -> Callable[[], None]:
    """A stream that fails is logged and restarted after a pause, until the fleet stops."""

    def run() -> None:
        while not stopping.is_set():
            try:
                target()
                return
            except Exception as exc:  # noqa: BLE001 - a background loop must carry on
                print(
                    f"hawatch demo: live {name}: {type(exc).__name__}: {exc}",
                    file=sys.stderr,
                    flush=True,
                )
                stopping.wait(2)

    return run
