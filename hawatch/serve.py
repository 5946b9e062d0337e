"""`hawatch serve`: one process owns the database and runs everything around it.

Assembled in `serve()`: store -> listener child -> ingester thread -> scheduler -> web
server. The syslog listener is a child process that never imports DuckDB (receiving in the
owner loses datagrams when DuckDB work stalls Python threads); it spools raw lines into
files closed every second. The ingester thread ingests each closed spool file, the drop
folder and uploaded exports through the ordinary file ingest (idempotent and resumable, so a
crash re-reads at most a file), then deletes or files them away. The DuckDB instance is
locked down (no file or network access), so the SQL endpoint is safe; ingest reads files in
Python and hands DuckDB Arrow tables.

The listener child is supervised by hawatch/listener_supervisor.py: restarted when it dies,
its log read and relayed, its state in /healthz and /metrics.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import signal
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
from hawatch.background import ScheduledJob, run_forever
from hawatch.collector.drop_folder import DropFile, DropFolder
from hawatch.collector.ingest import SourceReport, ingest_one, sync_catalog
from hawatch.collector.inputs import Input
from hawatch.collector.limits import IngestLimits
from hawatch.collector.pollers.runner import PollRunner, load_plan
from hawatch.collector.syslog.listener import ListenerConfig, parse_address, read_stats
from hawatch.collector.syslog.spool import (
    NAME_RE,
    closed_files,
    make_private_dir,
    receive_second,
    recover_parts,
)
from hawatch.dashboard.app import create_app
from hawatch.listener_supervisor import ListenerSupervisor
from hawatch.logs import configure_logging
from hawatch.metrics import Metrics
from hawatch.store.db import Store
from hawatch.store.errors import HawatchError
from hawatch.store.health import StoreGuard
from hawatch.store.settings_type import Settings
from hawatch.web_server import bind_web, plain_http_warning

UPLOAD_TIME = "%Y%m%dT%H%M%S"
HELD = ".held"  # an upload its web request is ingesting: the ingester leaves it alone
WHY = ".why"  # beside a file in failed/: the reason, one line
# the formats each path accepts; an inventory never comes through the data path
UPLOAD_FORMATS = {
    "json": ("json", "truth"),
    "csv": ("csv",),
    "log": ("syslog", "json", "csv", "truth"),
}
DROP_FORMATS = ("syslog", "json", "csv", "truth")
REFUSAL_STATUS = {"format": 400, "inventory": 403, "too_large": 413, "not_regular": 400}

log = logging.getLogger(__name__)


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

    def __init__(self, settings: Settings, store: Store, spool: Path) -> None:
        self.settings, self.store, self.spool = settings, store, spool
        self.uploads = spool / "uploads"
        self.uploads.mkdir(parents=True, exist_ok=True)
        self.metrics = Metrics()
        self.local_token = secrets.token_urlsafe(24)
        self.listener: ListenerSupervisor | None = None
        self.stopping = threading.Event()
        self.started = time.time()
        self._ingest_lock = threading.Lock()  # analysis, alerts and digest, one at a time
        self.limits = IngestLimits.from_settings(settings)
        self.guard = StoreGuard(store)
        self.drop = _drop_folder(settings, spool)
        # scheduled jobs that never raise, and skip runs while they keep failing
        self.analysis_job = ScheduledJob("analysis", self._analyze, log)
        self.alert_job = ScheduledJob("alert cycle", self.run_alerts, log)
        self.digest_job = ScheduledJob("digest", self._send_digest, log, most_skipped=0)
        self.pollers: PollRunner | None = None
        _recover_uploads(self.uploads)
        _retry_parked(spool, self.uploads)

    # -- ingest ------------------------------------------------------------------------
    def _ingest_file(
        self, item: Input, source: str, received_at: datetime | None, **options: Any
    ) -> SourceReport:
        """Ingest one file with this server's settings; record it; tell the guard when the
        store failed. No lock beyond the store's own per batch: a long file commits in
        batches, and syslog, uploads and the analysis take their turns between them."""
        started = time.perf_counter()
        report = ingest_one(
            self.store,
            item,
            self.settings["timezone"],
            self.settings["ingest.batch_megabytes"] * 1024 * 1024,
            received_at,
            limits=self.limits,
            **options,
        )
        self.metrics.record_ingest(source, report, time.perf_counter() - started)
        if report.transient:
            self.guard.failed(report.error)
            log.warning(
                "%s: %s; kept, tried again in %s s",
                Path(item.name).name,
                report.error,
                self.guard.retry_after(),
            )
        elif report.status in ("ingested", "resumed", "unchanged"):
            self.guard.succeeded()
        return report

    def pending_files(self) -> list[tuple[Path, str]]:
        """Closed spool files and uploads left by a stopped server, oldest first (the drop
        folder has its own thread: a large file there never holds up syslog)."""
        found = [(p, p.name.split("-", 1)[0]) for p in closed_files(self.spool)]
        found += [
            (p, "http")
            for p in sorted(self.uploads.glob("*.*"))
            if p.suffix.lstrip(".") in UPLOAD_FORMATS
        ]
        return found

    def backlog(self) -> int:
        return len(self.pending_files()) + (self.drop.waiting() if self.drop else 0)

    def ingest_pending(self) -> int:
        """Ingest every waiting spool file and upload once, while the store takes writes;
        returns how many were handled."""
        handled = 0
        for path, source in self.pending_files():
            if not self.guard.ready():
                break
            if source in ("udp", "tcp"):  # a listener's file is syslog, whatever it holds
                report = self._ingest_file(
                    Input(str(path)),
                    source,
                    datetime.fromtimestamp(receive_second(path), UTC),
                    identity=f"{source}:{path.name}",
                    force_format="syslog",
                )
            else:
                report = self._ingest_file(
                    Input(str(path)),
                    source,
                    None,
                    identity=f"http:{path.name}",
                    formats=UPLOAD_FORMATS[path.suffix.lstrip(".")],
                )
            if report.transient:
                break  # the store's trouble: every file waits, in order
            self._file_away(path, report)
            handled += 1
        return handled

    def _file_away(self, path: Path, report: SourceReport) -> None:
        """Delete a spool file or upload once its content is in the store; keep one that
        cannot be ingested in spool/failed/ with its reason (NAME.why)."""
        if report.status not in ("failed", "refused"):
            path.unlink(missing_ok=True)
            return
        failed = self.spool / "failed"
        failed.mkdir(exist_ok=True)
        path.replace(failed / path.name)
        (failed / (path.name + WHY)).write_text(f"{report.error}\n")
        log.warning("%s: %s; kept in %s", path.name, report.error, failed)

    def ingest_upload(self, body: bytes, kind: str) -> tuple[int, dict[str, Any]]:
        """Store an HTTP upload durably, ingest it now, answer with a status and what it held.

        The file is named `.held` while its request ingests it, so the ingester thread never
        takes it too (both did: the second found it gone and counted a false failure). 200:
        stored; 4xx: refused, with the reason; 503: not stored (the store cannot write now):
        send it again later, records already stored are not stored twice.
        """
        if not self.guard.ready():
            return 503, {
                "status": "not stored",
                "error": "the store cannot take writes now"
                f" ({self.guard.problem()}); send it again later",
                "retry_after": self.guard.retry_after(),
            }
        name = f"http-{datetime.now(UTC).strftime(UPLOAD_TIME)}-{uuid.uuid4().hex[:8]}.{kind}"
        held = self.uploads / (name + HELD)
        try:
            _write_durably(held, body)
        except OSError as exc:
            return 503, {
                "status": "not stored",
                "retry_after": 30,
                "error": f"cannot keep the upload: {exc.strerror or exc}",
            }
        report = self._ingest_file(
            Input(str(held)), "http", None, identity=f"http:{name}", formats=UPLOAD_FORMATS[kind]
        )
        if report.status == "failed" and not report.transient:
            kept = held.with_name(name)
            held.replace(kept)
            self._file_away(kept, report)  # kept to look into
        held.unlink(missing_ok=True)
        return _upload_answer(report, self.guard.retry_after())

    def run_ingester(self) -> None:
        """The ingest loop: never dies; errors are logged and retried after a pause. The
        drop folder runs in a thread of its own, ended with this loop."""
        drop = (
            threading.Thread(target=self.run_drop_folder, name="hawatch-drop")
            if self.drop
            else None
        )
        if drop:
            drop.start()
        try:
            run_forever("ingest loop", self.ingest_pending, self.stopping, log, idle=0.2)
        finally:
            if drop:
                drop.join()

    def run_drop_folder(self) -> None:
        run_forever("drop folder", self.ingest_drop_folder, self.stopping, log, idle=0.5)

    def ingest_drop_folder(self) -> int:
        """Act on every drop-folder file that is due; returns how many were."""
        assert self.drop is not None
        handled = 0
        for item in self.drop.due():
            if self.stopping.is_set() or (item.refusal is None and not self.guard.ready()):
                break
            if item.refusal is None:
                report = self._ingest_file(
                    self.drop.input(item.name),
                    "drop",
                    None,
                    formats=DROP_FORMATS,
                    final=item.final,
                    stop=self.stopping,
                )
                if report.transient or report.status == "interrupted":
                    break
                self._drop_done(item, report)
            else:
                self.metrics.record_refused("drop")
                self._drop_refused(item.name, item.refusal)
            handled += 1
        return handled

    def _drop_done(self, item: DropFile, report: SourceReport) -> None:
        assert self.drop is not None
        if report.status in ("failed", "refused"):
            self._drop_refused(item.name, report.error or report.status)
        elif item.final:
            self.drop.file_away(item.name, failed=False)
        else:
            self.drop.ingested(item)  # it may grow: looked at again when it does

    def _drop_refused(self, name: str, why: str) -> None:
        assert self.drop is not None
        target = self.drop.file_away(name, failed=True, why=why)
        if target is not None:
            log.warning("drop folder: %s: %s; moved to %s", name, why, target.parent)

    # -- analysis ----------------------------------------------------------------------
    def run_analysis(self) -> None:
        """The scheduled job: an analysis pass, then the alert cycle (each never raises)."""
        self.analysis_job()
        self.alert_job()

    def _analyze(self) -> None:
        with self._ingest_lock:
            report = analyze(self.store, Thresholds.from_settings(self.settings))
        self.metrics.record_analysis(report.seconds, report.reconciled.opened)

    def run_alerts(self) -> None:
        """After each analysis: incidents into the outbox, due e-mails out."""
        with self._ingest_lock:
            run_alert_cycle(self.store, self.settings)

    def _send_digest(self) -> None:
        with self._ingest_lock:
            send_digest(self.store, self.settings, datetime.now(UTC))

    # -- observability -----------------------------------------------------------------
    def listener_stats(self) -> dict[str, Any]:
        return read_stats(self.spool)

    def health(self) -> dict[str, Any]:
        listener = self.listener.health() if self.listener else {"listener": "off"}
        store = self.guard.problem()  # a real probe: the store read and wrote just now
        ok = (
            listener["listener"] in ("running", "off")
            and not self.stopping.is_set()
            and store is None
        )
        return {
            "status": "ok" if ok else "degraded",
            "store": store or "ok",
            **listener,
            "backlog_files": self.backlog(),
            "uptime_seconds": round(time.time() - self.started),
        }

    def metrics_text(self) -> str:
        return self.metrics.render(self.listener_stats().get("sources", {}), self.backlog()) + (
            self.listener.metrics_text() if self.listener else ""
        )


def _upload_answer(report: SourceReport, retry_after: int) -> tuple[int, dict[str, Any]]:
    r = report.result
    answer: dict[str, Any] = {
        "status": report.status,
        "records": report.lines,
        "events": r.events,
        "events_new": r.events_new,
        "session_samples": r.samples,
        "status_samples": r.status,
        "quarantined": r.quarantined,
        "quarantine_stored": r.quarantine_stored,
        "error": report.error,
    }
    if report.status == "refused":
        return REFUSAL_STATUS.get(report.refusal or "", 400), answer
    if report.transient:
        answer["status"], answer["retry_after"] = "not stored", retry_after
        answer["error"] = (
            f"not stored: {report.error}; send it again later (records already"
            " stored are not stored twice)"
        )
        return 503, answer
    if report.status == "failed":
        return 422, answer
    return 200, answer


def _write_durably(path: Path, body: bytes) -> None:
    """Write, fsync, then rename into place: the file is whole or absent after a crash."""
    part = path.with_name(path.name + ".part")
    try:
        with open(part, "wb") as handle:
            handle.write(body)
            handle.flush()
            os.fsync(handle.fileno())
        part.replace(path)
    except OSError:
        part.unlink(missing_ok=True)
        raise


def _drop_folder(settings: Settings, spool: Path) -> DropFolder | None:
    """The drop folder, refused when it is the database's folder or the spool: files there
    are not data to ingest (the session secret and users file live beside the database)."""
    if not settings["serve.drop_dir"]:
        return None
    drop = Path(settings["serve.drop_dir"]).resolve()
    for name, folder in (
        ("database", Path(settings["db"]).resolve().parent),
        ("spool", spool.resolve()),
    ):
        if drop == folder:
            raise HawatchError(
                f"serve.drop_dir {drop} is the {name} folder: give the drop"
                " folder one of its own (files in it are read and moved)"
            )
    return DropFolder(
        drop,
        float(settings["serve.drop_quiet_seconds"]),
        float(settings["serve.drop_settle_seconds"]),
    )


def _recover_uploads(uploads: Path) -> None:
    """Uploads a stopped server was ingesting (`.held`) go to the ingester; half-written
    ones (`.part`) were never acknowledged and are dropped."""
    for held in uploads.glob(f"*{HELD}"):
        held.replace(held.with_name(held.name.removesuffix(HELD)))
    for part in uploads.glob("*.part"):
        part.unlink(missing_ok=True)


def _retry_parked(spool: Path, uploads: Path) -> None:
    """Files an earlier run could not ingest (spool/failed/, e.g. while the disk was full)
    are tried once more at each start; what fails again goes back there."""
    failed = spool / "failed"
    if not failed.is_dir():
        return
    for path in sorted(failed.iterdir()):
        if path.name.endswith(WHY) or not path.is_file():
            continue
        if NAME_RE.match(path.name) and path.name.endswith(".log"):
            path.replace(spool / path.name)
        elif path.name.startswith("http-") and path.suffix.lstrip(".") in UPLOAD_FORMATS:
            path.replace(uploads / path.name)
        else:
            continue
        (failed / (path.name + WHY)).unlink(missing_ok=True)


def listener_config(settings: Settings, spool: Path) -> ListenerConfig | None:
    """What the listener child listens on, from the settings; None when syslog is off."""
    addresses = {}
    for proto, given in (
        ("udp", settings["serve.syslog_udp"]),
        ("tcp", settings["serve.syslog_tcp"]),
    ):
        if given:
            addresses[proto] = host_port(given, f"serve.syslog_{proto}")
    if not addresses:
        return None
    # --exit-with-parent: an orphaned listener (server killed) must not keep the ports
    return ListenerConfig(
        spool,
        udp=addresses.get("udp"),
        tcp=addresses.get("tcp"),
        max_connections=settings["serve.syslog_tcp_max_connections"],
        idle_seconds=settings["serve.syslog_tcp_idle_seconds"],
        exit_with_parent=True,
    )


def _poll_log(line: str) -> None:
    """The pollers' lines (a unit's outcome changed, results not stored) in serve's log."""
    logging.getLogger("hawatch.collector.pollers").warning("%s", line)


