"""Alert e-mails end to end, against a real SMTP server (aiosmtpd) on 127.0.0.1.

Incidents come from SonicOS lines and export samples ingested and analysed (the shapes of
tests/test_analytics.py), or, for lifecycle rules, are written as the analytics write them.
Time is driven with an explicit `now`; nothing sleeps.
"""

from __future__ import annotations

import asyncio
import email
import json
import logging
import socket
import ssl
import time
from datetime import UTC, datetime, timedelta
from email import policy
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from hawatch.analytics.alerts.digest import send_digest
from hawatch.analytics.alerts.pipeline import evaluate, run_alert_cycle, send_test
from hawatch.analytics.alerts.render import both_times
from hawatch.analytics.alerts.settings import alert_settings
from hawatch.analytics.alerts.silences import add_silence
from hawatch.analytics.analyze import analyze
from hawatch.store import Store

from tests.conftest import rows, scalar
from tests.test_analytics import (
    LAB,
    PRIMARY,
    SECONDARY,
    T0,
    ha_line,
    ingest,
    unsynced_dataset,
    write_inventory,
    write_lines,
)

LATER = timedelta(minutes=1)


class Mailbox:
    """aiosmtpd handler keeping every accepted message."""

    def __init__(self) -> None:
        self.messages: list[email.message.EmailMessage] = []
        self.envelopes: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.envelopes.append(envelope)
        self.messages.append(
            email.message_from_bytes(envelope.original_content, policy=policy.default)
        )
        return "250 OK"


class Server(Controller):
    """A Controller on 127.0.0.1 that may bind port 0 and reads the bound port back."""

    def __init__(self, handler: Any, port: int = 0, **kwargs: Any) -> None:
        super().__init__(handler, hostname="127.0.0.1", port=port, **kwargs)

    def _trigger_server(self) -> None:
        self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()


@pytest.fixture
def mailbox() -> Mailbox:
    return Mailbox()


@pytest.fixture
def smtp(mailbox: Mailbox):
    server = Server(mailbox)
    server.start()
    yield server
    server.stop()


def settings_for(port: int, **extra: Any) -> dict[str, Any]:
    return alert_settings(
        {
            "smtp.host": "127.0.0.1",
            "smtp.port": port,
            "smtp.security": "plain",
            "alerts.to": "noc@example.com",
            "alerts.from": "hawatch@example.com",
            "alerts.base_url": "https://hawatch.example.com",
            "alerts.max_age_hours": 24.0 * 365,
            **extra,
        }
    )


@pytest.fixture
def settings(smtp: Server) -> dict[str, Any]:
    return settings_for(smtp.port)


def body(msg: email.message.EmailMessage, kind: str = "plain") -> str:
    return msg.get_body((kind,)).get_content()


def now() -> datetime:
    return datetime.now(UTC)


def notifications(store: Store) -> list[tuple[Any, ...]]:
    return rows(
        store,
        "SELECT notification_id, kind, status, pair, reason, subject,"
        " incident_ids FROM notifications ORDER BY notification_id",
    )


# -- from logs to one e-mail --------------------------------------------------------------------


def test_unsynced_failover_reaches_the_mailbox_exactly_once(tmp_path, store, settings, mailbox):
    files = unsynced_dataset(tmp_path / "data")
    ingest(store, *files.values())
    analyze(store)
    start = now()
    run_alert_cycle(store, settings, start)  # inside the group wait: nothing yet
    assert mailbox.messages == []
    run_alert_cycle(store, settings, start + LATER)
    run_alert_cycle(store, settings, start + 2 * LATER)
    assert len(mailbox.messages) == 1
    msg = mailbox.messages[0]
    assert msg["Subject"].startswith(f"[hawatch] CRITICAL unsynced failover {LAB} (lab)")
    assert msg["To"] == "noc@example.com"
    (nid, kind, status, *_rest) = notifications(store)[0]
    assert (kind, status) == ("new", "sent")
    assert msg["Message-ID"] == f"<hawatch.notification.{nid}@example.com>"
    text = body(msg)
    assert "\r\n" in mailbox.envelopes[0].original_content.decode()
    assert "connections before: 12,000" in text
    assert "stateful sync: off" in text
    assert f"https://hawatch.example.com/pairs/{LAB}" in text
    assert "UTC" in text
    assert scalar(store, "SELECT count(*) FROM notifications WHERE status <> 'sent'") == 0


