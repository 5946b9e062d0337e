"""`hawatch simulate`: a realistic fleet's logs, exports, inventory and truth.json."""

from __future__ import annotations

import argparse
from pathlib import Path

from hawatch.commands.common import Commands


def register(commands: Commands) -> None:
    p = commands.add_parser(
        "simulate",
        help="write a realistic fleet's logs and truth.json",
        description="Write SonicOS syslog, JSON/CSV exports, an inventory "
        "and truth.json (the injected incidents) for a simulated fleet.",
    )
    p.add_argument("--seed", type=int, default=7, help="random seed (default 7)")
    p.add_argument("--pairs", type=int, default=8, help="number of HA pairs (default 8)")
    p.add_argument("--days", type=int, default=3, help="days of logs (default 3)")
    p.add_argument("--out", required=True, help="output folder")
    p.set_defaults(run=cmd_simulate)


def cmd_simulate(args: argparse.Namespace) -> int:
    from hawatch.simulator import simulate

    summary = simulate(seed=args.seed, pairs=args.pairs, days=args.days, out=Path(args.out))
    for key, value in summary.items():
        print(f"{key}: {value}")
    return 0
