"""`hawatch serve`: one process owns the database and runs everything around it.

Assembled in `serve()`: store -> listener child -> ingester thread -> scheduler -> web
server. The syslog listener is a child process that never imports DuckDB (receiving in the
owner loses datagrams when DuckDB work stalls Python threads); it spools raw lines into
files closed every second. The ingester thread ingests each closed spool file, the drop
folder and uploaded exports through the ordinary file ingest (idempotent and resumable, so a
crash re-reads at most a file), then deletes or files them away. The DuckDB instance is
locked down (no file or network access), so the SQL endpoint is safe; ingest reads files in
Python and hands DuckDB Arrow tables.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from apscheduler.schedulers.background import BackgroundScheduler

from hawatch.analytics.alerts.digest import send_digest
from hawatch.analytics.alerts.pipeline import run_alert_cycle
from hawatch.analytics.analyze import analyze
from hawatch.analytics.thresholds import Thresholds
from hawatch.collector.ingest import SourceReport, ingest_one, sync_catalog
from hawatch.collector.listener import (
    ListenerConfig,
    listener_argv,
    parse_address,
    read_ports,
    read_stats,
)
from hawatch.collector.pollers.runner import PollRunner, load_plan
from hawatch.collector.sources import Input
from hawatch.collector.spool import closed_files, receive_second, recover_parts
from hawatch.dashboard.app import create_app
from hawatch.metrics import Metrics
from hawatch.store.db import Store
from hawatch.store.errors import HawatchError
from hawatch.web_server import web_server

UPLOAD_TIME = "%Y%m%dT%H%M%S"


def host_port(value: str, what: str) -> tuple[str, int]:
    """The listener's address parser (one way to read HOST:PORT), with a setting's name."""
    try:
        return parse_address(value)
    except ValueError as exc:
        raise HawatchError(f"{what}: {exc}") from None


def server_file(db: str) -> Path:
    """Where a running server leaves its address and SQL token for `hawatch sql`."""
    return Path(db + ".serve.json")


class Service:
    """The running server's state, shared by the web views, the ingester and the jobs."""

    def __init__(self, settings: dict[str, Any], store: Store, spool: Path) -> None:
        self.settings, self.store, self.spool = settings, store, spool
        self.uploads = spool / "uploads"
        self.uploads.mkdir(parents=True, exist_ok=True)
        self.metrics = Metrics()
        self.local_token = secrets.token_urlsafe(24)
        self.listener: subprocess.Popen[bytes] | None = None
        self.stopping = threading.Event()
        self.started = time.time()
        self._ingest_lock = threading.Lock()
        self.pollers: PollRunner | None = None

    # -- ingest ------------------------------------------------------------------------
    def _ingest_file(self, path: Path, source: str, received_at: datetime | None
                     ) -> SourceReport:
        with self._ingest_lock:
            started = time.perf_counter()
            # spool files and uploads are one-off, uniquely named: identified by name
            identity = None if source == "drop" else f"{source}:{path.name}"
            report = ingest_one(self.store, Input(str(path)), self.settings["timezone"],
                                self.settings["ingest.batch_megabytes"] * 1024 * 1024,
                                received_at, identity)
            self.metrics.record_ingest(source, report, time.perf_counter() - started)
        return report

    def pending_files(self) -> list[tuple[Path, str]]:
        """Closed spool files, uploads and dropped files, oldest first."""
        found = [(p, p.name.split("-", 1)[0]) for p in closed_files(self.spool)]
        found += [(p, "http") for p in sorted(self.uploads.glob("*.*"))
                  if not p.name.endswith(".part")]
        drop = self.settings["serve.drop_dir"]
        if drop:
            # a file still being copied in is left alone: hidden or .part names, or written
            # to in the last two seconds (copy to a .part name and rename to be safe)
            settled = time.time() - 2
            found += [(p, "drop") for p in sorted(Path(drop).iterdir())
                      if p.is_file() and not p.name.startswith(".")
                      and not p.name.endswith(".part") and p.stat().st_mtime < settled]
        return found

    def backlog(self) -> int:
        return len(self.pending_files())

    def ingest_pending(self) -> int:
        """Ingest every waiting file once; returns how many were handled."""
        handled = 0
        for path, source in self.pending_files():
            received = (datetime.fromtimestamp(receive_second(path), UTC)
                        if source in ("udp", "tcp") else None)
            report = self._ingest_file(path, source, received)
            self._file_away(path, source, report)
            handled += 1
        return handled

    def _file_away(self, path: Path, source: str, report: SourceReport) -> None:
        if source == "drop":
            target = path.parent / ("failed" if report.status == "failed" else "processed")
            target.mkdir(exist_ok=True)
            path.replace(target / path.name)
        elif report.status == "failed":
            failed = self.spool / "failed"
            failed.mkdir(exist_ok=True)
            path.replace(failed / path.name)
            print(f"hawatch serve: {path.name}: {report.error}", file=sys.stderr)
        else:
            path.unlink(missing_ok=True)

    def ingest_upload(self, body: bytes, kind: str) -> dict[str, Any]:
        """Durably store an HTTP upload, then ingest it now and answer with what it held."""
        name = f"http-{datetime.now(UTC).strftime(UPLOAD_TIME)}-{uuid.uuid4().hex[:8]}"
        part = self.uploads / f"{name}.{kind}.part"
        with open(part, "wb") as handle:
            handle.write(body)
            handle.flush()
            os.fsync(handle.fileno())
        final = part.with_suffix("")
        part.replace(final)
        report = self._ingest_file(final, "http", None)
        if final.exists():
            self._file_away(final, "http", report)
        r = report.result
        return {"status": report.status, "records": report.lines, "events": r.events,
                "events_new": r.events_new, "session_samples": r.samples,
                "status_samples": r.status, "quarantined": r.quarantined,
                "error": report.error}

    def run_ingester(self) -> None:
        """The ingest loop: never dies; errors are logged and retried after a pause."""
        while not self.stopping.is_set():
            try:
                if not self.ingest_pending():
                    self.stopping.wait(0.2)
            except Exception as exc:  # noqa: BLE001 - a background loop must carry on
                print(f"hawatch serve: ingest loop: {type(exc).__name__}: {exc}",
                      file=sys.stderr)
                self.stopping.wait(2)

    # -- analysis ----------------------------------------------------------------------
    def run_analysis(self) -> None:
        try:
            with self._ingest_lock:
                report = analyze(self.store, Thresholds.from_settings(self.settings))
            self.metrics.record_analysis(report.seconds, report.reconciled.opened)
        except Exception as exc:  # noqa: BLE001 - the next run tries again
            print(f"hawatch serve: analysis: {type(exc).__name__}: {exc}", file=sys.stderr)
        self.run_alerts()

    def run_alerts(self) -> None:
        """After each analysis: incidents into the outbox, due e-mails out (never raises)."""
        with self._ingest_lock:
            run_alert_cycle(self.store, self.settings)

    def run_digest(self) -> None:
        try:
            with self._ingest_lock:
                send_digest(self.store, self.settings, datetime.now(UTC))
        except Exception as exc:  # noqa: BLE001 - tomorrow's digest tries again
            print(f"hawatch serve: digest: {type(exc).__name__}: {exc}", file=sys.stderr)

    # -- observability -----------------------------------------------------------------
    def listener_stats(self) -> dict[str, Any]:
        return read_stats(self.spool)

    def health(self) -> dict[str, Any]:
        listener_ok = self.listener is None or self.listener.poll() is None
        return {"status": "ok" if listener_ok and not self.stopping.is_set() else "degraded",
                "listener": "running" if self.listener and listener_ok else
                            "off" if self.listener is None else "stopped",
                "backlog_files": self.backlog(),
                "uptime_seconds": round(time.time() - self.started)}

    def metrics_text(self) -> str:
        return self.metrics.render(self.listener_stats().get("sources", {}), self.backlog())