def test_a_storm_of_200_events_on_one_pair_is_one_email(tmp_path, store, settings, mailbox):
    lines = []
    for k in range(100):  # the backup and the primary taking turns, every 30 s
        at = T0 + timedelta(minutes=k)
        lines += [ha_line(143, SECONDARY, at), ha_line(142, PRIMARY, at + timedelta(seconds=30))]
    ingest(
        store,
        write_inventory(tmp_path / "inventory.csv", (LAB, PRIMARY, SECONDARY)),
        write_lines(tmp_path / "storm.log", lines),
    )
    analyze(store)
    assert scalar(store, "SELECT count(*) FROM ha_events") == 200
    start = now()
    for minute in range(1, 6):
        run_alert_cycle(store, settings, start + minute * LATER)
    assert len(mailbox.messages) == 1
    assert "flapping" in mailbox.messages[0]["Subject"]


# -- lifecycle rules, on incidents as the analytics write them --------------------------------


@pytest.fixture
def lab(tmp_path, store) -> Store:
    ingest(store, write_inventory(tmp_path / "inventory.csv", (LAB, PRIMARY, SECONDARY)))
    return store


def open_incident(
    store: Store,
    kind: str = "unsynced_failover",
    severity: str = "critical",
    summary: str = "failover to C0EAE4A10002 kept 1% of 12000 connections",
    evidence: dict[str, Any] | None = None,
    opened_at: datetime = T0,
    detected: datetime | None = None,
) -> int:
    with store.transaction() as cur:
        (iid,) = cur.execute(
            "INSERT INTO incidents (pair, kind, incident_key, severity, opened_at, status,"
            " summary, evidence, first_detected, last_updated) VALUES"
            " (?, ?, NULL, ?, ?, 'open', ?, ?, ?, ?) RETURNING incident_id",
            [
                LAB,
                kind,
                severity,
                opened_at,
                summary,
                json.dumps(
                    evidence
                    or {
                        "connections_before": 12000,
                        "connections_after": 120,
                        "kept_percent": 1.0,
                        "stateful_sync": "disabled",
                    }
                ),
                detected or now(),
                detected or now(),
            ],
        ).fetchone()
    return int(iid)


def resolve(store: Store, iid: int, at: datetime) -> None:
    with store.transaction() as cur:
        cur.execute(
            "UPDATE incidents SET status = 'resolved', resolved_at = ? WHERE incident_id = ?",
            [at, iid],
        )


def test_resolved_email_after_the_new_one(lab, settings, mailbox):
    iid = open_incident(lab)
    start = now()
    run_alert_cycle(lab, settings, start + LATER)
    resolve(lab, iid, T0 + timedelta(minutes=30))
    run_alert_cycle(lab, settings, start + 2 * LATER)
    run_alert_cycle(lab, settings, start + 3 * LATER)
    assert [m["Subject"] for m in mailbox.messages] == [
        f"[hawatch] CRITICAL unsynced failover {LAB} (lab)",
        f"[hawatch] RESOLVED unsynced failover {LAB} (lab)",
    ]
    assert "resolved: 2026-10-05 08:30:00 UTC" in body(mailbox.messages[1])
    with lab.transaction() as cur:  # later data shows it went on: reopened, mailed again
        cur.execute("UPDATE incidents SET status = 'open', resolved_at = NULL")
    run_alert_cycle(lab, settings, start + 4 * LATER)
    run_alert_cycle(lab, settings, start + 5 * LATER)
    assert len(mailbox.messages) == 3
    assert mailbox.messages[2]["Subject"] == mailbox.messages[0]["Subject"]


