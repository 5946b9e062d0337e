"""What SonicOS message ids mean, as far as public sources document them.

Classification is by message id (`m=`), never by a word in the text: SonicOS' WAN
load-balancing messages say "Failover", "preemption" and "Probing failure" and are not HA
events. The subject of an HA message (which unit's state it reports) is fixed by its id,
which is how hawatch tells the two units apart when both log with one shared `sn=`.

The HA ids 142-165 come from an older numbering: SonicOS 6.5+ reuses some of them (165 is
an e-mail attachment event there, 164 a diagnostic reboot). So an id only means its kind when
the text agrees with the documented wording (`pattern`). An id of the HA table with other
text, or none, is kept as `ha_unknown` (never counted as traffic), unless the text is the
id's documented newer meaning (`REUSED_MESSAGES`); other catalogued ids with other text are
counted like any message, or kept as `ha_unknown` when they are in the HA group.

Sources (keys as in docs/formats.md):
- B-pipeline: elastic/beats x-pack/filebeat/module/sonicwall/firewall/config/pipeline.js,
  the RSA-derived message table, MESSAGE#205:142 .. MESSAGE#231:165 (older wording:
  Primary/Backup, Active/Idle).
- E-*: elastic/integrations packages/sonicwall_firewall/.../_dev/test/pipeline/*.log.
- USIEM: u-siem/usiem-sonicwall README (SonicOS 6.5.1 Log Events Reference Guide excerpt).
- EL-PIPE: elastic/integrations packages/sonicwall_firewall/data_stream/log/elasticsearch/
  ingest_pipeline/default.yml @0bed3f30, message_codes scraped from the SonicOS Log Events
  Reference Guide (modern numbering).
"""

from __future__ import annotations

import re
from typing import NamedTuple


class Message(NamedTuple):
    message_id: int
    kind: str | None  # None: counted in message_counts only
    text: str
    pattern: str | None = None  # regex the text must match for the id to mean `kind`
    subject: str | None = None  # primary | secondary
    state_to: str | None = None
    trigger: str | None = None
    source: str = "B-pipeline"


# Older firmware says Backup and Idle, newer Secondary and Standby: patterns accept both.
_SEC = "(Backup|Secondary)"
_IDLE = "(Idle|Standby)"

