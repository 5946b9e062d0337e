"""`hawatch analyze`: run the detectors and print the incidents."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hawatch.commands.common import Commands, add_common, load_settings
from hawatch.output import render
from hawatch.store.errors import HawatchError

if TYPE_CHECKING:  # imported when the command runs: `hawatch --help` stays quick
    from datetime import datetime

    from hawatch.store.db import Store


def register(commands: Commands) -> None:
    p = commands.add_parser(
        "analyze",
        help="detect HA incidents and print them",
        description="Run every detector (flapping, unsynced failover, "
        "session drop, split brain, heartbeat loss, HA link down, config "
        "mismatch, failover-test verdicts) and print the incidents. "
        "Incremental: only pairs with new data since the last run are "
        "examined.",
    )
    add_common(p, fmt=True)
    p.add_argument(
        "--since",
        help="re-examine all pairs from this time (ISO 8601) and show incidents from then on",
    )
    p.add_argument("--full", action="store_true", help="re-examine all pairs and all data")
    p.set_defaults(run=cmd_analyze)


def cmd_analyze(args: argparse.Namespace) -> int:
    from hawatch.analytics.analyze import analyze
    from hawatch.analytics.thresholds import Thresholds
    from hawatch.store.db import Store
    from hawatch.store.times import BadTime, parse_time

    settings = load_settings(args)
    since = None
    if args.since:
        try:
            since = parse_time(args.since)[0]
        except BadTime as exc:
            raise HawatchError(f"--since: {exc}") from None
    if not Path(settings["db"]).exists():
        raise HawatchError(f"no database at {settings['db']} (run `hawatch ingest` first)")
    with Store(settings["db"]) as store:
        report = analyze(store, Thresholds.from_settings(settings), since=since, full=args.full)
        columns, rows = incident_rows(store, since)
    if args.format == "json":  # evidence as objects, not strings holding JSON
        at = columns.index("evidence")
        rows = [(*row[:at], json.loads(row[at]), *row[at + 1 :]) for row in rows]
    r = report.reconciled
    print(
        f"analysed {report.pairs} pairs ({report.mode}) in {report.seconds:.2f} s: "
        f"{r.opened} opened, {r.updated} updated, {r.resolved} resolved, "
        f"{r.withdrawn} withdrawn",
        file=sys.stderr,
    )
    print(render(columns, rows, args.format) if rows or args.format != "table" else "no incidents")
    return 0


def incident_rows(store: Store, since: datetime | None) -> tuple[list[str], list[tuple[Any, ...]]]:
    """The incidents to show: all but withdrawn ones, or from `since` on."""
    relation = store.cursor().execute(
        "SELECT incident_id AS id, pair, kind, severity, status, opened_at, resolved_at,"
        " summary, evidence FROM incidents WHERE status <> 'withdrawn'"
        " AND (CAST($since AS TIMESTAMPTZ) IS NULL OR coalesce(resolved_at, now()) >= $since)"
        " ORDER BY opened_at, pair",
        {"since": since},
    )
    columns = [d[0] for d in relation.description or []]
    rows = relation.fetchall()
    return columns, rows
