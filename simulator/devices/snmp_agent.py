"""The SNMP agent of a simulated unit: SNMPv2c for many units, SNMPv3 (USM) for a few.

What a SonicWall answers, per the public MIBs (librenms/librenms mibs/sonicwall:
SONICWALL-FIREWALL-IP-STATISTICS-MIB and SNWL-COMMON-MIB): sonicMaxConnCacheEntries
1.3.6.1.4.1.8741.1.3.1.1.0, sonicCurrentConnCacheEntries .1.3.1.2.0 (declared Gauge),
snwlSysModel / snwlSysSerialNumber / snwlSysFirmwareVersion 1.3.6.1.4.1.8741.2.1.1.{1,2,3}.0,
plus SNMPv2-MIB sysDescr and sysUpTime. No public SonicWall MIB has an HA role or sync
object, so neither does the simulator. The sysDescr text is inferred (LibreNMS recognises a
SonicWall by "SonicWALL" in it).

v2c: pysnmp's protocol API (pysnmp.proto.api, as its v1arch command-responder example does)
on one UDP socket per unit, all in one asyncio loop: thousands of units cost little. A wrong
community is not answered, as real agents do. v3: one pysnmp v3arch engine per unit (the
USM needs it); each costs about 1.3 MB, so the simulator gives v3 to the few units a test
asks for.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable
from typing import Any

from hawatch.simulator.devices.timeline import UnitReport
from pyasn1.codec.ber import decoder, encoder
from pyasn1.error import PyAsn1Error
from pysnmp.proto import api

SW = (1, 3, 6, 1, 4, 1, 8741)
SYS_DESCR = (1, 3, 6, 1, 2, 1, 1, 1, 0)
SYS_UPTIME = (1, 3, 6, 1, 2, 1, 1, 3, 0)
MAX_CONN = SW + (1, 3, 1, 1, 0)
CURRENT_CONN = SW + (1, 3, 1, 2, 0)
MODEL, SERIAL, FIRMWARE = SW + (2, 1, 1, 1, 0), SW + (2, 1, 1, 2, 0), SW + (2, 1, 1, 3, 0)


def values(unit: UnitReport) -> dict[tuple[int, ...], tuple[str, Any]]:
    """OID -> (SMI type, value) for one unit at one moment."""
    return {
        SYS_DESCR: ("OctetString", f"SonicWALL {unit.model} ({unit.firmware})"),
        SYS_UPTIME: ("TimeTicks", unit.uptime_seconds * 100 % 2**32),
        MAX_CONN: ("Integer", unit.max_connections),
        CURRENT_CONN: ("Gauge32", unit.connections),
        MODEL: ("OctetString", unit.model),
        SERIAL: ("OctetString", unit.serial),
        FIRMWARE: ("OctetString", unit.firmware),
    }


def respond(message: bytes, community: str, unit: UnitReport) -> bytes | None:
    """The response to one v1/v2c GET, or None: not SNMP, wrong community, not a GET."""
    try:
        version = int(api.decodeMessageVersion(message))
        module = api.PROTOCOL_MODULES[version]
        request, _ = decoder.decode(message, asn1Spec=module.Message())
    except (PyAsn1Error, KeyError, ValueError):
        return None
    if str(module.apiMessage.get_community(request)) != community:
        return None
    request_pdu = module.apiMessage.get_pdu(request)
    if not request_pdu.isSameTypeWith(module.GetRequestPDU()):
        return None
    response = module.apiMessage.get_response(request)
    response_pdu = module.apiMessage.get_pdu(response)
    known = values(unit)
    binds, missing = [], []
    for index, (oid, asked) in enumerate(module.apiPDU.get_varbinds(request_pdu), start=1):
        found = known.get(tuple(oid))
        if found is None:
            binds.append((oid, asked))
            missing.append(index)
        else:
            binds.append((oid, getattr(module, found[0])(found[1])))
    module.apiPDU.set_varbinds(response_pdu, binds)
    for index in missing[:1]:
        module.apiPDU.set_no_such_instance_error(response_pdu, index)
    return encoder.encode(response)


class V2cAgent(asyncio.DatagramProtocol):
    """One unit's v2c agent on its own UDP socket; answers after `latency()` seconds."""

    def __init__(
        self, community: str, unit: Callable[[], UnitReport | None], latency: Callable[[], float]
    ) -> None:
        self.community, self.unit, self.latency = community, unit, latency
        self.transport: asyncio.DatagramTransport | None = None
        self.answered = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        unit = self.unit()
        if unit is None or not unit.answering:
            return  # silent, or rebooting: nothing comes back
        payload = respond(data, self.community, unit)
        if payload is None or self.transport is None:
            return
        self.answered += 1
        asyncio.get_running_loop().call_later(self.latency(), self._send, payload, addr)

    def _send(self, payload: bytes, addr: tuple[str, int]) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.sendto(payload, addr)


