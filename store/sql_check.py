"""What an analyst's statement may contain, decided on DuckDB's own parse tree.

The statement type alone is not enough: DuckDB calls `WITH x AS (DELETE FROM incidents
RETURNING *) SELECT * FROM x` a SELECT, and the same holds for INSERT, UPDATE and even
`COPY ... TO` in a CTE, in a subquery or in one arm of a UNION. So the check walks the whole
tree `json_serialize_sql` gives and refuses, anywhere in it:

- a query node other than SELECT, set operation (UNION...) or CTE: every data-modifying or
  file-writing node (DELETE_QUERY_NODE, INSERT_QUERY_NODE, UPDATE_QUERY_NODE,
  COPY_QUERY_NODE, and whatever DuckDB adds next);
- a table function off the allow-list (with file access off, DuckDB still lets read_blob()
  read the instance's own database file, and query() would hide a statement from this check);
- a scalar function that changes or reveals server state: sequences (nextval, setval,
  currval), settings (current_setting: temp_directory and secret_directory are server
  paths), variables, the DuckDB log;
- a private table of the schema (PRIVATE_RELATIONS: each user's console history), whatever
  its case, schema or catalog prefix;
- a relation named like a file ('x.csv', '/path/db.duckdb': DuckDB reads those through a
  replacement scan, and the database's own files are on its allow-list), and the catalog
  views that show paths or settings (duckdb_databases, pragma_database_list, pg_settings).

A tree DuckDB cannot serialise is refused too: the check fails closed. It is the first of
two layers; store/readonly.py runs what passes in a read-only transaction that is always
rolled back, so whatever this misses still cannot write.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import duckdb
from hawatch.store.errors import InvalidQuery
from hawatch.store.execute import one_row
from hawatch.store.query_errors import analyst_error

ALLOWED = {duckdb.StatementType.SELECT}
QUERY_NODES = frozenset({"SELECT_NODE", "SET_OPERATION_NODE", "RECURSIVE_CTE_NODE", "CTE_NODE"})

# Table functions a query may call (an allow-list: DuckDB has hundreds).
TABLE_FUNCTIONS = frozenset(
    {
        "range",
        "generate_series",
        "unnest",
        "json_each",
        "json_tree",
        "duckdb_tables",
        "duckdb_views",
        "duckdb_columns",
        "duckdb_functions",
        "duckdb_types",
        "duckdb_schemas",
        "duckdb_constraints",
        "duckdb_keywords",
        "pragma_table_info",
        "summary",
    }
)

# Scalar functions that change state or reveal the server's settings and paths.
REFUSED_FUNCTIONS = frozenset(
    {
        "nextval",
        "setval",
        "currval",
        "current_setting",
        "getvariable",
        "write_log",
    }
)

# Catalog views by prefix: duckdb_* and pragma_* views include duckdb_databases and
# pragma_database_list (the database file's path); these few show only the schema.
CATALOG_VIEWS = frozenset(
    {
        "duckdb_tables",
        "duckdb_views",
        "duckdb_columns",
        "duckdb_constraints",
        "duckdb_schemas",
        "duckdb_types",
        "duckdb_indexes",
    }
)
REFUSED_RELATIONS = frozenset({"pg_settings", "pg_prepared_statements"})
# Tables of the schema that analysts' SQL never reads: each user's console history
# (store/sql_history.py) holds other users' queries.
PRIVATE_RELATIONS = frozenset({"sql_history"})
_FILE_NAME_CHARACTERS = frozenset("./\\:")


def first_line(exc: BaseException) -> str:
    """DuckDB errors span several lines (hints, carets); users get the first."""
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def check_statement(query: str) -> str:
    """The single SELECT in `query`, or InvalidQuery saying why not."""
    try:
        statements = duckdb.extract_statements(query)
    except duckdb.Error as exc:
        raise analyst_error(exc, query) from None
    if len(statements) != 1:
        raise InvalidQuery(f"send exactly one statement (got {len(statements)})")
    statement = statements[0]
    if statement.type not in ALLOWED:
        kind = statement.type.name
        raise InvalidQuery(f"only SELECT queries are allowed here (this is {kind})")
    for node in _nodes(_parse_tree(statement.query)):
        refusal = _refusal(node)
        if refusal:
            raise InvalidQuery(refusal)
    return statement.query


def _parse_tree(sql: str) -> Any:
    """DuckDB's parse tree of one SELECT, or InvalidQuery when it cannot give one."""
    with duckdb.connect() as parser:
        try:
            (text,) = one_row(parser, "SELECT json_serialize_sql(?)", [sql])
        except duckdb.Error as exc:
            raise InvalidQuery(first_line(exc)) from None
    tree = json.loads(text)
    if tree.get("error"):
        message = str(tree.get("error_message") or "cannot be checked")
        raise InvalidQuery(f"this query cannot be checked: {message.splitlines()[0]}")
    return tree


def _nodes(tree: Any) -> Iterator[dict[str, Any]]:
    """Every object in the tree, depth first."""
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            yield node
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)


def _refusal(node: dict[str, Any]) -> str | None:
    """Why this node of the tree is not allowed, or None."""
    kind = node.get("type")
    if (
        isinstance(kind, str)
        and ("cte_map" in node or kind.endswith("_QUERY_NODE"))
        and kind not in QUERY_NODES
    ):
        verb = kind.removesuffix("_QUERY_NODE").removesuffix("_NODE")
        return f"only SELECT queries are allowed here (this one has a {verb} inside)"
    if kind == "TABLE_FUNCTION":
        name = str(node.get("function", {}).get("function_name", "")).lower()
        if name not in TABLE_FUNCTIONS:
            return f"table function {name}() is not allowed here"
    elif kind == "BASE_TABLE":
        return _relation_refusal(str(node.get("table_name", "")))
    elif node.get("class") == "FUNCTION":
        name = str(node.get("function_name", "")).lower()
        if name in REFUSED_FUNCTIONS:
            return f"function {name}() is not allowed here"
    return None


def _relation_refusal(name: str) -> str | None:
    lowered = name.lower()
    if lowered in PRIVATE_RELATIONS:
        return f"{name} is private: each user sees their own queries in the SQL console's history"
    if _FILE_NAME_CHARACTERS & set(name):
        return "reading files is not allowed here (a table name has no dot or slash)"
    if (
        lowered in REFUSED_RELATIONS
        or lowered.startswith("pragma_")
        or (lowered.startswith("duckdb_") and lowered not in CATALOG_VIEWS)
    ):
        return f"{name} is not available here"
    return None
