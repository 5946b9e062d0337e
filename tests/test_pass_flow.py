"""The analysis pass's declared data flow (analytics/stages.py) against a real pass.

A pass runs on a real DuckDB file holding the sample logs. Around each stage, every temp
table not declared as that stage's input is renamed out of its sight, so a stage that reads
an undeclared table fails with DuckDB's own "does not exist"; afterwards the tables it
created and the rows it added are compared with the declaration, column by column.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pytest
from hawatch.analytics.analyze import analyze
from hawatch.analytics.stages import STAGES, TABLES, Stage, pass_map, reads, writes
from hawatch.collector.ingest import ingest_paths
from hawatch.store import Store

from hawatch import analytics

ROOT = Path(__file__).resolve().parent.parent
HIDDEN = "hidden_from_stage__"
STAGE_NAMES = [stage.name for stage in STAGES]


@pytest.fixture(scope="module")
def sample_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    with Store(tmp_path_factory.mktemp("flow") / "hawatch.duckdb") as store:
        assert not ingest_paths(store, [str(ROOT / "sample_logs")]).failed
        yield store


@dataclass(frozen=True)
class Seen:
    oid: int
    rows: int


def temp_tables(cur: duckdb.DuckDBPyConnection) -> dict[str, Seen]:
    found = cur.execute(
        "SELECT table_name, table_oid FROM duckdb_tables() WHERE database_name = 'temp'"
    ).fetchall()
    return {
        name: Seen(oid, cur.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0])
        for name, oid in found
        if not name.startswith(HIDDEN)
    }


def columns_of(
    cur: duckdb.DuckDBPyConnection, name: str, database: str = "temp"
) -> list[tuple[str, str]]:
    return cur.execute(
        "SELECT column_name, data_type FROM duckdb_columns()"
        " WHERE database_name = ? AND table_name = ? ORDER BY column_index",
        [database, name],
    ).fetchall()


def declared_columns(name: str) -> list[tuple[str, str]]:
    """The declaration's columns as DuckDB spells their types (TIMESTAMPTZ and friends)."""
    con = duckdb.connect()
    con.execute(f"CREATE TABLE {name} ({TABLES[name].columns})")
    return columns_of(con, name, "memory")


class StageChecker:
    """A `watch` for analyze(): each stage sees only its declared inputs, and must create
    exactly its declared tables with their declared columns."""

    def __init__(self) -> None:
        self.ran: list[str] = []

    def __call__(
        self, stage: Stage, cur: duckdb.DuckDBPyConnection, run: Callable[[], object]
    ) -> None:
        before = temp_tables(cur)
        hidden = [name for name in before if name not in reads(stage.name)]
        for name in hidden:
            cur.execute(f"ALTER TABLE {name} RENAME TO {HIDDEN}{name}")
        try:
            run()
        except duckdb.CatalogException as exc:
            raise AssertionError(
                f"stage {stage.name} reads a temp table not declared as its"
                f" input (analytics/stages.py): {exc}"
            ) from None
        after = temp_tables(cur)
        for name in hidden:
            assert name not in after, (
                f"stage {stage.name} replaced {name}, made by {TABLES[name].producer}"
            )
            cur.execute(f"ALTER TABLE {HIDDEN}{name} RENAME TO {name}")
        created = {n for n in after if n not in before or after[n].oid != before[n].oid}
        assert created == set(writes(stage.name)), stage.name
        for name in created:
            assert columns_of(cur, name) == declared_columns(name), (stage.name, name)
        added = {
            n for n in after if n in before and n not in created and after[n].rows != before[n].rows
        }
        assert added <= {n for n in reads(stage.name) if stage.name in TABLES[n].added_by}, (
            stage.name,
            added,
        )
        self.ran.append(stage.name)


@pytest.mark.parametrize("mode", ["full", "since"])
def test_a_real_pass_creates_and_reads_only_what_is_declared(sample_store, mode):
    checker = StageChecker()
    since = datetime(2026, 11, 2, tzinfo=UTC) if mode == "since" else None
    report = analyze(sample_store, full=mode == "full", since=since, watch=checker)
    assert report.pairs == 8 and checker.ran == STAGE_NAMES
    if mode == "full":
        assert report.reconciled.opened > 0


def test_a_pass_with_nothing_in_scope_only_judges_freshness(sample_store):
    """Silence brings no new data: freshness is judged (and reconciled) every pass."""
    analyze(sample_store, full=True)
    checker = StageChecker()
    report = analyze(sample_store, watch=checker)  # incremental, nothing new
    assert report.pairs == 0
    assert (
        checker.ran
        == [s.name for s in STAGES if s.every_pass]
        == ["scope", "candidates", "freshness", "reconcile"]
    )


def test_every_declared_table_is_made_by_a_stage_before_its_readers():
    order = {name: number for number, name in enumerate(STAGE_NAMES)}
    assert len(order) == len(STAGES)
    for name, table in TABLES.items():
        assert table.producer in order, name
        for user in (*table.readers, *table.added_by):
            assert order[user] > order[table.producer], (name, user)
        declared_columns(name)  # the declaration is valid DuckDB


def test_no_temp_table_shadows_a_stored_table(sample_store):
    stored = {
        name
        for (name,) in sample_store.cursor()
        .execute(
            "SELECT table_name FROM duckdb_tables() WHERE database_name <> 'temp'"
            " UNION ALL SELECT view_name FROM duckdb_views() WHERE NOT internal"
        )
        .fetchall()
    }
    assert stored and not stored & set(TABLES)


def test_the_map_in_the_package_docstring_is_the_declaration():
    assert analytics.__doc__ is not None
    assert pass_map() in analytics.__doc__, (
        "analytics/__init__.py's map is out of date: paste in the output of "
        "python -c 'from hawatch.analytics.stages import pass_map; print(pass_map())'"
    )
