"""`hawatch demo`: the sample logs ingested and analysed, then the dashboard on them."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from hawatch.commands.analyze import incident_rows
from hawatch.commands.common import add_common, load_settings
from hawatch.output import render
from hawatch.store.errors import HawatchError

DEMO_DB = "hawatch-demo.duckdb"


def register(commands: Any) -> None:
    p = commands.add_parser("demo", help="ingest and analyse the sample logs, serve the "
                            "dashboard",
                            description="Ingest sample_logs/ (with its inventory) into a local "
                            f"database ({DEMO_DB} by default), analyse it, print the per-pair "
                            "health and the incidents found, then serve the dashboard on "
                            "localhost until Ctrl-C, with a user `demo` (operator) whose new "
                            "password is printed (syslog listeners off; `hawatch serve` "
                            "collects).")
    add_common(p, fmt=True)
    p.add_argument("--http", default="127.0.0.1:8080",
                   help="dashboard address (default 127.0.0.1:8080)")
    p.add_argument("--no-serve", action="store_true", help="print the results and stop")
    p.set_defaults(run=cmd_demo)


def sample_logs() -> Path:
    """The sample fleet: package data in an installed wheel (hawatch/sample_logs), the
    repository's top-level folder in a checkout or an editable install."""
    here = Path(__file__).resolve().parent.parent  # hawatch/
    packaged = here / "sample_logs"
    return packaged if packaged.is_dir() else here.parent / "sample_logs"


def cmd_demo(args: argparse.Namespace) -> int:
    from hawatch.analytics.analyze import analyze
    from hawatch.analytics.thresholds import Thresholds
    from hawatch.collector.ingest import ingest_paths
    from hawatch.report import print_ingest_report, print_pair_summary
    from hawatch.store.db import Store

    settings = load_settings(args)
    settings["db"] = args.db or DEMO_DB
    if not args.no_serve:
        _check_port_free(args.http)  # before printing a URL and a password that cannot work
    with Store(settings["db"]) as store:
        # the folder holds its inventory (applied first) and truth.json (skipped)
        report = ingest_paths(store, [str(sample_logs())], settings["timezone"])
        print_ingest_report(report, "table")
        analysis = analyze(store, Thresholds.from_settings(settings))
        print(f"\nanalysed {analysis.pairs} pairs in {analysis.seconds:.2f} s")
        print_pair_summary(store, args.format)
        columns, rows = incident_rows(store, None)
        shown = [c for c in columns if c != "evidence"]
        print("\nincidents:")
        print(render(shown, [r[: len(shown)] for r in rows], args.format) if rows
              else "none")
    print(f"\ndatabase: {settings['db']}  (try: hawatch sql --db {settings['db']} "
          "\"select * from pair_health\")")
    if report.failed or args.no_serve:
        return 1 if report.failed else 0
    return _serve_demo(settings, args.http)


def _check_port_free(http: str) -> None:
    import socket

    from hawatch.serve import host_port

    host, port = host_port(http, "--http")
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise HawatchError(f"cannot serve the demo on {http}: {exc.strerror} (another "
                               "program uses the port: pass --http 127.0.0.1:PORT or "
                               "--no-serve)") from None


def _serve_demo(settings: dict[str, Any], http: str) -> int:
    """The dashboard on the demo database, with a `demo` user whose password is new each run
    (only if no other users were set up for it)."""
    import secrets

    from hawatch.dashboard.credentials import Credentials
    from hawatch.serve import serve

    credentials = Credentials(settings["db"])
    password = secrets.token_urlsafe(12)
    if credentials.get("demo"):
        credentials.set_password("demo", password)
        login = f"user demo, password {password}"
    elif not credentials.list():
        credentials.add("demo", "operator", password)
        login = f"user demo, password {password}"
    else:
        login = f"your users (hawatch users list --db {settings['db']})"
    print(f"\ndashboard: http://{http}/  log in as {login}  (Ctrl-C stops)", flush=True)
    settings.update({"serve.http": http, "serve.syslog_udp": "", "serve.syslog_tcp": ""})
    return serve(settings)
