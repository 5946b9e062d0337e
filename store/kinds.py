"""The event model: every kind an HA event can have, with its category and meaning.

Kinds are the vocabulary analysts filter on and detectors consume, so they are defined once
here and copied into the `event_kinds` table on every open (docs/schema.md lists them too).
"""

from typing import NamedTuple


class Kind(NamedTuple):
    name: str
    category: str
    description: str


EVENT_KINDS: tuple[Kind, ...] = (
    Kind("failover", "role", "A unit became active (initial election, failover or manual)."),
    Kind("standby", "role", "A unit became standby (SonicOS: Idle / Standby)."),
    Kind("failback", "role", "Preempt: the primary took active duty back from the secondary."),
    Kind("heartbeat_loss", "heartbeat", "Heartbeats from the peer were missed."),
    Kind("peer_lost", "heartbeat", "The peer unit stopped answering on the HA link."),
    Kind("peer_found", "heartbeat", "The peer unit is answering on the HA link again."),
    Kind("heartbeat_wrong_source", "heartbeat", "A heartbeat arrived from an unexpected unit."),
    Kind("ha_packet_error", "heartbeat", "The HA protocol reported a packet processing error."),
    Kind("sync_enabled", "sync", "Stateful synchronization was switched on."),
    Kind("sync_disabled", "sync", "Stateful synchronization was switched off."),
    Kind("sync_started", "sync", "Stateful synchronization of the connection cache started."),
    Kind("sync_completed", "sync", "The standby holds a synchronized copy of the state."),
    Kind("sync_failed", "sync", "Stateful synchronization failed."),
    Kind("ha_link_down", "link", "The HA control/data link went down."),
    Kind("ha_link_up", "link", "The HA control/data link came up."),
    Kind("interface_monitor_failure", "monitor", "A physically monitored interface failed."),
    Kind(
        "probe_monitor_failure", "monitor", "A logical (probe) monitoring target stopped answering."
    ),
    Kind("interface_down", "monitor", "An interface link went down (SonicOS m=566)."),
    Kind("reboot", "system", "A unit restarted."),
    Kind("dual_active", "role", "Both units were active; one reboots to resolve it (m=152)."),
    Kind("model_mismatch", "mismatch", "The two units report different models."),
    Kind("firmware_mismatch", "mismatch", "The two units report different firmware."),
    Kind("hardware_id_mismatch", "mismatch", "Imported HA hardware ID did not match the unit."),
    Kind("incompatible_peer", "mismatch", "Heartbeat received from an incompatible source."),
    Kind(
        "ha_license",
        "system",
        "Active/Active Clustering expired or not licensed on a unit (m=1149, 1152).",
    ),
    Kind("conn_cache_full", "capacity", "Connection cache full: new sessions are dropped (m=53)."),
    Kind(
        "ha_unknown",
        "unknown",
        "An HA message hawatch cannot classify: an unknown id that reads like HA, or an HA"
        " id without its documented text (id and text kept).",
    ),
)

KIND_NAMES: frozenset[str] = frozenset(k.name for k in EVENT_KINDS)

UNIT_STATES: tuple[str, ...] = ("active", "standby", "election", "sync", "error", "reboot", "none")
SYNC_STATES: tuple[str, ...] = ("enabled", "disabled", "synced", "not_synced")
HA_MODES: tuple[str, ...] = ("active_standby", "active_active_dpi", "active_active_clustering")
ROLES: tuple[str, ...] = ("primary", "secondary")
# declared windows (the `windows` table): exports, `hawatch windows add`, the dashboard
WINDOW_KINDS: tuple[str, ...] = ("failover_test", "maintenance")
# how a unit's last poll ended (poll_status.outcome; collector/pollers/outcome.py classifies)
POLL_OUTCOMES: tuple[str, ...] = ("ok", "timeout", "refused", "tls", "auth", "protocol")