HA_MESSAGES: tuple[Message, ...] = (
    Message(
        142,
        "failover",
        "Primary firewall has transitioned to Active",
        "^Primary (firewall )?has transitioned to Active",
        "primary",
        "active",
    ),
    Message(
        143,
        "failover",
        "Backup firewall has transitioned to Active",
        f"^{_SEC} (firewall )?has transitioned to Active",
        "secondary",
        "active",
    ),
    Message(
        144,
        "standby",
        "Primary firewall has transitioned to Idle",
        f"^Primary (firewall )?has transitioned to {_IDLE}",
        "primary",
        "standby",
    ),
    Message(
        145,
        "standby",
        "Backup firewall has transitioned to Idle",
        f"^{_SEC} (firewall )?has transitioned to {_IDLE}",
        "secondary",
        "standby",
    ),
    Message(
        146,
        "failover",
        "Primary missed heartbeats from Active Backup: Primary going Active",
        "^Primary missed heartbeats",
        "primary",
        "active",
        "heartbeat",
    ),
    Message(
        147,
        "failover",
        "Backup missed heartbeats from Active Primary: Backup going Active",
        f"^{_SEC} missed heartbeats",
        "secondary",
        "active",
        "heartbeat",
    ),
    Message(
        148,
        "failover",
        "Primary received error signal from Active Backup: Primary going Active",
        "^Primary received error signal",
        "primary",
        "active",
        "error_signal",
    ),
    Message(
        149,
        "failover",
        "Backup received error signal from Active Primary: Backup going Active",
        f"^{_SEC} received error signal",
        "secondary",
        "active",
        "error_signal",
    ),
    Message(
        150,
        "failback",
        "Backup firewall being preempted by Primary",
        f"^{_SEC} (firewall )?being preempted",
        "secondary",
        "standby",
        "preempt",
    ),
    Message(
        151,
        "failback",
        "Primary firewall preempting Backup",
        "^Primary (firewall )?preempting",
        "primary",
        "active",
        "preempt",
    ),
    Message(
        152,
        "dual_active",
        "Active Backup detects Active Primary: Backup rebooting",
        f"^Active {_SEC} detects Active Primary",
        "secondary",
        "reboot",
    ),
    Message(
        153,
        "hardware_id_mismatch",
        "Imported HA hardware ID did not match this firewall",
        "^Imported HA hardware ID did not match",
    ),
    Message(
        155,
        "heartbeat_wrong_source",
        "Primary received heartbeat from wrong source",
        "^Primary received heartbeat from wrong source",
        "primary",
    ),
    Message(
        156,
        "heartbeat_wrong_source",
        "Backup received heartbeat from wrong source",
        f"^{_SEC} received heartbeat from wrong source",
        "secondary",
    ),
    Message(157, "ha_packet_error", "HA packet processing error", "^HA packet processing error"),
    Message(
        158,
        "incompatible_peer",
        "Heartbeat received from incompatible source",
        "^Heartbeat received from incompatible source",
    ),
    Message(
        165,
        "failover",
        "Backup going Active in preempt mode after reboot",
        f"^{_SEC} going Active in preempt mode after reboot",
        "secondary",
        "active",
        "reboot",
    ),
    # The Log Events guide's High Availability / Cluster rows (EL-PIPE message_codes).
    Message(
        1149,
        "ha_license",
        "Your Active/Active Clustering subscription has expired.",
        "Active/Active Clustering subscription has expired",
        source="EL-PIPE",
    ),
    Message(
        1152,
        "ha_license",
        "Active/Active Clustering license is not activated on the following cluster units: %s",
        "^Active/Active Clustering license is not activated",
        source="EL-PIPE",
    ),
    Message(
        53,
        "conn_cache_full",
        "The cache is full; %u open connections; some will be dropped",
        "^The cache is full",
        source="E-drizz",
    ),
    Message(566, "interface_down", "Interface %s Link Is Down", "Link Is Down", source="USIEM"),
    # Modern (SonicOS 6.5/7) restart markers, from the Log Events guide table that Elastic
    # scraped (EL-PIPE, message_codes). A unit restarting is a probable failover cause.
    Message(1392, "reboot", "SonicOS up:%s", "^SonicOS up", source="EL-PIPE"),
    Message(
        1393, "reboot", "SonicOS down:%s", "^SonicOS down", state_to="reboot", source="EL-PIPE"
    ),
    Message(
        1495,
        "reboot",
        "Firewall was rebooted by setting import at %s",
        "^Firewall was rebooted",
        state_to="reboot",
        source="EL-PIPE",
    ),
    Message(
        1496,
        "reboot",
        "Firewall was rebooted by %s",
        "^Firewall was rebooted",
        state_to="reboot",
        source="EL-PIPE",
    ),
    *(
        Message(
            mid,
            "reboot",
            f"Diagnostic Code {code}",
            "^Diagnostic Code",
            state_to="reboot",
            source="EL-PIPE",
        )
        for mid, code in (
            (93, "A"),
            (94, "B"),
            (95, "C"),
            (164, "F"),
            (599, "G"),
            (600, "H"),
            (601, "I"),
        )
    ),
)

