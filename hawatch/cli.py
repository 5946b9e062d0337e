"""The `hawatch` command line. Wiring only: every command calls into the packages.

Failures end in a one-line `hawatch: error: ...` on stderr and a non-zero exit, never a
traceback (set HAWATCH_DEBUG=1 to see one). docs/cli.md is generated from these parsers.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb

from hawatch.config import load_config
from hawatch.output import FORMATS, render
from hawatch.store.errors import HawatchError
from hawatch.store.kinds import WINDOW_KINDS

DEMO_DB = "hawatch-demo.duckdb"


def sample_logs() -> Path:
    """The sample fleet: package data in an installed wheel (hawatch/sample_logs), the
    repository's top-level folder in a checkout or an editable install."""
    here = Path(__file__).resolve().parent
    packaged = here / "sample_logs"
    return packaged if packaged.is_dir() else here.parent / "sample_logs"


def version_line() -> str:
    """The version, and whether ingest runs the C line scanner or its SQL fallback (same
    rows, slower): the scanner is optional at build time, so an install may lack it."""
    from importlib.metadata import PackageNotFoundError, version

    from hawatch.collector.vendors.sonicos import fastscan

    try:
        number = version("hawatch")
    except PackageNotFoundError:
        number = "unknown (not installed)"
    scanner = ("C line scanner active" if fastscan.available()
               else "C line scanner not built: SQL field extraction" if fastscan._fastscan is None
               else f"C line scanner off ({fastscan.DISABLE_ENV}): SQL field extraction")
    return f"hawatch {number} ({scanner}; Python {sys.version.split()[0]})"


class _Version(argparse.Action):
    """argparse's own version action re-wraps the line at the terminal width."""

    def __call__(self, parser: argparse.ArgumentParser, *_args: Any) -> None:
        print(version_line())
        parser.exit()


