"""`hawatch audit`: operators' actions, newest first (the audit_log table)."""

from __future__ import annotations

import argparse

from hawatch.commands.common import Commands, add_common, load_settings
from hawatch.commands.via_server import read_rows
from hawatch.output import render


def register(commands: Commands) -> None:
    p = commands.add_parser(
        "audit",
        help="show operators' actions, newest first",
        description="Every acknowledgement, silence and window, and each "
        "edit or removal of a silence or window, from the dashboard and the"
        " command line: who, what, when, on what, and their comment.",
    )
    add_common(p, fmt=True)
    p.add_argument("--pair", help="only this pair")
    p.add_argument("--limit", type=int, default=100, help="rows shown (default: 100)")
    p.set_defaults(run=cmd_audit)


def cmd_audit(args: argparse.Namespace) -> int:
    from hawatch.analytics.alerts.audit import AUDIT_COLUMNS, AUDIT_QUERY

    rows = read_rows(load_settings(args)["db"], AUDIT_QUERY, [args.pair, args.limit])
    print(
        render(AUDIT_COLUMNS, rows, args.format)
        if rows or args.format != "table"
        else "no operator actions yet"
    )
    return 0
