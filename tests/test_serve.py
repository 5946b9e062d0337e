"""`hawatch serve` as a real process: HTTP ingest, drop folder, syslog over UDP and TCP,
`hawatch sql` while it runs, metrics, SIGTERM flush and SIGKILL restart. Sockets on
127.0.0.1 only; every wait has a deadline."""

from __future__ import annotations

import json
import logging
import logging.handlers
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "test-token-123"
# elastic/integrations sonicwall_firewall test-sonicos70-aws.log, serial and counter varied
LINE = (
    '<134>  id=firewall sn=0040103CE114 time="2022-05-16 15:22:26 UTC" fw=10.0.0.96 pri=6'
    ' c=1024 m=537 msg="Connection Closed" app=12 sess="Web" n={n} usr="admin"'
    " src=81.2.69.193:65055:X1 dst=10.0.0.96:443:X1 proto=tcp/https sent=1930 rcvd=1545"
)


class Server:
    def __init__(
        self,
        tmp: Path,
        syslog: bool = True,
        env: dict[str, str] | None = None,
        log: Path | None = None,
    ) -> None:
        self.db = tmp / "serve.duckdb"
        self.drop = tmp / "drop"
        args = [
            "hawatch",
            "serve",
            "--db",
            str(self.db),
            "--http",
            "127.0.0.1:0",
            "--drop-dir",
            str(self.drop),
        ]
        args += (
            ["--syslog-udp", "127.0.0.1:0", "--syslog-tcp", "127.0.0.1:0"]
            if syslog
            else ["--syslog-udp", "", "--syslog-tcp", ""]
        )
        env = {
            **os.environ,
            "HAWATCH_INGEST_TOKEN": TOKEN,
            "HAWATCH_SERVE_ANALYSIS_INTERVAL_SECONDS": "2",
            **(env or {}),
        }
        # serve's log into a file to read while it runs, or a pipe read at the end
        with open(log or os.devnull, "w") as log_file:
            self.proc = subprocess.Popen(
                args,
                env=env,
                stdout=subprocess.PIPE,
                text=True,
                stderr=log_file if log else subprocess.PIPE,
            )
        info = Path(str(self.db) + ".serve.json")
        # its own file: a server killed before it may have left one (and a ports file); this
        # one is written once the listener is up, so the ports file is then current too
        self.url = wait_for(
            lambda: (data := json.loads(info.read_text()))["pid"] == self.proc.pid and data["url"],
            "server file",
            self.proc,
        )
        self.ports: dict[str, int] = {}
        if syslog:
            ports = Path(str(self.db) + ".spool") / "listener-ports.json"
            self.ports = wait_for(
                lambda: json.loads(ports.read_text()) if ports.exists() else None,
                "listener ports",
                self.proc,
            )

    def stop(self, signum: int = signal.SIGTERM) -> tuple[int, str]:
        self.proc.send_signal(signum)
        out, err = self.proc.communicate(timeout=60)
        return self.proc.returncode, out + (err or "")


