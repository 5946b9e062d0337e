"""A farm of simulated units: each answers polls over HTTPS (SonicOS API) and SNMP on its own
`127.0.0.1:PORT` (the same number for TCP and UDP), all in one asyncio loop in a thread.

The units follow the scenario plans of a simulated fleet through a `ScenarioClock`, so what
they answer agrees with the syslog and exports the simulator writes for the same seed. A
unit can be switched into a failure mode while running: `silent` (accepts, never answers:
the poller times out), `refused` (nothing listens: connection refused), `bad_cert` (a
certificate from another CA: TLS verification fails); wrong credentials are the poller's
side (a credentials file with another password). `write_inventory` and `write_credentials`
give hawatch what it needs to poll the farm.
"""

from __future__ import annotations

import asyncio
import csv
import hashlib
import os
import resource
import secrets
import socket
import ssl
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import trustme
from hawatch.simulator.devices import snmp_agent
from hawatch.simulator.devices.https_server import UnitHttps
from hawatch.simulator.devices.sonicos_api import ApiState
from hawatch.simulator.devices.timeline import ScenarioClock, UnitReport, report
from hawatch.simulator.fleet import ROLES
from hawatch.simulator.scenarios import Plan

MODES = ("ok", "silent", "refused", "bad_cert")


@dataclass(frozen=True)
class FarmSecrets:
    """What the units accept: one API account, one v2c community, one v3 user for all."""

    username: str = "hawatch-api"
    password: str = field(default_factory=lambda: "pw-" + secrets.token_urlsafe(12))
    community: str = field(default_factory=lambda: "c-" + secrets.token_urlsafe(10))
    v3_user: str = "hawatch"
    v3_auth_key: str = field(default_factory=lambda: "ak-" + secrets.token_urlsafe(10))
    v3_priv_key: str = field(default_factory=lambda: "pk-" + secrets.token_urlsafe(10))


class SimDevice:
    """One simulated unit: its plan and role, its failure mode, its listeners."""

    def __init__(
        self,
        plan: Plan,
        role: str,
        clock: ScenarioClock,
        farm_secrets: FarmSecrets,
        latency: float,
        v3: bool,
    ) -> None:
        self.plan, self.role, self.clock = plan, role, clock
        self.serial = plan.pair.serial(role)
        self.mode, self.latency, self.v3 = "ok", latency, v3
        self.api = ApiState(farm_secrets.username, farm_secrets.password)
        self.https = UnitHttps(self.api, self.report, lambda: self.latency)
        self.v2c = snmp_agent.V2cAgent(farm_secrets.community, self.report, lambda: self.latency)
        self.port = 0
        self._udp: Any = None  # the v2c transport or the v3 engine

    def report(self) -> UnitReport | None:
        """What the unit answers now; None while it is silent."""
        if self.mode == "silent":
            return None
        return report(self.plan, self.role, self.clock.now())


def _raise_file_limit(needed: int) -> None:
    """Two sockets per unit: thousands of units need more than the usual 1,024 files."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < needed:
        target = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))


def fingerprint(pem: bytes) -> str:
    """SHA-256 of a certificate's DER bytes, hex: what `*_tls_sha256` pins."""
    return hashlib.sha256(ssl.PEM_cert_to_DER_cert(pem.decode())).hexdigest()


