"""Run a farm of simulated units in its own process (the benchmark, a manual try-out):

    python -m hawatch.simulator.devices --pairs 2000 --out DIR [--latency 0.05]
        [--profile sim-both|sim-rest|sim-snmp|mixed] [--seed 7] [--days 3] [--speed 1]

Writes DIR/inventory.csv (each unit's address and its pair's profile), DIR/pollers.toml
(mode 0600) and DIR/ca.pem, prints `ready` once every unit listens, and serves until
SIGTERM or SIGINT. `mixed`: half the pairs over the REST API, half over SNMP, each half
with both SonicOS generations (pairs 0, 1, 4, 5, ... REST: sites alternate 7.x and 6.5). The plans
start `--days` days before now and run on at `--speed` simulated seconds per second.
"""

from __future__ import annotations

import argparse
import signal
import threading
import time
from pathlib import Path

from hawatch.simulator.devices.farm import DeviceFarm
from hawatch.simulator.devices.timeline import ScenarioClock
from hawatch.simulator.run import _plans


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m hawatch.simulator.devices")
    parser.add_argument("--pairs", type=int, default=8)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--days", type=int, default=3)
    parser.add_argument("--latency", type=float, default=0.0, help="seconds per answer")
    parser.add_argument("--speed", type=float, default=1.0)
    parser.add_argument(
        "--profile", default="sim-both", choices=("sim-both", "sim-rest", "sim-snmp", "mixed")
    )
    parser.add_argument("--out", required=True, type=Path)
    args = parser.parse_args(argv)
    now = int(time.time())
    start = now - args.days * 86_400
    _, plans = _plans(args.seed, args.pairs, start, now + 86_400)
    farm = DeviceFarm(plans, ScenarioClock(now, args.speed), latency=args.latency).start()
    args.out.mkdir(parents=True, exist_ok=True)

    def profile(plan: object) -> str:
        if args.profile != "mixed":
            return args.profile
        return "sim-rest" if plans.index(plan) % 4 < 2 else "sim-snmp"  # type: ignore[arg-type]

    farm.write_inventory(args.out / "inventory.csv", profile)
    farm.write_credentials(args.out / "pollers.toml", farm.write_ca(args.out / "ca.pem"))
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    print("ready", flush=True)
    stop.wait()
    farm.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