def _common(parser: argparse.ArgumentParser, fmt: bool = False) -> None:
    parser.add_argument("--db", help="DuckDB database file (setting: db)")
    parser.add_argument("--config", help="TOML configuration file")
    if fmt:
        parser.add_argument("--format", choices=FORMATS, default="table",
                            help="output format (default: table)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hawatch", description="Monitoring and log analysis for firewall HA fleets.")
    parser.add_argument("--version", action=_Version, nargs=0,
                        help="print the version and whether the C line scanner is active")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("ingest", help="ingest syslog files and HA exports into the store",
                       description="Ingest SonicOS syslog files and JSON/CSV HA exports "
                       "(files, folders recursively, .gz, '-' for stdin). Re-ingesting a "
                       "file adds nothing; an interrupted run resumes where it stopped. "
                       "In a folder, links and the database's own files are skipped. A "
                       "source of which nothing could be used (not a log or export at all: "
                       "a README, a binary, another CSV) gets one line on stderr and the "
                       "command exits 1, as it does when a source fails.")
    _common(p, fmt=True)
    p.add_argument("--inventory", help="pair inventory, CSV or TOML (setting: inventory)")
    p.add_argument("--timezone", help="time zone of units the inventory names none for")
    p.add_argument("sources", nargs="+", metavar="SOURCE", help="file, folder or -")
    p.set_defaults(run=cmd_ingest)

    p = sub.add_parser("sql", help="run a read-only SQL query against the store",
                       description="Run one read-only SELECT against the documented schema "
                       "(docs/schema.md). File access, writes and settings are refused; the "
                       "query is stopped at a time limit and capped at a row limit.")
    _common(p, fmt=True)
    p.add_argument("--timeout", type=float, help="seconds (setting: sql.timeout_seconds)")
    p.add_argument("--max-rows", type=int, help="row cap (setting: sql.max_rows)")
    p.add_argument("query", metavar="QUERY", help="one SELECT statement, or - for stdin")
    p.set_defaults(run=cmd_sql)

    p = sub.add_parser("analyze", help="detect HA incidents and print them",
                       description="Run every detector (flapping, unsynced failover, session "
                       "drop, split brain, heartbeat loss, HA link down, config mismatch, "
                       "failover-test verdicts) and print the incidents. Incremental: only "
                       "pairs with new data since the last run are examined.")
    _common(p, fmt=True)
    p.add_argument("--since", help="re-examine all pairs from this time (ISO 8601) and show "
                   "incidents from then on")
    p.add_argument("--full", action="store_true", help="re-examine all pairs and all data")
    p.set_defaults(run=cmd_analyze)

    p = sub.add_parser("serve", help="collect syslog and exports, analyse, serve the API",
                       description="Run the service: syslog over UDP and TCP (a listener "
                       "child spools to disk), POST /api/v1/ingest, a watched drop folder, "
                       "analysis every minute, /metrics and /healthz. One process owns the "
                       "database. Every option is also a setting (docs/configuration.md).")
    _common(p)
    p.add_argument("--inventory", help="pair inventory, CSV or TOML (setting: inventory)")
    p.add_argument("--http", help="HOST:PORT of the web server (setting: serve.http)")
    p.add_argument("--syslog-udp", help="HOST:PORT, or '' for off (serve.syslog_udp)")
    p.add_argument("--syslog-tcp", help="HOST:PORT, or '' for off (serve.syslog_tcp)")
    p.add_argument("--drop-dir", help="folder to watch for files (serve.drop_dir)")
    p.set_defaults(run=cmd_serve)

    p = sub.add_parser("simulate", help="write a realistic fleet's logs and truth.json",
                       description="Write SonicOS syslog, JSON/CSV exports, an inventory "
                       "and truth.json (the injected incidents) for a simulated fleet.")
    p.add_argument("--seed", type=int, default=7, help="random seed (default 7)")
    p.add_argument("--pairs", type=int, default=8, help="number of HA pairs (default 8)")
    p.add_argument("--days", type=int, default=3, help="days of logs (default 3)")
    p.add_argument("--out", required=True, help="output folder")
    p.set_defaults(run=cmd_simulate)

    p = sub.add_parser("alerts", help="alert e-mails: send a test, show the outbox",
                       description="Alert e-mails (settings alerts.* and smtp.*, see "
                       "configuration.md). Every e-mail goes through the outbox table "
                       "`notifications`.")
    alerts = p.add_subparsers(dest="alerts_command", required=True, metavar="ACTION")
    a = alerts.add_parser("test", help="send a test e-mail through the outbox now",
                          description="Record a test e-mail in the outbox and deliver it "
                          "at once; exits non-zero when the SMTP server did not accept it "
                          "(it then stays pending and is retried).")
    _common(a)
    a.add_argument("--to", help="recipient(s), comma-separated (setting: alerts.to)")
    a.set_defaults(run=cmd_alerts_test)
    a = alerts.add_parser("log", help="show sent, pending, failed and suppressed e-mails",
                          description="The newest notifications in the outbox: sent, "
                          "pending, failed (being retried) and suppressed ones with why.")
    _common(a, fmt=True)
    a.add_argument("--limit", type=int, default=100, help="rows shown (default: 100)")
    a.set_defaults(run=cmd_alerts_log)
    a = alerts.add_parser("ack", help="acknowledge an open incident: its repeats stop",
                          description="Acknowledge an open incident: no more repeat e-mails."
                          " The acknowledgement clears itself when the incident resolves.")
    _common(a)
    a.add_argument("incident", type=int, metavar="ID", help="incident id (hawatch analyze)")
    a.add_argument("--comment", default="", help="what you are doing about it")
    a.add_argument("--by", default=os.environ.get("USER", "operator"), help="who (default:"
                   " $USER)")
    a.set_defaults(run=cmd_alerts_ack)
    a = alerts.add_parser("silence", help="silence a pair's e-mails until a time",
                          description="Silence a pair's alert e-mails until a time (a silence"
                          " always ends). What would have been sent is recorded as suppressed"
                          " and shown in the next digest.")
    _common(a)
    a.add_argument("pair", metavar="PAIR")
    a.add_argument("--until", required=True, help="end, ISO 8601 (e.g. 2026-11-26T08:00Z)")
    a.add_argument("--comment", default="", help="why")
    a.set_defaults(run=cmd_alerts_silence)

    p = sub.add_parser("windows", help="failover-test and maintenance windows",
                       description="Declared windows: failovers inside a failover-test "
                       "window get a verdict (did the sessions and VPN SAs survive?) instead "
                       "of an unsynced-failover page, and alert e-mails for the pair are held "
                       "during either kind. Windows also come from export files (formats.md) "
                       "and the dashboard's incidents page.")
    windows = p.add_subparsers(dest="windows_command", required=True, metavar="ACTION")
    a = windows.add_parser("add", help="declare a window for a pair",
                           description="Declare a failover-test or maintenance window; the "
                           "pair's failovers in it are judged again at the next analysis. "
                           "Goes through the running server when one holds the database.")
    _common(a)
    a.add_argument("pair", metavar="PAIR")
    a.add_argument("--start", required=True, help="start, ISO 8601 with zone")
    a.add_argument("--end", required=True, help="end, ISO 8601 with zone")
    a.add_argument("--kind", choices=WINDOW_KINDS, default="failover_test",
                   help="default: failover_test")
    a.add_argument("--comment", default="", help="what is being tested or done")
    a.set_defaults(run=cmd_windows_add)
    a = windows.add_parser("list", help="show declared windows",
                           description="Declared windows, newest first: where they came from "
                           "(cli: this command or the dashboard; file: an export) and the "
                           "failover-test verdicts inside them.")
    _common(a, fmt=True)
    a.add_argument("--pair", help="only this pair")
    a.set_defaults(run=cmd_windows_list)

    _users_parser(sub)

    p = sub.add_parser("demo", help="ingest and analyse the sample logs, serve the dashboard",
                       description="Ingest sample_logs/ (with its inventory) into a local "
                       f"database ({DEMO_DB} by default), analyse it, print the per-pair "
                       "health and the incidents found, then serve the dashboard on "
                       "localhost until Ctrl-C, with a user `demo` (operator) whose new "
                       "password is printed (syslog listeners off; `hawatch serve` collects).")
    _common(p, fmt=True)
    p.add_argument("--http", default="127.0.0.1:8080",
                   help="dashboard address (default 127.0.0.1:8080)")
    p.add_argument("--no-serve", action="store_true", help="print the results and stop")
    p.set_defaults(run=cmd_demo)
    return parser


