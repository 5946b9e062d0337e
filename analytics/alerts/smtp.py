"""SMTP delivery as users run it: STARTTLS, implicit TLS or plain, optional login.

One connection per delivery round. Each message is claimed in the outbox (its attempt
recorded) right before it is sent and marked sent right after the server's 250, so a crash
between two messages re-sends neither of the delivered ones.

A server may take long to answer the end of a message (it scans or queues it first) while it
already holds it. RFC 5321 4.5.3.2.6 asks a client to wait 10 minutes for that answer, as
Postfix does (smtp_data_done_timeout = 600 s); hawatch waits `smtp.data_timeout_seconds`.
When no answer comes even then, the message may well have been delivered (RFC 1047): real
MTAs retry and accept the duplicate; hawatch instead marks it `unconfirmed` and does not
send it again, because an alert repeated on every retry (six copies for one incident, seen
against a slow server) is worse than one copy whose delivery is unconfirmed, and the
incident's own repeat e-mail (`alerts.repeat_interval_hours`) still follows while it is open.

The password is never sent without TLS unless `smtp.allow_plaintext_login` says so.
"""

from __future__ import annotations

import re
import smtplib
import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate
from typing import TYPE_CHECKING, Any, Protocol

from hawatch.analytics.alerts.outbox import Pending
from hawatch.store.errors import HawatchError

if TYPE_CHECKING:
    from _typeshed import ReadableBuffer

SECURITY = ("starttls", "tls", "plain")


@dataclass(frozen=True)
class SmtpConfig:
    host: str
    port: int
    security: str
    username: str
    password: str
    sender: str
    ca_file: str
    timeout: float
    data_timeout: float = 600.0
    allow_plaintext_login: bool = False

    @classmethod
    def from_settings(cls, s: dict[str, Any]) -> SmtpConfig:
        """The configuration, or HawatchError saying what to change."""
        if s["smtp.security"] not in SECURITY:
            raise HawatchError(
                f"smtp.security must be one of {', '.join(SECURITY)}, got {s['smtp.security']!r}"
            )
        config = cls(
            s["smtp.host"],
            int(s["smtp.port"]),
            s["smtp.security"],
            s["smtp.username"],
            s["smtp.password"],
            s["alerts.from"],
            s["smtp.ca_file"],
            float(s["smtp.timeout_seconds"]),
            float(s["smtp.data_timeout_seconds"]),
            bool(s["smtp.allow_plaintext_login"]),
        )
        if config.username and config.security == "plain" and not config.allow_plaintext_login:
            raise HawatchError(
                "refusing to send the SMTP password without TLS "
                "(smtp.security = plain): use starttls or tls, or set "
                "smtp.allow_plaintext_login = true"
            )
        return config

    def tls_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=self.ca_file or None)


class NoFinalReply(smtplib.SMTPException):
    """The whole message went out but the server's answer to it never came."""


class Outcomes(Protocol):
    """What the outbox records about each message (analytics.alerts.outbox.Recorder)."""

    def claim(self, item: Pending) -> bool: ...
    def sent(self, item: Pending) -> None: ...
    def failed(self, item: Pending, error: str) -> None: ...
    def unconfirmed(self, item: Pending, error: str) -> None: ...


def build_message(config: SmtpConfig, item: Pending) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = config.sender
    msg["To"] = ", ".join(item.recipients)
    msg["Subject"] = item.subject
    msg["Message-ID"] = item.message_id
    msg["Date"] = formatdate(usegmt=True)
    msg["Auto-Submitted"] = "auto-generated"
    msg.set_content(item.text_body)
    msg.add_alternative(item.html_body, subtype="html")
    return msg


class _PatientData(smtplib.SMTP):
    """smtplib's DATA, waiting `data_timeout` for the answer to the final dot and telling a
    missing answer (NoFinalReply: the server holds the whole message) from other failures."""

    data_timeout: float = 60.0

    def data(self, msg: ReadableBuffer | str) -> tuple[int, bytes]:
        self.putcmd("data")
        code, reply = self.getreply()
        if code != 354:
            raise smtplib.SMTPDataError(code, reply)
        if isinstance(msg, str):
            msg = re.sub(r"(?:\r\n|\n|\r(?!\n))", "\r\n", msg).encode("ascii")
        body = re.sub(rb"(?m)^\.", b"..", bytes(msg))  # dot-stuffing, RFC 5321 4.5.2
        self.send(body + (b"" if body.endswith(b"\r\n") else b"\r\n") + b".\r\n")
        if self.sock is not None:
            self.sock.settimeout(self.data_timeout)
        try:
            return self.getreply()
        except smtplib.SMTPServerDisconnected as exc:
            raise NoFinalReply(
                f"no answer to the message within {self.data_timeout:g} s ({exc})"
            ) from exc


class _Smtp(_PatientData):
    pass


class _SmtpTls(_PatientData, smtplib.SMTP_SSL):
    pass


@contextmanager
def connect(config: SmtpConfig) -> Iterator[smtplib.SMTP]:
    """An open, secured and logged-in session; raises OSError/SMTPException when not."""
    client: _PatientData
    if config.security == "tls":
        client = _SmtpTls(
            config.host, config.port, timeout=config.timeout, context=config.tls_context()
        )
    else:
        client = _Smtp(config.host, config.port, timeout=config.timeout)
    client.data_timeout = config.data_timeout
    try:
        client.ehlo()
        if config.security == "starttls":
            client.starttls(context=config.tls_context())
            client.ehlo()
        if config.username:
            client.login(config.username, config.password)
        yield client
    finally:
        try:
            client.quit()
        except (OSError, smtplib.SMTPException):
            client.close()


def _send_one(client: smtplib.SMTP, config: SmtpConfig, item: Pending, outcomes: Outcomes) -> str:
    """Send one claimed item and record its outcome: `sent`, `refused` (the session goes
    on) or `broken` (it cannot)."""
    try:
        client.send_message(build_message(config, item))
    except NoFinalReply as exc:
        outcomes.unconfirmed(
            item,
            f"{exc}; the server had the whole message and may have "
            "delivered it, so it is not sent again",
        )
        return "broken"
    except smtplib.SMTPRecipientsRefused as exc:
        outcomes.failed(item, f"recipients refused: {exc.recipients}")
        return "refused"
    except smtplib.SMTPResponseException as exc:
        outcomes.failed(item, f"{exc.smtp_code} {exc.smtp_error!r}")
        return "refused" if exc.smtp_code >= 500 else "broken"
    except (OSError, smtplib.SMTPException) as exc:
        outcomes.failed(item, f"{type(exc).__name__}: {exc}")
        return "broken"
    outcomes.sent(item)
    return "sent"


def deliver(config: SmtpConfig, items: list[Pending], outcomes: Outcomes) -> int:
    """Send each item over one session, claiming it first; report each outcome at once.
    Returns how many the server accepted.

    A refused message (5xx) is reported and the rest go on; a lost connection or a
    temporary error fails the item in hand and every one not yet tried, for a later retry.
    """
    sent = tried = 0
    error = "not tried: the session ended at an earlier message"
    try:
        with connect(config) as client:
            for item in items:
                tried += 1
                if not outcomes.claim(item):
                    continue  # another round has it
                result = _send_one(client, config, item, outcomes)
                sent += result == "sent"
                if result == "broken":
                    break
    except (OSError, smtplib.SMTPException) as exc:
        error = f"{type(exc).__name__}: {exc}"
    for item in items[tried:]:
        outcomes.failed(item, error)
    return sent
