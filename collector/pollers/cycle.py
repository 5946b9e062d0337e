"""Poll many units at once: a cap on polls in flight, retries of transient failures.

Used by `hawatch poll --once` and by serve's scheduler (collector/pollers/runner.py), so both
poll the same way. A timeout or refused connection is retried (`poll.retries`); an
authentication failure never is (three wrong passwords in a row may lock the account), nor
is a TLS or protocol failure (trying again gives the same answer).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from hawatch.collector.inventory import PolledUnit
from hawatch.collector.pollers.credentials import Profile, redact
from hawatch.collector.pollers.outcome import PollResult
from hawatch.collector.pollers.snmp import SnmpClient, poll_snmp
from hawatch.collector.pollers.sonicos_rest import poll_rest

RETRIED = ("timeout", "refused")


@dataclass(frozen=True)
class Target:
    """One unit and one protocol: the unit of scheduling and of `poll_status`."""

    unit: PolledUnit
    protocol: str  # rest | snmp

    @property
    def key(self) -> tuple[str, str]:
        return self.unit.serial, self.protocol


def targets(units: list[PolledUnit], profiles: dict[str, Profile]) -> list[Target]:
    """Each unit once per protocol of its profile; a unit whose profile does not exist is
    polled as `rest` (and fails with `auth`, saying so) rather than left out silently."""
    found = []
    for unit in units:
        profile = profiles.get(unit.profile)
        for protocol in profile.protocols if profile else ("rest",):
            found.append(Target(unit, protocol))
    return found


def _check_identity(result: PollResult) -> None:
    """A unit answering with another serial is at the wrong address: its reads are not
    stored (they would be filed under a unit the pair does not have)."""
    unit = result.unit
    if result.ok and result.reported_serial and result.reported_serial != unit.serial:
        result.outcome, result.record = "protocol", None
        result.reason = (
            f"{result.address} answers as serial {result.reported_serial}, the"
            f" inventory names {unit.serial} ({unit.pair} {unit.role}): check"
            " the address"
        )


class Poller:
    """Polls targets with one set of profiles and settings; holds what polls share in one
    event loop (the SNMP dispatchers, which system report each unit has)."""

    def __init__(self, profiles: dict[str, Profile], timeout: float, retries: int) -> None:
        self.profiles, self.timeout, self.retries = profiles, timeout, retries
        self.snmp = SnmpClient()
        self.system_paths: dict[str, str] = {}

    async def poll(self, target: Target) -> PollResult:
        """One target, retried on timeouts and refusals; reasons never carry a secret."""
        profile = self.profiles.get(target.unit.profile)
        if profile is None:
            port = target.unit.port or 443
            return PollResult(
                target.unit,
                target.protocol,
                f"{target.unit.host}:{port}",
                datetime.now(UTC),
                "auth",
                f"no credential profile {target.unit.profile!r} in the"
                " credentials file or HAWATCH_POLL_* variables",
            )
        for attempt in range(self.retries + 1):
            if target.protocol == "rest":
                result = await poll_rest(target.unit, profile, self.timeout, self.system_paths)
            else:
                result = await poll_snmp(self.snmp, target.unit, profile, self.timeout)
            if result.outcome not in RETRIED or attempt == self.retries:
                break
        _check_identity(result)
        if result.reason:
            result.reason = redact(result.reason, profile.secrets())
        return result

    def close(self) -> None:
        self.snmp.close()


async def poll_all(
    targets_: list[Target],
    profiles: dict[str, Profile],
    timeout: float,
    retries: int,
    concurrency: int,
    done: Callable[[PollResult], None] | None = None,
    poller: Poller | None = None,
) -> list[PollResult]:
    """Poll every target once, at most `concurrency` at once; results in the targets' order.
    A `poller` given is kept open (what it learnt serves the next cycle in this loop)."""
    gate = asyncio.Semaphore(max(1, concurrency))
    own = poller is None
    poller = poller or Poller(profiles, timeout, retries)

    async def one(target: Target) -> PollResult:
        async with gate:
            result = await poller.poll(target)
        if done is not None:
            done(result)
        return result

    try:
        return list(await asyncio.gather(*(one(t) for t in targets_)))
    finally:
        if own:
            poller.close()
