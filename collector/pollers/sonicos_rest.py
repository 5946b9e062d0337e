"""Poll one unit over the SonicOS REST API (SonicOS 6.5 and 7.x): log in, read, log out.

Sources (docs/pollers.md has the full list and what is inferred):
- Login `POST /api/sonicos/auth` with HTTP Basic, logout `DELETE /api/sonicos/auth`:
  SonicOS API guide 7.0 "Authentication methods" and "RFC-2617 HTTP Basic Access
  authentication"; "It is highly recommended to call delete api/sonicos/auth to log out of
  the API session ... Otherwise, the session is closed after a time of inactivity".
  "A single SonicOS API session is currently allowed" (guide, "Client authentication"): a
  poll that forgot to log out would lock the administrators' own API use, so logout runs in
  `finally`, whatever happened before it.
- No `{"override": true}` body: sonicwall/sonicos-automation sends it to take over an
  existing session (and config mode); a poll must never knock a human off
  (peterelmwood/terraform-sonicos: override "bumps an existing session"). Reads work in
  non-config mode (mjryan253/homeassistant-sonicwall, live-tested on 6.5).
- A bearer token in the login answer (SonicOS 7.3.2+ option "Non-UI API session bearer
  token check", SonicWall KB) is sent back as `Authorization: Bearer`; where it sits in the
  answer is not public: `status.info[0].bearer_token` (tuysnwl/sonicos7api sonicapi.py) or
  "BearToken: ..." in the message are both accepted [inferred].
- Reads: `/reporting/high-availability` (status, primary_state, secondary_state,
  active_up_time: sonicwall/sonicos-automation reset_credentials.py), 7.x
  `/reporting/status/system` (tuysnwl/sonicos7api OpenAPI `show_status_system_detail`), else
  6.5 `/reporting/system` (homeassistant-sonicwall), and `/high-availability/base` for the
  stateful-synchronization setting (OpenAPI `ha_base`). Whether the units are *in* sync is
  in no public API: only the setting is read.
- 6.5 answers HTTP/1.0 without Content-Length and binds the session to the client address;
  7.x keeps a cookie (homeassistant-sonicwall; terraform-sonicos): the client
  (https_client.py) keeps the poll's cookies and redials when the unit closes.
- Which system report a unit has (7.x or 6.5) is remembered per address, so a 6.5 unit is
  not asked the 7.x path (one more connection and a 404) at every poll.
"""

from __future__ import annotations

import base64
import re
import time
from datetime import UTC, datetime
from typing import Any

from hawatch.collector.inventory import PolledUnit
from hawatch.collector.pollers.credentials import Profile
from hawatch.collector.pollers.https_client import HttpsClient
from hawatch.collector.pollers.outcome import PollError, PollResult, classify, one_line
from hawatch.collector.pollers.tls import UNVERIFIED_NOTE, presented_fingerprint, trust

API = "/api/sonicos"
_UPTIME = re.compile(r"(?:(\d+)\s*Days?\s*)?(\d+):(\d\d):(\d\d)", re.I)
_CURRENT = re.compile(r"\bCurrent:\s*(\d+)|^\s*(\d+)\s*$", re.I)
_MAX = re.compile(r"\bMax:\s*(\d+)|^\s*(\d+)\s*$", re.I)
_BEARER = re.compile(r"BearToken:\s*(\S+)")


def uptime_seconds(text: object) -> int | None:
    """`13 Days 10:56:12` (SonicOS's up_time) in seconds."""
    found = _UPTIME.search(str(text or ""))
    if not found:
        return None
    days, hours, minutes, seconds = (int(g or 0) for g in found.groups())
    return ((days * 24 + hours) * 60 + minutes) * 60 + seconds


def _number(pattern: re.Pattern[str], value: object) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    found = pattern.search(str(value or ""))
    return int(found.group(1) or found.group(2)) if found else None


def _envelope_message(body: Any) -> str:
    try:
        info = body["status"]["info"][0]
        return f"{info.get('code', '')} {info.get('message', '')}".strip()
    except (KeyError, IndexError, TypeError):
        return ""


def _bearer(body: Any) -> str | None:
    try:
        info = body["status"]["info"][0]
    except (KeyError, IndexError, TypeError):
        return None
    token = info.get("bearer_token") if isinstance(info, dict) else None
    found = _BEARER.search(str(info.get("message", ""))) if isinstance(info, dict) else None
    return token or (found.group(1) if found else None)


SYSTEM_PATHS = ("/reporting/status/system", "/reporting/system")  # 7.x, 6.5


