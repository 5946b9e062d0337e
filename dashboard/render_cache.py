"""The render caches: small LRUs of built pages and payloads, with single flight.

Pure data structures, apart from the app: AppState holds them (dashboard/app_state.py) and
dashboard/cache.py keys them on the request's data version.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

T = TypeVar("T")

# a backstop for a writer the version does not see; the fleet page refreshes every 60 s
MAX_AGE_SECONDS = 30.0


class RenderCache:
    """A small LRU of built values keyed on (what, data version), with single flight.

    Single flight matters more than the hit rate: after a version change, ten clients asking
    for the same page must not render it ten times side by side under one GIL.
    `max_entries=0` turns caching off (every call builds), for measuring the cold path.
    """

    def __init__(self, max_entries: int, max_age: float = MAX_AGE_SECONDS) -> None:
        self.max_entries = max_entries
        self.max_age = max_age
        self._entries: OrderedDict[Hashable, tuple[float, Any]] = OrderedDict()
        self._lock = threading.Lock()
        self._building: dict[Hashable, threading.Lock] = {}
        self.hits = 0
        self.misses = 0

    def _fresh(self, key: Hashable) -> tuple[bool, Any]:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None or time.monotonic() - entry[0] > self.max_age:
                return False, None
            self._entries.move_to_end(key)
            self.hits += 1
            return True, entry[1]

    def get(self, key: Hashable, build: Callable[[], T]) -> T:
        """The cached value for `key` (which must include the data version), or `build()`'s."""
        if self.max_entries <= 0:
            return build()
        found, value = self._fresh(key)
        if found:
            return value
        with self._lock:
            building = self._building.setdefault(key, threading.Lock())
        with building:
            found, value = self._fresh(key)  # another thread may have built it meanwhile
            if found:
                return value
            value = build()
            with self._lock:
                self.misses += 1
                self._entries[key] = (time.monotonic(), value)
                self._entries.move_to_end(key)
                while len(self._entries) > self.max_entries:
                    self._entries.popitem(last=False)
                self._building.pop(key, None)
            return value


# "pages" holds whole pages ready to send (gzipped, with their ETag), one per filter and
# login: the rest hold the parts shared by every login
# "pair_api" is small: one pair's every sample over 90 days is megabytes of JSON
# "schema" holds the SQL console's schema browser, the same for everyone
CACHE_SIZES = {"fleet": 16, "pair": 64, "api": 16, "pair_api": 4, "pages": 32, "schema": 1}


def new_caches(enabled: bool = True) -> dict[str, RenderCache]:
    """One cache per kind of page, so browsing many pairs cannot evict the fleet page."""
    return {name: RenderCache(size if enabled else 0) for name, size in CACHE_SIZES.items()}