def start_listener(settings: dict[str, Any], spool: Path) -> tuple[subprocess.Popen[bytes],
                                                                     dict[str, Any]]:
    """Start the listener child and wait until it has bound its ports (or failed to)."""
    addresses = {}
    for proto in ("udp", "tcp"):
        if settings[f"serve.syslog_{proto}"]:
            addresses[proto] = host_port(settings[f"serve.syslog_{proto}"],
                                         f"serve.syslog_{proto}")
    # --exit-with-parent: an orphaned listener (server killed) must not keep the ports
    config = ListenerConfig(spool, udp=addresses.get("udp"), tcp=addresses.get("tcp"),
                            exit_with_parent=True)
    child = subprocess.Popen(listener_argv(config), stderr=subprocess.PIPE)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if child.poll() is not None:
            error = (child.stderr.read() if child.stderr else b"").decode(errors="replace")
            last = (error.strip().splitlines() or ["exited"])[-1]
            if "in use by another listener" in last and time.monotonic() < deadline - 1:
                # the listener of a killed server stops within a second of noticing
                time.sleep(0.5)
                child = subprocess.Popen(listener_argv(config), stderr=subprocess.PIPE)
                continue
            raise HawatchError("syslog listener: " + last)
        ports = read_ports(spool, child.pid)
        if ports:
            return child, {p: ports[p] for p in ("udp", "tcp") if ports.get(p)}
        time.sleep(0.05)
    child.kill()
    raise HawatchError("syslog listener did not start within 15 s")