def test_an_open_incident_repeats_only_after_the_repeat_interval(lab, settings, mailbox):
    open_incident(lab)
    start = now()
    run_alert_cycle(lab, settings, start + LATER)
    run_alert_cycle(lab, settings, start + timedelta(hours=3, minutes=59))
    assert len(mailbox.messages) == 1
    run_alert_cycle(lab, settings, start + timedelta(hours=4, minutes=2))
    run_alert_cycle(lab, settings, start + timedelta(hours=4, minutes=3))
    assert len(mailbox.messages) == 2
    assert mailbox.messages[1]["Subject"].startswith("[hawatch] STILL CRITICAL")


def test_a_silenced_pair_gets_no_email_but_its_resolution_is_recorded(lab, settings, mailbox):
    start = now()
    add_silence(lab, LAB, start + timedelta(hours=1), start, comment="change CHG-1")
    iid = open_incident(lab)
    run_alert_cycle(lab, settings, start + LATER)
    resolve(lab, iid, T0 + timedelta(minutes=30))
    run_alert_cycle(lab, settings, start + 2 * LATER)
    assert mailbox.messages == []
    assert [(k, s) for _, k, s, *_ in notifications(lab)] == [
        ("new", "suppressed"),
        ("resolved", "suppressed"),
    ]
    assert all(r.startswith("silenced until") for *_, r, _s, _i in notifications(lab))
    # the silence expires by itself: the next incident is mailed
    open_incident(lab, summary="second failover", detected=start + timedelta(hours=1))
    run_alert_cycle(lab, settings, start + timedelta(hours=1, minutes=2))
    assert len(mailbox.messages) == 1
    # and the digest shows what the silence kept back
    send_digest(lab, settings, start + timedelta(hours=1, minutes=3))
    run_alert_cycle(lab, settings, start + timedelta(hours=1, minutes=3))
    digest = body(mailbox.messages[-1])
    assert "Suppressed since the last digest" in digest
    assert digest.count("silenced until") == 2


def test_smtp_down_then_back_delivers_once(lab, mailbox):
    server = Server(mailbox)
    server.start()
    port = server.port
    settings = settings_for(port)
    server.stop()
    open_incident(lab)
    start = now()
    run_alert_cycle(lab, settings, start + LATER)
    (row,) = rows(lab, "SELECT status, attempts, last_error, next_attempt_at FROM notifications")
    assert row[0:2] == ("pending", 1) and row[2]
    assert row[3] == start + LATER + timedelta(seconds=30)
    run_alert_cycle(lab, settings, start + 2 * LATER)  # still down: the delay doubles
    assert scalar(lab, "SELECT next_attempt_at FROM notifications") == (
        start + 2 * LATER + timedelta(seconds=60)
    )
    server = Server(mailbox, port=port)
    server.start()
    try:
        run_alert_cycle(lab, settings, start + 2 * LATER + timedelta(seconds=30))
        assert mailbox.messages == []  # not due yet
        run_alert_cycle(lab, settings, start + 4 * LATER)
        run_alert_cycle(lab, settings, start + 5 * LATER)
    finally:
        server.stop()
    assert len(mailbox.messages) == 1
    assert rows(lab, "SELECT status, attempts, last_error FROM notifications") == [
        ("sent", 3, None)
    ]


def test_a_restart_sends_only_unsent_rows(tmp_path, settings, mailbox):
    path = tmp_path / "restart.duckdb"
    with Store(path) as before:
        first = send_test(before, settings, now(), to="a@example.com")
        second = send_test(before, settings, now(), to="b@example.com")
        with before.transaction() as cur:  # that process got the 250 for the first, then died
            cur.execute(
                "UPDATE notifications SET status = 'sent', sent_at = now()"
                " WHERE notification_id = ?",
                [first],
            )
    with Store(path) as after:
        run_alert_cycle(after, settings, now())
        run_alert_cycle(after, settings, now() + LATER)
        assert [e.rcpt_tos for e in mailbox.envelopes] == [["b@example.com"]]
        assert mailbox.messages[0]["Message-ID"] == (f"<hawatch.notification.{second}@example.com>")


