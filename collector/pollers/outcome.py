"""What one poll of one unit gave: a record for the store, or why there is none.

Every failure is one of a few kinds an operator can act on, with a one-line reason:
`timeout` (no answer in time), `refused` (nothing accepts the connection, or the address
cannot be reached), `tls` (certificate not trusted or not the pinned one), `auth`
(credentials refused, API disabled, no such profile), `protocol` (an answer hawatch cannot
use, or another unit than the inventory says). Counters and the ingest page group by these
kinds, so their number stays small whatever the fleet.
"""

from __future__ import annotations

import asyncio
import ssl
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from hawatch.collector.inventory import PolledUnit


class PollError(Exception):
    """A poll that failed in a known way; `str()` is the one-line reason."""

    def __init__(self, kind: str, reason: str) -> None:
        super().__init__(reason)
        self.kind = kind


@dataclass
class PollResult:
    unit: PolledUnit
    protocol: str  # rest | snmp
    address: str  # host:port
    started: datetime  # UTC
    outcome: str = "ok"
    reason: str | None = None
    latency_ms: float = 0.0
    record: dict[str, Any] | None = None  # an export record (docs/formats.md), to store
    reported_serial: str | None = None
    uptime_seconds: int | None = None
    notes: list[str] = field(default_factory=list)  # e.g. "TLS not verified"
    raw: dict[str, Any] = field(default_factory=dict)  # what the unit answered, per read

    @property
    def ok(self) -> bool:
        return self.outcome == "ok"


def one_line(text: object, limit: int = 300) -> str:
    """A reason as one short line (library messages can span lines)."""
    flat = " ".join(str(text).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def classify(exc: BaseException) -> PollError:
    """A failure of the network or TLS layer as a PollError of the right kind."""
    if isinstance(exc, PollError):
        return exc
    if isinstance(exc, TimeoutError | asyncio.TimeoutError):
        return PollError("timeout", "no answer within poll.timeout_seconds")
    if isinstance(exc, ssl.SSLCertVerificationError):
        return PollError("tls", f"certificate not trusted: {one_line(exc.verify_message)}")
    if isinstance(exc, ssl.SSLError):
        return PollError("tls", f"TLS handshake failed: {one_line(exc.reason or exc)}")
    if isinstance(exc, ConnectionRefusedError):
        return PollError("refused", "connection refused (nothing listens on the port)")
    if isinstance(exc, OSError):
        return PollError("refused", f"cannot connect: {one_line(exc.strerror or exc)}")
    return PollError("protocol", f"{type(exc).__name__}: {one_line(exc)}")
