"""The SonicOS REST API of a simulated unit: endpoints, JSON shapes, the one API session.

Paths and shapes follow the public material summarised in docs/pollers.md (keys: SWAUTO =
sonicwall/sonicos-automation, SPEC7 = the SonicOS 7 OpenAPI file in tuysnwl/sonicos7api,
HASS = mjryan253/homeassistant-sonicwall, TRACE65 = a SonicOS 6 curl trace in
cherpin00/pySonicOSapi):

- `POST /api/sonicos/auth` with HTTP Basic logs in, `DELETE /api/sonicos/auth` logs out; the
  answer is the `{"status": {"success", "info": [{"level", "code", "message"}]}}` envelope
  (SPEC7 `api_status`, TRACE65). One API session per unit ("A single SonicOS API session is
  currently allowed", SonicOS API guide): a login while another client holds it is answered
  503 (the guide's status table: maximum number of sessions exceeded).
- 6.5 binds the session to the client's address, no cookie (HASS, TRACE65); 7.x keeps a
  session cookie (peterelmwood/terraform-sonicos client notes). The cookie's name is not
  public: `SonicOS-API` here is made up [inferred].
- `GET /api/sonicos/reporting/high-availability`: `status`, `primary_state`,
  `secondary_state`, `active_up_time` (SWAUTO reset_credentials.py); values as the HA status
  page shows them (help.sonicwall.com 6.2 and 8.0 HA status docs). Exact casing [inferred].
- `GET /api/sonicos/reporting/status/system` (7.x, SPEC7 `show_status_system_detail`, every
  value a string; "Current: 6374" style counts per senocloudcom/dekrimtexel-local-agent
  [format inferred]) and `GET /api/sonicos/reporting/system` (6.5, HASS: one `connections`
  string "Peak: .. Current: .. Max Allowed: .. Max: .."); each answers 404 on the other
  generation [inferred].
- `GET /api/sonicos/version` (both; 6.5 prints the serial with dashes, HASS).
- `GET /api/sonicos/high-availability/base` (SPEC7 `ha_base`): the HA configuration,
  including `stateful_synchronization`. No public API exposes whether the units are *in*
  sync, so neither does the simulator.
"""

from __future__ import annotations

import base64
import json
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

from hawatch.simulator.devices.timeline import UnitReport, days_clock

SESSION_IDLE_SECONDS = 60  # one third-party client's comment; the real value is not public
COOKIE = "SonicOS-API"


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]  # lower-case names
    peer: str  # the client's address


@dataclass
class Answer:
    status: int
    body: dict[str, Any] | None
    headers: dict[str, str] = field(default_factory=dict)


def envelope(success: bool, code: str, message: str, level: str = "info") -> dict[str, Any]:
    return {
        "status": {"success": success, "info": [{"level": level, "code": code, "message": message}]}
    }


@dataclass
class ApiState:
    """The unit's single API session and what happened to it (tests read the counters)."""

    username: str
    password: str
    holder: str | None = None  # cookie value (7.x) or client address (6.5)
    last_used: float = 0.0
    logins: int = 0
    logouts: int = 0
    refused_logins: int = 0

    def session_open(self) -> bool:
        return self.holder is not None and time.monotonic() - self.last_used < SESSION_IDLE_SECONDS


def _basic(header: str | None) -> tuple[str, str] | None:
    if not header or not header.lower().startswith("basic "):
        return None
    try:
        user, _, password = base64.b64decode(header[6:].strip()).decode().partition(":")
    except (ValueError, UnicodeDecodeError):
        return None
    return user, password


def _caller(request: Request, gen6: bool) -> str | None:
    if gen6:
        return request.peer
    for part in request.headers.get("cookie", "").split(";"):
        name, _, value = part.strip().partition("=")
        if name == COOKIE:
            return value
    return None


def _login(state: ApiState, request: Request, gen6: bool) -> Answer:
    given = _basic(request.headers.get("authorization"))
    if given != (state.username, state.password):
        state.refused_logins += 1
        return Answer(401, envelope(False, "E_UNAUTHORIZED", "Not authorized.", "error"))
    caller = _caller(request, gen6)
    if state.session_open() and state.holder != caller:
        state.refused_logins += 1
        return Answer(
            503,
            envelope(
                False, "E_BUSY", "No resources: maximum number of sessions exceeded.", "error"
            ),
        )
    state.logins += 1
    state.holder = request.peer if gen6 else secrets.token_hex(16)
    state.last_used = time.monotonic()
    headers = {} if gen6 else {"Set-Cookie": f"{COOKIE}={state.holder}; Path=/; Secure"}
    return Answer(200, envelope(True, "E_OK", "Success."), headers)


