"""SMTP delivery as users run it: STARTTLS, implicit TLS or plain, optional login.

One connection per delivery round; each message is marked sent by the caller right after
the server's 250, so a crash between two messages re-sends neither of the delivered ones.
"""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate
from typing import Any

from hawatch.analytics.alerts.outbox import Pending
from hawatch.store.errors import HawatchError

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

    @classmethod
    def from_settings(cls, s: dict[str, Any]) -> SmtpConfig:
        if s["smtp.security"] not in SECURITY:
            raise HawatchError(f"smtp.security must be one of {', '.join(SECURITY)}, "
                               f"got {s['smtp.security']!r}")
        return cls(s["smtp.host"], int(s["smtp.port"]), s["smtp.security"],
                   s["smtp.username"], s["smtp.password"], s["alerts.from"],
                   s["smtp.ca_file"], float(s["smtp.timeout_seconds"]))

    def tls_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=self.ca_file or None)


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


@contextmanager
def connect(config: SmtpConfig) -> Iterator[smtplib.SMTP]:
    """An open, secured and logged-in session; raises OSError/SMTPException when not."""
    if config.security == "tls":
        client: smtplib.SMTP = smtplib.SMTP_SSL(config.host, config.port,
                                                timeout=config.timeout,
                                                context=config.tls_context())
    else:
        client = smtplib.SMTP(config.host, config.port, timeout=config.timeout)
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


def deliver(config: SmtpConfig, items: list[Pending],
            on_sent: Callable[[Pending], None],
            on_failed: Callable[[Pending, str], None]) -> int:
    """Send each item over one session; report each outcome at once. Returns how many went.

    A refused message (5xx) is reported and the rest go on; a lost connection or a
    temporary error fails every item not yet handled, for a later retry.
    """
    sent = handled = 0
    try:
        with connect(config) as client:
            for item in items:
                try:
                    client.send_message(build_message(config, item))
                except smtplib.SMTPRecipientsRefused as exc:
                    handled += 1
                    on_failed(item, f"recipients refused: {exc.recipients}")
                    continue
                except smtplib.SMTPResponseException as exc:
                    handled += 1
                    on_failed(item, f"{exc.smtp_code} {exc.smtp_error!r}")
                    if exc.smtp_code >= 500:
                        continue
                    raise
                handled += 1
                on_sent(item)
                sent += 1
    except (OSError, smtplib.SMTPException) as exc:
        for item in items[handled:]:
            on_failed(item, f"{type(exc).__name__}: {exc}")
    return sent
