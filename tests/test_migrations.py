"""The schema's migrations: one file per version, numbered without gaps or repeats (two
branches that each took the next number would otherwise both apply, in name order, and a
database that had one of them would silently skip the other)."""

from __future__ import annotations

from hawatch.store import Store
from hawatch.store.db import migrations


def test_versions_are_unique_and_consecutive():
    versions = [version for version, _name, _sql in migrations()]
    assert versions == list(range(1, len(versions) + 1)), versions


def test_a_new_store_has_every_migration(tmp_path):
    with Store(tmp_path / "h.duckdb") as store:
        applied = [
            v
            for (v,) in store.cursor()
            .execute("SELECT version FROM schema_migrations ORDER BY version")
            .fetchall()
        ]
    assert applied == [version for version, _name, _sql in migrations()]


def test_every_migration_since_005_can_be_undone_by_the_tests():
    """tests/conftest.py's UNDO_MIGRATION, which the upgrade tests use, knows every one."""
    from tests.conftest import UNDO_MIGRATION

    versions = [version for version, _name, _sql in migrations() if version >= 5]
    assert sorted(UNDO_MIGRATION) == versions