async def start_v2c(sock: socket.socket, agent: V2cAgent) -> asyncio.DatagramTransport:
    transport, _ = await asyncio.get_running_loop().create_datagram_endpoint(
        lambda: agent, sock=sock
    )
    return transport


def _export_live(mib: Any, unit: Callable[[], UnitReport | None]) -> None:
    """The unit's objects in the engine's MIB, each read from `unit()` at every GET
    (pysnmp's implementing-scalar-mib-objects example; its own sysDescr and sysUpTime are
    replaced by the unit's)."""
    from pysnmp.proto.api import v2c

    scalar, instance = mib.import_symbols("SNMPv2-SMI", "MibScalar", "MibScalarInstance")

    class Live(instance):  # type: ignore[misc, valid-type]
        """A scalar read from the unit at every GET (a syntax must carry a value)."""

        def __init__(self, oid: tuple[int, ...], syntax: Any) -> None:
            super().__init__(oid[:-1], (0,), syntax)
            self._oid = oid

        def getValue(self, name: Any, **kwargs: Any) -> Any:  # noqa: N802 - pysnmp's name
            report = unit()
            value = values(report)[self._oid][1] if report is not None else 0
            return self.getSyntax().clone(value)

    mib.import_symbols("__SNMPv2-MIB", "sysDescr", "sysUpTime")
    mib.unexport_symbols("__SNMPv2-MIB", "sysDescr", "sysUpTime")
    mib.export_symbols(
        "__SNMPv2-MIB", Live(SYS_DESCR, v2c.OctetString("")), Live(SYS_UPTIME, v2c.TimeTicks(0))
    )
    objects: list[Any] = []
    for oid, syntax in (
        (MAX_CONN, v2c.Integer32(0)),
        (CURRENT_CONN, v2c.Gauge32(0)),
        (MODEL, v2c.OctetString("")),
        (SERIAL, v2c.OctetString("")),
        (FIRMWARE, v2c.OctetString("")),
    ):
        objects += [scalar(oid[:-1], syntax.clone()).setMaxAccess("read-only"), Live(oid, syntax)]
    mib.export_symbols("__HAWATCH_SONICWALL", *objects)


def start_v3(
    sock: socket.socket,
    user: str,
    auth_key: str,
    priv_key: str,
    unit: Callable[[], UnitReport | None],
) -> Any:
    """A pysnmp v3arch agent engine (USM SHA/AES128 user `user`) on `sock`, inside the
    running loop; values are read from `unit()` at every GET. Returns the engine (close it
    with `close_dispatcher()`)."""
    from pysnmp.carrier.asyncio.dgram import udp
    from pysnmp.entity import config, engine
    from pysnmp.entity.rfc3413 import cmdrsp, context

    class Gated(udp.UdpTransport):
        """Requests reach the engine only while the unit answers (silent, rebooting: no)."""

        def datagram_received(self, datagram: bytes, address: Any) -> None:
            report = unit()
            if report is not None and report.answering:
                super().datagram_received(datagram, address)

    eng = engine.SnmpEngine()
    config.add_transport(eng, udp.DOMAIN_NAME, Gated().open_server_mode(sock=sock))
    config.add_v3_user(
        eng, user, config.USM_AUTH_HMAC96_SHA, auth_key, config.USM_PRIV_CFB128_AES, priv_key
    )
    config.add_vacm_user(eng, 3, user, "authPriv", (1, 3, 6))
    ctx = context.SnmpContext(eng)
    _export_live(ctx.get_mib_instrum().get_mib_builder(), unit)
    for app in (cmdrsp.GetCommandResponder, cmdrsp.NextCommandResponder):
        app(eng, ctx)
    return eng
