"""TCP syslog benchmark: the listener child at fixed rates, counting what reaches the spool.

Same shape as bench/udp_bench.py (real listener child on 127.0.0.1 port 0, spool in a
temporary folder, real-shaped SonicOS lines from `simulator.sonicos_lines.bench_lines`, a
separate sender process paced by a token bucket), over `--connections` TCP connections with
newline framing (`logger --tcp`, most relays) or RFC 6587 octet counting (`--framing octet`).

TCP has flow control instead of loss: when the listener (or its disk) cannot keep up, the
sender's `sendall` blocks and the rate held drops below the target, while lost stays 0. So
read "rate held" as the figure of merit here and "lost" as a correctness check.

"Stored" means spooled durably (fsynced, closed `.log` files); the end-to-end figure through
DuckDB comes from the serve process, which ingests those files. For comparison, from the
issue: a default syslog-ng-based collector (SC4S) loses half its UDP traffic at 27k msg/s,
Fluent Bit about half at 55k msg/s.

    python3 bench/tcp_bench.py [--rate 50000 100000] [--seconds 60] [--connections 1]
                               [--framing lf|octet] [--idle-connections 0]

`--idle-connections N` opens N more connections that send nothing (firewalls that are quiet,
or a flood of idle connections) before the sending starts, and keeps them open throughout.
"""

from __future__ import annotations

import argparse
import os
import resource
import socket
import sys
from functools import partial
from multiprocessing.connection import Connection
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from udp_bench import make_lines, pace, report, run_once, run_once_serve  # noqa: E402


class Blob:
    """All frames of the pool in one buffer, so a batch of k frames is one slice to send."""

    def __init__(self, lines: list[bytes], framing: str) -> None:
        if framing == "octet":
            frames = [b"%d %s" % (len(line), line) for line in lines]
        else:
            frames = [line + b"\n" for line in lines]
        self.data = memoryview(b"".join(frames))
        self.offsets = [0]
        for frame in frames:
            self.offsets.append(self.offsets[-1] + len(frame))
        self.count = len(frames)

    def span(self, first: int, count: int) -> memoryview:
        """Frames first..first+count-1 (no wrap-around: the caller splits at the end)."""
        return self.data[self.offsets[first] : self.offsets[first + count]]


def tcp_sender(
    blob: Blob,
    connections: int,
    idle: int,
    port: int,
    _lines: list[bytes],
    rate: float,
    seconds: float,
    result: Connection,
) -> None:
    """The sender process: batches of frames round-robin over the connections, `idle` more
    connections open and silent (the signature after `idle` is run_once's sender's)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if idle + connections + 64 > soft:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, idle + connections + 64), hard))
    idlers = [socket.create_connection(("127.0.0.1", port)) for _ in range(idle)]
    conns = [socket.create_connection(("127.0.0.1", port)) for _ in range(connections)]
    position, turn = 0, 0

    def burst(count: int) -> int:
        nonlocal position, turn
        done = 0
        while done < count:
            take = min(count - done, blob.count - position)
            conns[turn].sendall(blob.span(position, take))
            turn = (turn + 1) % connections
            done += take
            position = (position + take) % blob.count
        return done

    try:
        sent, elapsed = pace(rate, seconds, burst)
    finally:
        for conn in conns + idlers:
            conn.close()
    result.send({"sent": sent, "elapsed": elapsed})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rate", type=float, nargs="+", default=[50_000, 100_000])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--pool", type=int, default=200_000)
    parser.add_argument("--connections", type=int, default=1)
    parser.add_argument("--framing", choices=("lf", "octet"), default="lf")
    parser.add_argument(
        "--idle-connections",
        type=int,
        default=0,
        help="silent connections held open while sending (default 0)",
    )
    parser.add_argument(
        "--through",
        choices=("serve", "listener"),
        default="serve",
        help="serve: end to end into DuckDB (default); listener: spool only",
    )
    args = parser.parse_args()
    lines = make_lines(args.pool)
    blob = Blob(lines, args.framing)
    print(
        f"pool: {len(lines):,} SonicOS lines, {sum(map(len, lines)) / len(lines):.0f} bytes"
        f" on average; {args.connections} connection(s), {args.framing} framing,"
        f" {args.idle_connections} idle; {os.cpu_count()} CPUs",
        flush=True,
    )
    sender = partial(tcp_sender, blob, args.connections, args.idle_connections)
    run = run_once_serve if args.through == "serve" else run_once
    for rate in args.rate:
        print(report(run("tcp", rate, args.seconds, lines, sender)), flush=True)


if __name__ == "__main__":
    main()
