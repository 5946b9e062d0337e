"""API-style HA exports (JSON array, NDJSON, CSV): records in, normalised rows out.

Two shapes are accepted (docs/formats.md shows both):
- hawatch's export record: `time`, `serial`, `event` (a kind name, a SonicOS message id or
  text), optional `pair`, `role`, `state`, `peer_serial`, `connections`, `vpn_sas`,
  `max_connections`, `stateful_sync`, `model`, `firmware`, `ha_mode`, `detail` (and for
  monitor events `interface`, `probe_target`, kept in the detail). No `event`
  but `connections` makes a session-count sample; no `event` but a state, sync state, model,
  firmware or maximum makes a status sample; a record with both (a poll) makes both.
- a SonicOS REST API poll, as hawatch's poller (collector/pollers/sonicos_rest.py) saves it:
  the keys of `GET /api/sonicos/reporting/high-availability` (`status`, `primary_state`,
  `secondary_state`, `active_up_time`; sonicwall/sonicos-automation reset_credentials.py)
  and/or of the system status report (`serial_number`, `model`, `firmware_version`,
  `current_connections` and `max_connections`, strings such as "Current: 6374" in the 7.x
  `/reporting/status/system` schema of tuysnwl/sonicos7api's OpenAPI file; 6.5's
  `/reporting/system` has one `connections` string "Peak: 6843 Current: 5433 Max Allowed:
  90000 Max: 90000", mjryan253/homeassistant-sonicwall README), `stateful_synchronization`
  (the HA configuration, `/high-availability/base`), plus `polled_at` or `system_time` for
  the time and the polled unit's `role`. The HA states name both units; model, firmware,
  counts and the sync setting belong to the polled unit only.

`normalise` is pure: a record in, rows or a reject reason out. Times without an offset are
the unit's local time and are converted in SQL with the unit's time zone, as for syslog.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from hawatch.collector.vendors.sonicos.catalog import BY_ID, message_for_text
from hawatch.store.kinds import HA_MODES, KIND_NAMES, WINDOW_KINDS
from hawatch.store.times import BadTime, parse_time

_SYNC_WORDS = {
    "enabled": "enabled",
    "on": "enabled",
    "true": "enabled",
    "yes": "synced",
    "disabled": "disabled",
    "off": "disabled",
    "false": "disabled",
    "no": "not_synced",
    "synced": "synced",
    "synchronized": "synced",
    "in_sync": "synced",
    "not_synced": "not_synced",
    "unsynced": "not_synced",
    "not_synchronized": "not_synced",
    "syncing": "not_synced",
}
_ROLE_WORDS = {"primary": "primary", "secondary": "secondary", "backup": "secondary"}
_STATE_WORDS = {
    "active": "active",
    "standby": "standby",
    "idle": "standby",
    "election": "election",
    "sync": "sync",
    "error": "error",
    "reboot": "reboot",
    "none": "none",
    "disabled": "none",
    # SonicOS GUI/API status words (HELP-6200): a unit between states
    "not_in_a_steady_state": "election",
}
_NUMBER = re.compile(r"(\d+)")
# SonicOS API count strings: "Current: 6374" (7.x), "Peak: 6843 Current: 5433 Max Allowed:
# 90000 Max: 90000" (6.5): the labelled number, never the first (that is the peak)
_LABELLED = {
    "connections": re.compile(r"\bCurrent:\s*(\d+)", re.I),
    "current_connections": re.compile(r"\bCurrent:\s*(\d+)", re.I),
    "max_connections": re.compile(r"\bMax:\s*(\d+)", re.I),
}
_MESSAGE_ID = re.compile(r"[0-9]{1,9}")
_INT64_MAX = 2**63 - 1
_API_STATUS = re.compile(
    r"^(primary|secondary|backup)\s+(active|standby|idle|disabled|not in a steady state)", re.I
)


@dataclass
class Row:
    """One normalised record: an event, a session sample or a status sample."""

    type: str  # event | sample | status
    serial: str
    time: datetime  # naive: the unit's local time unless is_utc
    is_utc: bool
    subject: str | None = None  # primary | secondary: whose state (API rows name it)
    kind: str | None = None
    state_to: str | None = None
    trigger: str | None = None
    detail: str | None = None
    message_id: int | None = None
    pair: str | None = None
    peer_serial: str | None = None
    connections: int | None = None
    vpn_sas: int | None = None
    max_connections: int | None = None  # capacity (a poll's sonicMaxConnCacheEntries)
    stateful_sync: str | None = None
    model: str | None = None
    firmware: str | None = None
    ha_mode: str | None = None
    by_subject: bool = False  # serial is the reporting box; the unit is the subject's
    ends: datetime | None = None  # windows: their end, in the same zone as `time`


class Reject(ValueError):
    """A record that cannot be used; the message is the quarantine reason."""


def _text(record: dict[str, Any], *keys: str) -> str | None:
    for key in keys:
        value = record.get(key)
        if value is not None and str(value).strip() != "":
            return str(value).strip()
    return None


def _time(value: str) -> tuple[datetime, bool]:
    """parse_time, its refusal a Reject (the record's quarantine reason)."""
    try:
        return parse_time(value)
    except BadTime as exc:
        raise Reject(str(exc)) from None


def _int(record: dict[str, Any], key: str) -> int | None:
    """A count: a number, or the labelled number of a SonicOS API string."""
    value = record.get(key)
    if value is None or str(value).strip() == "":
        return None
    if isinstance(value, bool):
        raise Reject(f"{key} is not a number: {value!r}")
    if isinstance(value, float) and not math.isfinite(value):
        raise Reject(f"{key} is not a number: {value!r}")
    if isinstance(value, int | float):
        number = int(value)
    else:
        text = str(value)
        match = (_LABELLED[key].search(text) if key in _LABELLED else None) or _NUMBER.search(text)
        if not match:
            raise Reject(f"{key} is not a number: {str(value)[:40]!r}")
        number = int(match.group(1))
    if not 0 <= number <= _INT64_MAX:
        raise Reject(f"{key} out of range: {str(value)[:40]}")
    return number


def _max_connections(record: dict[str, Any]) -> int | None:
    """The unit's capacity: `max_connections`, or the Max in 6.5's `connections` string."""
    if "max_connections" in record:
        return _int(record, "max_connections")
    combined = record.get("connections")
    if isinstance(combined, str) and (found := _LABELLED["max_connections"].search(combined)):
        return int(found.group(1))
    return None


def _word(record: dict[str, Any], key: str, words: dict[str, str]) -> str | None:
    value = _text(record, key)
    if value is None:
        return None
    found = words.get(value.lower().replace(" ", "_").replace("-", "_"))
    if found is None:
        raise Reject(f"unknown {key} {value[:40]!r}")
    return found


def _detail(record: dict[str, Any]) -> str | None:
    """The event's text, with the monitored `interface` and the logical `probe_target` added
    when the record names them apart (SonicOS' HA monitoring calls them the interface `name`
    and its `logical_probe.ip`: SWGEN7 `/high-availability/monitoring/ipv4`), so the analysis
    can say which probe or link failed (analytics/monitor_cause.py)."""
    text = _text(record, "detail", "msg")
    named = [
        f"{label} {value}"
        for label, value in (
            ("interface", _text(record, "interface")),
            ("probe", _text(record, "probe_target")),
        )
        if value is not None and value not in (text or "")
    ]
    if not named:
        return text
    return f"{text} ({', '.join(named)})" if text else ", ".join(named)


def _event(record: dict[str, Any], base: dict[str, Any]) -> Row:
    """A record with `event`: a kind name, a SonicOS message id, or a SonicOS message text."""
    event = str(record["event"]).strip()
    role = base.pop("role")
    state = base.pop("state")
    if event.lower() in KIND_NAMES:
        kind = event.lower()
        state_to = state or {"failover": "active", "failback": "active", "standby": "standby"}.get(
            kind
        )
        return Row(
            "event", kind=kind, subject=role, state_to=state_to, detail=_detail(record), **base
        )
    is_id = _MESSAGE_ID.fullmatch(event) is not None
    message = BY_ID.get(int(event)) if is_id else message_for_text(event)
    if message is None or message.kind is None:
        raise Reject(f"event {event[:60]!r} is not an HA event kind or SonicOS HA message")
    return Row(
        "event",
        kind=message.kind,
        subject=message.subject or role,
        by_subject=message.subject is not None,
        state_to=message.state_to or state,
        trigger=message.trigger,
        detail=_detail(record) or (message.text if is_id else event),
        message_id=message.message_id,
        **base,
    )


# What a poll reads about the polled unit itself (never about its peer)
_OWN_FIELDS = ("stateful_sync", "model", "firmware", "max_connections", "ha_mode")


def _api_rows(record: dict[str, Any], base: dict[str, Any]) -> list[Row]:
    """A SonicOS REST API poll: HA states of both units, the rest for the polled one.

    The polled unit's row is its own serial (`serial_number`) with its `role`, when the
    record names it; the peer's state is resolved like a shared-serial syslog line (the
    polled serial plus primary/secondary). Rows of one record for one unit are merged when
    staged.
    """
    own = base.pop("role")
    base.pop("state")
    states: dict[str, str] = {}
    for subject, key in (("primary", "primary_state"), ("secondary", "secondary_state")):
        state = _word(record, key, _STATE_WORDS)
        if state is not None:
            states[subject] = state
    if not states and (status := _text(record, "status")):
        match = _API_STATUS.match(status)
        if match:
            states[_ROLE_WORDS[match.group(1).lower()]] = _STATE_WORDS[
                match.group(2).lower().replace(" ", "_")
            ]
    peer_base = {**base, **dict.fromkeys(_OWN_FIELDS), "connections": None, "vpn_sas": None}
    rows = [
        Row("status", subject=subject, state_to=state, by_subject=True, **peer_base)
        for subject, state in states.items()
        if subject != own
    ]
    if own in states or any(base[f] is not None for f in _OWN_FIELDS):
        rows.append(Row("status", subject=own, state_to=states.get(own), **base))
    if base.get("connections") is not None:
        rows.append(Row("sample", subject=own, **base))
    if not rows:  # e.g. "HIGH AVAILABILITY DISABLED": kept and counted, never dropped
        raise Reject(
            "API poll without a unit state or connections hawatch understands: "
            f"status {str(record.get('status'))[:40]!r}"
        )
    return rows


def _window(record: dict[str, Any]) -> Row:
    """A declared maintenance or failover-test window: {pair, start, end, kind, comment}."""
    pair = _text(record, "pair")
    kind = (_text(record, "kind") or "").lower()
    if pair is None or kind not in WINDOW_KINDS:
        raise Reject(f"window needs a pair and kind {' or '.join(WINDOW_KINDS)}")
    start, start_utc = _time(str(record["start"]))
    end, end_utc = _time(str(record["end"]))
    if end <= start:
        raise Reject("window ends before it starts")
    return Row(
        "window",
        serial="",
        time=start,
        is_utc=start_utc and end_utc,
        pair=pair,
        kind=kind,
        detail=_text(record, "comment"),
        ends=end,
    )


def normalise(record: dict[str, Any]) -> list[Row]:
    """One export record to rows; raises Reject with the reason when it cannot be used."""
    if not isinstance(record, dict):
        raise Reject(f"record is a {type(record).__name__}, not an object")
    if "start" in record and "end" in record and "serial" not in record:
        return [_window(record)]
    serial = _text(record, "serial", "serial_number", "sn")
    if serial is None:
        raise Reject("no serial")
    when = _text(record, "time", "timestamp", "polled_at", "system_time")
    if when is None:
        raise Reject("no time")
    time, is_utc = _time(when)
    ha_mode = _text(record, "ha_mode")
    if ha_mode is not None and ha_mode.lower() not in HA_MODES:
        raise Reject(f"unknown ha_mode {ha_mode[:40]!r}")
    base: dict[str, Any] = {
        "serial": serial.replace("-", "").upper(),
        "time": time,
        "is_utc": is_utc,
        "pair": _text(record, "pair"),
        "peer_serial": (_text(record, "peer_serial") or "").replace("-", "").upper() or None,
        "connections": _int(record, "connections")
        if "connections" in record
        else _int(record, "current_connections"),
        "vpn_sas": _int(record, "vpn_sas"),
        "max_connections": _max_connections(record),
        "stateful_sync": _word(record, "stateful_sync", _SYNC_WORDS)
        or _word(record, "stateful_synchronization", _SYNC_WORDS),
        "model": _text(record, "model"),
        "firmware": _text(record, "firmware", "firmware_version"),
        "ha_mode": ha_mode.lower() if ha_mode else None,
    }
    base["role"] = _word(record, "role", _ROLE_WORDS)
    base["state"] = _word(record, "state", _STATE_WORDS)
    if "primary_state" in record or "secondary_state" in record or "active_up_time" in record:
        return _api_rows(record, base)
    if _text(record, "event") is not None:
        row = _event(record, base)
        return [row, Row("sample", **_sample_fields(row))] if row.connections is not None else [row]
    role, state = base.pop("role"), base.pop("state")
    rows = []
    if base["connections"] is not None:
        rows.append(Row("sample", subject=role, **base))
    if state or any(base[f] is not None for f in _OWN_FIELDS if f != "ha_mode"):
        rows.append(Row("status", subject=role, state_to=state, **base))
    if not rows:
        raise Reject("record has no event, connections or status fields")
    return rows


def _sample_fields(row: Row) -> dict[str, Any]:
    return {
        "serial": row.serial,
        "time": row.time,
        "is_utc": row.is_utc,
        "pair": row.pair,
        "subject": row.subject,
        "connections": row.connections,
        "vpn_sas": row.vpn_sas,
    }
