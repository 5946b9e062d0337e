"""`hawatch alerts test|log|ack|silence`: alert e-mails through the outbox, and operators'
acknowledgements and silences (through the running server when one holds the database)."""

from __future__ import annotations

import argparse
import os

from hawatch.commands.common import Commands, add_by, add_common, load_settings
from hawatch.commands.via_server import operator_action, read_rows
from hawatch.output import render
from hawatch.store.errors import HawatchError
from hawatch.store.execute import one_row


def register(commands: Commands) -> None:
    p = commands.add_parser(
        "alerts",
        help="alert e-mails: send a test, show the outbox",
        description="Alert e-mails (settings alerts.* and smtp.*, see "
        "configuration.md). Every e-mail goes through the outbox table "
        "`notifications`.",
    )
    alerts = p.add_subparsers(dest="alerts_command", required=True, metavar="ACTION")
    a = alerts.add_parser(
        "test",
        help="send a test e-mail through the outbox now",
        description="Record a test e-mail in the outbox and deliver it "
        "at once; exits non-zero when the SMTP server did not accept it "
        "(it then stays pending and is retried).",
    )
    add_common(a)
    a.add_argument("--to", help="recipient(s), comma-separated (setting: alerts.to)")
    a.set_defaults(run=cmd_alerts_test)
    a = alerts.add_parser(
        "log",
        help="show sent, pending, failed and suppressed e-mails",
        description="The newest notifications in the outbox: sent, "
        "pending, failed (being retried) and suppressed ones with why.",
    )
    add_common(a, fmt=True)
    a.add_argument("--limit", type=int, default=100, help="rows shown (default: 100)")
    a.set_defaults(run=cmd_alerts_log)
    a = alerts.add_parser(
        "ack",
        help="acknowledge an open incident: its repeats stop",
        description="Acknowledge an open incident: no more repeat e-mails."
        " The acknowledgement clears itself when the incident resolves.",
    )
    add_common(a)
    a.add_argument("incident", type=int, metavar="ID", help="incident id (hawatch analyze)")
    a.add_argument("--comment", default="", help="what you are doing about it")
    a.add_argument("--by", default=os.environ.get("USER", "operator"), help="who (default: $USER)")
    a.set_defaults(run=cmd_alerts_ack)
    a = alerts.add_parser(
        "silence",
        help="silence a pair's e-mails until a time",
        description="Silence a pair's alert e-mails until a time (a silence"
        " always ends). What would have been sent is recorded as suppressed"
        " and shown in the next digest.",
    )
    add_common(a)
    a.add_argument("pair", metavar="PAIR")
    a.add_argument("--until", required=True, help="end, ISO 8601 (e.g. 2026-11-26T08:00Z)")
    a.add_argument("--comment", default="", help="why")
    add_by(a)
    a.set_defaults(run=cmd_alerts_silence)


def cmd_alerts_test(args: argparse.Namespace) -> int:
    from datetime import UTC, datetime

    from hawatch.analytics.alerts.pipeline import deliver_pending, send_test
    from hawatch.store.db import Store

    settings = load_settings(args)
    if not settings["smtp.host"]:
        raise HawatchError("no SMTP server: set smtp.host (HAWATCH_SMTP_HOST)")
    with Store(settings["db"]) as store:
        nid = send_test(store, settings, datetime.now(UTC), args.to)
        deliver_pending(store, settings, datetime.now(UTC))
        status, error = one_row(
            store.cursor(),
            "SELECT status, last_error FROM notifications WHERE notification_id = ?",
            [nid],
        )
    if status != "sent":
        raise HawatchError(
            f"test e-mail {nid} not accepted: {error} (it stays in the "
            "outbox and is retried by `hawatch serve`)"
        )
    print(f"test e-mail {nid} sent")
    return 0


def cmd_alerts_log(args: argparse.Namespace) -> int:
    from hawatch.analytics.alerts.outbox import LOG_COLUMNS, LOG_QUERY

    rows = read_rows(load_settings(args)["db"], LOG_QUERY, [max(0, args.limit)])
    print(
        render(LOG_COLUMNS, rows, args.format)
        if rows or args.format != "table"
        else "no notifications"
    )
    return 0


def cmd_alerts_ack(args: argparse.Namespace) -> int:
    print(
        operator_action(
            args,
            {"action": "ack", "incident": args.incident, "by": args.by, "comment": args.comment},
        )
    )
    return 0


def cmd_alerts_silence(args: argparse.Namespace) -> int:
    print(
        operator_action(
            args,
            {
                "action": "silence",
                "pair": args.pair,
                "until": args.until,
                "comment": args.comment,
                "by": args.by,
            },
        )
    )
    return 0
