"""Fixtures compose: a real DuckDB file in tmp_path -> a Store -> helpers that ingest."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from store import Store


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store(tmp_path / "hawatch.duckdb") as opened:
        yield opened


def rows(store: Store, sql: str, params: list[object] | None = None) -> list[tuple]:
    """All rows of a query (tests read the store with plain SQL, as analysts do)."""
    return store.cursor().execute(sql, params).fetchall()


def scalar(store: Store, sql: str, params: list[object] | None = None) -> object:
    return rows(store, sql, params)[0][0]
