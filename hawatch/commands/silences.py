"""`hawatch silences list|edit|remove`: the silences `hawatch alerts silence` and the
dashboard add (through the running server when one holds the database)."""

from __future__ import annotations

import argparse

from hawatch.commands.common import Commands, add_by, add_common, load_settings
from hawatch.commands.via_server import operator_action, read_rows
from hawatch.output import render


def register(commands: Commands) -> None:
    p = commands.add_parser(
        "silences",
        help="list, edit and remove silences",
        description="Silences mute a pair's alert e-mails until a time "
        "(`hawatch alerts silence` or the dashboard's incidents page adds "
        "them). Every change is kept in the audit log (`hawatch audit`).",
    )
    silences = p.add_subparsers(dest="silences_command", required=True, metavar="ACTION")
    a = silences.add_parser(
        "list",
        help="show silences in force or to come",
        description="Silences in force now or later, latest end first, "
        "with the id that `edit` and `remove` take.",
    )
    add_common(a, fmt=True)
    a.add_argument("--pair", help="only this pair")
    a.add_argument("--all", action="store_true", help="ended silences too")
    a.set_defaults(run=cmd_silences_list)
    a = silences.add_parser(
        "edit",
        help="give a silence a new end",
        description="Move a silence's end, earlier or later.",
    )
    add_common(a)
    a.add_argument("silence", type=int, metavar="ID", help="silence id")
    a.add_argument("--until", required=True, help="new end, ISO 8601 with zone")
    a.add_argument("--comment", default="", help="why")
    add_by(a)
    a.set_defaults(run=cmd_silences_edit)
    a = silences.add_parser(
        "remove",
        help="remove a silence: the pair's alerts go out again",
        description="Remove a silence: the pair's alert e-mails go out "
        "again from the next alert cycle.",
    )
    add_common(a)
    a.add_argument("silence", type=int, metavar="ID", help="silence id")
    a.add_argument("--comment", default="", help="why")
    add_by(a)
    a.set_defaults(run=cmd_silences_remove)


def cmd_silences_list(args: argparse.Namespace) -> int:
    from datetime import UTC, datetime

    from hawatch.analytics.schedule_list import SILENCE_COLUMNS, SILENCE_QUERY

    since = None if args.all else datetime.now(UTC).isoformat()
    rows = read_rows(load_settings(args)["db"], SILENCE_QUERY, [args.pair, since])
    print(
        render(SILENCE_COLUMNS, rows, args.format)
        if rows or args.format != "table"
        else "no silences"
    )
    return 0


def cmd_silences_edit(args: argparse.Namespace) -> int:
    print(
        operator_action(
            args,
            {
                "action": "silence_edit",
                "silence": args.silence,
                "until": args.until,
                "comment": args.comment,
                "by": args.by,
            },
        )
    )
    return 0


def cmd_silences_remove(args: argparse.Namespace) -> int:
    print(
        operator_action(
            args,
            {
                "action": "silence_remove",
                "silence": args.silence,
                "comment": args.comment,
                "by": args.by,
            },
        )
    )
    return 0
