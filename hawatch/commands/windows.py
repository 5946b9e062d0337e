"""`hawatch windows add|list|edit|remove`: failover-test and maintenance windows."""

from __future__ import annotations

import argparse

from hawatch.commands.common import Commands, add_by, add_common, load_settings
from hawatch.commands.via_server import operator_action, read_rows
from hawatch.output import render
from hawatch.store.kinds import WINDOW_KINDS


def register(commands: Commands) -> None:
    p = commands.add_parser(
        "windows",
        help="failover-test and maintenance windows",
        description="Declared windows: failovers inside a failover-test "
        "window get a verdict (did the sessions and VPN SAs survive?) "
        "instead of an unsynced-failover page, and alert e-mails for the "
        "pair are held during either kind. Windows also come from export "
        "files (formats.md) and the dashboard's incidents page.",
    )
    windows = p.add_subparsers(dest="windows_command", required=True, metavar="ACTION")
    a = windows.add_parser(
        "add",
        help="declare a window for a pair",
        description="Declare a failover-test or maintenance window; the "
        "pair's failovers in it are judged again at the next analysis. "
        "Goes through the running server when one holds the database.",
    )
    add_common(a)
    a.add_argument("pair", metavar="PAIR")
    a.add_argument("--start", required=True, help="start, ISO 8601 with zone")
    a.add_argument("--end", required=True, help="end, ISO 8601 with zone")
    a.add_argument(
        "--kind", choices=WINDOW_KINDS, default="failover_test", help="default: failover_test"
    )
    a.add_argument("--comment", default="", help="what is being tested or done")
    add_by(a)
    a.set_defaults(run=cmd_windows_add)
    a = windows.add_parser(
        "list",
        help="show declared windows",
        description="Declared windows, newest first: where they came from "
        "(cli: this command or the dashboard; file: an export) and the "
        "failover-test verdicts inside them.",
    )
    add_common(a, fmt=True)
    a.add_argument("--pair", help="only this pair")
    a.set_defaults(run=cmd_windows_list)
    a = windows.add_parser(
        "edit",
        help="give a window a new end",
        description="Move a window's end (its id: `hawatch windows list`);"
        " the pair's failovers from the window's start are judged again at"
        " the next analysis. Kept in the audit log (`hawatch audit`).",
    )
    add_common(a)
    a.add_argument("window", type=int, metavar="ID", help="window id")
    a.add_argument("--end", required=True, help="new end, ISO 8601 with zone")
    a.add_argument("--comment", default="", help="why")
    add_by(a)
    a.set_defaults(run=cmd_windows_edit)
    a = windows.add_parser(
        "remove",
        help="remove a window",
        description="Remove a window (its id: `hawatch windows list`): the "
        "pair's failovers in it are judged again at the next analysis, so "
        "the incidents it suppressed come back. Kept in the audit log "
        "(`hawatch audit`).",
    )
    add_common(a)
    a.add_argument("window", type=int, metavar="ID", help="window id")
    a.add_argument("--comment", default="", help="why")
    add_by(a)
    a.set_defaults(run=cmd_windows_remove)


def cmd_windows_add(args: argparse.Namespace) -> int:
    print(
        operator_action(
            args,
            {
                "action": "window",
                "pair": args.pair,
                "kind": args.kind,
                "start": args.start,
                "end": args.end,
                "comment": args.comment,
                "by": args.by,
            },
        )
    )
    return 0


def cmd_windows_edit(args: argparse.Namespace) -> int:
    print(
        operator_action(
            args,
            {
                "action": "window_edit",
                "window": args.window,
                "end": args.end,
                "comment": args.comment,
                "by": args.by,
            },
        )
    )
    return 0


def cmd_windows_remove(args: argparse.Namespace) -> int:
    print(
        operator_action(
            args,
            {
                "action": "window_remove",
                "window": args.window,
                "comment": args.comment,
                "by": args.by,
            },
        )
    )
    return 0


def cmd_windows_list(args: argparse.Namespace) -> int:
    from hawatch.analytics.window_list import WINDOW_COLUMNS, WINDOW_QUERY

    rows = read_rows(load_settings(args)["db"], WINDOW_QUERY, [args.pair])
    print(
        render(WINDOW_COLUMNS, rows, args.format)
        if rows or args.format != "table"
        else "no windows"
    )
    return 0