def _stop_listener(child: subprocess.Popen[bytes] | None) -> None:
    if child is None or child.poll() is not None:
        return
    child.send_signal(signal.SIGTERM)
    try:
        child.wait(10)
    except subprocess.TimeoutExpired:
        child.kill()
        child.wait(5)


def _schedule_digest(scheduler: BackgroundScheduler, service: Service) -> None:
    at = str(service.settings["alerts.digest_time"]).strip()
    if not at or not service.settings["alerts.enabled"]:
        return
    hour, _, minute = at.partition(":")
    if not (hour.isdigit() and minute.isdigit() and int(hour) < 24 and int(minute) < 60):
        raise HawatchError(f"alerts.digest_time: expected HH:MM, got {at!r}")
    scheduler.add_job(service.run_digest, "cron", hour=int(hour), minute=int(minute),
                      max_instances=1, coalesce=True)


def _open_store(settings: dict[str, Any], spool: Path) -> Store:
    from hawatch.collector.inventory import load_inventory

    store = Store(settings["db"])
    sync_catalog(store)
    if settings["inventory"]:
        load_inventory(store, settings["inventory"])
    recover_parts(spool)  # a killed listener's last files: received, so kept
    store.lock_down()
    return store


def _write_server_file(settings: dict[str, Any], url: str, token: str) -> Path:
    path = server_file(settings["db"])
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump({"url": url, "token": token, "pid": os.getpid()}, handle)
    return path


def serve(settings: dict[str, Any]) -> int:
    """Run until SIGTERM or SIGINT; then flush everything received and stop."""
    host, port = host_port(settings["serve.http"], "serve.http")
    spool = Path(settings["serve.spool_dir"] or settings["db"] + ".spool")
    spool.mkdir(parents=True, exist_ok=True)
    if settings["serve.drop_dir"]:
        Path(settings["serve.drop_dir"]).mkdir(parents=True, exist_ok=True)
    store = _open_store(settings, spool)
    try:
        poll_targets, poll_profiles = load_plan(settings)  # an unsafe credentials file: stop
    except HawatchError:
        store.close()
        raise
    service = Service(settings, store, spool)
    # bind every port before any thread starts: a port in use must end the command with
    # its one-line error, not leave a half-started server running
    try:
        web = web_server(create_app(settings, store, service), host, port, settings)
    except OSError as exc:
        store.close()
        raise HawatchError(f"cannot serve the dashboard on {host}:{port} (serve.http):"
                           f" {exc.strerror or exc}") from None
    listening: dict[str, Any] = {}
    if settings["serve.syslog_udp"] or settings["serve.syslog_tcp"]:
        try:
            service.listener, listening = start_listener(settings, spool)
        except HawatchError:
            web.close()
            store.close()
            raise
    ingester = threading.Thread(target=service.run_ingester, name="hawatch-ingest")
    ingester.start()
    scheduler = BackgroundScheduler(timezone="UTC")
    scheduler.add_job(service.run_analysis, "interval",
                      seconds=settings["serve.analysis_interval_seconds"], max_instances=1,
                      coalesce=True, next_run_time=datetime.now(UTC))
    _schedule_digest(scheduler, service)
    if poll_targets:
        service.pollers = PollRunner(store, settings, poll_targets, poll_profiles,
                                     service._ingest_lock, service.metrics.record_poll,
                                     service.metrics.record_poll_skipped)
        service.pollers.start(scheduler)
    scheduler.start()
    url = f"http://{host}:{web.effective_port}"
    info = _write_server_file(settings, url, service.local_token)
    # daemon: it ends with the process (closing its sockets under its running loop only
    # makes it print EBADF tracebacks)
    threading.Thread(target=web.run, name="hawatch-web", daemon=True).start()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: service.stopping.set())
    print(f"hawatch serve: {url}  syslog {json.dumps(listening) if listening else 'off'}"
          f"  spool {spool}  database {settings['db']}", flush=True)
    try:
        service.stopping.wait()
    finally:
        _shutdown(service, scheduler, ingester, info)
    return 0


def _shutdown(service: Service, scheduler: BackgroundScheduler,
              ingester: threading.Thread, info: Path) -> None:
    """Stop taking data, then ingest every line received, then close the store."""
    service.stopping.set()
    _stop_listener(service.listener)  # closes its spool files
    ingester.join()
    scheduler.shutdown(wait=True)
    if service.pollers is not None:
        service.pollers.stop()
    service.ingest_pending()
    info.unlink(missing_ok=True)
    service.store.close()
    print("hawatch serve: stopped; everything received was ingested", flush=True)