def _schedule_digest(scheduler: BackgroundScheduler, service: Service) -> None:
    at = str(service.settings["alerts.digest_time"]).strip()
    if not at or not service.settings["alerts.enabled"]:
        return
    hour, _, minute = at.partition(":")
    if not (hour.isdigit() and minute.isdigit() and int(hour) < 24 and int(minute) < 60):
        raise HawatchError(f"alerts.digest_time: expected HH:MM, got {at!r}")
    scheduler.add_job(
        service.digest_job,
        "cron",
        hour=int(hour),
        minute=int(minute),
        max_instances=1,
        coalesce=True,
    )


def _open_store(settings: Settings, spool: Path) -> Store:
    from hawatch.collector.inventory import load_inventory

    store = Store(settings["db"])
    sync_catalog(store)
    if settings["inventory"]:
        load_inventory(store, settings["inventory"])
    recover_parts(spool)  # a killed listener's last files: received, so kept
    store.lock_down()
    return store


def _write_server_file(settings: Settings, url: str, token: str) -> Path:
    path = server_file(settings["db"])
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump({"url": url, "token": token, "pid": os.getpid()}, handle)
    return path


def serve(settings: Settings) -> int:
    """Run until SIGTERM or SIGINT; then flush everything received and stop."""
    configure_logging(settings["log.level"])
    host, port = host_port(settings["serve.http"], "serve.http")
    spool = Path(settings["serve.spool_dir"] or settings["db"] + ".spool")
    try:
        make_private_dir(spool)
    except OSError as exc:
        raise HawatchError(
            f"cannot use the spool folder {spool} (serve.spool_dir): {exc.strerror or exc}"
        ) from None
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
        web = bind_web(create_app(settings, store, service), host, port, settings, spool)
    except OSError as exc:
        store.close()
        raise HawatchError(
            f"cannot serve the dashboard on {host}:{port} (serve.http): {exc.strerror or exc}"
        ) from None
    listening: dict[str, Any] = {}
    try:
        config = listener_config(settings, spool)
        if config is not None:
            service.listener = ListenerSupervisor(config)
            listening = service.listener.start()
    except HawatchError:
        web.close()
        store.close()
        raise
    ingester = threading.Thread(target=service.run_ingester, name="hawatch-ingest")
    ingester.start()
    scheduler = BackgroundScheduler(timezone="UTC")
    scheduler.add_job(
        service.run_analysis,
        "interval",
        seconds=settings["serve.analysis_interval_seconds"],
        max_instances=1,
        coalesce=True,
        next_run_time=datetime.now(UTC),
    )
    _schedule_digest(scheduler, service)
    if poll_targets:
        service.pollers = PollRunner(
            store,
            settings,
            poll_targets,
            poll_profiles,
            service._ingest_lock,
            service.metrics.record_poll,
            service.metrics.record_poll_skipped,
            log=_poll_log,
        )
        service.pollers.start(scheduler)
    scheduler.start()
    url = web.url
    info = _write_server_file(settings, url, service.local_token)
    web.start()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: service.stopping.set())
    warning = plain_http_warning(settings)
    if warning:
        log.warning("%s", warning)
    print(
        f"hawatch serve: {url}  syslog {json.dumps(listening) if listening else 'off'}"
        f"  spool {spool}  database {settings['db']}",
        flush=True,
    )
    try:
        service.stopping.wait()
    finally:
        _shutdown(service, scheduler, ingester, info)
    return 0


def _shutdown(
    service: Service, scheduler: BackgroundScheduler, ingester: threading.Thread, info: Path
) -> None:
    """Stop taking data, then ingest every line received, then close the store."""
    service.stopping.set()
    if service.listener:
        service.listener.stop()  # no more restarts; the child closes its spool files
    ingester.join()
    scheduler.shutdown(wait=True)
    if service.pollers is not None:
        service.pollers.stop()
    service.ingest_pending()
    waiting = len(service.pending_files())
    why = service.guard.problem() if waiting else None
    info.unlink(missing_ok=True)
    service.store.close()
    print(
        "hawatch serve: stopped; "
        + (
            f"{waiting} files wait in the spool for the next start (the store did not take"
            f" them: {why})"
            if waiting
            else "everything received was ingested"
        ),
        flush=True,
    )
