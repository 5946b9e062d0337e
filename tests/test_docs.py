"""The documentation is part of the contract: it must list what the code has."""

from __future__ import annotations

import argparse
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from hawatch.store.kinds import EVENT_KINDS

from hawatch.cli import build_parser
from hawatch.docs import (
    SETTINGS_TYPE,
    cli_markdown,
    configuration_markdown,
    settings_type_module,
)

DOCS = Path(__file__).resolve().parent.parent / "docs"


def test_cli_and_configuration_docs_are_generated_from_the_code():
    assert (DOCS / "cli.md").read_text() == cli_markdown(), "run: python3 -m hawatch.docs"
    assert SETTINGS_TYPE.read_text() == settings_type_module(), "run: python3 -m hawatch.docs"
    assert (DOCS / "configuration.md").read_text() == configuration_markdown()


def _commands(
    parser: argparse.ArgumentParser, path: str = "hawatch"
) -> Iterator[tuple[str, argparse.ArgumentParser]]:
    """Every command and nested action (`hawatch alerts test`) with its parser."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield f"{path} {name}", sub
                yield from _commands(sub, f"{path} {name}")


def _section(text: str, title: str) -> str:
    """The part of cli.md under the heading `title`, up to the next heading."""
    match = re.search(rf"^#+ {re.escape(title)}\n(.*?)(?=^#|\Z)", text, flags=re.M | re.S)
    return match.group(1) if match else ""


def test_cli_doc_shows_every_command_action_and_option():
    """Nested actions (alerts test, users passwd, ...) get their own section with their
    options and arguments, not just their name in the parent's list."""
    text = (DOCS / "cli.md").read_text()
    missing = []
    for title, parser in _commands(build_parser()):
        section = _section(text, title)
        wanted = [
            max(a.option_strings, key=len) if a.option_strings else a.metavar or a.dest
            for a in parser._actions
            if a.dest != "help" and not isinstance(a, argparse._SubParsersAction)
        ]
        missing += [f"{title}: {w}" for w in wanted if not section or w not in section]
        if not section:
            missing.append(f"{title}: no section")
    assert missing == [], "run: python3 -m hawatch.docs"


def _schema_sections() -> dict[str, str]:
    text = (DOCS / "schema.md").read_text()
    parts = re.split(r"^### ", text, flags=re.M)
    return {
        re.findall(r"`(\w+)`", p.splitlines()[0])[0]: p
        for p in parts[1:]
        if re.findall(r"`(\w+)`", p.splitlines()[0])
    }


def test_schema_doc_lists_every_table_and_column(store):
    sections = _schema_sections()
    columns = (
        store.cursor()
        .execute(
            "SELECT table_name, column_name FROM information_schema.columns"
            " JOIN information_schema.tables USING (table_name)"
            " WHERE table_type = 'BASE TABLE'"
        )
        .fetchall()
    )
    missing = [
        (t, c)
        for t, c in columns
        if t not in ("event_kinds", "sonicos_messages", "schema_migrations")
        and f"| `{c}` |" not in sections.get(t, "")
    ]
    assert missing == []
    text = (DOCS / "schema.md").read_text()
    views = [
        v
        for (v,) in store.cursor()
        .execute("SELECT view_name FROM duckdb_views() WHERE NOT internal")
        .fetchall()
    ]
    assert [v for v in views if f"`{v} (" not in text] == []


@pytest.mark.parametrize("kind", EVENT_KINDS, ids=lambda k: k.name)
def test_schema_doc_lists_every_event_kind(kind):
    assert (
        f"| `{kind.name}` | {kind.category} | {kind.description} |"
        in (DOCS / "schema.md").read_text()
    )
