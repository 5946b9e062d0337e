"""`hawatch serve`: the service (hawatch/serve.py wires it), its options over the settings."""

from __future__ import annotations

import argparse
from typing import Literal

from hawatch.commands.common import Commands, add_common, load_settings


def register(commands: Commands) -> None:
    p = commands.add_parser(
        "serve",
        help="collect syslog and exports, analyse, serve the API",
        description="Run the service: syslog over UDP and TCP (a listener "
        "child spools to disk), POST /api/v1/ingest, a watched drop folder,"
        " analysis every minute, /metrics and /healthz. One process owns "
        "the database. Every option is also a setting "
        "(docs/configuration.md).",
    )
    add_common(p)
    p.add_argument("--inventory", help="pair inventory, CSV or TOML (setting: inventory)")
    p.add_argument("--http", help="HOST:PORT of the web server (setting: serve.http)")
    p.add_argument("--syslog-udp", help="HOST:PORT, or '' for off (serve.syslog_udp)")
    p.add_argument("--syslog-tcp", help="HOST:PORT, or '' for off (serve.syslog_tcp)")
    p.add_argument("--drop-dir", help="folder to watch for files (serve.drop_dir)")
    p.set_defaults(run=cmd_serve)


_Overridden = Literal[
    "inventory", "serve.http", "serve.syslog_udp", "serve.syslog_tcp", "serve.drop_dir"
]
_OPTIONS: tuple[tuple[str, _Overridden], ...] = (
    ("inventory", "inventory"),
    ("http", "serve.http"),
    ("syslog_udp", "serve.syslog_udp"),
    ("syslog_tcp", "serve.syslog_tcp"),
    ("drop_dir", "serve.drop_dir"),
)


def cmd_serve(args: argparse.Namespace) -> int:
    from hawatch.serve import serve

    settings = load_settings(args)
    for option, name in _OPTIONS:  # options over the settings they name
        if getattr(args, option) is not None:
            settings[name] = getattr(args, option)
    return serve(settings)
