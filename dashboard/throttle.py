"""Password guessing, slowed per account and per address instead of per request.

A fixed sleep after every failed login held one of the server's eight threads per failure, so
a guesser slowed every user's pages, and a patient guesser was not slowed at all. Here a
failure is only remembered: after `max_failures` failures within `window` seconds, an
account (or an address) is refused at once, with the wait in the answer, for 1 s, then 2,
4, ... doubling with each further failure up to the window itself. Failures older than the
window are forgotten; a successful login clears its account's record.

Accounts and addresses are counted apart: a guesser spreading over many accounts from one
address is stopped by the address, a botnet on one account by the account. An address may
fail `ADDRESS_FACTOR` times as often as an account, since one address can be a whole NOC
behind NAT or a reverse proxy, where a typo-prone colleague must not lock everyone out
after five mistakes. The price is
that a guesser can lock a known account for up to one window; the NOC can still log in with
another account, and `hawatch users passwd` does not need the dashboard.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

ADDRESS_FACTOR = 4
MAX_KEYS = 10_000  # beyond this, keys with no recent failure are dropped first


@dataclass
class _Record:
    failures: deque[float] = field(default_factory=deque)
    blocked_until: float = 0.0


class LoginThrottle:
    """Who may try a password now, and counters of failures and refusals for /metrics."""

    def __init__(
        self, max_failures: int, window: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.max_failures = max(1, max_failures)
        self.window = window
        self.clock = clock
        self.failed = 0
        self.refused = 0
        self._records: dict[tuple[str, str], _Record] = {}
        self._lock = threading.Lock()

    @staticmethod
    def keys(account: str, address: str | None) -> list[tuple[str, str]]:
        return [("account", account.strip().lower()), ("address", address or "unknown")]

    def wait(self, account: str, address: str | None) -> float:
        """Seconds until this account and address may try again (0: now); a refusal counts."""
        now = self.clock()
        with self._lock:
            waits = [
                record.blocked_until - now
                for key in self.keys(account, address)
                if (record := self._records.get(key)) is not None
            ]
            wait = max([0.0, *waits])
            self.refused += wait > 0
            return wait

    def failure(self, account: str, address: str | None) -> None:
        now = self.clock()
        with self._lock:
            self.failed += 1
            if len(self._records) >= MAX_KEYS:
                self._forget(now)
            for key in self.keys(account, address):
                record = self._records.setdefault(key, _Record())
                record.failures.append(now)
                while record.failures and record.failures[0] <= now - self.window:
                    record.failures.popleft()
                allowed = self.max_failures * (ADDRESS_FACTOR if key[0] == "address" else 1)
                over = len(record.failures) - allowed
                if over >= 0:
                    record.blocked_until = now + min(self.window, 2.0**over)

    def success(self, account: str) -> None:
        with self._lock:
            self._records.pop(self.keys(account, None)[0], None)

    def _forget(self, now: float) -> None:
        """Drop keys with no failure in the window; if that is not enough (a flood from many
        addresses), the half whose last failure is oldest."""
        stale = [
            key
            for key, record in self._records.items()
            if not record.failures or record.failures[-1] <= now - self.window
        ]
        if len(stale) < MAX_KEYS // 10:
            by_age = sorted(
                self._records,
                key=lambda k: self._records[k].failures[-1] if self._records[k].failures else 0.0,
            )
            stale = by_age[: len(by_age) // 2]
        for key in stale:
            del self._records[key]
