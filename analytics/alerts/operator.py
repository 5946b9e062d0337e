"""Operators' actions on alerting, one entry point for the CLI and the server's API."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from hawatch.analytics.alerts.acknowledgements import acknowledge
from hawatch.analytics.alerts.silences import add_silence
from hawatch.store.db import Store
from hawatch.store.errors import HawatchError
from hawatch.store.execute import one_row
from hawatch.store.kinds import WINDOW_KINDS
from hawatch.store.times import BadTime, parse_time


def apply_action(store: Store, payload: dict[str, Any], now: datetime) -> str:
    """Acknowledge an incident, silence a pair or declare a window; one-line confirmation."""
    action = payload.get("action")
    if action == "ack":
        incident = int(payload["incident"])
        acknowledge(store, incident, str(payload.get("by") or "operator"),
                    str(payload.get("comment") or ""), now)
        return f"incident #{incident} acknowledged: no repeats until it resolves"
    if action == "silence":
        try:
            until, is_utc = parse_time(str(payload["until"]))
        except BadTime as exc:
            raise HawatchError(f"--until: {exc}") from None
        if not is_utc:
            raise HawatchError("--until needs a time zone, e.g. 2026-11-26T08:00Z")
        ends = until.replace(tzinfo=now.tzinfo)
        pair = str(payload["pair"])
        if not one_row(store.cursor(), "SELECT count(*) FROM pairs WHERE pair = ?",
                                      [pair])[0]:
            raise HawatchError(f"no pair {pair!r}")
        sid = add_silence(store, pair, ends, now, str(payload.get("comment") or ""))
        return f"silence #{sid}: {pair} silenced until {ends.isoformat()}"
    if action == "window":
        return declare_window(store, payload, now)
    raise HawatchError(f"unknown action {action!r}")


def _utc_time(value: Any, name: str, now: datetime) -> datetime:
    try:
        when, is_utc = parse_time(str(value or "").strip())
    except BadTime as exc:
        raise HawatchError(f"--{name}: {exc}") from None
    if not is_utc:
        raise HawatchError(f"--{name} needs a time zone, e.g. 2026-11-26T08:00Z")
    return when.replace(tzinfo=now.tzinfo)


def declare_window(store: Store, payload: dict[str, Any], now: datetime) -> str:
    """Declare a failover test or maintenance window for a pair (origin 'cli')."""
    pair = str(payload.get("pair") or "").strip()
    kind = str(payload.get("kind") or "")
    if kind not in WINDOW_KINDS:
        raise HawatchError(f"window kind must be one of {', '.join(WINDOW_KINDS)}")
    starts = _utc_time(payload.get("start"), "start", now)
    ends = _utc_time(payload.get("end"), "end", now)
    if ends <= starts:
        raise HawatchError("a window must end after it starts")
    with store.transaction() as cur:
        if not one_row(cur, "SELECT count(*) FROM pairs WHERE pair = ?", [pair])[0]:
            raise HawatchError(f"no pair {pair!r}")
        cur.execute("INSERT INTO windows (pair, starts_at, ends_at, kind, comment, origin,"
                    " created_at) VALUES (?, ?, ?, ?, ?, 'cli', ?)",
                    [pair, starts, ends, kind, str(payload.get("comment") or ""), now])
        # the pair's failovers in the window are judged again at the next analysis
        cur.execute("INSERT INTO analysis_dirty VALUES (?, ?, ?)", [pair, starts, now])
    return (f"{kind} window for {pair} from {starts.isoformat()} to {ends.isoformat()}"
            " declared")