def _users_parser(sub: Any) -> None:
    from hawatch.dashboard.credentials import MIN_PASSWORD, ROLES

    p = sub.add_parser("users", help="dashboard users and their roles",
                       description="Dashboard users, kept beside the database in DB.users.json"
                       " (mode 0600), never in it: analysts' SQL cannot read them. Roles: "
                       "viewer (read), operator (also acknowledge, silence, windows), admin "
                       "(also users). Works whether or not a server is running.")
    users = p.add_subparsers(dest="users_command", required=True, metavar="ACTION")
    u = users.add_parser("add", help="add a user (asks for the password twice)",
                         description=f"Add a user. The password (at least {MIN_PASSWORD} "
                         "characters) is asked for twice, or read from the first line of "
                         "standard input with --password-stdin.")
    _common(u)
    u.add_argument("name", metavar="NAME")
    u.add_argument("--role", required=True, help=f"what the user may do: {', '.join(ROLES)}")
    u.add_argument("--password-stdin", action="store_true",
                   help="read the password from standard input (for scripts)")
    u.set_defaults(run=cmd_users_add)
    u = users.add_parser("list", help="list users, their roles and when they were added")
    _common(u, fmt=True)
    u.set_defaults(run=cmd_users_list)
    u = users.add_parser("remove", help="remove a user (their sessions end at once)")
    _common(u)
    u.add_argument("name", metavar="NAME")
    u.set_defaults(run=cmd_users_remove)
    u = users.add_parser("set-role", help="change a user's role (takes effect at once)")
    _common(u)
    u.add_argument("name", metavar="NAME")
    u.add_argument("role", metavar="ROLE", help=", ".join(ROLES))
    u.set_defaults(run=cmd_users_set_role)
    u = users.add_parser("passwd", help="change a user's password (asks for it twice)",
                         description=f"Give a user a new password (at least {MIN_PASSWORD} "
                         "characters), asked for twice, or read from the first line of "
                         "standard input with --password-stdin. The user's dashboard "
                         "sessions end at once.")
    _common(u)
    u.add_argument("name", metavar="NAME")
    u.add_argument("--password-stdin", action="store_true",
                   help="read the password from standard input (for scripts)")
    u.set_defaults(run=cmd_users_passwd)


def _settings(args: argparse.Namespace) -> dict[str, Any]:
    settings = load_config(getattr(args, "config", None))
    if getattr(args, "db", None):
        settings["db"] = args.db
    return settings


