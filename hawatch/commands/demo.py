"""`hawatch demo`: the sample fleet live (simulator/live.py: simulated units polled and
sending syslog, scenarios in the next minutes) under a real `hawatch serve`; with --no-serve,
the sample logs ingested, analysed and printed."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from pathlib import Path

from hawatch.commands.analyze import incident_rows
from hawatch.commands.common import Commands, add_common, load_settings
from hawatch.output import render
from hawatch.store.errors import HawatchError
from hawatch.store.settings_type import Settings

DEMO_DB = "hawatch-demo.duckdb"


def register(commands: Commands) -> None:
    p = commands.add_parser(
        "demo",
        help="a simulated fleet, live: watch incidents open and resolve",
        description="Run the sample fleet live on this machine and serve "
        "the dashboard on localhost until Ctrl-C, with a user `demo` "
        "(operator) whose new password is printed. Its simulated units "
        "answer polls (SonicOS API over HTTPS) and send syslog to the "
        "server's UDP listener; the last two hours are ingested first, then "
        "each scenario happens in the next minutes (an unsynced failover, a "
        "split brain, a failover only the polls see, a unit that stops "
        "answering, ...), and the printed schedule says when. Database: "
        f"{DEMO_DB} by default, its simulated units' files beside it "
        "(DB.live/). With --no-serve: ingest sample_logs/ (three days of "
        "the same fleet), print the per-pair health and the incidents "
        "found, and stop.",
    )
    add_common(p, fmt=True)
    p.add_argument(
        "--http", default="127.0.0.1:8080", help="dashboard address (default 127.0.0.1:8080)"
    )
    p.add_argument(
        "--no-serve", action="store_true", help="analyse sample_logs/, print the results and stop"
    )
    p.add_argument(
        "--lead",
        type=float,
        default=60.0,
        metavar="SECONDS",
        help="seconds from the start to the first scenario (default 60; the "
        "others follow two minutes apart)",
    )
    p.set_defaults(run=cmd_demo)


def sample_logs() -> Path:
    """The sample fleet: package data in an installed wheel (hawatch/sample_logs), the
    repository's top-level folder in a checkout or an editable install."""
    here = Path(__file__).resolve().parent.parent  # hawatch/
    packaged = here / "sample_logs"
    return packaged if packaged.is_dir() else here.parent / "sample_logs"


def cmd_demo(args: argparse.Namespace) -> int:
    settings = load_settings(args)
    settings["db"] = args.db or DEMO_DB
    if args.no_serve:
        return _sample_demo(settings, args.format)
    _check_port_free(args.http)  # before printing a URL and a password that cannot work
    return _live_demo(settings, args.http, args.format, args.lead)


def _analyse_and_print(
    settings: Settings, paths: list[str], fmt: str, incidents: bool = True
) -> bool:
    """Ingest `paths` (a folder's inventory first) into the demo database, analyse it, print
    the fleet (and the incidents); False if an input failed."""
    from hawatch.analytics.analyze import analyze
    from hawatch.analytics.thresholds import Thresholds
    from hawatch.collector.ingest import ingest_paths
    from hawatch.report import print_ingest_report, print_pair_summary
    from hawatch.store.db import Store

    with Store(settings["db"]) as store:
        report = ingest_paths(store, paths, settings["timezone"])
        print_ingest_report(report, "table")
        analysis = analyze(store, Thresholds.from_settings(settings))
        print(f"\nanalysed {analysis.pairs} pairs in {analysis.seconds:.2f} s")
        print_pair_summary(store, fmt)
        if incidents:
            columns, rows = incident_rows(store, None)
            shown = [c for c in columns if c != "evidence"]
            print("\nincidents:")
            print(render(shown, [r[: len(shown)] for r in rows], fmt) if rows else "none")
    return not report.failed


def _sample_demo(settings: Settings, fmt: str) -> int:
    """sample_logs/ (the folder holds its inventory, applied first, and truth.json, skipped)."""
    ok = _analyse_and_print(settings, [str(sample_logs())], fmt)
    print(
        f"\ndatabase: {settings['db']}  (try: hawatch sql --db {settings['db']} "
        '"select * from pair_health")'
    )
    return 0 if ok else 1


# what the live demo's server does differently: polls and analysis every 10 s (a unit that
# stops answering is unreachable after 30 s), syslog on a free UDP port, the simulated
# units' export events through a drop folder
def _live_settings(settings: Settings) -> None:
    """A live demo's pace: quick polls and analysis, UDP syslog on a free port."""
    settings.update(
        {
            "serve.syslog_udp": "127.0.0.1:0",
            "serve.syslog_tcp": "",
            "serve.drop_quiet_seconds": 1.0,
            "serve.analysis_interval_seconds": 10,
            "poll.interval_seconds": 10,
            "poll.jitter_seconds": 1.0,
            "poll.timeout_seconds": 3.0,
            "poll.retries": 0,
        }
    )


def _live_demo(settings: Settings, http: str, fmt: str, lead: float) -> int:
    """The sample fleet live (simulator/live.py): its last two hours ingested, then served
    while its units answer polls and send syslog, until Ctrl-C."""
    from hawatch.collector.syslog.listener import PORTS_FILE
    from hawatch.simulator.live import LiveFleet

    folder = Path(settings["db"] + ".live")
    fleet = LiveFleet(folder, lead=lead)
    try:
        inventory, credentials = fleet.start_units()
        history = fleet.write_history(folder / "history", inventory)
        if not _analyse_and_print(settings, [str(history)], fmt, incidents=False):
            return 1
        print("\nwhat happens next (times in UTC):")
        for happening in fleet.schedule():
            print(
                f"  {datetime.fromtimestamp(happening.at, UTC):%H:%M:%S}  "
                f"{happening.pair}: {happening.what}"
            )
        spool = Path(settings["serve.spool_dir"] or settings["db"] + ".spool")
        (spool / PORTS_FILE).unlink(missing_ok=True)  # a killed server's: not this one's
        _live_settings(settings)
        settings.update(
            {
                "inventory": str(inventory),
                "poll.credentials_file": str(credentials),
                "serve.drop_dir": str(folder / "drop"),
            }
        )
        fleet.go_live(spool / PORTS_FILE, folder / "drop")
        return _serve_demo(settings, http)
    finally:
        fleet.stop()


def _check_port_free(http: str) -> None:
    import socket

    from hawatch.serve import host_port

    host, port = host_port(http, "--http")
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise HawatchError(
                f"cannot serve the demo on {http}: {exc.strerror} (another "
                "program uses the port: pass --http 127.0.0.1:PORT or "
                "--no-serve)"
            ) from None


def _serve_demo(settings: Settings, http: str) -> int:
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
    settings["serve.http"] = http
    return serve(settings)
