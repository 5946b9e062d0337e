"""Credential profiles for the pollers: outside the database, never logged, never shown.

Analysts' SQL reaches everything in the DuckDB file (DuckDB has no per-table permissions),
so credentials live in a TOML file beside it, `<db>.pollers.toml` by default
(`poll.credentials_file`), which must be readable by its owner only (mode 0600, like an SSH
key: a group- or world-readable file is refused), and/or in `HAWATCH_POLL_<PROFILE>_<KEY>`
variables (profile name upper-cased, `-` as `_`), which override the file key by key. The
inventory names a profile per pair (`poll_profile`); a profile only the environment
defines needs its `..._PROTOCOLS` variable.

    [profiles.branch-rest]
    protocols = ["rest"]            # rest, snmp, or both
    username = "hawatch-api"
    password = "..."
    ca_file = "/etc/hawatch/sonicwall-ca.pem"   # or pin each unit in the inventory

    [profiles.branch-snmp]
    protocols = ["snmp"]
    community = "..."               # SNMPv2c; for v3: snmp_version = "3", snmp_user,
                                    # auth_protocol/auth_key, priv_protocol/priv_key

`Profile.__repr__` hides every secret, so a profile printed by mistake shows none.
"""

from __future__ import annotations

import os
import stat
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from hawatch.store.errors import HawatchError

PROTOCOLS = ("rest", "snmp")
SECRET_KEYS = ("password", "community", "auth_key", "priv_key")
AUTH_PROTOCOLS = ("md5", "sha", "sha224", "sha256", "sha384", "sha512")
PRIV_PROTOCOLS = ("none", "des", "aes", "aes192", "aes256")


@dataclass(frozen=True)
class Profile:
    """One named set of credentials and how to reach units with it."""

    name: str
    protocols: tuple[str, ...]
    username: str = ""
    password: str = field(default="", repr=False)
    ca_file: str = ""
    tls_verify: bool = True  # False: the loud opt-out (logged at start, shown per poll)
    rest_port: int = 443
    snmp_port: int = 161
    snmp_version: str = "2c"
    community: str = field(default="", repr=False)
    snmp_user: str = ""
    auth_protocol: str = "sha"
    auth_key: str = field(default="", repr=False)
    priv_protocol: str = "aes"
    priv_key: str = field(default="", repr=False)

    def secrets(self) -> list[str]:
        return [v for v in (getattr(self, k) for k in SECRET_KEYS) if v]


_KEYS = {f.name: f for f in fields(Profile) if f.name != "name"}


def default_path(db: str) -> Path:
    return Path(db + ".pollers.toml")


def _read_file(path: Path) -> dict[str, dict[str, Any]]:
    """The file's profiles; a missing file is no profiles, an unsafe one is refused."""
    try:
        info = path.stat()
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise HawatchError(f"cannot read credentials {path}: {exc.strerror}") from None
    if info.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise HawatchError(
            f"credentials {path} is readable by others (mode "
            f"{stat.S_IMODE(info.st_mode):04o}): chmod 600 {path}"
        )
    try:
        doc = tomllib.loads(path.read_text("utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise HawatchError(f"cannot read credentials {path}: {exc}") from None
    except tomllib.TOMLDecodeError as exc:  # its message quotes no values
        raise HawatchError(f"credentials {path}: {exc}") from None
    profiles = doc.get("profiles", {})
    if not isinstance(profiles, dict) or set(doc) - {"profiles"}:
        raise HawatchError(f"credentials {path}: expected only [profiles.NAME] tables")
    return {str(k): v for k, v in profiles.items() if isinstance(v, dict)}


def _env_prefix(name: str) -> str:
    return "HAWATCH_POLL_" + name.upper().replace("-", "_").replace(".", "_") + "_"


def _coerce(name: str, key: str, value: Any) -> Any:
    kind: type = type(_KEYS[key].default)
    if key == "protocols":
        items = value.split(",") if isinstance(value, str) else value
        found = tuple(str(p).strip().lower() for p in items if str(p).strip())
        if not found or set(found) - set(PROTOCOLS):
            raise HawatchError(f"credential profile {name!r}: protocols must be rest, snmp or both")
        return found
    if kind is bool:
        return (
            value
            if isinstance(value, bool)
            else str(value).strip().lower() in ("1", "true", "yes", "on")
        )
    try:
        return kind(value)
    except (TypeError, ValueError):
        raise HawatchError(
            f"credential profile {name!r}: {key} must be a {kind.__name__}"
        ) from None  # the value may be a secret


def _check(profile: Profile) -> Profile:
    where = f"credential profile {profile.name!r}"
    if "rest" in profile.protocols and not (profile.username and profile.password):
        raise HawatchError(f"{where}: REST needs username and password")
    if "snmp" in profile.protocols:
        if profile.snmp_version not in ("2c", "3"):
            raise HawatchError(f"{where}: snmp_version must be 2c or 3")
        if profile.snmp_version == "2c" and not profile.community:
            raise HawatchError(f"{where}: SNMPv2c needs community")
        if profile.snmp_version == "3" and not (profile.snmp_user and profile.auth_key):
            raise HawatchError(f"{where}: SNMPv3 needs snmp_user and auth_key")
        if profile.auth_protocol not in AUTH_PROTOCOLS:
            raise HawatchError(f"{where}: auth_protocol one of {', '.join(AUTH_PROTOCOLS)}")
        if profile.priv_protocol not in PRIV_PROTOCOLS:
            raise HawatchError(f"{where}: priv_protocol one of {', '.join(PRIV_PROTOCOLS)}")
    return profile


def load_profiles(
    path: Path, names: set[str], env: dict[str, str] | None = None
) -> dict[str, Profile]:
    """The profiles in `path` plus any of `names` the environment defines; raises
    HawatchError (one line, never quoting a value) on an unsafe file or a bad profile."""
    environ = os.environ if env is None else env
    raw = _read_file(path)
    found: dict[str, Profile] = {}
    for name in sorted(set(raw) | names):
        values = dict(raw.get(name, {}))
        unknown = set(values) - set(_KEYS)
        if unknown:
            raise HawatchError(
                f"credential profile {name!r}: unknown key(s) {', '.join(sorted(unknown))}"
            )
        prefix = _env_prefix(name)
        for key in _KEYS:
            if prefix + key.upper() in environ:
                values[key] = environ[prefix + key.upper()]
        if not values:
            continue  # named in the inventory, defined nowhere: reported per unit
        if "protocols" not in values:
            raise HawatchError(f"credential profile {name!r}: needs protocols (rest, snmp)")
        coerced = {key: _coerce(name, key, value) for key, value in values.items()}
        found[name] = _check(Profile(name=name, **coerced))
    return found


def redact(text: str, secrets: list[str]) -> str:
    """`text` with every secret replaced: error texts are built from libraries' messages,
    which could quote what they were given."""
    for secret in sorted(secrets, key=len, reverse=True):
        if len(secret) >= 3:
            text = text.replace(secret, "***")
    return text
