"""How a poller trusts a unit's HTTPS certificate: never by default.

SonicWall units ship self-signed certificates (mjryan253/homeassistant-sonicwall README), so
the system's CAs do not help. A unit is trusted through, in this order: its pinned
certificate (`primary_tls_sha256` / `secondary_tls_sha256` in the inventory: the SHA-256 of
the certificate's DER bytes, checked after the handshake, before anything is sent), or the
profile's `ca_file` (the CA that signed the units' certificates, host name checked). With
neither, no credentials are sent: the poll fails with the fingerprint the unit presented,
so the operator can compare it with the unit's own certificate page and pin it.
`tls_verify = false` in a profile turns checking off; hawatch says so at start and on every
poll of such a unit.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import ssl

from hawatch.collector.inventory import PolledUnit
from hawatch.collector.pollers.credentials import Profile
from hawatch.collector.pollers.outcome import PollError

UNVERIFIED_NOTE = "TLS NOT VERIFIED (tls_verify = false)"


@functools.lru_cache(maxsize=64)
def ca_context(ca_file: str) -> ssl.SSLContext:
    """One context per CA file (loading it is the costly part of a handshake set-up)."""
    try:
        return ssl.create_default_context(cafile=ca_file)
    except (OSError, ssl.SSLError) as exc:
        raise PollError("tls", f"cannot use ca_file {ca_file}: {exc}") from None


@functools.lru_cache(maxsize=1)
def _no_check() -> ssl.SSLContext:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def trust(unit: PolledUnit, profile: Profile) -> tuple[ssl.SSLContext, str | None]:
    """The context to connect with and the pinned fingerprint (checked by the client);
    PollError(tls) when nothing would vouch for the unit."""
    if unit.tls_sha256:
        return _no_check(), unit.tls_sha256
    if profile.ca_file:
        return ca_context(profile.ca_file), None
    if not profile.tls_verify:
        return _no_check(), None
    raise PollError(
        "tls", "no way to trust it: pin its certificate (tls_sha256) or set the profile's ca_file"
    )


async def presented_fingerprint(host: str, port: int, timeout: float) -> str | None:
    """The SHA-256 of the certificate a unit presents (nothing is sent but the handshake)."""
    try:
        async with asyncio.timeout(timeout):
            _, writer = await asyncio.open_connection(host, port, ssl=_no_check())
    except (OSError, TimeoutError, ssl.SSLError):
        return None
    der = writer.get_extra_info("ssl_object").getpeercert(binary_form=True)
    writer.close()
    try:
        async with asyncio.timeout(1):
            await writer.wait_closed()
    except (OSError, TimeoutError, ssl.SSLError):
        pass
    return hashlib.sha256(der).hexdigest() if der else None
