"""Operators' actions on alerting, one entry point for the CLI and the server's API."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from analytics.alerts.acknowledgements import acknowledge
from analytics.alerts.silences import add_silence
from store.db import Store
from store.errors import HawatchError


def apply_action(store: Store, payload: dict[str, Any], now: datetime) -> str:
    """Acknowledge an incident or silence a pair; returns a one-line confirmation."""
    from collector.parse_export import Reject, parse_time

    action = payload.get("action")
    if action == "ack":
        incident = int(payload["incident"])
        acknowledge(store, incident, str(payload.get("by") or "operator"),
                    str(payload.get("comment") or ""), now)
        return f"incident #{incident} acknowledged: no repeats until it resolves"
    if action == "silence":
        try:
            until, is_utc = parse_time(str(payload["until"]))
        except Reject as exc:
            raise HawatchError(f"--until: {exc}") from None
        if not is_utc:
            raise HawatchError("--until needs a time zone, e.g. 2026-11-26T08:00Z")
        ends = until.replace(tzinfo=now.tzinfo)
        pair = str(payload["pair"])
        if not store.cursor().execute("SELECT count(*) FROM pairs WHERE pair = ?",
                                      [pair]).fetchone()[0]:
            raise HawatchError(f"no pair {pair!r}")
        sid = add_silence(store, pair, ends, now, str(payload.get("comment") or ""))
        return f"silence #{sid}: {pair} silenced until {ends.isoformat()}"
    raise HawatchError(f"unknown action {action!r}")