def test_a_send_cut_short_by_a_crash_goes_out_again(tmp_path, settings, mailbox):
    """A process claimed a row (its attempt recorded) and died before the server's answer:
    once that attempt cannot still be running, the row is sent again with its Message-ID.
    A row claimed a moment ago is left to the attempt under way."""
    from hawatch.analytics.alerts.outbox import claim

    path = tmp_path / "crash.duckdb"
    with Store(path) as before:
        old = send_test(before, settings, now(), to="a@example.com")
        fresh = send_test(before, settings, now(), to="b@example.com")
        assert claim(before, old, now() - timedelta(hours=1))
        assert claim(before, fresh, now())
    with Store(path) as after:
        run_alert_cycle(after, settings, now())
        assert rows(
            after, "SELECT notification_id, status, attempts FROM notifications ORDER BY 1"
        ) == [(old, "sent", 2), (fresh, "sending", 1)]
    assert [e.rcpt_tos for e in mailbox.envelopes] == [["a@example.com"]]
    assert mailbox.messages[0]["Message-ID"] == f"<hawatch.notification.{old}@example.com>"


def test_times_in_utc_and_in_the_site_zone():
    assert both_times(T0, "Europe/Berlin") == (
        "2026-10-05 08:00:00 UTC (2026-10-05 10:00:00 CEST Europe/Berlin)"
    )
    assert both_times(T0, "-05:00").startswith("2026-10-05 08:00:00 UTC (2026-10-05 03:00:00")


def test_html_escapes_what_came_from_logs(lab, settings, mailbox):
    open_incident(lab, summary='<script>alert("x")</script> & <b>bold</b>')
    run_alert_cycle(lab, settings, now() + LATER)
    html = body(mailbox.messages[0], "html")
    assert "<script>" not in html and "<b>bold</b>" not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; &lt;b&gt;" in html
    assert '<script>alert("x")</script>' in body(mailbox.messages[0])  # text is text


def test_flapping_is_one_email_then_one_summary(lab, settings, mailbox):
    start = now()
    flap = open_incident(
        lab,
        "flapping",
        "warning",
        "12 role changes",
        {"transitions": 12, "unsynced_transitions": 2},
    )
    run_alert_cycle(lab, settings, start + LATER)
    for k in range(3):  # failovers during the flapping: held back, not mailed
        open_incident(
            lab,
            summary=f"unsynced failover {k}",
            opened_at=T0 + timedelta(minutes=5 + k),
            detected=start + LATER,
        )
        run_alert_cycle(lab, settings, start + (2 + k) * LATER)
    assert len(mailbox.messages) == 1
    resolve(lab, flap, T0 + timedelta(hours=1))
    run_alert_cycle(lab, settings, start + 10 * LATER)
    assert len(mailbox.messages) == 2
    summary = mailbox.messages[1]
    assert summary["Subject"].startswith(f"[hawatch] FLAPPING ENDED flapping {LAB}")
    text = body(summary)
    assert "transitions: 12" in text
    assert "unsynced failovers: 3" in text
    assert "notifications held back: 3" in text
    assert "current state: active unit" in text


