"""Rendered pages and API payloads kept until the data under them changes.

Rendering the fleet's 2,000 rows takes tens of milliseconds of pure Python, which holds the
GIL: ten NOC screens refreshing at once queue behind each other. The data changes only when
an ingest commits, an analysis run ends or an operator acts, so a fragment is cached under
a *data version* read from a few small tables in about a millisecond, and rebuilt once (by
one thread while the others wait for it) when that version moves.

The version (store/data_version.py) changes whenever an ingest commits, an analysis run
ends or an operator acts; a writer it does not see would leave a stale page until the next
one, and `MAX_AGE_SECONDS` bounds that.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

from hawatch.dashboard.app_state import app_state, get_cursor
from hawatch.store.data_version import data_version

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
            return value  # type: ignore[no-any-return]
        with self._lock:
            building = self._building.setdefault(key, threading.Lock())
        with building:
            found, value = self._fresh(key)  # another thread may have built it meanwhile
            if found:
                return value  # type: ignore[no-any-return]
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
CACHE_SIZES = {"fleet": 16, "pair": 64, "api": 16, "pair_api": 4, "pages": 32}


def new_caches(enabled: bool = True) -> dict[str, RenderCache]:
    """One cache per kind of page, so browsing many pairs cannot evict the fleet page."""
    return {name: RenderCache(size if enabled else 0) for name, size in CACHE_SIZES.items()}


def cached(kind: str, key: Hashable, build: Callable[[], T]) -> T:
    """`build()`'s value for `key` under the current data version, built once per version."""
    cache = app_state().caches[kind]
    if cache.max_entries <= 0:
        return build()
    return cache.get((key, request_version()), build)


def request_version() -> tuple[Any, ...]:
    """The data version, read once per request: a page built from two caches must not mix
    two versions, and the read is the one cost every cached request pays."""
    from flask import g

    if "data_version" not in g:
        g.data_version = data_version(get_cursor())
    version: tuple[Any, ...] = g.data_version
    return version
