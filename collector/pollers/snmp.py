"""Poll one unit over SNMP v2c or v3 (pysnmp 7.1): connections, capacity, uptime, identity.

OIDs (librenms/librenms mibs/sonicwall; the same ones in zabbix/community-templates'
SonicWall templates and DataDog's dell-sonicwall profile):
  sonicMaxConnCacheEntries      1.3.6.1.4.1.8741.1.3.1.1.0  (SONICWALL-FIREWALL-IP-STATISTICS-MIB)
  sonicCurrentConnCacheEntries  1.3.6.1.4.1.8741.1.3.1.2.0  (declared Gauge; some agents send
                                                             Counter32: read as a gauge)
  snwlSysModel / SerialNumber / FirmwareVersion  1.3.6.1.4.1.8741.2.1.1.{1,2,3}.0 (SNWL-COMMON-MIB)
  sysDescr 1.3.6.1.2.1.1.1.0, sysUpTime 1.3.6.1.2.1.1.3.0 (SNMPv2-MIB)
No public SonicWall MIB has an HA role, state or sync object, so SNMP gives counts, capacity,
uptime (reboots) and identity, never HA state: Zabbix's "HA Primary/Secondary Status" items
poll the two connection OIDs above under wrong names.

Identity (model, serial, firmware, sysDescr) changes only with a reboot, so it is read at a
unit's first poll, every `IDENTITY_EVERY`-th poll and whenever sysUpTime went backwards (a
reboot: a firmware upgrade is one); other polls read counts, capacity and uptime only. BER
decoding in pyasn1 is most of an SNMP poll's CPU, and it grows with the varbinds.

v2c goes through pysnmp's v1arch dispatcher (no per-community engine state: measured here,
the v3arch engine costs 40-90 ms of CPU per poll with thousands of distinct communities,
v1arch about 1.5 ms); v3 through one v3arch engine. Both are made inside the running loop
(their dispatchers bind to it) and closed with `close()`. A wrong v2c community gets no
answer at all (agents drop it), so it shows as a timeout; v3 says what was wrong.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from hawatch.collector.inventory import PolledUnit
from hawatch.collector.pollers.credentials import Profile
from hawatch.collector.pollers.outcome import PollError, PollResult, classify, one_line

COUNTS = {
    "connections": "1.3.6.1.4.1.8741.1.3.1.2.0",
    "max_connections": "1.3.6.1.4.1.8741.1.3.1.1.0",
    "sys_uptime": "1.3.6.1.2.1.1.3.0",
}
IDENTITY = {
    "sys_descr": "1.3.6.1.2.1.1.1.0",
    "model": "1.3.6.1.4.1.8741.2.1.1.1.0",
    "serial": "1.3.6.1.4.1.8741.2.1.1.2.0",
    "firmware": "1.3.6.1.4.1.8741.2.1.1.3.0",
}
OIDS = {**COUNTS, **IDENTITY}
IDENTITY_EVERY = 10
_AUTH_ERRORS = (
    "WrongDigest",
    "UnknownUserName",
    "UnknownSecurityName",
    "DecryptionError",
    "AuthenticationFailure",
    "NotInTimeWindow",
    "UnsupportedSecurityLevel",
)


class SnmpClient:
    """The pysnmp dispatchers of one event loop, made on first use."""

    def __init__(self) -> None:
        self._v1: Any = None
        self._v3: Any = None
        self.seen: dict[str, tuple[int, int]] = {}  # address -> (polls, last sysUpTime)

    def wants_identity(self, address: str) -> bool:
        polls, _ = self.seen.get(address, (0, 0))
        return polls % IDENTITY_EVERY == 0

    def saw(self, address: str, uptime: int | None) -> None:
        """Count a successful poll; a smaller uptime (a reboot) makes the next read all."""
        polls, last = self.seen.get(address, (0, 0))
        rebooted = uptime is not None and uptime < last
        self.seen[address] = (0 if rebooted else polls + 1, uptime or 0)

    def v1(self) -> Any:
        if self._v1 is None:
            from pysnmp.hlapi.v1arch.asyncio import SnmpDispatcher

            self._v1 = SnmpDispatcher()
        return self._v1

    def v3(self) -> Any:
        if self._v3 is None:
            from pysnmp.hlapi.v3arch.asyncio import SnmpEngine

            self._v3 = SnmpEngine()
        return self._v3

    def close(self) -> None:
        if self._v1 is not None:
            self._v1.close()
        if self._v3 is not None:
            self._v3.close_dispatcher()
        self._v1 = self._v3 = None


def _usm(profile: Profile) -> Any:
    from pysnmp.hlapi.v3arch import asyncio as v3

    auth = {
        "md5": v3.USM_AUTH_HMAC96_MD5,
        "sha": v3.USM_AUTH_HMAC96_SHA,
        "sha224": v3.USM_AUTH_HMAC128_SHA224,
        "sha256": v3.USM_AUTH_HMAC192_SHA256,
        "sha384": v3.USM_AUTH_HMAC256_SHA384,
        "sha512": v3.USM_AUTH_HMAC384_SHA512,
    }
    priv = {
        "none": v3.USM_PRIV_NONE,
        "des": v3.USM_PRIV_CBC56_DES,
        "aes": v3.USM_PRIV_CFB128_AES,
        "aes192": v3.USM_PRIV_CFB192_AES,
        "aes256": v3.USM_PRIV_CFB256_AES,
    }
    return v3.UsmUserData(
        profile.snmp_user,
        profile.auth_key,
        profile.priv_key if profile.priv_protocol != "none" else None,
        authProtocol=auth[profile.auth_protocol],
        privProtocol=priv[profile.priv_protocol],
    )


async def _get(
    client: SnmpClient,
    unit: PolledUnit,
    profile: Profile,
    port: int,
    timeout: float,
    oids: dict[str, str],
) -> tuple[Any, Any, Any, Any]:
    if profile.snmp_version == "3":
        from pysnmp.hlapi.v3arch import asyncio as v3

        target = await v3.UdpTransportTarget.create((unit.host, port), timeout=timeout, retries=0)
        return await v3.get_cmd(
            client.v3(),
            _usm(profile),
            target,
            v3.ContextData(),
            *(v3.ObjectType(v3.ObjectIdentity(o)) for o in oids.values()),
            lookupMib=False,
        )
    from pysnmp.hlapi.v1arch import asyncio as v1

    target = await v1.UdpTransportTarget.create((unit.host, port), timeout=timeout, retries=0)
    return await v1.get_cmd(
        client.v1(),
        v1.CommunityData(profile.community, mpModel=1),
        target,
        *((o, None) for o in oids.values()),
        lookupMib=False,
    )


def _values(binds: Any) -> dict[str, Any]:
    """OID values by name; noSuchObject/noSuchInstance (an agent without that MIB) is None."""
    by_oid = {oid: name for name, oid in OIDS.items()}
    found: dict[str, Any] = {}
    for oid, value in binds:
        name = by_oid.get(str(oid))
        if name is None or value.__class__.__name__ in (
            "NoSuchObject",
            "NoSuchInstance",
            "EndOfMibView",
            "Null",
        ):
            continue
        found[name] = (
            value.prettyPrint()
            if name in ("sys_descr", "model", "serial", "firmware")
            else int(value)
        )
    return found


def to_record(unit: PolledUnit, values: dict[str, Any], at: datetime) -> dict[str, Any]:
    """hawatch's export record (docs/formats.md section 2): a sample plus the status fields."""
    firmware = str(values.get("firmware") or "").split()
    record = {
        "time": at.isoformat(),
        "role": unit.role,
        "serial": str(values.get("serial") or unit.serial).replace("-", "").upper(),
        "connections": values.get("connections"),
        "max_connections": values.get("max_connections"),
        "model": values.get("model") or None,
        "firmware": firmware[-1] if firmware else None,
    }
    return {k: v for k, v in record.items() if v is not None}


