"""`hawatch sql`: one read-only SELECT, through the running server or on the file."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from hawatch.commands.common import Commands, add_common, load_settings
from hawatch.commands.via_server import ask_server
from hawatch.output import render
from hawatch.store.errors import HawatchError


def register(commands: Commands) -> None:
    p = commands.add_parser(
        "sql",
        help="run a read-only SQL query against the store",
        description="Run one read-only SELECT against the documented "
        "schema (docs/schema.md). File access, writes and settings are "
        "refused; the query is stopped at a time limit and capped at a row"
        " limit.",
    )
    add_common(p, fmt=True)
    p.add_argument("--timeout", type=float, help="seconds (setting: sql.timeout_seconds)")
    p.add_argument("--max-rows", type=int, help="row cap (setting: sql.max_rows)")
    p.add_argument("query", metavar="QUERY", help="one SELECT statement, or - for stdin")
    p.set_defaults(run=cmd_sql)


def cmd_sql(args: argparse.Namespace) -> int:
    from hawatch.store.readonly import Limits, open_for_analysts, run_query

    settings = load_settings(args)
    query = sys.stdin.read() if args.query == "-" else args.query
    path = settings["db"]
    remote = ask_server(path, query, args.timeout, args.max_rows)
    if remote is not None:
        columns, rows, truncated = remote
        print(render(columns, rows, args.format))
        if truncated:
            print(
                f"hawatch: output truncated at {len(rows)} rows (--max-rows, or the"
                " size cap sql.max_result_megabytes)",
                file=sys.stderr,
            )
        return 0
    if not Path(path).exists():
        raise HawatchError(f"no database at {path} (run `hawatch ingest --db {path} ...` first)")
    con = open_for_analysts(path)
    try:
        result = run_query(con, query, Limits.from_settings(settings, args.timeout, args.max_rows))
    finally:
        con.close()
    print(render(result.columns, result.rows, args.format))
    if result.truncated:
        cap = "the size cap sql.max_result_megabytes" if result.cut_by == "bytes" else "--max-rows"
        print(f"hawatch: output truncated at {len(result.rows)} rows ({cap})", file=sys.stderr)
    return 0