def cmd_ingest(args: argparse.Namespace) -> int:
    from hawatch.collector.ingest import ingest_paths
    from hawatch.collector.inventory import check_timezone, load_inventory
    from hawatch.collector.limits import IngestLimits
    from hawatch.report import print_ingest_report, print_pair_summary
    from hawatch.store.db import Store

    settings = _settings(args)
    inventory = args.inventory or settings["inventory"]
    timezone = check_timezone(args.timezone or settings["timezone"], "--timezone")
    with Store(settings["db"]) as store:
        if inventory:
            pairs = load_inventory(store, inventory)
            print(f"inventory {inventory}: {pairs} pairs", file=sys.stderr)
        report = ingest_paths(store, args.sources, timezone,
                              batch_bytes=settings["ingest.batch_megabytes"] * 1024 * 1024,
                              limits=IngestLimits.from_settings(settings))
        print_ingest_report(report, args.format)
        if args.format == "table":
            print_pair_summary(store, "table")
    return 1 if report.failed or report.unusable else 0


def cmd_sql(args: argparse.Namespace) -> int:
    from hawatch.store.readonly import Limits, open_for_analysts, run_query

    settings = _settings(args)
    query = sys.stdin.read() if args.query == "-" else args.query
    path = settings["db"]
    remote = _ask_server(path, query, args.timeout, args.max_rows)
    if remote is not None:
        columns, rows, truncated = remote
        print(render(columns, rows, args.format))
        if truncated:
            print(f"hawatch: output truncated at {len(rows)} rows (--max-rows, or the"
                  " size cap sql.max_result_megabytes)",
                  file=sys.stderr)
        return 0
    if not Path(path).exists():
        raise HawatchError(f"no database at {path} (run `hawatch ingest --db {path} ...` first)")
    con = open_for_analysts(path)
    try:
        result = run_query(con, query,
                           Limits.from_settings(settings, args.timeout, args.max_rows))
    finally:
        con.close()
    print(render(result.columns, result.rows, args.format))
    if result.truncated:
        cap = "the size cap sql.max_result_megabytes" if result.cut_by == "bytes" \
            else "--max-rows"
        print(f"hawatch: output truncated at {len(result.rows)} rows ({cap})",
              file=sys.stderr)
    return 0


def cmd_analyze(args: argparse.Namespace) -> int:
    from hawatch.analytics.analyze import analyze
    from hawatch.analytics.thresholds import Thresholds
    from hawatch.store.db import Store
    from hawatch.store.times import BadTime, parse_time

    settings = _settings(args)
    since = None
    if args.since:
        try:
            since = parse_time(args.since)[0]
        except BadTime as exc:
            raise HawatchError(f"--since: {exc}") from None
    if not Path(settings["db"]).exists():
        raise HawatchError(f"no database at {settings['db']} (run `hawatch ingest` first)")
    with Store(settings["db"]) as store:
        report = analyze(store, Thresholds.from_settings(settings), since=since,
                         full=args.full)
        columns, rows = incident_rows(store, since)
    if args.format == "json":  # evidence as objects, not strings holding JSON
        at = columns.index("evidence")
        rows = [(*row[:at], json.loads(row[at]), *row[at + 1:]) for row in rows]
    r = report.reconciled
    print(f"analysed {report.pairs} pairs ({report.mode}) in {report.seconds:.2f} s: "
          f"{r.opened} opened, {r.updated} updated, {r.resolved} resolved, "
          f"{r.withdrawn} withdrawn", file=sys.stderr)
    print(render(columns, rows, args.format) if rows or args.format != "table"
          else "no incidents")
    return 0


def incident_rows(store: Any, since: Any) -> tuple[list[str], list[tuple[Any, ...]]]:
    """The incidents to show: all but withdrawn ones, or from `since` on."""
    relation = store.cursor().execute(
        "SELECT incident_id AS id, pair, kind, severity, status, opened_at, resolved_at,"
        " summary, evidence FROM incidents WHERE status <> 'withdrawn'"
        " AND (CAST($since AS TIMESTAMPTZ) IS NULL OR coalesce(resolved_at, now()) >= $since)"
        " ORDER BY opened_at, pair", {"since": since})
    columns = [d[0] for d in relation.description]
    rows = relation.fetchall()
    return columns, rows


def cmd_serve(args: argparse.Namespace) -> int:
    from hawatch.serve import serve

    settings = _settings(args)
    for option, name in (("inventory", "inventory"), ("http", "serve.http"),
                         ("syslog_udp", "serve.syslog_udp"), ("syslog_tcp", "serve.syslog_tcp"),
                         ("drop_dir", "serve.drop_dir")):
        if getattr(args, option) is not None:
            settings[name] = getattr(args, option)
    return serve(settings)


