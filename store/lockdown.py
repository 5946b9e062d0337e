"""Lock a DuckDB instance down: no file or network access, settings fixed, for good.

The third layer under analysts' SQL (store/readonly.py): `hawatch serve` locks its store's
instance before the SQL console runs on it, and `hawatch sql` locks the read-only connection
it opens. Apart from readonly.py because the Store (db.py) locks its instance too and
readonly.py opens connections through db.py.
"""

from __future__ import annotations

import duckdb


def lock_down(con: duckdb.DuckDBPyConnection, allowed_directories: list[str] | None = None) -> None:
    """Refuse file and network access for the whole instance, for good.

    Global to the database instance: every cursor of the process loses file access, so a
    serving process ingests through registered Arrow tables, and lists the spool folder in
    `allowed_directories` (set before the lock) for its own `read_csv`.
    """
    if allowed_directories:
        con.execute("SET allowed_directories = ?", [list(allowed_directories)])
    con.execute("SET enable_external_access = false")
    con.execute("SET lock_configuration = true")
