"""Incident evidence as people read it: words, percents, counts, times and durations, not the
values the detectors store (`True`, `None`, `37102.0`, `disabled`).

One table, keyed by the evidence keys the detectors write (analytics/*.py `json_object` and
flapping.py's dict), says each key's label and how to say its value; the dashboard
(templates/_incidents.html) and the alert e-mails (alerts/render.py) both read `facts()`.
A key the table does not know still reads sensibly (its name in words, its value by type),
so a new detector's evidence shows before anyone adds it here, and nothing here can fail on
odd input: a value that cannot be read as its key expects is shown as it is.

Times stay times (`Fact.time`): each reader writes them its own way (the page in UTC through
its `when` macro, the e-mail in UTC and the pair's zone).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any


@dataclass(frozen=True)
class Fact:
    """One line of evidence: a label and either words or a time."""

    label: str
    text: str
    time: datetime | None = None


def duration_words(seconds: float) -> str:
    """`45 s`, `12 min`, `3 h 12 min`, `2 d 4 h`: the two largest units, rounded down."""
    total = int(max(0, seconds))
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h" if hours else f"{days} d"
    if hours:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    if minutes:
        return f"{minutes} min"
    return f"{secs} s"


def _count(value: Any) -> str:
    number = float(value)
    return f"{round(number):,}" if abs(number - round(number)) < 0.05 else f"{number:,.1f}"


def _percent(value: Any) -> str:
    number = round(float(value), 1)
    return f"{number:g}%"


def _minutes(value: Any) -> str:
    return duration_words(float(value) * 60)


def _seconds(value: Any) -> str:
    return duration_words(float(value))


def _words(value: Any) -> str:
    return str(value).replace("_", " ")


def _units(value: Any) -> str:
    names = [str(v) for v in value if v is not None] if isinstance(value, list) else [value]
    return " and ".join(str(n) for n in names)


def _triggers(value: Any) -> str:
    ranked = sorted(value.items(), key=lambda kv: (-int(kv[1]), str(kv[0])))
    return ", ".join(f"{_words(name)} {count}x" for name, count in ranked)


def _yes_no(yes: str, no: str = "no") -> Callable[[Any], str]:
    return lambda value: yes if value else no


_SYNC = {
    "disabled": "off",
    "enabled": "on",
    "synced": "on and in sync",
    "not_synced": "on but not in sync",
}


def _sync(value: Any) -> str:
    return _SYNC.get(str(value), _words(value))


def _time(value: Any) -> datetime:
    if isinstance(value, datetime):
        at = value
    else:
        at = datetime.fromisoformat(str(value).strip().replace("Z", "+00:00"))
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


TIME = "time"  # a formatter that says "this is a time"

# key -> (label, how to say the value, what None means: None to leave the line out)
KEYS: dict[str, tuple[str, Callable[[Any], str] | str, str | None]] = {
    # what happened, when
    "cause": ("cause", _words, None),
    "field": ("what differs", _words, None),
    "survived": ("sessions survived", _yes_no("yes", "no: the test failed"), None),
    "failover_at": ("failover at", TIME, None),
    "changed_at": ("role changed at", TIME, None),
    "from_serial": ("from unit", str, None),
    "to_serial": ("to unit", str, None),
    "new_active": ("new active unit", str, None),
    "trigger": ("trigger", _words, None),
    "stateful_sync": ("stateful sync", _sync, "unknown"),
    # connections and VPN
    "connections_before": ("connections before", _count, None),
    "connections_after": ("connections after", _count, None),
    "kept_percent": ("sessions kept", _percent, None),
    "vpn_sas_before": ("VPN SAs before", _count, None),
    "vpn_sas_after": ("VPN SAs after", _count, None),
    "vpn_kept_percent": ("VPN SAs kept", _percent, None),
    "level_before": ("connections before the drop", _count, None),
    "lowest": ("lowest", _count, None),
    "minutes_low": ("low for", _minutes, None),
    "recovered_at": ("recovered at", TIME, None),
    # flapping
    "transitions": ("role changes", _count, None),
    "failbacks": ("preempt failbacks", _count, None),
    "preempt_driven": ("driven by preempt", _yes_no("yes: most changes are failbacks"), None),
    "triggers": ("failover triggers", _triggers, None),
    "causes": ("failover causes", _triggers, None),
    "unsynced_transitions": ("unsynced role changes", _count, None),
    "peak_percent": ("worst session loss", _percent, None),
    "final_active": ("now active", str, None),
    "final_role": ("now active role", _words, None),
    "first_change": ("first change", TIME, None),
    "last_change": ("last change", TIME, None),
    "ended_at": ("ended", TIME, "still going"),
    "window_minutes": ("counted over", _minutes, None),
    "role_changes": ("role changes", _count, None),
    # heartbeats and the HA link
    "losses": ("heartbeat losses", _count, None),
    "failovers": ("failovers among them", _count, None),
    "first_at": ("first", TIME, None),
    "last_at": ("last", TIME, None),
    "down_at": ("HA link down at", TIME, None),
    "up_at": ("HA link up again at", TIME, "not up again yet"),
    # split brain
    "units": ("units", _units, None),
    "overlap_started": ("both active from", TIME, None),
    "overlap_ended": ("both active until", TIME, "still both active"),
    "link_state": ("HA link", _words, "unknown"),
    "link_changed_at": ("HA link changed at", TIME, None),
    "dual_active_reported": ("the units reported it", _yes_no("yes: both said active"), None),
    # silent and unreachable units
    "serial": ("unit", str, None),
    "role": ("role", _words, None),
    "polled": ("polled by hawatch", _yes_no("yes"), None),
    "silent_since": ("silent since", TIME, "never heard from"),
    "failing_since": ("polls failing since", TIME, None),
    "poll_problem": ("poll outcome", str, None),
    "last_seen": ("last data", TIME, "never"),
    "last_source": ("last data from", _words, None),
    "threshold_seconds": ("silent after", _seconds, None),
    # role changes cross-checked with status reports
    "seen_in": ("seen in", _words, None),
    "syslog_last_seen": ("syslog last heard", TIME, "never"),
    "next_reported_change": ("next reported change", TIME, None),
    "message_id": ("HA message", lambda v: f"m={v}", None),
    "status_at": ("status report at", TIME, None),
    "status_active": ("status reports show active", str, None),
    "confirmed_at": ("confirmed at", TIME, "not yet"),
    # configuration drift
    "reported_by": ("reported by", str, None),
    "detail": ("detail", str, None),
    "primary_model": ("primary model", str, "unknown"),
    "secondary_model": ("secondary model", str, "unknown"),
    "primary_firmware": ("primary firmware", str, "unknown"),
    "secondary_firmware": ("secondary firmware", str, "unknown"),
    # declared windows (failover-test verdicts)
    "window_start": ("window from", TIME, None),
    "window_end": ("window until", TIME, None),
    "comment": ("comment", str, None),
}


def _looks_like_time(value: str) -> bool:
    return len(value) >= 16 and value[4] == "-" and value[7] == "-" and value[10] in "T "


def _guess(key: str, value: Any) -> Fact:
    """An unknown key: its name in words, its value said by its type."""
    label = _words(key)
    if isinstance(value, bool):
        return Fact(label, "yes" if value else "no")
    if isinstance(value, int | float):
        return Fact(label, _count(value))
    if isinstance(value, str) and _looks_like_time(value):
        return Fact(label, "", _time(value))
    if isinstance(value, list):
        return Fact(label, ", ".join(_words(v) for v in value))
    if isinstance(value, dict):
        return Fact(label, ", ".join(f"{_words(k)} {v}" for k, v in value.items()))
    return Fact(label, str(value))


def _fact(key: str, value: Any) -> Fact | None:
    known = KEYS.get(key)
    if known is None:
        return None if value is None else _guess(key, value)
    label, say, if_none = known
    if value is None:
        return None if if_none is None else Fact(label, if_none)
    if say == TIME:
        return Fact(label, "", _time(value))
    return Fact(label, say(value))  # type: ignore[operator]


def facts(evidence: Mapping[str, Any] | None) -> list[Fact]:
    """The evidence as lines to show: known keys in the table's order, then the rest."""
    if not isinstance(evidence, Mapping):
        return [] if evidence is None else [Fact("evidence", str(evidence))]
    order = {key: n for n, key in enumerate(KEYS)}
    lines = []
    for key in sorted(evidence, key=lambda k: order.get(str(k), len(order))):
        try:
            fact = _fact(str(key), evidence[key])
        except (TypeError, ValueError, AttributeError, OverflowError):
            label = KEYS[key][0] if key in KEYS else _words(key)
            fact = Fact(label, str(evidence[key]))  # shown as it is, never lost
        if fact is not None:
            lines.append(fact)
    return lines
