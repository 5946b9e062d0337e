"""Rendered pages and API payloads kept until the data under them changes.

Rendering the fleet's 2,000 rows takes tens of milliseconds of pure Python, which holds the
GIL: ten NOC screens refreshing at once queue behind each other. The data changes only when
an ingest commits, an analysis run ends or an operator acts, so a fragment is cached under
a *data version* read from a few small tables in about a millisecond, and rebuilt once (by
one thread while the others wait for it) when that version moves.

The version (store/data_version.py) changes whenever an ingest commits, an analysis run
ends or an operator acts; a writer it does not see would leave a stale page until the next
one, and `MAX_AGE_SECONDS` bounds that. The caches themselves are dashboard/render_cache.py
(they need nothing of the app); this module keys them on the request's data version.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any, TypeVar

from hawatch.dashboard.app_state import app_state, get_cursor
from hawatch.store.data_version import data_version

T = TypeVar("T")


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
