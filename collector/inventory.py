"""The pair inventory: which serials form which pair, at which site, in which time zone,
and where the pollers reach each unit.

CSV (one row per pair) or TOML (`[[pairs]]` tables, plus `[sites.NAME] timezone = ...` for a
site-wide zone). A time zone is an IANA name (Europe/Berlin), UTC, or a fixed offset such as
+05:30; per-unit zones (`primary_timezone`, `secondary_timezone`) override the pair's.
Polling (collector/pollers/): `primary_address` / `secondary_address` (`host` or
`host:port`, each unit's own management address, e.g. its HA monitoring IP), the pair's
credential profile `poll_profile`, and optionally each unit's pinned certificate
`primary_tls_sha256` / `secondary_tls_sha256`. Only the profile's name is here: credentials
never are.
"""

from __future__ import annotations

import csv
import io
import re
import tomllib
import zoneinfo
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
from hawatch.collector.pairing import apply_pairing, reset_pairing_stage
from hawatch.store.db import Store
from hawatch.store.errors import InputError
from hawatch.store.kinds import HA_MODES

_OFFSET = re.compile(r"^[+-]\d\d:\d\d$")
_HOST = re.compile(
    r"^(?:\[(?P<v6>[0-9A-Fa-f:.]+)\]|(?P<host>[A-Za-z0-9_.-]+))"
    r"(?::(?P<port>\d{1,5}))?$"
)
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_FIELDS = (
    "pair",
    "site",
    "primary_serial",
    "secondary_serial",
    "timezone",
    "primary_timezone",
    "secondary_timezone",
    "ha_mode",
    "preempt",
)


def check_timezone(value: str, where: str) -> str:
    """A time zone DuckDB's ICU and Python agree on; a clear error otherwise."""
    if value == "UTC" or _OFFSET.match(value):
        return value
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise InputError(
            f"{where}: unknown time zone {value!r} (use an IANA name such as Europe/Berlin,"
            " UTC, or an offset such as +05:30)"
        ) from None
    return value


def _rows_from_file(path: Path) -> list[dict[str, Any]]:
    try:
        text = path.read_text("utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read inventory {path}: {exc}") from None
    if path.suffix.lower() == ".toml":
        try:
            doc = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise InputError(f"inventory {path}: {exc}") from None
        sites = doc.get("sites", {})
        rows = []
        for entry in doc.get("pairs", []):
            row = dict(entry)
            site_tz = sites.get(row.get("site"), {}).get("timezone")
            row.setdefault("timezone", site_tz)
            rows.append(row)
        return rows
    reader = csv.DictReader(io.StringIO(text))
    if not reader.fieldnames or "pair" not in [f.strip().lower() for f in reader.fieldnames]:
        raise InputError(
            f"inventory {path}: needs a header with at least pair, primary_serial, secondary_serial"
        )
    return [{k.strip().lower(): (v or "").strip() for k, v in r.items() if k} for r in reader]


def _unit(
    serial: str, row: dict[str, Any], role: str, peer: str | None, where: str, now: datetime
) -> dict[str, Any]:
    unit_tz = row.get(f"{role}_timezone") or None
    mode = (row.get("ha_mode") or "").strip().lower() or None
    if mode and mode not in HA_MODES:
        raise InputError(f"{where}: unknown ha_mode {mode!r} (one of {', '.join(HA_MODES)})")
    preempt = row.get("preempt")
    if isinstance(preempt, str):
        preempt = {
            "": None,
            "true": True,
            "yes": True,
            "1": True,
            "false": False,
            "no": False,
            "0": False,
        }.get(preempt.lower())
    return {
        "serial": serial,
        "pair": str(row["pair"]).strip(),
        "role": role,
        "peer_serial": peer,
        "site": row.get("site") or None,
        "timezone": check_timezone(row["timezone"], where) if row.get("timezone") else None,
        "unit_timezone": check_timezone(unit_tz, where) if unit_tz else None,
        "ha_mode": mode,
        "preempt": preempt,
        "model": None,
        "firmware": None,
        "seen": now,
    }


def inventory_units(path: Path) -> list[dict[str, Any]]:
    """One stg_pairing row per unit named in the inventory; raises InputError on bad rows."""
    now = datetime.now(UTC)
    units = []
    for number, row in enumerate(_rows_from_file(path), start=1):
        where = f"inventory {path}, pair #{number}"
        if not str(row.get("pair") or "").strip():
            raise InputError(f"{where}: no pair name")
        primary = str(row.get("primary_serial") or "").strip().upper() or None
        secondary = str(row.get("secondary_serial") or "").strip().upper() or None
        if not primary and not secondary:
            raise InputError(f"{where}: needs primary_serial or secondary_serial")
        if primary:
            units.append(_unit(primary, row, "primary", secondary, where, now))
        if secondary:
            units.append(_unit(secondary, row, "secondary", primary, where, now))
    return units


def load_inventory(store: Store, path: str | Path) -> int:
    """Apply an inventory file; returns the number of pairs it names."""
    units = inventory_units(Path(path))
    with store.transaction() as cur:
        reset_pairing_stage(cur)
        if units:
            cur.register("inventory_rows", pa.Table.from_pylist(units))
            cur.execute("INSERT INTO stg_pairing BY NAME SELECT * FROM inventory_rows")
            cur.unregister("inventory_rows")
        apply_pairing(cur, "inventory")
    return len({u["pair"] for u in units})


@dataclass(frozen=True)
class PolledUnit:
    """A unit the pollers reach: its pair, role, serial, address and credential profile."""

    pair: str
    role: str
    serial: str
    host: str
    port: int | None  # None: the protocol's port from the profile (443, 161)
    profile: str
    tls_sha256: str | None  # pinned certificate (hex SHA-256 of its DER bytes)


def _address(value: str, where: str) -> tuple[str, int | None]:
    found = _HOST.match(value)
    if not found or (found["port"] and not 0 < int(found["port"]) < 65536):
        raise InputError(f"{where}: address {value!r} is not host, host:port or [v6]:port")
    return found["v6"] or found["host"], int(found["port"]) if found["port"] else None


def _pin(value: str, where: str) -> str | None:
    text = value.strip().lower().replace(":", "").removeprefix("sha256/")
    if not text:
        return None
    if not _SHA256.match(text):
        raise InputError(f"{where}: tls_sha256 must be 64 hex digits (colons allowed)")
    return text


def polled_units(path: str | Path) -> list[PolledUnit]:
    """Every unit with an address whose pair names a credential profile."""
    found = []
    for number, row in enumerate(_rows_from_file(Path(path)), start=1):
        where = f"inventory {path}, pair #{number}"
        profile = str(row.get("poll_profile") or "").strip()
        for role in ("primary", "secondary"):
            address = str(row.get(f"{role}_address") or "").strip()
            serial = str(row.get(f"{role}_serial") or "").strip().upper()
            if not address:
                continue
            if not profile:
                raise InputError(f"{where}: {role}_address needs a poll_profile")
            if not serial:
                raise InputError(f"{where}: {role}_address needs {role}_serial")
            host, port = _address(address, where)
            found.append(
                PolledUnit(
                    str(row["pair"]).strip(),
                    role,
                    serial,
                    host,
                    port,
                    profile,
                    _pin(str(row.get(f"{role}_tls_sha256") or ""), where),
                )
            )
    return found
