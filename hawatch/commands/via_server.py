"""Commands that read or change a database a running server holds: DuckDB lets one process
open the file, so they ask that server (it leaves its address and a token readable by its
user beside the database) and open the file themselves only when no server answers."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from hawatch.commands.common import load_settings
from hawatch.store.errors import HawatchError


def server_call(
    db: str, path: str, payload: dict[str, Any], timeout: float
) -> dict[str, Any] | None:
    """POST to the server that holds `db`, if one does (it leaves its address and a token
    readable by its user beside the database); None when no server answers."""
    import urllib.error
    import urllib.request

    from hawatch.serve import server_file

    try:
        info = json.loads(server_file(db).read_text())
    except (OSError, ValueError):
        return None
    request = urllib.request.Request(
        info["url"] + path,
        method="POST",
        data=json.dumps(payload).encode(),
        headers={"Authorization": f"Bearer {info['token']}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return json.loads(response.read())
    except urllib.error.HTTPError as exc:
        try:
            raise HawatchError(json.loads(exc.read()).get("error", str(exc))) from None
        except ValueError:
            raise HawatchError(f"server answered {exc.code}") from None
    except (urllib.error.URLError, OSError):
        return None  # a stale file: the server is gone


def ask_server(
    db: str,
    query: str,
    timeout: float | None,
    max_rows: int | None,
    params: list[Any] | None = None,
) -> tuple[list[str], list[Any], bool] | None:
    """Run the query (`params` bound to its `?`s) on the server that holds `db`, if one
    does."""
    answer = server_call(
        db,
        "/api/v1/sql",
        {"query": query, "timeout": timeout, "max_rows": max_rows, "params": params or []},
        (timeout or 10) + 30,
    )
    if answer is None:
        return None
    return answer["columns"], answer["rows"], answer["truncated"]


def read_rows(db: str, query: str, params: list[Any]) -> list[tuple[Any, ...]]:
    """Rows of a read query, `params` bound to its `?`s: from the running server when one
    holds the database (DuckDB lets one process open it), else from the file."""
    from hawatch.store.db import Store

    remote = ask_server(db, query, None, None, params)
    if remote is not None:
        return list(remote[1])
    if not Path(db).exists():
        raise HawatchError(f"no database at {db}")
    with Store(db, read_only=True) as store:
        return store.cursor().execute(query, params).fetchall()


def operator_action(args: argparse.Namespace, payload: dict[str, Any]) -> str:
    """Through the running server when one holds the database, else on the file."""
    from datetime import UTC, datetime

    from hawatch.analytics.alerts.operator import apply_action
    from hawatch.store.db import Store

    settings = load_settings(args)
    answer = server_call(settings["db"], "/api/v1/operator", payload, 30)
    if answer is not None:
        return str(answer["done"])
    if not Path(settings["db"]).exists():
        raise HawatchError(f"no database at {settings['db']}")
    with Store(settings["db"]) as store:
        return apply_action(store, payload, datetime.now(UTC))
