"""`hawatch poll --once`: poll the inventory's units now and print what each answered, storing
nothing (docs/pollers.md)."""

from __future__ import annotations

import argparse
import sys

from hawatch.commands.common import Commands, add_common, load_settings
from hawatch.output import render
from hawatch.store.errors import HawatchError


def register(commands: Commands) -> None:
    p = commands.add_parser(
        "poll",
        help="poll the firewalls now and print what each answered",
        description="Poll every unit the inventory gives an address and a "
        "credential profile (docs/pollers.md) once, now, and print what "
        "was read, or a one-line reason per unit that failed; exits 1 if "
        "any did. The way to test addresses and credentials before "
        "trusting the dashboard. Nothing is stored (`hawatch serve` polls "
        "and stores on its schedule), so it works while a server holds the"
        " database.",
    )
    add_common(p, fmt=True)
    p.add_argument(
        "--once",
        action="store_true",
        required=True,
        help="poll each unit once (required: `hawatch serve` polls on a schedule)",
    )
    p.add_argument("--inventory", help="pair inventory, CSV or TOML (setting: inventory)")
    p.add_argument("--pair", help="only this pair")
    p.set_defaults(run=cmd_poll)


def cmd_poll(args: argparse.Namespace) -> int:
    import asyncio
    import time

    from hawatch.collector.pollers.cycle import poll_all
    from hawatch.collector.pollers.report import COLUMNS, report_row
    from hawatch.collector.pollers.runner import load_plan

    settings = load_settings(args)
    if args.inventory:
        settings["inventory"] = args.inventory
    if not settings["inventory"]:
        raise HawatchError("no inventory: give --inventory FILE (or the inventory setting)")
    targets, profiles = load_plan(settings)
    if args.pair:
        targets = [t for t in targets if t.unit.pair == args.pair]
    if not targets:
        which = f"of pair {args.pair} " if args.pair else ""
        raise HawatchError(
            f"nothing to poll: no unit {which}has an address and a poll_profile in the inventory"
        )
    started = time.perf_counter()
    results = asyncio.run(
        poll_all(
            targets,
            profiles,
            settings["poll.timeout_seconds"],
            settings["poll.retries"],
            settings["poll.concurrency"],
        )
    )
    rows = [report_row(r) for r in results]
    print(render(COLUMNS, [[row[c] for c in COLUMNS] for row in rows], args.format))
    failed = sum(not r.ok for r in results)
    print(
        f"polled {len(results)} (units x protocols) in {time.perf_counter() - started:.1f}"
        f" s: {len(results) - failed} ok, {failed} failed",
        file=sys.stderr,
    )
    return 1 if failed else 0