def _system_gen7(unit: UnitReport, now: float) -> dict[str, Any]:
    return {
        "model": unit.model,
        "serial_number": unit.serial,
        "firmware_version": unit.firmware,
        "rom_version": "SonicROM 7.0.0.0",
        "system_time": time.strftime("%m/%d/%Y %H:%M:%S", time.gmtime(now)),
        "up_time": days_clock(unit.uptime_seconds),
        "peak_connections": f"Peak: {unit.peak_connections}",
        "current_connections": f"Current: {unit.connections}",
        "max_allowed_connections": f"Max Allowed: {unit.max_connections}",
        "max_connections": f"Max: {unit.max_connections}",
        "connection_usage": f"{100.0 * unit.connections / unit.max_connections:.2f}%",
        "restart_required": "false",
    }


def _system_gen6(unit: UnitReport) -> dict[str, Any]:
    return {
        "serial_number": _dashed(unit.serial),
        "model": unit.model,
        "firmware_version": unit.firmware,
        "rom_version": "SonicROM 6.5.0.0",
        "up_time": days_clock(unit.uptime_seconds),
        "cpus": "6.35% - 2 x 1200 MHz Mips64 Octeon Processor",
        "connections": f"Peak: {unit.peak_connections} Current: {unit.connections}"
        f" Max Allowed: {unit.max_connections} Max: {unit.max_connections}",
        "connection_usage": f"{100.0 * unit.connections / unit.max_connections:.2f}%",
    }


def _dashed(serial: str) -> str:
    return "-".join(serial[i : i + 4] for i in range(0, len(serial), 4))


def _ha_status(unit: UnitReport) -> dict[str, Any]:
    states = {
        unit.role: unit.own_state,
        ("secondary" if unit.role == "primary" else "primary"): unit.peer_state,
    }
    return {
        "status": f"{unit.role.title()} {unit.own_state.title()}",
        "primary_state": states["primary"].upper(),
        "secondary_state": states["secondary"].upper(),
        "active_up_time": days_clock(unit.active_up_seconds),
    }


def _ha_base(unit: UnitReport) -> dict[str, Any]:
    return {
        "high_availability": {
            "heartbeat_interval": 1000,
            "failover_trigger_level": 5,
            "probe": {"interval": 20, "count": 3},
            "election_delay_time": 3,
            "mode": {
                "active_standby": {
                    "primary_serial": unit.primary_serial,
                    "secondary_serial": unit.secondary_serial,
                    "stateful_synchronization": unit.sync_enabled,
                    "control_interface": "X6",
                    "data_interface": "X4",
                    "preempt": unit.preempt,
                    "virtual_mac": True,
                    "encryption": False,
                }
            },
        }
    }


def _read(unit: UnitReport, path: str, now: float) -> Answer:
    gen6 = unit.generation == "gen6"
    if path == "/api/sonicos/reporting/high-availability":
        return Answer(200, _ha_status(unit))
    if path == "/api/sonicos/high-availability/base":
        return Answer(200, _ha_base(unit))
    if path == "/api/sonicos/version":
        return Answer(
            200,
            {
                "firmware_version": unit.firmware,
                "model": unit.model,
                "serial_number": _dashed(unit.serial) if gen6 else unit.serial,
                "system_uptime": days_clock(unit.uptime_seconds),
            },
        )
    if path == "/api/sonicos/reporting/status/system" and not gen6:
        return Answer(200, _system_gen7(unit, now))
    if path == "/api/sonicos/reporting/system" and gen6:
        return Answer(200, _system_gen6(unit))
    return Answer(404, envelope(False, "E_NOT_FOUND", "Not found.", "error"))


def answer(state: ApiState, unit: UnitReport, request: Request, now: float) -> Answer:
    """The unit's answer to one request (the HTTP layer adds status line and headers)."""
    gen6 = unit.generation == "gen6"
    if request.path == "/api/sonicos/auth":
        if request.method == "POST":
            return _login(state, request, gen6)
        if request.method == "DELETE":
            if state.holder is not None and state.holder == _caller(request, gen6):
                state.holder = None
                state.logouts += 1
            return Answer(200, envelope(True, "E_OK", "Success."))
        return Answer(405, envelope(False, "E_METHOD", "Method not allowed.", "error"))
    if not state.session_open() or state.holder != _caller(request, gen6):
        return Answer(401, envelope(False, "E_UNAUTHORIZED", "Not authorized.", "error"))
    state.last_used = time.monotonic()
    if request.method != "GET":
        return Answer(405, envelope(False, "E_METHOD", "Method not allowed.", "error"))
    return _read(unit, request.path.split("?", 1)[0], now)


def body_bytes(answer_: Answer) -> bytes:
    return b"" if answer_.body is None else json.dumps(answer_.body).encode()