def test_a_failover_test_is_a_verdict_and_maintenance_is_quiet(lab, settings, mailbox):
    start = now()
    open_incident(
        lab,
        "failover_test",
        "info",
        "failover test passed: 2 role changes",
        {"survived": True, "kept_percent": 98.0},
    )
    run_alert_cycle(lab, settings, start + LATER)
    assert [m["Subject"] for m in mailbox.messages] == [
        f"[hawatch] INFO failover test passed {LAB} (lab)"
    ]
    with lab.transaction() as cur:
        cur.execute("UPDATE incidents SET status = 'resolved', resolved_at = opened_at")
        cur.execute(
            "INSERT INTO windows (pair, starts_at, ends_at, kind, comment, origin,"
            " created_at)"
            " VALUES (?, ?, ?, 'maintenance', 'CHG-7', 'cli', now())",
            [LAB, T0 + timedelta(hours=5), T0 + timedelta(hours=6)],
        )
    open_incident(lab, opened_at=T0 + timedelta(hours=5, minutes=10), detected=start)
    run_alert_cycle(lab, settings, start + 2 * LATER)
    assert len(mailbox.messages) == 1  # no "resolved" for the verdict, nothing in maintenance
    assert [r for *_, r, _s, _i in notifications(lab)] == [None, "maintenance window: CHG-7"]
    with lab.transaction() as cur:  # a drop during a declared test is the verdict's business
        cur.execute(
            "INSERT INTO windows (pair, starts_at, ends_at, kind, comment, origin,"
            " created_at)"
            " VALUES (?, ?, ?, 'failover_test', 'FT-3', 'cli',"
            " now())",
            [LAB, T0 + timedelta(hours=8), T0 + timedelta(hours=9)],
        )
    open_incident(
        lab,
        "session_drop",
        "warning",
        "connections fell 95%",
        opened_at=T0 + timedelta(hours=8, minutes=5),
        detected=start,
    )
    run_alert_cycle(lab, settings, start + 3 * LATER)
    assert len(mailbox.messages) == 1
    assert notifications(lab)[-1][4] == "failover_test window: FT-3"


def test_routes_by_site_and_severity(lab, smtp, mailbox):
    settings = settings_for(
        smtp.port,
        **{
            "alerts.routes": "site=lab&severity=critical: oncall@example.com, lab@example.com;"
            " severity=warning: day@example.com"
        },
    )
    open_incident(lab)
    run_alert_cycle(lab, settings, now() + LATER)
    assert mailbox.envelopes[0].rcpt_tos == ["oncall@example.com", "lab@example.com"]


def test_digest(tmp_path, store, settings, mailbox):
    files = unsynced_dataset(tmp_path / "data")
    ingest(store, *files.values())
    analyze(store)
    send_digest(store, settings, now())
    run_alert_cycle(store, settings, now())
    (digest,) = [m for m in mailbox.messages if "digest" in m["Subject"]]
    text = body(digest)
    for heading in (
        "Fleet health",
        "Incidents of the last day",
        "Failover-test verdicts",
        "Most-flapping pairs",
    ):
        assert heading in text
    assert f"{LAB} (lab): " in text
    assert "CRITICAL lab-ha01 unsynced_failover" in text


@pytest.fixture
def certificate(tmp_path) -> tuple[ssl.SSLContext, Path]:
    """A server context with a trustme certificate naming 127.0.0.1, and the CA file."""
    trustme = pytest.importorskip("trustme")
    ca = trustme.CA()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    return context, ca_file


class Login:
    """aiosmtpd authenticator accepting one user."""

    def __init__(self, user: str, password: str) -> None:
        self.user, self.password = user, password
        self.seen: list[str] = []

    def __call__(
        self, server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any
    ) -> Any:
        from aiosmtpd.smtp import AuthResult, LoginPassword

        ok = (
            isinstance(auth_data, LoginPassword)
            and auth_data.login.decode() == self.user
            and auth_data.password.decode() == self.password
        )
        self.seen.append(auth_data.login.decode())
        return AuthResult(success=ok)


def test_starttls_and_login_with_the_password_from_the_environment(lab, mailbox, certificate):
    from hawatch.config import load_config

    context, ca_file = certificate
    login = Login("hawatch", "s3cret")
    server = Server(
        mailbox, tls_context=context, require_starttls=True, authenticator=login, auth_required=True
    )
    server.start()
    try:
        config = load_config(
            env={
                "HAWATCH_SMTP_HOST": "127.0.0.1",
                "HAWATCH_SMTP_PORT": str(server.port),
                "HAWATCH_SMTP_PASSWORD": "s3cret",
                "HAWATCH_ALERT_TO": "noc@example.com",
                "HAWATCH_SMTP_USERNAME": "hawatch",
                "HAWATCH_SMTP_CA_FILE": str(ca_file),
            }
        )
        assert config["smtp.security"] == "starttls"  # the default
        send_test(lab, config, now())
        run_alert_cycle(lab, config, now())
    finally:
        server.stop()
    assert [m["Subject"] for m in mailbox.messages] == ["[hawatch] test e-mail"]
    assert login.seen == ["hawatch"]
    assert scalar(lab, "SELECT status FROM notifications") == "sent"


