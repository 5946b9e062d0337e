"""The `hawatch` command line: the main parser, assembled from one module per command
(hawatch/commands/), and the one place a failure becomes a message.

Failures end in a one-line `hawatch: error: ...` on stderr and a non-zero exit, never a
traceback (set HAWATCH_DEBUG=1 to see one). docs/cli.md is generated from these parsers.
"""

from __future__ import annotations

import argparse
import os
import sys
import traceback
from collections.abc import Callable
from importlib import import_module
from typing import Any

import duckdb

from hawatch.store.errors import HawatchError

# The commands, in the order `hawatch --help` lists them: each is hawatch/commands/NAME.py
# with register(commands), so a new command is its module plus its name here.
COMMANDS = (
    "ingest",
    "sql",
    "analyze",
    "serve",
    "poll",
    "simulate",
    "alerts",
    "windows",
    "silences",
    "audit",
    "users",
    "demo",
)


def version_line() -> str:
    """The version, and whether ingest runs the C line scanner or its SQL fallback (same
    rows, slower): the scanner is optional at build time, so an install may lack it."""
    from importlib.metadata import PackageNotFoundError, version

    from hawatch.collector.vendors.sonicos import fastscan

    try:
        number = version("hawatch")
    except PackageNotFoundError:
        number = "unknown (not installed)"
    scanner = (
        "C line scanner active"
        if fastscan.available()
        else "C line scanner not built: SQL field extraction"
        if fastscan._fastscan is None
        else f"C line scanner off ({fastscan.DISABLE_ENV}): SQL field extraction"
    )
    return f"hawatch {number} ({scanner}; Python {sys.version.split()[0]})"


class _Version(argparse.Action):
    """argparse's own version action re-wraps the line at the terminal width."""

    def __call__(self, parser: argparse.ArgumentParser, *_args: Any) -> None:
        print(version_line())
        parser.exit()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hawatch", description="Monitoring and log analysis for firewall HA fleets."
    )
    parser.add_argument(
        "--version",
        action=_Version,
        nargs=0,
        help="print the version and whether the C line scanner is active",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMANDS:
        import_module(f"hawatch.commands.{name}").register(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    run: Callable[[argparse.Namespace], int] = args.run
    # every file hawatch makes is its user's alone from the start (database, its log, the
    # spool, uploads): they hold every log line, and secrets sit beside them
    os.umask(os.umask(0o077) | 0o077)
    try:
        return run(args)
    except HawatchError as exc:
        print(f"hawatch: error: {exc}", file=sys.stderr)
        return 1
    except duckdb.Error as exc:
        print(f"hawatch: error: {str(exc).splitlines()[0]}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("hawatch: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except Exception as exc:  # noqa: BLE001 - the last line of defence: one line, not a trace
        if os.environ.get("HAWATCH_DEBUG"):
            traceback.print_exc()
        print(
            f"hawatch: internal error: {type(exc).__name__}: {exc} "
            "(HAWATCH_DEBUG=1 shows the traceback)",
            file=sys.stderr,
        )
        return 70
