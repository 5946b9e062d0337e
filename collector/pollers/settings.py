"""The pollers' settings (gathered into hawatch/config.py's table, listed in
docs/configuration.md)."""

from __future__ import annotations

from hawatch.store.settings import Setting

POLL_SETTINGS: tuple[Setting, ...] = (
    Setting(
        "poll.interval_seconds",
        60,
        "How often `hawatch serve` polls each unit that has an address and a"
        " credential profile in the inventory (docs/pollers.md). Units are spread evenly"
        " over the interval; a unit whose last poll is still running is skipped, never"
        " queued twice.",
    ),
    Setting(
        "poll.jitter_seconds",
        5.0,
        "Each poll starts up to this many seconds late, at random, so units polled"
        " together drift apart.",
    ),
    Setting(
        "poll.timeout_seconds",
        10.0,
        "Time limit of one request (REST) or one SNMP GET; a unit that does not answer"
        " in time is recorded as `timeout`.",
    ),
    Setting(
        "poll.retries",
        1,
        "Polls retried at once after a timeout or refused connection (never after an"
        " authentication failure: that could lock the account).",
    ),
    Setting("poll.concurrency", 200, "Polls in flight at once, at most."),
    Setting(
        "poll.credentials_file",
        "",
        "TOML file of named credential profiles (default: DB path + .pollers.toml);"
        " must be mode 0600. HAWATCH_POLL_<PROFILE>_<KEY> variables override it.",
    ),
)
