"""The analysts' schema as the SQL console's browser shows it: the relations docs/schema.md
documents (its public contract) that the database has and the sandbox lets analysts read,
each with its columns, their types and the doc's one-line meaning.

What is queryable is decided in one place, the sandbox's check (store/sql_check.py): every
relation of the database except the private ones (PRIVATE_RELATIONS) and the catalog views it
refuses. The browser lists the documented ones among them; types come from the database
itself, so they are the types a query sees; descriptions come from the doc.

The doc travels with the package: a wheel carries it as hawatch/store/schema.md (setup.py
copies docs/schema.md there), a checkout reads docs/schema.md itself, so the browser and
the console's link to the doc work offline in both.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import duckdb
from hawatch.store.sql_check import PRIVATE_RELATIONS

CHECKOUT_DOC = Path(__file__).resolve().parent.parent / "docs" / "schema.md"
_HEADING = re.compile(r"^### (.+)$")
_COLUMN_ROW = re.compile(r"^\| `(\w+)` \| [^|]+ \| (.*) \|\s*$")
_VIEW_ITEM = re.compile(r"^- `(\w+) \([^)]*\)`: (.*)$")


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    meaning: str


@dataclass(frozen=True)
class Relation:
    name: str
    kind: str  # table | view
    meaning: str
    columns: tuple[Column, ...]


def schema_doc() -> str:
    """docs/schema.md's text: the packaged copy, or the checkout's file."""
    packaged = resources.files("hawatch.store").joinpath("schema.md")
    if packaged.is_file():
        return packaged.read_text("utf-8")
    return CHECKOUT_DOC.read_text("utf-8")


def _plain(text: str) -> str:
    return text.replace("`", "").strip()


def _first_sentence(text: str) -> str:
    return re.split(r"(?<=[.:])\s", _plain(text), maxsplit=1)[0].rstrip(".:")


@functools.lru_cache(maxsize=4)
def documented(doc: str) -> dict[str, tuple[str, dict[str, str]]]:
    """name -> (one-line meaning, column -> meaning) of every table and view the doc
    describes: the `### \\`name\\`: meaning` sections with their column tables, and the
    `- \\`name (columns)\\`: meaning` items under "## Views"."""
    found: dict[str, tuple[str, dict[str, str]]] = {}
    names: list[str] = []
    section = ""
    for line in re.sub(r"\n  +(?=\S)", " ", doc).splitlines():  # wrapped list items joined
        if line.startswith("## "):
            section, names = line[3:].strip(), []
        elif heading := _HEADING.match(line):
            title, _, meaning = heading.group(1).partition(": ")
            names = re.findall(r"`(\w+)`", title)
            for name in names:
                found[name] = (_plain(meaning), {})
        elif (row := _COLUMN_ROW.match(line)) and names:
            for name in names:
                found[name][1][row.group(1)] = _plain(row.group(2))
        elif section == "Views" and (item := _VIEW_ITEM.match(line)):
            found[item.group(1)] = (_first_sentence(item.group(2)), {})
    return found


def relations(cur: duckdb.DuckDBPyConnection) -> list[Relation]:
    """The documented relations analysts may query, tables first, each by name."""
    doc = documented(schema_doc())
    rows = cur.execute(
        "SELECT c.table_name, CASE WHEN v.view_name IS NULL THEN 'table' ELSE 'view' END,"
        " c.column_name, c.data_type FROM duckdb_columns() c"
        " LEFT JOIN duckdb_views() v ON v.view_name = c.table_name"
        "  AND v.schema_name = c.schema_name AND NOT v.internal"
        " WHERE c.schema_name = 'main' AND NOT c.internal"
        " ORDER BY 2, 1, c.column_index"
    ).fetchall()
    columns: dict[tuple[str, str], list[Column]] = {}
    for table, kind, column, data_type in rows:
        if table in doc and table.lower() not in PRIVATE_RELATIONS:
            meaning = doc[table][1].get(column, "")
            columns.setdefault((kind, table), []).append(Column(column, data_type, meaning))
    return [
        Relation(name, kind, doc[name][0], tuple(cols)) for (kind, name), cols in columns.items()
    ]