# Known ids that are not HA events: counted per unit, minute and id in message_counts.
COUNTED_MESSAGES: tuple[Message, ...] = (
    Message(98, None, "Connection Opened", source="E-general"),
    Message(537, None, "Connection Closed", source="E-general"),
    Message(97, None, "Web site hit", source="E-general"),
    Message(1235, None, "(empty; note=stack traffic always trusted)", source="E-nat"),
    Message(713, None, "Packet dropped (TCP flags)", source="E-aws"),
    Message(526, None, "Web management request allowed", source="E-aws"),
    Message(1382, None, "Configuration succeeded", source="E-aws"),
    Message(29, None, "Administrator login allowed", source="E-drizz"),
    Message(30, None, "Administrator login denied due to bad credentials", source="E-drizz"),
    Message(994, None, "Configuration mode administration session started", source="E-drizz"),
    Message(995, None, "Configuration mode administration session ended", source="E-drizz"),
    Message(998, None, "GUI administration session ended", source="E-drizz"),
    Message(
        646, None, "Packet dropped; connection limit for this source IP reached", source="USIEM"
    ),
    Message(
        647,
        None,
        "Packet dropped; connection limit for this destination IP reached",
        source="USIEM",
    ),
    Message(860, None, "Possible SYN Flood", source="E-drizz"),
    Message(866, None, "Possible SYN Flood continues", source="E-drizz"),
    Message(867, None, "Possible SYN Flood has ceased", source="E-drizz"),
    Message(1369, None, "Possible TCP Flood", source="E-drizz"),
    Message(1370, None, "Possible TCP Flood continues", source="E-drizz"),
    Message(1371, None, "Possible TCP Flood has ceased", source="E-drizz"),
    # WAN load balancing: says failover/preempt/probing, is NOT High Availability.
    Message(584, None, "WLB Failover in progress", source="E-drizz"),
    Message(585, None, "WLB Resource is now available", source="E-drizz"),
    Message(586, None, "WLB Resource failed", source="E-drizz"),
    Message(
        435,
        None,
        "WLB Failback initiated by preemption due to a more preferred interface",
        source="E-drizz",
    ),
    Message(326, None, "Probing failure on NAT Static IP", source="E-drizz"),
    Message(436, None, "Probing succeeded on NAT Static IP", source="E-drizz"),
    Message(307, None, "The network connection in use is ...", source="E-drizz"),
)

# The HA table (B-pipeline, ids 142-165): a line with one of these ids is HA whatever its
# text, unless the text is the id's documented newer meaning (REUSED_MESSAGES); with any
# other text, or none, it is kept as ha_unknown rather than counted as traffic.
HA_TABLE: tuple[Message, ...] = tuple(m for m in HA_MESSAGES if m.source == "B-pipeline")

# HA-table ids that SonicOS 6.5+ gives to another, documented message: counted, not HA.
REUSED_MESSAGES: tuple[Message, ...] = (
    Message(
        165,
        None,
        "Forbidden E-Mail attachment disabled",
        "^Forbidden E-?Mail attachment",
        source="USIEM",
    ),
)

ALL_MESSAGES: tuple[Message, ...] = HA_MESSAGES + COUNTED_MESSAGES
BY_ID: dict[int, Message] = {m.message_id: m for m in ALL_MESSAGES}

# An id hawatch does not know is kept as `ha_unknown` when the line is in the High
# Availability group (gcat=8 per the Sekoia and Datadog SonicWall parsers) or, for firmware
# without gcat, its text reads like HA (FORMATS.md 2.2: newer HA ids are not publicly
# documented). WAN load-balancing text (prefix "WLB") is never HA.
HA_TEXT_RE = r"(?i)\b(high availability|stateful|heartbeat|HA (link|peer|sync))\b"

_COMPILED: tuple[tuple[re.Pattern[str], Message], ...] = tuple(
    (re.compile(m.pattern, re.IGNORECASE), m) for m in HA_MESSAGES if m.pattern
)


def message_for_text(text: str) -> Message | None:
    """The catalogued HA message a SonicOS text corresponds to, in either wording."""
    stripped = text.strip()
    for pattern, message in _COMPILED:
        if pattern.search(stripped):
            return message
    return None


def catalog_rows() -> list[tuple[object, ...]]:
    """Rows for the `sonicos_messages` reference table."""
    return [tuple(m) for m in ALL_MESSAGES]
