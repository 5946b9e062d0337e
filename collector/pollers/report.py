"""What `hawatch poll --once` prints per unit: what was read, or the one-line reason."""

from __future__ import annotations

from typing import Any

from hawatch.collector.pollers.outcome import PollResult

COLUMNS = [
    "pair",
    "role",
    "serial",
    "protocol",
    "address",
    "outcome",
    "ms",
    "state",
    "peer_state",
    "stateful_sync",
    "connections",
    "max_connections",
    "model",
    "firmware",
    "uptime_s",
    "reason",
]


def report_row(result: PollResult) -> dict[str, Any]:
    """One unit's line; the reason column holds the failure or notes (never a secret)."""
    unit, record = result.unit, result.record or {}
    peer = "secondary" if unit.role == "primary" else "primary"
    sync = record.get("stateful_synchronization")
    return {
        "pair": unit.pair,
        "role": unit.role,
        "serial": unit.serial,
        "protocol": result.protocol,
        "address": result.address,
        "outcome": result.outcome,
        "ms": round(result.latency_ms),
        "state": str(record.get(f"{unit.role}_state", "")).lower() or None,
        "peer_state": str(record.get(f"{peer}_state", "")).lower() or None,
        "stateful_sync": None if sync is None else ("enabled" if sync else "disabled"),
        "connections": record.get("connections"),
        "max_connections": record.get("max_connections"),
        "model": record.get("model"),
        "firmware": record.get("firmware_version", record.get("firmware")),
        "uptime_s": result.uptime_seconds,
        "reason": result.reason or ("; ".join(result.notes) or None),
    }
