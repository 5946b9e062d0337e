"""The API-style exports (CSV, NDJSON, JSON array) and the declared/true JSON side files.

Every writer streams in time order: session samples are computed per 5-minute step from the
plans, status records per day, so a 2,000-pair, 30-day fleet never sits in memory.
Field names are the export record fields collector/exports/parse.py accepts.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from hawatch.simulator.clock import iso_z
from hawatch.simulator.fleet import ROLES
from hawatch.simulator.load import SAMPLE_SECONDS
from hawatch.simulator.scenarios import Plan


def write_sessions(path: Path, plans: list[Plan], start: int, end: int) -> int:
    """sessions.csv: both units every 5 minutes; a rebooting unit reports nothing."""
    rows = 0
    with path.open("w", encoding="utf-8", newline="\n") as handle:
        handle.write("time,serial,pair,connections,vpn_sas\n")
        for t in range(start, end, SAMPLE_SECONDS):
            stamp = iso_z(t)
            chunk = []
            for plan in plans:
                pair = plan.pair
                for role in ROLES:
                    if plan.state(role, t) == "down":
                        continue
                    connections, vpn_sas = plan.connections(role, t)
                    chunk.append(
                        f"{stamp},{pair.serial(role)},{pair.name},{connections},{vpn_sas}\n"
                    )
            handle.write("".join(chunk))
            rows += len(chunk)
    return rows


def write_events(path: Path, plans: list[Plan]) -> int:
    """events.ndjson: HA events that have no documented syslog id, one record a line."""
    events = sorted(
        ((e.t, plan.pair.index, i, plan, e) for plan in plans for i, e in enumerate(plan.events)),
        key=lambda row: row[:3],
    )
    with path.open("w", encoding="utf-8", newline="\n") as handle:
        for t, _, _, plan, event in events:
            handle.write(
                json.dumps(
                    {
                        "time": iso_z(t),
                        "serial": plan.pair.serial(event.role),
                        "pair": plan.pair.name,
                        "event": event.kind,
                        "role": event.role,
                        "detail": event.detail,
                    }
                )
                + "\n"
            )
    return len(events)


def _status(plan: Plan, role: str, t: int) -> dict[str, Any] | None:
    """A unit's status as a poll at `t` would return it; a rebooting unit does not answer."""
    state = plan.state(role, t)
    if state == "down":
        return None
    return {
        "time": iso_z(t),
        "serial": plan.pair.serial(role),
        "pair": plan.pair.name,
        "role": role,
        "state": state,
        "stateful_sync": plan.sync(t),
        "model": plan.pair.model,
        "firmware": plan.firmware(role, t),
        "ha_mode": "active_standby",
    }


def write_status(path: Path, plans: list[Plan], start: int, end: int) -> int:
    """status.json: a JSON array, every unit once a day at 00:00 UTC and on every change."""
    changes = sorted((t, plan.pair.index) for plan in plans for t in plan.change_times())
    by_index = {plan.pair.index: plan for plan in plans}
    written = 0
    with path.open("w", encoding="utf-8", newline="\n") as handle:
        handle.write("[")
        for day in range(start, end, 86_400):
            polls = {(day, plan.pair.index) for plan in plans}
            polls.update(c for c in changes if day <= c[0] < min(day + 86_400, end))
            for t, index in sorted(polls):
                for role in ROLES:
                    record = _status(by_index[index], role, t)
                    if record is not None:
                        handle.write(("\n" if not written else ",\n") + json.dumps(record))
                        written += 1
        handle.write("\n]\n")
    return written


def write_json(path: Path, value: Any) -> None:
    """A small JSON document, indented for people reading it."""
    path.write_text(json.dumps(value, indent=2) + "\n", encoding="utf-8")