class RestPoll:
    """One poll of one unit; `run()` returns the raw reads or raises PollError."""

    def __init__(
        self, unit: PolledUnit, profile: Profile, timeout: float, system_paths: dict[str, str]
    ) -> None:
        self.unit, self.profile, self.timeout = unit, profile, timeout
        self.system_paths = system_paths  # address -> the system report path that worked
        self.port = unit.port or profile.rest_port
        self.address = f"{unit.host}:{self.port}"
        self.headers: dict[str, str] = {}
        self.logged_out: bool | None = None

    async def _login(self, http: HttpsClient) -> None:
        token = base64.b64encode(
            f"{self.profile.username}:{self.profile.password}".encode()
        ).decode()
        response = await http.request("POST", API + "/auth", {"Authorization": f"Basic {token}"})
        body = response.json() if response.status in (200, 401, 403, 503) else None
        said = _envelope_message(body)
        if response.status in (401, 403):
            raise PollError(
                "auth",
                f"login refused (HTTP {response.status}"
                f"{': ' + said if said else ''}); check the profile's username"
                " and password, that the API and Basic authentication are"
                " enabled, and the account is a full administrator",
            )
        if response.status == 404:
            raise PollError("protocol", "no SonicOS API on this unit (HTTP 404 at /auth)")
        if response.status == 503:
            raise PollError(
                "protocol",
                "the unit's single API session is in use (HTTP 503); hawatch never overrides it",
            )
        if (
            response.status != 200
            or not isinstance(body, dict)
            or body.get("status", {}).get("success") is False
        ):
            raise PollError("protocol", f"login answered HTTP {response.status} {said}".strip())
        if bearer := _bearer(body):
            self.headers["Authorization"] = f"Bearer {bearer}"

    async def _read(
        self, http: HttpsClient, path: str, optional: bool = False
    ) -> dict[str, Any] | None:
        response = await http.request("GET", API + path, self.headers)
        if response.status == 404 and optional:
            return None
        if response.status in (401, 403):
            raise PollError(
                "auth",
                f"GET {API}{path}: HTTP {response.status} after login "
                f"{_envelope_message(response.json())}".strip(),
            )
        body = response.json()
        if response.status != 200 or not isinstance(body, dict):
            raise PollError("protocol", f"GET {API}{path}: HTTP {response.status}")
        return body

    async def _system(self, http: HttpsClient) -> dict[str, Any]:
        known = self.system_paths.get(self.address)
        for path in (known,) if known else SYSTEM_PATHS:
            found = await self._read(http, path, optional=path != SYSTEM_PATHS[-1])
            if found is not None:
                self.system_paths[self.address] = path
                return found
        self.system_paths.pop(self.address, None)  # upgraded or replaced: probe again next time
        raise PollError("protocol", f"GET {API}{known}: HTTP 404")

    async def _logout(self, http: HttpsClient) -> None:
        try:
            response = await http.request("DELETE", API + "/auth", self.headers)
            self.logged_out = response.status == 200
        except Exception:  # noqa: BLE001 - the reads' outcome stands; the session idles out
            self.logged_out = False

    async def run(self) -> dict[str, Any]:
        context, pin = trust(self.unit, self.profile)
        http = HttpsClient(self.unit.host, self.port, context, pin, self.timeout)
        try:
            await self._login(http)
            try:
                return {
                    "ha": await self._read(http, "/reporting/high-availability", optional=True),
                    "system": await self._system(http),
                    "base": await self._read(http, "/high-availability/base", optional=True),
                }
            finally:
                await self._logout(http)
        finally:
            await http.close()


def _sync_setting(base: dict[str, Any] | None) -> bool | None:
    try:
        modes = base["high_availability"]["mode"]  # type: ignore[index]
    except (KeyError, TypeError):
        return None
    for mode in modes.values() if isinstance(modes, dict) else ():
        if isinstance(mode, dict) and isinstance(mode.get("stateful_synchronization"), bool):
            return bool(mode["stateful_synchronization"])
    return None


def to_record(unit: PolledUnit, reads: dict[str, Any], at: datetime) -> dict[str, Any]:
    """The reads as the REST poll record docs/formats.md documents (section 3)."""
    system, ha = reads.get("system") or {}, reads.get("ha") or {}
    counts = system.get("current_connections", system.get("connections"))
    capacity = system.get("max_connections", system.get("connections"))
    firmware = str(system.get("firmware_version") or "").split()
    record: dict[str, Any] = {
        "polled_at": at.isoformat(),
        "role": unit.role,
        "serial_number": str(system.get("serial_number") or "").replace("-", "").upper()
        or unit.serial,
        "model": system.get("model") or None,
        # "SonicOS Enhanced 6.5.4.4-44n" -> 6.5.4.4-44n (sonicwall/sonicos-automation)
        "firmware_version": firmware[-1] if firmware else None,
        "connections": _number(_CURRENT, counts),
        "max_connections": _number(_MAX, capacity),
    }
    for key in ("status", "primary_state", "secondary_state", "active_up_time"):
        if ha.get(key) is not None:
            record[key] = ha[key]
    sync = _sync_setting(reads.get("base"))
    if sync is not None:
        record["stateful_synchronization"] = sync
    return {k: v for k, v in record.items() if v is not None}


async def poll_rest(
    unit: PolledUnit, profile: Profile, timeout: float, system_paths: dict[str, str]
) -> PollResult:
    """Poll `unit`; failures end up in the result, never raised. `system_paths` remembers,
    across polls, which system report each address has."""
    started = datetime.now(UTC)
    began = time.perf_counter()
    poll = RestPoll(unit, profile, timeout, system_paths)
    result = PollResult(unit, "rest", f"{unit.host}:{poll.port}", started)
    if not profile.tls_verify and not unit.tls_sha256 and not profile.ca_file:
        result.notes.append(UNVERIFIED_NOTE)
    try:
        result.raw = await poll.run()
        result.record = to_record(unit, result.raw, started)
        result.reported_serial = result.record["serial_number"]
        result.uptime_seconds = uptime_seconds((result.raw.get("system") or {}).get("up_time"))
        if result.record.get("connections") is None:
            raise PollError("protocol", "the system status has no connection count")
    except Exception as exc:  # noqa: BLE001 - every failure becomes the unit's outcome
        error = classify(exc)
        result.outcome, result.reason = error.kind, one_line(error)
        if "no way to trust it" in str(error):
            seen = await presented_fingerprint(unit.host, poll.port, timeout)
            result.reason += f"; it presents sha256 {seen}" if seen else ""
    if poll.logged_out is False:
        result.notes.append("logout failed: the API session idles out on the unit")
    result.latency_ms = (time.perf_counter() - began) * 1000
    return result