def _failure(indication: Any, status: Any, index: Any) -> PollError | None:
    if indication:
        name = type(indication).__name__
        if name == "RequestTimedOut":
            return PollError(
                "timeout",
                "no answer within poll.timeout_seconds (a wrong v2c"
                " community is not answered either)",
            )
        kind = "auth" if name in _AUTH_ERRORS else "protocol"
        return PollError(kind, f"SNMP: {one_line(indication)}")
    if status:
        return PollError("protocol", f"SNMP error-status {status.prettyPrint()} at {index}")
    return None


async def poll_snmp(
    client: SnmpClient, unit: PolledUnit, profile: Profile, timeout: float
) -> PollResult:
    """Poll `unit`; failures end up in the result, never raised."""
    started = datetime.now(UTC)
    began = time.perf_counter()
    port = unit.port or profile.snmp_port
    result = PollResult(unit, "snmp", f"{unit.host}:{port}", started)
    oids = OIDS if client.wants_identity(result.address) else COUNTS
    try:
        indication, status, index, binds = await _get(client, unit, profile, port, timeout, oids)
        if error := _failure(indication, status, index):
            raise error
        values = _values(binds)
        result.raw = {k: str(v) for k, v in values.items()}
        if values.get("connections") is None:
            raise PollError("protocol", "no sonicCurrentConnCacheEntries: not a SonicWall?")
        result.record = to_record(unit, values, started)
        result.reported_serial = result.record["serial"] if "serial" in values else None
        if "sys_uptime" in values:
            result.uptime_seconds = values["sys_uptime"] // 100
        client.saw(result.address, values.get("sys_uptime"))
    except Exception as exc:  # noqa: BLE001 - every failure becomes the unit's outcome
        error = classify(exc)
        result.outcome, result.reason = error.kind, one_line(error)
    result.latency_ms = (time.perf_counter() - began) * 1000
    return result
