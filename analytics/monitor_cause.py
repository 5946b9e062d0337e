"""The actual cause of a failover, in words, when the logs name it: which monitored interface
went down or which logical probe target stopped answering ("probe on X1 (10.0.0.1) failed",
"link down on X2"), instead of only the HA message's trigger word ("error_signal").

SonicOS fails over on physical interface monitoring (a watched port loses link) and on
logical monitoring (the active unit can no longer ping the probe IP configured for an
interface) [SW7-MON]. The HA message that announces the failover says only "received error
signal" (m=148/149, B-pipeline); the monitor event just before it carries the detail:
- SonicOS m=566 `Interface %s Link Is Down` (Log Events Reference Guide 6.5.1, Network >
  Interfaces, "Multi-Interface Link Down"; USIEM) names the interface in its text;
- export records of kind `interface_monitor_failure` / `probe_monitor_failure` carry it in
  their `detail` (or the `interface` and `probe_target` fields, which the export parser folds
  into the detail: collector/exports/parse.py), named as SonicOS' own HA monitoring
  configuration names them: an interface `name` (X1, X4-V1032) and its `logical_probe.ip`
  (SonicOS 7 API `/high-availability/monitoring/ipv4`, SWGEN7).

The names are read from the event's text when the analysis runs, so events stored before
this existed get the same words. Sources:
- SW7-MON: https://www.sonicwall.com/support/technical-documentation/docs/sonicos-7-0-0-0-high_availability/Content/Topics/High_Availability/About_High_Availability/ha-monitoring-about.htm/
- USIEM, B-pipeline, SWGEN7: docs/formats.md.
"""

from __future__ import annotations

# SonicOS interface names: X0..X29, VLAN sub-interfaces (X4-V1032, FORMATS.md 1.5), U0/U1
# (USB modems), W0 (wireless), MGMT. Case matters: "x1" in free text is not an interface.
INTERFACE_RE = r"\b((?:X|U|W)\d{1,2}(?:-V\d{1,4})?|MGMT)\b"
# a probe target: an IPv4 address (an IPv6 pattern would also match times like 10:23:41)
TARGET_RE = r"\b((?:\d{1,3}\.){3}\d{1,3})\b"

# monitor kinds whose text can name the interface (and the target)
PROBE_KINDS = ("probe_monitor_failure",)
LINK_KINDS = ("interface_monitor_failure", "interface_down")


def cause_sql(kind: str, detail: str) -> str:
    """A SQL expression: the cause in words for a monitor event of kind `kind` with text
    `detail` (column names), or NULL when the text names neither interface nor target (the
    caller then falls back to the trigger word)."""
    iface = f"nullif(regexp_extract({detail}, '{INTERFACE_RE}', 1), '')"
    target = f"nullif(regexp_extract({detail}, '{TARGET_RE}', 1), '')"
    probes = ", ".join(f"'{k}'" for k in PROBE_KINDS)
    links = ", ".join(f"'{k}'" for k in LINK_KINDS)
    return f"""CASE
        WHEN {kind} IN ({probes}) AND ({iface} IS NOT NULL OR {target} IS NOT NULL)
            THEN 'probe' || coalesce(' on ' || {iface}, '')
                 || coalesce(CASE WHEN {iface} IS NULL THEN ' ' || {target}
                                  ELSE ' (' || {target} || ')' END, '') || ' failed'
        WHEN {kind} IN ({links}) AND {iface} IS NOT NULL
            THEN 'link down on ' || {iface}
        END"""
