"""`hawatch ingest`: syslog files and HA exports into the store."""

from __future__ import annotations

import argparse
import sys

from hawatch.commands.common import Commands, add_common, load_settings


def register(commands: Commands) -> None:
    p = commands.add_parser(
        "ingest",
        help="ingest syslog files and HA exports into the store",
        description="Ingest SonicOS syslog files and JSON/CSV HA exports "
        "(files, folders recursively, .gz, '-' for stdin). Re-ingesting a "
        "file adds nothing; an interrupted run resumes where it stopped. "
        "In a folder, links and the database's own files are skipped. A "
        "source of which nothing could be used (not a log or export at "
        "all: a README, a binary, another CSV) gets one line on stderr and"
        " the command exits 1, as it does when a source fails.",
    )
    add_common(p, fmt=True)
    p.add_argument("--inventory", help="pair inventory, CSV or TOML (setting: inventory)")
    p.add_argument("--timezone", help="time zone of units the inventory names none for")
    p.add_argument("sources", nargs="+", metavar="SOURCE", help="file, folder or -")
    p.set_defaults(run=cmd_ingest)


def cmd_ingest(args: argparse.Namespace) -> int:
    from hawatch.collector.ingest import ingest_paths
    from hawatch.collector.inventory import check_timezone, load_inventory
    from hawatch.collector.limits import IngestLimits
    from hawatch.report import print_ingest_report, print_pair_summary
    from hawatch.store.db import Store

    settings = load_settings(args)
    inventory = args.inventory or settings["inventory"]
    timezone = check_timezone(args.timezone or settings["timezone"], "--timezone")
    with Store(settings["db"]) as store:
        if inventory:
            pairs = load_inventory(store, inventory)
            print(f"inventory {inventory}: {pairs} pairs", file=sys.stderr)
        report = ingest_paths(
            store,
            args.sources,
            timezone,
            batch_bytes=settings["ingest.batch_megabytes"] * 1024 * 1024,
            limits=IngestLimits.from_settings(settings),
        )
        print_ingest_report(report, args.format)
        if args.format == "table":
            print_pair_summary(store, "table")
    return 1 if report.failed or report.unusable else 0
