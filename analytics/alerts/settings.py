"""Alerting settings (TOML `[alerts]` and `[smtp]`, `HAWATCH_...` variables), declared once;
`hawatch.config` gathers them with every other package's."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hawatch.store.settings import Setting

ALERT_SETTINGS: tuple[Setting, ...] = (
    Setting("alerts.enabled", True, "Evaluate incidents into e-mails in `hawatch serve`."),
    Setting(
        "alerts.digest_time",
        "07:00",
        "UTC time of day (HH:MM) `hawatch serve` sends the daily digest; empty: none.",
    ),
    Setting(
        "alerts.to",
        "",
        "Default recipients (comma-separated) for every alert.",
        env_name="HAWATCH_ALERT_TO",
    ),
    Setting("alerts.from", "hawatch@localhost", "The From address of alert e-mails."),
    Setting(
        "alerts.routes",
        "",
        "Recipients by site and severity, first match wins, else alerts.to: rules "
        "separated by `;`, each `MATCHERS: ADDRESSES` with MATCHERS `site=NAME` and/or "
        "`severity=critical|warning|info` joined by `&` (`*` matches all). Example: "
        "`site=berlin&severity=critical: noc@example.com, oncall@example.com; "
        "site=lab: lab@example.com`.",
    ),
    Setting(
        "alerts.group_wait_seconds",
        30,
        "New incidents of one pair found within this long are sent as one e-mail.",
    ),
    Setting(
        "alerts.repeat_interval_hours",
        4.0,
        "An incident still open is e-mailed again after this long, never sooner.",
    ),
    Setting(
        "alerts.max_age_hours",
        48.0,
        "Incidents found already resolved longer ago than this (a backlog, history "
        "ingested late) are recorded as suppressed, not mailed; the digest lists them.",
    ),
    Setting(
        "alerts.base_url",
        "",
        "Dashboard address used for links to a pair page (`BASE/pairs/PAIR`), as the NOC"
        " opens it (e.g. https://hawatch.example.net). Empty: serve.http's address, https"
        " with serve.tls_cert, this host's name when it listens on all addresses.",
    ),
    Setting(
        "alerts.retry_seconds",
        30,
        "First retry delay after a failed delivery; doubles each attempt.",
    ),
    Setting("alerts.max_retry_seconds", 3600, "Longest delay between delivery attempts."),
    Setting(
        "smtp.host",
        "",
        "SMTP server; empty: e-mails wait in the outbox.",
        env_name="HAWATCH_SMTP_HOST",
    ),
    Setting(
        "smtp.port",
        25,
        "SMTP port (587 for STARTTLS, 465 for implicit TLS).",
        env_name="HAWATCH_SMTP_PORT",
    ),
    Setting(
        "smtp.security",
        "starttls",
        "`starttls` (required), `tls` (implicit TLS, port 465) or `plain` (no TLS).",
    ),
    Setting("smtp.username", "", "Login name; empty: no login."),
    Setting("smtp.password", "", "Login password.", secret=True, env_name="HAWATCH_SMTP_PASSWORD"),
    Setting("smtp.ca_file", "", "CA bundle to verify the server with (default: system CAs)."),
    Setting("smtp.timeout_seconds", 20.0, "Time limit of one SMTP conversation step."),
    Setting(
        "smtp.data_timeout_seconds",
        600.0,
        "How long to wait for the server's answer to a whole message (RFC 5321 asks 10"
        " minutes). Without one it may have been delivered: the e-mail is marked"
        " `unconfirmed` and not sent again.",
    ),
    Setting(
        "smtp.allow_plaintext_login",
        False,
        "Send the SMTP password over a connection without TLS (`smtp.security = plain`)."
        " Off: hawatch refuses to log in without TLS and says so.",
    ),
)


def alert_settings(settings: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Every alert setting, defaults filled in, overridden by `settings`; the links' base
    resolved from the server's own settings when alerts.base_url is empty."""
    values = {s.name: s.default for s in ALERT_SETTINGS}
    values.update({k: v for k, v in (settings or {}).items() if k in values})
    values["alerts.base_url"] = base_url({**(settings or {}), **values})
    return values


def base_url(settings: Mapping[str, Any]) -> str:
    """Where the links in e-mails point: alerts.base_url, else what `hawatch serve`
    listens on, with this host's name for a wildcard address (an e-mail link to 127.0.0.1
    or 0.0.0.0 opens nothing on the reader's machine)."""
    given = str(settings.get("alerts.base_url") or "").strip()
    if given:
        return given.rstrip("/")
    import socket

    http = str(settings.get("serve.http") or "127.0.0.1:8080")
    host, _, port = http.rpartition(":")
    host = host.strip("[]")
    if host in ("", "0.0.0.0", "::"):
        host = socket.getfqdn()
    shown = f"[{host}]" if ":" in host else host
    scheme = "https" if settings.get("serve.tls_cert") else "http"
    return f"{scheme}://{shown}:{port}"