def _server_call(db: str, path: str, payload: dict[str, Any], timeout: float
                 ) -> dict[str, Any] | None:
    """POST to the server that holds `db`, if one does (it leaves its address and a token
    readable by its user beside the database); None when no server answers."""
    import urllib.error
    import urllib.request

    from hawatch.serve import server_file

    try:
        info = json.loads(server_file(db).read_text())
    except (OSError, ValueError):
        return None
    request = urllib.request.Request(
        info["url"] + path, method="POST", data=json.dumps(payload).encode(),
        headers={"Authorization": f"Bearer {info['token']}",
                 "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return json.loads(response.read())
    except urllib.error.HTTPError as exc:
        try:
            raise HawatchError(json.loads(exc.read()).get("error", str(exc))) from None
        except ValueError:
            raise HawatchError(f"server answered {exc.code}") from None
    except (urllib.error.URLError, OSError):
        return None  # a stale file: the server is gone


def _ask_server(db: str, query: str, timeout: float | None, max_rows: int | None,
                params: list[Any] | None = None) -> tuple[list[str], list[Any], bool] | None:
    """Run the query (`params` bound to its `?`s) on the server that holds `db`, if one
    does."""
    answer = _server_call(db, "/api/v1/sql", {"query": query, "timeout": timeout,
                                               "max_rows": max_rows, "params": params or []},
                          (timeout or 10) + 30)
    if answer is None:
        return None
    return answer["columns"], answer["rows"], answer["truncated"]


def cmd_alerts_test(args: argparse.Namespace) -> int:
    from datetime import UTC, datetime

    from hawatch.analytics.alerts.pipeline import deliver_pending, send_test
    from hawatch.store.db import Store

    settings = _settings(args)
    if not settings["smtp.host"]:
        raise HawatchError("no SMTP server: set smtp.host (HAWATCH_SMTP_HOST)")
    with Store(settings["db"]) as store:
        nid = send_test(store, settings, datetime.now(UTC), args.to)
        deliver_pending(store, settings, datetime.now(UTC))
        status, error = store.cursor().execute(
            "SELECT status, last_error FROM notifications WHERE notification_id = ?",
            [nid]).fetchone()
    if status != "sent":
        raise HawatchError(f"test e-mail {nid} not accepted: {error} (it stays in the "
                           "outbox and is retried by `hawatch serve`)")
    print(f"test e-mail {nid} sent")
    return 0


def _read_rows(db: str, query: str, params: list[Any]) -> list[tuple[Any, ...]]:
    """Rows of a read query, `params` bound to its `?`s: from the running server when one
    holds the database (DuckDB lets one process open it), else from the file."""
    from hawatch.store.db import Store

    remote = _ask_server(db, query, None, None, params)
    if remote is not None:
        return list(remote[1])
    if not Path(db).exists():
        raise HawatchError(f"no database at {db}")
    with Store(db, read_only=True) as store:
        return store.cursor().execute(query, params).fetchall()


def cmd_alerts_log(args: argparse.Namespace) -> int:
    from hawatch.analytics.alerts.outbox import LOG_COLUMNS, LOG_QUERY

    rows = _read_rows(_settings(args)["db"], LOG_QUERY, [max(0, args.limit)])
    print(render(LOG_COLUMNS, rows, args.format) if rows or args.format != "table"
          else "no notifications")
    return 0


def _operator_action(args: argparse.Namespace, payload: dict[str, Any]) -> str:
    """Through the running server when one holds the database, else on the file."""
    from datetime import UTC, datetime

    from hawatch.analytics.alerts.operator import apply_action
    from hawatch.store.db import Store

    settings = _settings(args)
    answer = _server_call(settings["db"], "/api/v1/operator", payload, 30)
    if answer is not None:
        return str(answer["done"])
    if not Path(settings["db"]).exists():
        raise HawatchError(f"no database at {settings['db']}")
    with Store(settings["db"]) as store:
        return apply_action(store, payload, datetime.now(UTC))


def cmd_alerts_ack(args: argparse.Namespace) -> int:
    print(_operator_action(args, {"action": "ack", "incident": args.incident,
                                  "by": args.by, "comment": args.comment}))
    return 0


def cmd_alerts_silence(args: argparse.Namespace) -> int:
    print(_operator_action(args, {"action": "silence", "pair": args.pair,
                                  "until": args.until, "comment": args.comment}))
    return 0


def cmd_windows_add(args: argparse.Namespace) -> int:
    print(_operator_action(args, {"action": "window", "pair": args.pair, "kind": args.kind,
                                  "start": args.start, "end": args.end,
                                  "comment": args.comment}))
    return 0


def cmd_windows_list(args: argparse.Namespace) -> int:
    from hawatch.analytics.window_list import WINDOW_COLUMNS, WINDOW_QUERY

    rows = _read_rows(_settings(args)["db"], WINDOW_QUERY, [args.pair])
    print(render(WINDOW_COLUMNS, rows, args.format) if rows or args.format != "table"
          else "no windows")
    return 0


def _credentials(args: argparse.Namespace) -> Any:
    from hawatch.dashboard.credentials import Credentials

    db = _settings(args)["db"]
    if not Path(db).is_file():
        # users live beside a database: a typo in --db must not start a second, empty list
        raise HawatchError(f"no database at {Path(db).resolve()} (check --db; `hawatch serve "
                           "--db PATH` or `hawatch ingest --db PATH` creates it)")
    return Credentials(db)


def _read_password(from_stdin: bool) -> str:
    """The new password: asked twice on a terminal, else the first line of standard input
    (so `printf '%s\\n' PW | hawatch users add ...` works in scripts and `docker exec -T`)."""
    import getpass

    if from_stdin or not sys.stdin.isatty():
        line = sys.stdin.readline()
        if not line:  # end of input; an empty line is an empty password, refused by the rules
            raise HawatchError("no password on standard input (pipe it in, e.g. printf "
                               "'%s\\n' \"$PW\" | hawatch users add NAME --role ROLE, or run "
                               "in a terminal)")
        return line.rstrip("\r\n")
    password = getpass.getpass("Password: ")
    if password != getpass.getpass("Password again: "):
        raise HawatchError("the passwords differ")
    return password


def cmd_users_add(args: argparse.Namespace) -> int:
    from hawatch.dashboard.credentials import check_password_rules, check_role

    check_role(args.role)
    credentials = _credentials(args)
    if credentials.get(args.name) is not None:  # before asking for a password in vain
        raise HawatchError(f"user {args.name!r} already exists")
    password = _read_password(args.password_stdin)
    check_password_rules(password)
    user = credentials.add(args.name, args.role, password)
    print(f"added {user.name} ({user.role}) to {credentials.path}")
    return 0


def cmd_users_list(args: argparse.Namespace) -> int:
    users = _credentials(args).list()
    rows = [(u.name, u.role, u.created_at) for u in users]
    print(render(["name", "role", "created_at"], rows, args.format)
          if rows or args.format != "table" else "no users")
    return 0


def cmd_users_remove(args: argparse.Namespace) -> int:
    _credentials(args).remove(args.name)
    print(f"removed {args.name}")
    return 0


def cmd_users_set_role(args: argparse.Namespace) -> int:
    user = _credentials(args).set_role(args.name, args.role)
    print(f"{user.name} is now {user.role}")
    return 0


def cmd_users_passwd(args: argparse.Namespace) -> int:
    from hawatch.dashboard.credentials import check_password_rules

    credentials = _credentials(args)
    if credentials.get(args.name) is None:  # before asking for a password in vain
        raise HawatchError(f"no user {args.name!r}")
    password = _read_password(args.password_stdin)
    check_password_rules(password)
    user = credentials.set_password(args.name, password)
    print(f"new password for {user.name}; their dashboard sessions have ended")
    return 0


def cmd_simulate(args: argparse.Namespace) -> int:
    from hawatch.simulator import simulate

    summary = simulate(seed=args.seed, pairs=args.pairs, days=args.days, out=Path(args.out))
    for key, value in summary.items():
        print(f"{key}: {value}")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from hawatch.analytics.analyze import analyze
    from hawatch.analytics.thresholds import Thresholds
    from hawatch.collector.ingest import ingest_paths
    from hawatch.report import print_ingest_report, print_pair_summary
    from hawatch.store.db import Store

    settings = _settings(args)
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
        print(f"hawatch: internal error: {type(exc).__name__}: {exc} "
              "(HAWATCH_DEBUG=1 shows the traceback)", file=sys.stderr)
        return 70
