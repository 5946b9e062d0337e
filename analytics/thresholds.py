"""Detector thresholds: declared as settings (TOML `[flapping]`, `HAWATCH_FLAPPING_...`), read
into one frozen object the detectors share. Defaults follow what NOC teams use: Nagios' flap
thresholds (high 50%, low 25%), a 90% session-survival bar for failover tests."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hawatch.store.errors import HawatchError
from hawatch.store.rollups import CONTEXT_MINUTES
from hawatch.store.settings import Setting

ANALYTICS_SETTINGS: tuple[Setting, ...] = (
    Setting(
        "analysis.lookback_hours",
        24,
        "An incremental pass re-examines each pair from this long before its new data.",
    ),
    Setting(
        "flapping.window_minutes",
        60,
        "History over which the percent state change of a pair's role is weighed.",
    ),
    Setting(
        "flapping.full_scale_transitions",
        12,
        "Transitions within the window that count as 100% state change.",
    ),
    Setting(
        "flapping.high_percent",
        50.0,
        "A flapping incident opens when the weighted state change reaches this.",
    ),
    Setting(
        "flapping.low_percent",
        25.0,
        "It closes only when the state change falls below this (hysteresis).",
    ),
    Setting(
        "flapping.max_failovers",
        4,
        "Plain rule beside it: this many role changes within flapping.window_minutes.",
    ),
    Setting(
        "unsynced.min_kept_percent",
        50.0,
        "A failover keeping fewer connections than this (new vs old active) lost sessions.",
    ),
    Setting(
        "unsynced.before_minutes",
        15,
        "How old the old active unit's last connection sample may be (at most 60).",
    ),
    Setting(
        "unsynced.after_minutes",
        10,
        "How soon after a failover the new active unit's first sample must come (at most 60).",
    ),
    Setting(
        "unsynced.min_connections",
        50,
        "Failovers of pairs carrying fewer connections are not judged by counts.",
    ),
    Setting(
        "session_drop.drop_percent",
        60.0,
        "Connections falling by at least this much against the previous hour is a drop.",
    ),
    Setting("session_drop.min_minutes", 15, "A drop must last at least this long."),
    Setting("session_drop.min_connections", 100, "Pairs below this level are not judged."),
    Setting(
        "session_drop.failover_minutes",
        10,
        "A drop this close to a role change is attributed to it.",
    ),
    Setting(
        "heartbeat.max_losses",
        3,
        "Heartbeat losses (or peers lost) within heartbeat.window_minutes that open an incident.",
    ),
    Setting("heartbeat.window_minutes", 10, "Window of the heartbeat-loss rule."),
    Setting(
        "failover_test.min_kept_percent",
        90.0,
        "A failover test passes when this share of connections survives.",
    ),
    Setting(
        "failover_test.min_vpn_kept_percent",
        90.0,
        "... and this share of VPN security associations.",
    ),
    Setting(
        "freshness.silent_minutes",
        60.0,
        "A pair whose units are not polled is stale (and `unit_silent` opens) when"
        " neither unit sent syslog or exports for this long. Units that log only HA"
        " events may need more, or polling.",
    ),
    Setting(
        "freshness.poll_intervals",
        3,
        "A polled unit is stale after this many poll.interval_seconds without data"
        " (`unit_silent`) or with every poll failing (`unit_unreachable`).",
    ),
    Setting(
        "crosscheck.window_minutes",
        10,
        "A role change in the HA messages and one in the status reports (polls, exports)"
        " this close are the same change; status reports this long after a reported"
        " change confirm or contradict it.",
    ),
    Setting(
        "crosscheck.grace_seconds",
        30,
        "Status reports this soon after a reported role change may still show the old"
        " state (a poll under way) and are not read as contradicting it.",
    ),
)

# Read from the pollers' settings (the poll threshold is a number of their intervals); the
# same default as collector/pollers/settings.py, which analytics may not import.
POLL_INTERVAL_DEFAULT = 60


class Thresholds(dict[str, Any]):
    """Setting name -> value for every analytics setting, defaults filled in.

    One source of truth: the defaults live in ANALYTICS_SETTINGS only (plus the poll
    interval, which the freshness threshold of polled units counts in).
    """

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any] | None = None) -> Thresholds:
        values = {s.name: s.default for s in ANALYTICS_SETTINGS}
        values.update({k: v for k, v in (settings or {}).items() if k in values})
        values["poll.interval_seconds"] = max(
            1, int((settings or {}).get("poll.interval_seconds", POLL_INTERVAL_DEFAULT))
        )
        for name in ("unsynced.before_minutes", "unsynced.after_minutes"):
            if not 0 < values[name] <= CONTEXT_MINUTES:
                raise HawatchError(
                    f"{name} = {values[name]}: must be between 1 and"
                    f" {CONTEXT_MINUTES} (failover_samples keeps the samples"
                    f" within {CONTEXT_MINUTES} minutes of a role change)"
                )
        return cls(values)

    def params(self) -> dict[str, Any]:
        """As named SQL parameters: `flapping.high_percent` -> `$flapping_high_percent`."""
        return {name.replace(".", "_"): value for name, value in self.items()}