def test_implicit_tls(lab, mailbox, certificate):
    context, ca_file = certificate
    server = Server(mailbox, ssl_context=context)
    server.start()
    try:
        settings = settings_for(
            server.port, **{"smtp.security": "tls", "smtp.ca_file": str(ca_file)}
        )
        send_test(lab, settings, now())
        run_alert_cycle(lab, settings, now())
    finally:
        server.stop()
    assert len(mailbox.messages) == 1


def test_the_smtp_password_is_refused_in_the_config_file(tmp_path):
    from hawatch.store.errors import HawatchError

    from hawatch.config import load_config

    path = tmp_path / "hawatch.toml"
    path.write_text('[smtp]\npassword = "s3cret"\n')
    with pytest.raises(HawatchError, match="HAWATCH_SMTP_PASSWORD"):
        load_config(path, env={})


def test_the_password_is_never_sent_without_tls(lab, mailbox, caplog):
    """A server that would take a login in the clear: without smtp.allow_plaintext_login
    hawatch does not log in (nor send), says so in one line and keeps the mail; with it, it
    does."""
    login = Login("hawatch", "s3cret")
    server = Server(mailbox, authenticator=login, auth_require_tls=False)
    server.start()
    try:
        settings = settings_for(
            server.port, **{"smtp.username": "hawatch", "smtp.password": "s3cret"}
        )
        send_test(lab, settings, now())
        with caplog.at_level(logging.WARNING):
            run_alert_cycle(lab, settings, now())
        assert login.seen == [] and mailbox.messages == []
        (status, error) = rows(lab, "SELECT status, last_error FROM notifications")[0]
        assert status == "pending" and "smtp.allow_plaintext_login" in error
        (record,) = [
            r
            for r in caplog.records
            if r.levelno >= logging.WARNING and r.name.startswith("hawatch.analytics.alerts")
        ]
        assert record.exc_info is None and "\n" not in record.getMessage()
        assert "smtp.allow_plaintext_login" in record.getMessage()
        run_alert_cycle(lab, {**settings, "smtp.allow_plaintext_login": True}, now())
    finally:
        server.stop()
    assert login.seen == ["hawatch"] and len(mailbox.messages) == 1


