"""`simulate()`: a fleet, a plan per pair, then every output file written from the plans.

Deterministic by construction: every random stream is `random.Random` seeded from the seed
plus a fixed name (fleet, scenarios, each pair, each site), iteration is over ordered
sequences, and nothing reads the wall clock, so the same arguments give the same bytes.
"""

from __future__ import annotations

import time
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any

from hawatch.simulator.clock import epoch, iso_z
from hawatch.simulator.exports import write_events, write_json, write_sessions, write_status
from hawatch.simulator.fleet import Fleet, build_fleet, write_inventory
from hawatch.simulator.scenarios import PREEMPT, Plan, assign_scenarios, make_plan
from hawatch.simulator.sonicos_lines import DEFAULT_START
from hawatch.simulator.syslog_stream import SiteWriter

# Syslog traffic lines per pair per hour (Opened + Closed), averaged over the day: keeps the
# 8-pair, 3-day sample under ~6 MB while every site still logs every few minutes.
DEFAULT_TRAFFIC_PER_HOUR = 24


def _plans(seed: int, pairs: int, start: int, end: int) -> tuple[Fleet, list[Plan]]:
    """Scenarios first: they decide preempt, which the fleet (and inventory) must show."""
    names = assign_scenarios(seed, pairs)
    fleet = build_fleet(seed, pairs, [PREEMPT.get(name) for name in names])
    plans = [
        make_plan(seed, pair, name, start, end)
        for pair, name in zip(fleet.pairs, names, strict=True)
    ]
    return fleet, plans


def _write_syslog(
    out: Path,
    fleet: Fleet,
    plans: list[Plan],
    seed: int,
    start: int,
    end: int,
    traffic_per_hour: int,
) -> tuple[int, list[dict[str, Any]]]:
    """One file per site; returns the lines written and what the lossy site dropped."""
    folder = out / "syslog"
    folder.mkdir(parents=True, exist_ok=True)
    lines, loss = 0, list[dict[str, Any]]()
    for site in fleet.sites:
        mine = [plan for plan in plans if plan.pair.site is site]
        log = SiteWriter(site, mine, seed, end, traffic_per_hour).write(
            folder / f"{site.name}.log", start
        )
        lines += log.lines
        loss.extend(
            {"site": site.name, "serial": sn, "dropped": n} for sn, n in sorted(log.dropped.items())
        )
    return lines, loss


def _truth(
    seed: int, days: int, start: int, plans: list[Plan], loss: list[dict[str, Any]]
) -> dict[str, Any]:
    """truth.json: what was injected, plus what a reader needs to check the collector
    (which pairs log one shared sn=, how many lines the lossy relay dropped)."""
    incidents = sorted(
        (i for plan in plans for i in plan.incidents),
        key=lambda i: (i["start"], i["pair"], i["kind"]),
    )
    return {
        "seed": seed,
        "pairs": len(plans),
        "days": days,
        "start": iso_z(start),
        "end": iso_z(start + days * 86_400),
        "scenarios": {plan.pair.name: plan.scenario for plan in plans},
        "incidents": incidents,
        "shared_sn_pairs": [plan.pair.name for plan in plans if plan.pair.shared_sn],
        "syslog_loss": loss,
    }


def simulate(
    seed: int,
    pairs: int,
    days: int,
    out: Path,
    start: datetime = DEFAULT_START,
    traffic_per_hour: int = DEFAULT_TRAFFIC_PER_HOUR,
) -> dict[str, Any]:
    """Write a simulated fleet's syslog, exports, inventory, windows and truth under `out`."""
    if pairs < 1 or days < 1:
        raise ValueError("simulate needs at least one pair and one day")
    began = time.perf_counter()
    out = Path(out)
    (out / "exports").mkdir(parents=True, exist_ok=True)
    t0 = epoch(start)
    t1 = t0 + days * 86_400
    fleet, plans = _plans(seed, pairs, t0, t1)
    write_inventory(fleet, out / "inventory.csv")
    lines, loss = _write_syslog(out, fleet, plans, seed, t0, t1, traffic_per_hour)
    samples = write_sessions(out / "exports" / "sessions.csv", plans, t0, t1)
    events = write_events(out / "exports" / "events.ndjson", plans)
    status = write_status(out / "exports" / "status.json", plans, t0, t1)
    windows = sorted(
        (w for plan in plans for w in plan.windows), key=lambda w: (w["start"], w["pair"])
    )
    write_json(out / "windows.json", windows)
    truth = _truth(seed, days, t0, plans, loss)
    write_json(out / "truth.json", truth)
    return {
        "out": str(out),
        "seed": seed,
        "pairs": pairs,
        "days": days,
        "sites": len(fleet.sites),
        "syslog_lines": lines,
        "dropped_lines": sum(item["dropped"] for item in loss),
        "session_samples": samples,
        "status_records": status,
        "export_events": events,
        "windows": len(windows),
        "incidents": len(truth["incidents"]),
        "scenarios": dict(sorted(Counter(plan.scenario for plan in plans).items())),
        "bytes": sum(p.stat().st_size for p in sorted(out.rglob("*")) if p.is_file()),
        "seconds": round(time.perf_counter() - began, 2),
    }
