"""What to do about each incident kind: its likely causes and the checks, in order, taken
from SonicWall's High Availability deployment rules, each check with the SonicWall page it
comes from.

The order is SonicWall's own order of setting a pair up, so a check relies only on the ones
before it: the two units match (model, firmware), the HA link is plugged and up, Stateful
Synchronization is on (and synchronized), monitoring is tuned and preempt considered so the
pair cannot flap, the upstream switch accepts the Virtual MAC, and last the proof: a forced
failover while a transfer and a VPN tunnel run. A kind lists the checks that bear on it, in
that order, after any check of its own (a silent unit is first a reachability question).

One table, read by the incident page, the pair page (dashboard/templates/_runbook.html) and
the alert e-mails (analytics/alerts/render.py); docs/runbooks.md lists the same checks and
tests/test_runbooks.py holds every kind a detector can emit to having a runbook here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Source:
    title: str
    url: str


# SonicWall's own pages (help.sonicwall.com, sonicwall.com techdocs) and SonicOS admin guide
# pages where SonicWall's site no longer serves them (manualsonline / manualsbrain copies).
SOURCES: dict[str, Source] = {
    "ha-overview": Source(
        "SonicOS High Availability overview: two identical appliances, same model",
        "http://help.sonicwall.com/help/sw/eng/published/1343695881_1.0.0/High_Availability/"
        "Hardware_Failover_haConfig1.htm",
    ),
    "firmware-sync": Source(
        "SonicWALL HA guide: Synchronize Firmware Upload and Reboot (both units at once)",
        "https://manualsbrain.com/en/manuals/1052760/?page=33",
    ),
    "ha-status-581": Source(
        "SonicOS 5.8.1 Administrator Guide p.1170: HA link status ('X5 No Link'), Found"
        " Backup, Settings Synchronized, Stateful HA Synchronized",
        "http://personalcare.manualsonline.com/manuals/mfg/sonicwall/581.html?p=1170",
    ),
    "ha-settings-581": Source(
        "SonicOS 5.8.1 Administrator Guide p.1160: HA interface physically connected, preempt"
        " mode, Virtual MAC, heartbeat interval, failover trigger level, probe interval",
        "http://personalcare.manualsonline.com/manuals/mfg/sonicwall/581.html?p=1160",
    ),
    "stateful-sync": Source(
        "SonicOS 7.0.1 High Availability: how Stateful Synchronization works (VPN"
        " information and the connection cache are synchronized)",
        "https://www.sonicwall.com/support/technical-documentation/docs/sonicos-7.0.1-high_"
        "availability/Content/Topics/High_Availability/About_Stateful_Synchronization/"
        "working.htm",
    ),
    "stateful-advanced-581": Source(
        "SonicOS 5.8.1 Administrator Guide p.1159: Enable Stateful Synchronization; without"
        " it every session is renegotiated after a failover",
        "http://personalcare.manualsonline.com/manuals/mfg/sonicwall/581.html?p=1159",
    ),
    "ha-advanced": Source(
        "SonicOS High Availability > Advanced: heartbeat interval, failover trigger level,"
        " probe interval, route hold-down",
        "http://help.sonicwall.com/help/sw/eng/6810/25/9/0/content/"
        "Ch115_High_Availability_Advanced.133.3.html",
    ),
    "ha-monitoring": Source(
        "SonicOS 7 High Availability: about HA monitoring (physical and logical/probe"
        " monitoring, per-unit management addresses)",
        "https://www.sonicwall.com/support/technical-documentation/docs/sonicos-7-0-0-0-high_"
        "availability/Content/Topics/High_Availability/About_High_Availability/"
        "ha-monitoring-about.htm/",
    ),
    "logical-probe-581": Source(
        "SonicOS 5.8.1 Administrator Guide p.1162: logical probe IP, failover only when one"
        " unit can reach the target and the other cannot",
        "http://personalcare.manualsonline.com/manuals/mfg/sonicwall/581.html?p=1162",
    ),
    "virtual-mac": Source(
        "SonicOS 7.1 High Availability: Virtual MAC address",
        "https://sonicwall.com/support/technical-documentation/docs/sonicos-7-1-high_"
        "availability/Content/Topics/High_Availability/About_High_Availability/"
        "virtual-mac-address.htm",
    ),
    "ha-status": Source(
        "SonicOS High Availability > Status: which unit is Active, preempt after a restart",
        "http://help.sonicwall.com/help/sw/eng/7120/25/9/0/content/"
        "Ch113_High_Availability_Status.131.3.html",
    ),
    "ha-states": Source(
        "SonicOS High Availability status table: ACTIVE, STANDBY, ELECTION, SYNC, ERROR,"
        " REBOOT, NONE (not receiving heartbeats)",
        "http://help.sonicwall.com/help/sw/eng/9610/25/9/0/content/"
        "Ch113_High_Availability_Status.131.4.html",
    ),
    "log-guide": Source(
        "SonicOS Log Event Reference Guide: Log > Syslog settings, priorities, categories",
        "https://studylib.net/doc/8163108/using-the-sonicos-log-event-reference-guide",
    ),
}


@dataclass(frozen=True)
class Check:
    label: str  # a few words, for lists of many incidents
    step: str  # what to do, imperative
    why: str  # what it rules out
    sources: tuple[str, ...]  # keys of SOURCES


CHECKS: dict[str, Check] = {
    "reachable": Check(
        "Unit reachable, HA status read",
        "Reach each unit on its own management address and look at its HA status page.",
        "A unit that answers there but sends nothing has a logging or polling problem, not"
        " an HA one; one that does not answer is down or cut off.",
        ("ha-monitoring", "ha-states"),
    ),
    "log_path": Check(
        "Syslog path and HA logging",
        "Check Log > Syslog on both units: the server is hawatch, the HA category is logged,"
        " and both units send with their own serial numbers.",
        "A relay or a log level that drops the HA category leaves failovers unseen.",
        ("log-guide",),
    ),
    "model_firmware": Check(
        "Same model and firmware",
        "Match the model and the firmware of both units (synchronize the firmware so both"
        " run the same version).",
        "SonicOS pairs only identical appliances; a mismatch stops settings and state from"
        " synchronizing.",
        ("ha-overview", "firmware-sync"),
    ),
    "ha_link": Check(
        "HA link plugged and up",
        "Check that the HA link is plugged into the same interface on both units and up"
        " (HA status: no 'No Link', Found Primary/Backup: Yes).",
        "Without the link there are no heartbeats and no state sync: the standby declares the"
        " active dead and both can go active.",
        ("ha-settings-581", "ha-status-581"),
    ),
    "stateful_sync": Check(
        "Stateful Synchronization on and synchronized",
        "Enable Stateful Synchronization and wait until the status says Stateful HA"
        " Synchronized: Yes.",
        "With it off, or not yet synchronized, the standby starts with no connection cache"
        " and no VPN state: every session resets at failover.",
        ("stateful-sync", "stateful-advanced-581", "ha-status-581"),
    ),
    "monitoring": Check(
        "Monitoring tuned",
        "Tune monitoring: monitor only interfaces that matter, give each logical probe a"
        " reliable target reachable from both units' monitoring addresses, and keep the"
        " heartbeat interval, failover trigger level and probe interval at or above the"
        " recommended minimums.",
        "A twitchy probe or a too-short timer fails the pair over on noise.",
        ("ha-monitoring", "logical-probe-581", "ha-advanced"),
    ),
    "preempt": Check(
        "Preempt considered",
        "Consider preempt mode: SonicWall recommends it off with Stateful HA; with it on, a"
        " recovered primary takes over again.",
        "Preempt plus a monitor that fails and recovers makes the pair flap.",
        ("ha-settings-581", "ha-status"),
    ),
    "virtual_mac": Check(
        "Virtual MAC accepted by the upstream switch",
        "Enable Virtual MAC and make sure the upstream switch ports accept it on both units'"
        " ports (port-security, MAC limits, sticky MACs).",
        "The shared MAC keeps ARP valid at failover; a switch that rejects it on the new"
        " active's port leaves the pair active but passing no traffic.",
        ("virtual-mac", "ha-settings-581"),
    ),
    "failover_test": Check(
        "Forced failover test with a transfer and a VPN tunnel",
        "Force a failover in a declared test window while a long transfer and a VPN tunnel"
        " run; the new active unit must carry the connections and the tunnel on.",
        "The only proof that the pair keeps sessions: the connection count on the new active"
        " matches what was live before.",
        ("stateful-sync", "ha-status"),
    ),
}

# The deployment order every runbook follows (after checks of its own).
ORDER: tuple[str, ...] = (
    "model_firmware",
    "ha_link",
    "stateful_sync",
    "monitoring",
    "preempt",
    "virtual_mac",
    "failover_test",
)


@dataclass(frozen=True)
class Runbook:
    kind: str
    title: str
    causes: tuple[str, ...]
    checks: tuple[str, ...]  # keys of CHECKS, in the order to do them


def _book(
    kind: str, title: str, causes: tuple[str, ...], *keys: str, first: tuple[str, ...] = ()
) -> Runbook:
    """A runbook whose checks are `first`, then `keys` in the deployment ORDER."""
    ordered = tuple(k for k in ORDER if k in keys)
    assert set(keys) <= set(ORDER), keys
    return Runbook(kind, title, causes, first + ordered)


_ALL = ORDER
RUNBOOKS: dict[str, Runbook] = {
    b.kind: b
    for b in (
        _book(
            "unsynced_failover",
            "A failover that lost the sessions",
            (
                "Stateful Synchronization off, unlicensed, or not yet synchronized when the"
                " failover came.",
                "The HA link down, so the state stopped reaching the standby.",
                "Units that differ in model or firmware (state does not synchronize).",
            ),
            *_ALL,
        ),
        _book(
            "session_drop",
            "Connections fell sharply",
            (
                "A failover without synchronized state (see the failover's incident).",
                "The new active unit passing no traffic: Virtual MAC rejected by the upstream"
                " switch.",
                "Connection cache full on the active unit (SonicOS m=53).",
            ),
            *_ALL,
        ),
        _book(
            "flapping",
            "The pair keeps changing its active unit",
            (
                "A monitored interface or logical probe that fails and recovers (the summary names"
                " it when the logs do).",
                "Preempt mode: the recovered primary takes over again each time.",
                "Heartbeat interval or failover trigger level too short for the load.",
            ),
            "ha_link",
            "stateful_sync",
            "monitoring",
            "preempt",
            "virtual_mac",
            "failover_test",
        ),
        _book(
            "split_brain",
            "Both units were active",
            (
                "The HA link down or unplugged: each unit missed the other's heartbeats.",
                "A switch between the HA ports dropping the heartbeats.",
                "Units that differ in model or firmware and do not recognise each other.",
            ),
            *_ALL,
        ),
        _book(
            "heartbeat_loss",
            "Heartbeats from the peer were missed",
            (
                "The HA link flapping or congested.",
                "A heartbeat interval or failover trigger level too short under load.",
                "The peer rebooting or hanging.",
            ),
            "ha_link",
            "monitoring",
            "failover_test",
        ),
        _book(
            "ha_link_down",
            "The HA link is down",
            (
                "The HA cable unplugged or the HA port down on one unit.",
                "The peer powered off or rebooting.",
            ),
            "ha_link",
            "stateful_sync",
            "failover_test",
        ),
        _book(
            "config_mismatch",
            "The two units differ",
            (
                "A firmware upgrade applied to one unit only.",
                "A replaced unit of another model or firmware.",
                "An HA hardware ID or peer that does not match (m=153, 158).",
            ),
            *_ALL,
        ),
        _book(
            "failover_test",
            "A failover test's verdict",
            (
                "Passed: the pair kept its sessions. Failed: sessions lost, or no failover happened"
                " in the window.",
            ),
            *_ALL,
        ),
        _book(
            "syslog_missed_failover",
            "Status reports saw a failover no HA message reported",
            (
                "A syslog relay or UDP loss dropped the HA messages.",
                "The HA category not logged, or both units sending with one serial.",
                "A real failover whose cause is not in the logs.",
            ),
            "ha_link",
            "monitoring",
            "failover_test",
            first=("log_path",),
        ),
        _book(
            "polls_contradict_syslog",
            "Syslog and the status reports disagree on the active unit",
            (
                "A role change the polls have not caught up with yet, or a poll of the wrong unit.",
                "Both units active (split brain) and reporting differently.",
                "Messages from both units under one serial, attributed to the wrong unit.",
            ),
            "ha_link",
            first=("reachable", "log_path"),
        ),
        _book(
            "unit_silent",
            "No data from a unit",
            (
                "The unit is down, rebooting or cut off.",
                "The syslog path (relay, firewall rule, log settings) or the poller stopped.",
                "The standby unit logging nothing while idle (expected with some log levels).",
            ),
            "ha_link",
            first=("reachable", "log_path"),
        ),
        _book(
            "unit_unreachable",
            "A unit does not answer polls",
            (
                "The unit is down or its management address unreachable.",
                "Credentials, TLS or the API disabled (the poll outcome says which).",
                "The standby's own management address not configured on the monitoring page.",
            ),
            "ha_link",
            first=("reachable",),
        ),
    )
}

# Words a summary falls back to when the logs name no interface or probe target: not a
# cause worth showing on its own line.
_TRIGGER_WORDS = frozenset(
    {
        "heartbeat",
        "error_signal",
        "preempt",
        "reboot",
        "unknown",
        "interface_monitor_failure",
        "probe_monitor_failure",
        "interface_down",
        "ha_link_down",
        "peer_lost",
        "heartbeat_loss",
    }
)


def runbook(kind: str) -> Runbook | None:
    return RUNBOOKS.get(kind)


def named_cause(evidence: dict[str, Any] | None) -> str | None:
    """The cause the logs gave ("probe on X1 (10.0.0.1) failed"), if the evidence has one."""
    cause = (evidence or {}).get("cause")
    if isinstance(cause, str) and cause and cause not in _TRIGGER_WORDS:
        return cause.replace("_", " ")  # session_drop's words: no_traffic_after_failover
    return None


def for_incident(kind: str, evidence: dict[str, Any] | None = None) -> dict[str, Any] | None:
    """What the pages and e-mails show for one incident: the named cause when the logs give
    it, the likely causes, and the checks in order with their sources (title, url)."""
    book = RUNBOOKS.get(kind)
    if book is None:
        return None
    return {
        "kind": kind,
        "title": book.title,
        "found": named_cause(evidence),
        "causes": list(book.causes),
        "checks": [
            {
                "n": n,
                "key": key,
                "label": CHECKS[key].label,
                "step": CHECKS[key].step,
                "why": CHECKS[key].why,
                "sources": [SOURCES[s] for s in CHECKS[key].sources],
            }
            for n, key in enumerate(book.checks, start=1)
        ],
    }


def markdown() -> str:
    """docs/runbooks.md, generated from this table (tests/test_runbooks.py keeps the two
    equal): `python -m hawatch.analytics.runbooks > docs/runbooks.md`."""
    lines = [
        "# Runbooks: what to check for each incident kind",
        "",
        "Generated from `analytics/runbooks.py` (`python -m hawatch.analytics.runbooks`)."
        " Each incident on the incidents page, the pair page and in the alert e-mails"
        " (text and HTML) carries its kind's likely causes and these checks; the"
        " dashboard's `/runbooks` page lists them all. They come in this order: SonicWall's"
        " own order of setting up a High Availability pair, so a check relies only on the"
        " ones before it. When the logs name the actual cause (the monitored interface"
        " or probe target that failed, see docs/formats.md), the incident says so first.",
        "",
        "## Checks",
        "",
    ]
    for key, check in CHECKS.items():
        cited = ", ".join(f"[{SOURCES[s].title}]({SOURCES[s].url})" for s in check.sources)
        lines += [
            f"### `{key}`: {check.label}",
            "",
            f"{check.step} {check.why}",
            "",
            f"Sources: {cited}",
            "",
        ]
    lines += ["## Incident kinds", ""]
    for book in RUNBOOKS.values():
        lines += [f"### `{book.kind}`: {book.title}", "", "Likely causes:", ""]
        lines += [f"- {cause}" for cause in book.causes]
        lines += ["", "Checks, in order: " + ", ".join(f"`{k}`" for k in book.checks) + ".", ""]
    return "\n".join(lines)


if __name__ == "__main__":
    print(markdown(), end="")
