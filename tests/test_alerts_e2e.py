"""End to end: an unsynced failover arriving as SonicOS syslog over TCP (and connection
samples as an HTTP export) reaches a real SMTP server's mailbox exactly once, sent by the
`hawatch serve` process's own analysis and alert jobs."""

from __future__ import annotations

import socket
import time
from datetime import UTC, datetime, timedelta

from tests.test_alerts import Mailbox
from tests.test_alerts import Server as Smtp
from tests.test_serve import Server, post, wait_for

PRIMARY, SECONDARY = "C0EAE4E2E001", "C0EAE4E2E002"
# documented HA text (elastic/beats pipeline.js, MESSAGE#... 147) in the E-aws line shape
FAILOVER = (
    '<129>  id=firewall sn={sn} time="{t} UTC" fw=10.0.0.96 pri=1 c=0 m=147'
    ' msg="Backup missed heartbeats from Active Primary: Backup going Active" n=7'
)


def exports(now: datetime) -> str:
    """The hour before: the primary carries ~20,000 connections; after the failover the
    secondary starts near 0 (sessions reset): an unsynced failover."""
    rows = ["time,serial,pair,connections,vpn_sas"]
    for minutes in range(60, 0, -5):
        at = (now - timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M:%SZ")
        after = minutes < 10
        rows.append(f"{at},{PRIMARY},fw-e2e,{0 if after else 20000},{0 if after else 40}")
        rows.append(f"{at},{SECONDARY},fw-e2e,{150 if after else 0},{1 if after else 0}")
    return "\n".join(rows) + "\n"


def test_unsynced_failover_over_syslog_is_mailed_once(tmp_path):
    mailbox = Mailbox()
    smtp = Smtp(mailbox)
    smtp.start()
    (tmp_path / "pairs.csv").write_text(
        "pair,site,primary_serial,secondary_serial,timezone\n"
        f"fw-e2e,lab,{PRIMARY},{SECONDARY},Europe/Berlin\n"
    )
    server = Server(
        tmp_path,
        env={
            "HAWATCH_INVENTORY": str(tmp_path / "pairs.csv"),
            "HAWATCH_SMTP_HOST": "127.0.0.1",
            "HAWATCH_SMTP_PORT": str(smtp.port),
            "HAWATCH_SMTP_SECURITY": "plain",
            "HAWATCH_ALERT_TO": "noc@example.com",
            "HAWATCH_ALERTS_GROUP_WAIT_SECONDS": "0",
        },
    )
    try:
        now = datetime.now(UTC).replace(microsecond=0)
        code, report = post(server.url, exports(now).encode(), "text/csv")
        assert code == 200 and report["session_samples"] == 24, report
        failover_at = (now - timedelta(minutes=9, seconds=30)).strftime("%Y-%m-%d %H:%M:%S")
        with socket.create_connection(("127.0.0.1", server.ports["tcp"]["port"]), 10) as tcp:
            tcp.sendall((FAILOVER.format(sn=SECONDARY, t=failover_at) + "\n").encode())

        def unsynced() -> list:
            return [m for m in mailbox.messages if "unsynced failover" in m["Subject"]]

        wait_for(unsynced, "the unsynced-failover e-mail", server.proc, seconds=60)
        time.sleep(6)  # three more analysis and alert cycles: no second e-mail
        (message,) = unsynced()
        assert message["Subject"].startswith("[hawatch] CRITICAL unsynced failover fw-e2e")
        assert message["To"] == "noc@example.com"
        body = message.get_body(("plain",)).get_content()
        assert "20000" in body.replace(",", "") and SECONDARY in body
    finally:
        server.stop()
        smtp.stop()
