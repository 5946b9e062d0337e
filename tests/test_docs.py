"""The documentation is part of the contract: it must list what the code has."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hawatch.store.kinds import EVENT_KINDS

from hawatch.docs import cli_markdown, configuration_markdown

DOCS = Path(__file__).resolve().parent.parent / "docs"


def test_cli_and_configuration_docs_are_generated_from_the_code():
    assert (DOCS / "cli.md").read_text() == cli_markdown(), "run: python3 -m hawatch.docs"
    assert (DOCS / "configuration.md").read_text() == configuration_markdown()


def _schema_sections() -> dict[str, str]:
    text = (DOCS / "schema.md").read_text()
    parts = re.split(r"^### ", text, flags=re.M)
    return {re.findall(r"`(\w+)`", p.splitlines()[0])[0]: p for p in parts[1:]
            if re.findall(r"`(\w+)`", p.splitlines()[0])}


def test_schema_doc_lists_every_table_and_column(store):
    sections = _schema_sections()
    columns = store.cursor().execute(
        "SELECT table_name, column_name FROM information_schema.columns"
        " JOIN information_schema.tables USING (table_name)"
        " WHERE table_type = 'BASE TABLE'").fetchall()
    missing = [(t, c) for t, c in columns
               if t not in ("event_kinds", "sonicos_messages", "schema_migrations")
               and f"| `{c}` |" not in sections.get(t, "")]
    assert missing == []
    text = (DOCS / "schema.md").read_text()
    views = [v for (v,) in store.cursor().execute(
        "SELECT view_name FROM duckdb_views() WHERE NOT internal").fetchall()]
    assert [v for v in views if f"`{v} (" not in text] == []


@pytest.mark.parametrize("kind", EVENT_KINDS, ids=lambda k: k.name)
def test_schema_doc_lists_every_event_kind(kind):
    assert f"| `{kind.name}` | {kind.category} | {kind.description} |" in (
        DOCS / "schema.md").read_text()