def wait_for(probe, what: str, proc: subprocess.Popen | None = None, seconds: float = 30):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise AssertionError(
                f"server exited while waiting for {what}: "
                f"{proc.stderr.read() if proc.stderr else ''}"
            )
        try:
            value = probe()
        except (OSError, ValueError, KeyError):
            value = None
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def sql(db: Path, query: str) -> list:
    result = subprocess.run(
        ["hawatch", "sql", "--db", str(db), "--format", "json", query],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def post(url: str, body: bytes, content_type: str, token: str | None = TOKEN, timeout: float = 30):
    headers = {"Content-Type": content_type}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(
        url + "/api/v1/ingest", data=body, headers=headers, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


@pytest.fixture
def server(tmp_path) -> Iterator[Server]:
    # a dropped file moves to processed/ once nobody wrote to it for 3 s (default 300)
    running = Server(tmp_path, syslog=False, env={"HAWATCH_SERVE_DROP_SETTLE_SECONDS": "3"})
    yield running
    if running.proc.poll() is None:
        running.stop()


def test_http_ingest_drop_folder_sql_and_metrics(server, tmp_path):
    status = (ROOT / "sample_logs" / "exports" / "status.json").read_bytes()
    assert post(server.url, status, "application/json", token=None)[0] == 401
    assert post(server.url, status, "application/json", token="wrong")[0] == 401
    assert post(server.url, status, "application/pdf")[0] == 415
    code, report = post(server.url, status, "application/json")
    assert code == 200 and report["status_samples"] == 103, report
    part = server.drop / "fra1.log.part"  # copy under a .part name, then rename
    part.write_bytes((ROOT / "sample_logs" / "syslog" / "fra1.log").read_bytes())
    part.rename(server.drop / "fra1.log")
    wait_for(lambda: (server.drop / "processed" / "fra1.log").exists(), "drop folder")
    assert sql(server.db, "SELECT count(*) AS n FROM status_samples") == [{"n": 103}]
    assert sql(server.db, "SELECT count(*) AS n FROM ha_events")[0]["n"] == 38
    refused = subprocess.run(
        ["hawatch", "sql", "--db", str(server.db), "DELETE FROM pairs"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert refused.returncode == 1
    assert refused.stderr.startswith("hawatch: error: only SELECT")
    with urllib.request.urlopen(server.url + "/metrics", timeout=10) as response:
        metrics = response.read().decode()
    assert 'hawatch_parsed_total{source="http"} 103' in metrics
    assert 'hawatch_ingested_total{source="drop"}' in metrics
    with urllib.request.urlopen(server.url + "/healthz", timeout=10) as response:
        assert json.loads(response.read())["status"] == "ok"
    code, output = server.stop()
    assert code == 0 and "Traceback" not in output
    assert not Path(str(server.db) + ".serve.json").exists()


@pytest.fixture
def syslog_server(tmp_path) -> Iterator[Server]:
    running = Server(tmp_path)
    yield running
    if running.proc.poll() is None:
        running.stop(signal.SIGKILL)


def test_syslog_udp_and_tcp_then_sigterm_flushes(syslog_server):
    running = syslog_server
    handler = logging.handlers.SysLogHandler(("127.0.0.1", running.ports["udp"]["port"]))
    logger = logging.getLogger("hawatch-test-udp")
    logger.addHandler(handler)
    try:
        for n in range(200):
            logger.warning(LINE.format(n=n).split(">", 1)[1].strip())
            time.sleep(0.001)
    finally:
        logger.removeHandler(handler)
        handler.close()
    with socket.create_connection(("127.0.0.1", running.ports["tcp"]["port"]), timeout=10) as tcp:
        tcp.sendall("".join(LINE.format(n=1000 + n) + "\n" for n in range(300)).encode())
    code, output = running.stop()
    assert code == 0, output
    # after SIGTERM everything received is in the store
    assert sql(running.db, "SELECT sum(lines) AS n FROM message_counts") == [{"n": 500}]


def test_sigkill_then_restart_keeps_every_acknowledged_line(tmp_path, syslog_server):
    running = syslog_server
    with socket.create_connection(("127.0.0.1", running.ports["tcp"]["port"]), timeout=10) as tcp:
        tcp.sendall("".join(LINE.format(n=n) + "\n" for n in range(1000)).encode())
    stats = Path(str(running.db) + ".spool") / "listener-stats.json"
    wait_for(lambda: json.loads(stats.read_text())["sources"]["tcp"]["lines"] >= 1000, "1000 lines")
    running.stop(signal.SIGKILL)
    restarted = Server(tmp_path)  # its listener starts once the orphaned one has gone
    try:
        wait_for(
            lambda: (
                sql(restarted.db, "SELECT coalesce(sum(lines), 0) AS n FROM message_counts")[0]["n"]
                == 1000
            ),
            "1000 stored",
        )
    finally:
        code, _ = restarted.stop()
    assert code == 0


def test_queries_while_ingesting_and_the_sandbox_holds(syslog_server):
    import threading

    running = syslog_server
    stop = threading.Event()

    def flood() -> None:
        with socket.create_connection(
            ("127.0.0.1", running.ports["tcp"]["port"]), timeout=10
        ) as tcp:
            n = 0
            while not stop.is_set() and n < 200_000:
                tcp.sendall("".join(LINE.format(n=n + i) + "\n" for i in range(500)).encode())
                n += 500
                time.sleep(0.01)

    sender = threading.Thread(target=flood)
    sender.start()
    try:
        seen = []
        for _ in range(5):  # the server keeps ingesting while it answers
            seen.append(
                sql(running.db, "SELECT coalesce(sum(lines), 0) AS n FROM message_counts")[0]["n"]
            )
            time.sleep(0.3)
        assert seen == sorted(seen) and seen[-1] > 0
        for query in (
            "SELECT * FROM read_csv('/etc/passwd')",
            f"SELECT * FROM read_blob('{running.db}')",
            "COPY ha_events TO '/tmp/hawatch-leak.csv'",
        ):
            refused = subprocess.run(
                ["hawatch", "sql", "--db", str(running.db), query],
                capture_output=True,
                text=True,
                timeout=60,
            )
            assert refused.returncode == 1 and refused.stderr.startswith("hawatch: error:")
        assert not Path("/tmp/hawatch-leak.csv").exists()
    finally:
        stop.set()
        sender.join()


@pytest.mark.parametrize("taken", ["http", "udp"])
def test_a_port_in_use_is_a_one_line_error_and_nothing_keeps_running(tmp_path, taken):
    """Every port is bound before a thread starts: a busy port ends `hawatch serve` at once
    with one line (it used to print the error and hang on its ingest thread)."""
    kind = socket.SOCK_STREAM if taken == "http" else socket.SOCK_DGRAM
    with socket.socket(socket.AF_INET, kind) as holder:
        holder.bind(("127.0.0.1", 0))
        if taken == "http":
            holder.listen()
        address = f"127.0.0.1:{holder.getsockname()[1]}"
        options = {
            "http": ["--http", address, "--syslog-udp", ""],
            "udp": ["--http", "127.0.0.1:0", "--syslog-udp", address],
        }[taken]
        result = subprocess.run(
            ["hawatch", "serve", "--db", str(tmp_path / "h.duckdb"), "--syslog-tcp", "", *options],
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "in use" in lines[0].lower() and address in lines[0], lines
    assert "Traceback" not in result.stderr