class LateMailbox(Mailbox):
    """Queues every message at once but answers the end of DATA only after `delay` seconds
    (a server scanning the mail, or overloaded), as the red team's did: a client that gave
    up waiting still had its message delivered. It also notes what the outbox said about the
    message while it was being sent."""

    def __init__(self, store: Store, delay: float) -> None:
        super().__init__()
        self.store, self.delay = store, delay
        self.outbox_during_send: list[tuple[Any, ...]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.outbox_during_send += rows(self.store, "SELECT status, attempts FROM notifications")
        answer = await super().handle_DATA(server, session, envelope)
        await asyncio.sleep(self.delay)
        return answer


def test_a_message_accepted_late_is_sent_once(lab):
    """The server answers the end of the message only after the client stopped waiting, then
    accepts it. The attempt was recorded before sending; the mail is not sent again (six
    copies reached the red team's mailbox), and the outbox says it may have been delivered."""
    mailbox = LateMailbox(lab, delay=2.0)
    server = Server(mailbox)
    server.start()
    settings = settings_for(
        server.port, **{"smtp.timeout_seconds": 1.0, "smtp.data_timeout_seconds": 1.0}
    )
    start = now()
    try:
        nid = send_test(lab, settings, start)
        for hour in range(6):  # every retry delay long past
            run_alert_cycle(lab, settings, start + timedelta(hours=hour))
        deadline = time.monotonic() + 20
        while len(mailbox.messages) < 1 and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(2.5)  # a second copy would be in by now
    finally:
        server.stop()
    assert mailbox.outbox_during_send[0] == ("sending", 1)
    assert len(mailbox.messages) == 1
    assert mailbox.messages[0]["Message-ID"] == f"<hawatch.notification.{nid}@example.com>"
    (status, attempts, error) = rows(lab, "SELECT status, attempts, last_error FROM notifications")[
        0
    ]
    assert (status, attempts) == ("unconfirmed", 1)
    assert "may have delivered it" in error


def test_evaluate_twice_records_nothing_twice(lab):
    open_incident(lab)
    at = now() + LATER
    assert len(evaluate(lab, {}, at)) == 1
    assert evaluate(lab, {}, at) == []


def test_no_smtp_host_keeps_mail_in_the_outbox(lab):
    open_incident(lab)
    run_alert_cycle(lab, {"alerts.to": "noc@example.com"}, now() + LATER)
    assert scalar(lab, "SELECT status FROM notifications") == "pending"
    assert Path(lab.path).exists()


# -- the command line ---------------------------------------------------------------------------


def test_cli_alerts_test_and_log(tmp_path, smtp, mailbox):
    import os
    import subprocess

    db = str(tmp_path / "cli.duckdb")
    env = {
        **os.environ,
        "HAWATCH_SMTP_HOST": "127.0.0.1",
        "HAWATCH_SMTP_PORT": str(smtp.port),
        "HAWATCH_SMTP_SECURITY": "plain",
        "HAWATCH_ALERT_TO": "noc@example.com",
    }

    def hawatch(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["hawatch", *args, "--db", db], env=env, capture_output=True, text=True, timeout=60
        )

    sent = hawatch("alerts", "test", "--to", "me@example.com")
    assert sent.returncode == 0, sent.stderr
    assert [e.rcpt_tos for e in mailbox.envelopes] == [["me@example.com"]]
    log = hawatch("alerts", "log", "--format", "json")
    assert log.returncode == 0, log.stderr
    (entry,) = json.loads(log.stdout)
    assert (entry["kind"], entry["status"], entry["recipients"]) == (
        "test",
        "sent",
        "me@example.com",
    )
    down = subprocess.run(
        ["hawatch", "alerts", "test", "--db", db],
        capture_output=True,
        text=True,
        timeout=60,
        env={**env, "HAWATCH_SMTP_PORT": "1"},
    )
    assert down.returncode == 1 and "not accepted" in down.stderr
    table = hawatch("alerts", "log")
    assert "failed (retrying)" in table.stdout


def test_a_backlog_of_old_incidents_is_recorded_not_mailed(tmp_path, store, smtp, mailbox):
    files = unsynced_dataset(tmp_path / "data")  # weeks old, long resolved
    ingest(store, *files.values())
    analyze(store)
    run_alert_cycle(store, settings_for(smtp.port, **{"alerts.max_age_hours": 48.0}), now() + LATER)
    assert mailbox.messages == []
    assert [(k, s, r) for _, k, s, _p, r, *_ in notifications(store)] == [
        ("new", "suppressed", "ended before alerts.max_age_hours")
    ]


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        (
            {"alerts.base_url": "https://noc.example.net/hawatch/"},
            "https://noc.example.net/hawatch",
        ),
        ({"serve.http": "10.1.2.3:8080"}, "http://10.1.2.3:8080"),
        ({"serve.http": "10.1.2.3:8443", "serve.tls_cert": "c.pem"}, "https://10.1.2.3:8443"),
        ({"serve.http": "0.0.0.0:8080"}, f"http://{socket.getfqdn()}:8080"),
    ],
)
def test_e_mail_links_point_where_the_dashboard_is(given, expected):
    """Not http://127.0.0.1:8080 whatever the server's address (issue 12)."""
    from hawatch.analytics.alerts.settings import alert_settings

    assert alert_settings({"alerts.base_url": "", **given})["alerts.base_url"] == expected
