"""Operators' actions on alerting, one entry point for the CLI, the dashboard and the
server's API: acknowledge, silence, declare a window, and edit or remove a silence or a
window. Every one is kept in the audit log (analytics/alerts/audit.py) by its own
transaction; `by` in the payload names who acted."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from hawatch.analytics.alerts import schedule_edits
from hawatch.analytics.alerts.acknowledgements import acknowledge
from hawatch.analytics.alerts.audit import record
from hawatch.analytics.alerts.silences import add_silence
from hawatch.store.db import Store
from hawatch.store.errors import HawatchError
from hawatch.store.execute import one_row
from hawatch.store.kinds import WINDOW_KINDS
from hawatch.store.times import BadTime, parse_time

Action = Callable[[Store, dict[str, Any], datetime, str, str], str]


def apply_action(store: Store, payload: dict[str, Any], now: datetime) -> str:
    """Carry out one action (`payload["action"]` names it); a one-line confirmation."""
    action = ACTIONS.get(str(payload.get("action")))
    if action is None:
        raise HawatchError(f"unknown action {payload.get('action')!r}")
    return action(
        store, payload, now, str(payload.get("by") or "operator"), str(payload.get("comment") or "")
    )


def _number(payload: dict[str, Any], name: str) -> int:
    try:
        return int(payload[name])
    except (KeyError, TypeError, ValueError):
        raise HawatchError(f"{name} must be a number, e.g. 12") from None


def _ack(store: Store, payload: dict[str, Any], now: datetime, by: str, comment: str) -> str:
    incident = _number(payload, "incident")
    acknowledge(store, incident, by, comment, now)
    return f"incident #{incident} acknowledged: no repeats until it resolves"


def _silence(store: Store, payload: dict[str, Any], now: datetime, by: str, comment: str) -> str:
    ends = _utc_time(payload.get("until"), "until", now)
    pair = str(payload.get("pair") or "").strip()
    if not one_row(store.cursor(), "SELECT count(*) FROM pairs WHERE pair = ?", [pair])[0]:
        raise HawatchError(f"no pair {pair!r}")
    sid = add_silence(store, pair, ends, now, comment, by=by)
    return f"silence #{sid}: {pair} silenced until {ends.isoformat()}"


def _utc_time(value: Any, name: str, now: datetime) -> datetime:
    try:
        when, is_utc = parse_time(str(value or "").strip())
    except BadTime as exc:
        raise HawatchError(f"--{name}: {exc}") from None
    if not is_utc:
        raise HawatchError(f"--{name} needs a time zone, e.g. 2026-11-26T08:00Z")
    return when.replace(tzinfo=now.tzinfo)


def declare_window(
    store: Store, payload: dict[str, Any], now: datetime, by: str = "operator", comment: str = ""
) -> str:
    """Declare a failover test or maintenance window for a pair (origin 'cli')."""
    pair = str(payload.get("pair") or "").strip()
    kind = str(payload.get("kind") or "")
    if kind not in WINDOW_KINDS:
        raise HawatchError(f"window kind must be one of {', '.join(WINDOW_KINDS)}")
    starts = _utc_time(payload.get("start"), "start", now)
    ends = _utc_time(payload.get("end"), "end", now)
    if ends <= starts:
        raise HawatchError("a window must end after it starts")
    comment = comment or str(payload.get("comment") or "")
    with store.transaction() as cur:
        if not one_row(cur, "SELECT count(*) FROM pairs WHERE pair = ?", [pair])[0]:
            raise HawatchError(f"no pair {pair!r}")
        (wid,) = one_row(
            cur,
            "INSERT INTO windows (pair, starts_at, ends_at, kind, comment, origin, created_at)"
            " VALUES (?, ?, ?, ?, ?, 'cli', ?) RETURNING window_id",
            [pair, starts, ends, kind, comment, now],
        )
        # the pair's failovers in the window are judged again at the next analysis
        cur.execute("INSERT INTO analysis_dirty VALUES (?, ?, ?)", [pair, starts, now])
        record(
            cur,
            now,
            by,
            "window",
            ("window", wid),
            pair,
            comment,
            f"{kind} window #{wid} {starts:%Y-%m-%d %H:%M} to {ends:%Y-%m-%d %H:%M} UTC",
        )
    return (
        f"{kind} window for {pair} from {starts.isoformat()} to {ends.isoformat()}"
        f" declared as window #{wid}"
    )


def _silence_edit(
    store: Store, payload: dict[str, Any], now: datetime, by: str, comment: str
) -> str:
    return schedule_edits.edit_silence(
        store,
        _number(payload, "silence"),
        _utc_time(payload.get("until"), "until", now),
        by,
        comment,
        now,
    )


def _silence_remove(
    store: Store, payload: dict[str, Any], now: datetime, by: str, comment: str
) -> str:
    return schedule_edits.remove_silence(store, _number(payload, "silence"), by, comment, now)


def _window_edit(
    store: Store, payload: dict[str, Any], now: datetime, by: str, comment: str
) -> str:
    return schedule_edits.edit_window(
        store,
        _number(payload, "window"),
        _utc_time(payload.get("end"), "end", now),
        by,
        comment,
        now,
    )


def _window_remove(
    store: Store, payload: dict[str, Any], now: datetime, by: str, comment: str
) -> str:
    return schedule_edits.remove_window(store, _number(payload, "window"), by, comment, now)


ACTIONS: dict[str, Action] = {
    "ack": _ack,
    "silence": _silence,
    "window": declare_window,
    "silence_edit": _silence_edit,
    "silence_remove": _silence_remove,
    "window_edit": _window_edit,
    "window_remove": _window_remove,
}
