"""One site's syslog file: traffic, HA lines and a little background noise, in time order.

A site is written an hour at a time through a heap, so memory stays bounded by an hour of
traffic (plus connections still open), whatever the period. `n=` counters are assigned as
lines leave the heap, in time order, the way a unit numbers what it sends; UDP loss is
applied after numbering, so lost lines leave gaps in `n=` exactly as on a real network.
"""

from __future__ import annotations

import heapq
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import count
from pathlib import Path
from typing import Any

from hawatch.simulator.fleet import Site
from hawatch.simulator.load import traffic_factor
from hawatch.simulator.scenarios import P, Plan, S
from hawatch.simulator.sonicos_lines import Counters, LineFormatter, new_connection

LOSS_RATE = 0.01  # share of traffic lines a lossy site's relay drops
_CODES = {
    "open": 98,
    "close": 537,
    "ha": 0,
    "config": 1382,
    "wlb": 584,
    "wlb_back": 435,
    "ntp": 1107,
}
_CONFIG_CHANGES = (
    ("Logging Level", "INFORMATIONAL", "DEBUG"),
    ("Logging Level", "DEBUG", "INFORMATIONAL"),
    ("Idle Timeout", "5", "10"),
)


@dataclass
class SiteLog:
    """What was written for one site (the summary and truth.json report it)."""

    lines: int = 0
    dropped: dict[str, int] = field(default_factory=dict)  # logged serial -> lines lost


def _logger(plan: Plan, t: int, rng: random.Random) -> str | None:
    """The unit passing traffic at `t`; in a split brain either of the two."""
    if len(plan.state_times) == 1:
        return P
    primary, secondary = plan.state(P, t), plan.state(S, t)
    if primary == "active" and secondary == "active":
        return P if rng.random() < 0.55 else S
    if primary == "active":
        return P
    return S if secondary == "active" else None


def _closer(plan: Plan, role: str, opened: int, closed: int) -> str | None:
    """Who logs the close: the same unit, or the new active if the session survived."""
    if len(plan.state_times) == 1 or plan.state(role, closed) == "active":
        return role
    other = S if role == P else P
    lost = any(opened < since <= closed for since, _ in plan.ramps)
    return other if plan.state(other, closed) == "active" and not lost else None


class SiteWriter:
    """Writes `syslog/<site>.log` for the plans of one site."""

    def __init__(
        self, site: Site, plans: list[Plan], seed: int, end: int, traffic_per_hour: int
    ) -> None:
        self.site, self.plans, self.end = site, plans, end
        self.rng = random.Random(f"{seed}/syslog/{site.name}")
        self.loss_rng = random.Random(f"{seed}/loss/{site.name}")
        self.fmt = LineFormatter(site)
        self.counters = Counters(random.Random(f"{seed}/counters/{site.name}"))
        self.rate = traffic_per_hour / 2.0  # connections: each one is two lines
        self.heap: list[tuple[Any, ...]] = []
        self.seq = count()
        self.audit = {plan.pair.name: self.rng.randrange(10, 900) for plan in plans}
        self.log = SiteLog()

    def push(self, t: int, code: str, plan: Plan, role: str, extra: Any = None) -> None:
        """Queue a line; the sequence number keeps same-second lines in planned order."""
        if t < self.end:
            heapq.heappush(self.heap, (t, next(self.seq), code, plan, role, extra))

    def script(self) -> None:
        """The planned lines: HA transitions and the configuration changes behind them."""
        for plan in self.plans:
            for line in plan.ha_lines:
                self.push(line.t, "ha", plan, line.role, line.m)
            for change in plan.config_lines:
                self.push(
                    change.t, "config", plan, change.role, (change.setting, change.old, change.new)
                )

    def traffic(self, plan: Plan, hour: int) -> None:
        """About `rate` connections an hour, busier in the local afternoon."""
        rng = self.rng
        rate = self.rate * traffic_factor(hour + plan.clock.offset(hour))
        for _ in range(int(rate) + (rng.random() < rate - int(rate))):
            t = hour + rng.randrange(3600)
            role = _logger(plan, t, rng)
            if role is None:
                continue
            conn = new_connection(rng, plan.pair)
            self.push(t, "open", plan, role, conn)
            closed = t + max(1, conn.cdur // 1000)
            closer = _closer(plan, role, t, closed)
            if closer is not None:
                self.push(closed, "close", plan, closer, conn)

    def noise(self, plan: Plan, hour: int) -> None:
        """Occasional non-HA system lines: config audits, NTP trouble, WAN load balancing
        (which says "Failover" and "preemption" and is not HA)."""
        rng = self.rng
        draws = (rng.random(), rng.random(), rng.random())
        t = hour + rng.randrange(3600)
        role = _logger(plan, t, rng)
        if role is None:
            return
        if draws[0] < 0.01:
            self.push(t, "config", plan, role, rng.choice(_CONFIG_CHANGES))
        if draws[1] < 0.004:
            self.push(t, "ntp", plan, role)
        if draws[2] < 0.01 and plan.pair.salt % 5 == 0:
            self.push(t, "wlb", plan, role)
            self.push(t + rng.randrange(120, 1800), "wlb_back", plan, role)

    def render(self, item: tuple[Any, ...]) -> str | None:
        """Number the line, then maybe lose it (UDP), else format it; None when lost."""
        t, _, code, plan, role, extra = item
        pair = plan.pair
        sn = pair.logged_sn(role)
        m = extra if code == "ha" else _CODES[code]
        n = self.counters.take(sn, m)
        if self.site.lossy and m in (98, 537) and self.loss_rng.random() < LOSS_RATE:
            self.log.dropped[sn] = self.log.dropped.get(sn, 0) + 1
            return None
        fmt, fw = self.fmt, pair.fw_ip
        if code == "open":
            return fmt.opened(t, sn, fw, n, extra)
        if code == "close":
            return fmt.closed(t, sn, fw, n, extra)
        if code == "ha":
            return fmt.ha(t, sn, fw, n, m)
        if code == "config":
            self.audit[pair.name] += 1
            admin = f"{pair.lan}.5:{50000 + self.audit[pair.name] % 15000}"
            setting, old, new = extra
            return fmt.config(t, sn, fw, n, admin, setting, old, new, audit=self.audit[pair.name])
        if code == "ntp":
            return fmt.ntp(t, sn, fw, n)
        return fmt.wlb(t, sn, fw, n, failback=code == "wlb_back")

    def items(self, start: int) -> Iterator[tuple[Any, ...]]:
        """Every line's item `(t, seq, code, plan, role, extra)` in time order, queued an hour
        at a time: `render` each as it comes (numbering and loss happen there, in this
        order). A file takes them all; a live stream (simulator/live.py) as they fall due."""
        self.script()
        for hour in range(start, self.end, 3600):
            for plan in self.plans:
                self.traffic(plan, hour)
                self.noise(plan, hour)
            while self.heap and self.heap[0][0] < hour + 3600:
                yield heapq.heappop(self.heap)

    def write(self, path: Path, start: int) -> SiteLog:
        """Every line from `start` to the end, in one file."""
        with path.open("w", encoding="utf-8", newline="\n") as handle:
            for item in self.items(start):
                line = self.render(item)
                if line is not None:
                    handle.write(line + "\n")
                    self.log.lines += 1
        return self.log