class DeviceFarm:
    def __init__(
        self,
        plans: Iterable[Plan],
        clock: ScenarioClock,
        latency: float = 0.0,
        farm_secrets: FarmSecrets | None = None,
        v3_serials: Iterable[str] = (),
        snmp: bool = True,
    ) -> None:
        self.clock, self.secrets, self.snmp = clock, farm_secrets or FarmSecrets(), snmp
        v3 = set(v3_serials)
        self.plans = list(plans)
        self.devices = {
            plan.pair.serial(role): SimDevice(
                plan, role, clock, self.secrets, latency, plan.pair.serial(role) in v3
            )
            for plan in self.plans
            for role in ROLES
        }
        self.ca = trustme.CA()
        cert = self.ca.issue_cert("127.0.0.1", "localhost")
        self.cert_pem = cert.cert_chain_pems[0].bytes()
        self.contexts = {
            "ok": self._context(cert),
            "bad_cert": self._context(trustme.CA().issue_cert("127.0.0.1", "localhost")),
        }
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self.loop.run_forever, name="device-farm", daemon=True
        )

    @staticmethod
    def _context(cert: trustme.LeafCert) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        cert.configure_cert(context)
        return context

    # -- running ---------------------------------------------------------------------------
    def start(self) -> DeviceFarm:
        _raise_file_limit(2 * len(self.devices) + 1024)
        self._thread.start()
        self._run(self._start_all())
        return self

    def _run(self, coroutine: Any, timeout: float = 300) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    async def _start_all(self) -> None:
        for device in self.devices.values():
            await self._listen(device)

    async def _listen(self, device: SimDevice) -> None:
        """TCP and UDP on one port number (the first one free for both)."""
        for _ in range(50):
            udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            udp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            udp.bind(("127.0.0.1", device.port))
            port = udp.getsockname()[1]
            try:
                await device.https.start(
                    port, self.contexts["bad_cert" if device.mode == "bad_cert" else "ok"]
                )
            except OSError:
                udp.close()
                if device.port:
                    raise
                continue
            device.port = port
            if not self.snmp:
                udp.close()
            elif device.v3:
                device._udp = snmp_agent.start_v3(
                    udp,
                    self.secrets.v3_user,
                    self.secrets.v3_auth_key,
                    self.secrets.v3_priv_key,
                    device.report,
                )
            else:
                device._udp = await snmp_agent.start_v2c(udp, device.v2c)
            return
        raise OSError("no free port for both TCP and UDP")

    async def _close(self, device: SimDevice) -> None:
        await device.https.stop()
        if device._udp is not None:
            if device.v3:
                device._udp.close_dispatcher()
            else:
                device._udp.close()
            device._udp = None

    def set_mode(self, serial: str, mode: str) -> None:
        """Switch a unit into a failure mode (or back to `ok`) while the farm runs."""
        if mode not in MODES:
            raise ValueError(f"mode {mode!r} is not one of {', '.join(MODES)}")
        device = self.devices[serial]

        async def change() -> None:
            await self._close(device)
            device.mode = mode
            if mode != "refused":
                await self._listen(device)

        self._run(change())

    def stop(self) -> None:
        async def close_all() -> None:
            for device in self.devices.values():
                await self._close(device)
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in tasks:  # connections in progress (a silent unit holds them)
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        if self._thread.is_alive():
            self._run(close_all())
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(10)
        if not self._thread.is_alive() and not self.loop.is_closed():
            self.loop.close()

    def __enter__(self) -> DeviceFarm:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- what hawatch needs --------------------------------------------------------------
    def address(self, serial: str) -> str:
        return f"127.0.0.1:{self.devices[serial].port}"

    def write_ca(self, path: Path) -> Path:
        self.ca.cert_pem.write_to_path(str(path))
        return path

    def write_inventory(
        self, path: Path, profile: Callable[[Plan], str | None], pin: bool = False
    ) -> Path:
        """An inventory CSV with each unit's address and its pair's credential profile
        (`profile(plan)`, None: not polled); `pin`: each unit's certificate fingerprint."""
        with path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle, lineterminator="\n")
            writer.writerow(
                [
                    "pair",
                    "site",
                    "primary_serial",
                    "secondary_serial",
                    "timezone",
                    "ha_mode",
                    "preempt",
                    "primary_address",
                    "secondary_address",
                    "poll_profile",
                    "primary_tls_sha256",
                    "secondary_tls_sha256",
                ]
            )
            pinned = fingerprint(self.cert_pem) if pin else ""
            for plan in self.plans:
                pair, name = plan.pair, profile(plan)
                writer.writerow(
                    [
                        pair.name,
                        pair.site.name,
                        pair.primary,
                        pair.secondary,
                        pair.site.timezone,
                        "active_standby",
                        str(pair.preempt).lower(),
                        self.address(pair.primary) if name else "",
                        self.address(pair.secondary) if name else "",
                        name or "",
                        pinned,
                        pinned,
                    ]
                )
        return path

    def credentials_toml(self, ca_file: Path | None, password: str | None = None) -> str:
        """Profiles for the farm: `sim-rest`, `sim-snmp` (v2c), `sim-snmp3`, `sim-both`."""
        s = self.secrets
        tls = f'ca_file = "{ca_file}"\n' if ca_file else ""
        return (
            f'[profiles.sim-rest]\nprotocols = ["rest"]\nusername = "{s.username}"\n'
            f'password = "{password or s.password}"\n{tls}\n'
            f'[profiles.sim-snmp]\nprotocols = ["snmp"]\ncommunity = "{s.community}"\n\n'
            f'[profiles.sim-snmp3]\nprotocols = ["snmp"]\nsnmp_version = "3"\n'
            f'snmp_user = "{s.v3_user}"\nauth_protocol = "sha"\n'
            f'auth_key = "{s.v3_auth_key}"\npriv_protocol = "aes"\n'
            f'priv_key = "{s.v3_priv_key}"\n\n'
            f'[profiles.sim-both]\nprotocols = ["rest", "snmp"]\n'
            f'username = "{s.username}"\npassword = "{password or s.password}"\n'
            f'community = "{s.community}"\n{tls}'
        )

    def write_credentials(
        self, path: Path, ca_file: Path | None, password: str | None = None
    ) -> Path:
        """The credentials file hawatch reads (mode 0600, as it insists)."""
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(self.credentials_toml(ca_file, password))
        return path
