"""Settings: one table of name, default and help; a TOML file, then HAWATCH_* variables.

Command-line options override both. Secrets are read only from the environment, so a config
file can be shared and committed. docs/configuration.md lists every setting; a test fails
when one is missing there.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any, cast

from hawatch.analytics.alerts.settings import ALERT_SETTINGS
from hawatch.analytics.thresholds import ANALYTICS_SETTINGS
from hawatch.collector.limits import INGEST_SETTINGS
from hawatch.collector.pollers.settings import POLL_SETTINGS
from hawatch.logs import LOG_SETTINGS
from hawatch.store.errors import HawatchError
from hawatch.store.settings import Setting
from hawatch.store.settings_type import Settings

SETTINGS: tuple[Setting, ...] = (
    Setting("db", "hawatch.duckdb", "DuckDB database file."),
    Setting(
        "timezone",
        "UTC",
        "Time zone of units the inventory gives none for (IANA name, UTC or +HH:MM).",
    ),
    Setting("inventory", "", "Pair inventory (CSV or TOML) applied before every ingest."),
    Setting(
        "ingest.batch_megabytes",
        32,
        "Bytes of syslog parsed per transaction; more is faster, uses more memory.",
    ),
    *INGEST_SETTINGS,
    Setting("sql.timeout_seconds", 10.0, "Time limit of one analyst query."),
    Setting("sql.max_rows", 10000, "Rows an analyst query returns at most (marked truncated)."),
    Setting(
        "sql.max_result_megabytes",
        16.0,
        "Bytes of values an analyst query returns at most, in MiB (the rest is cut and"
        " the answer marked truncated): bounds the server's memory per query.",
    ),
    Setting(
        "sql.max_concurrent",
        2,
        "Analyst queries (SQL console, downloads, `hawatch sql`) running at once; more"
        " are answered 503 with Retry-After, so they never take every web thread.",
    ),
    Setting(
        "serve.http",
        "127.0.0.1:8080",
        "HOST:PORT of the web server: ingest API, /metrics, /healthz (and the dashboard).",
    ),
    Setting(
        "serve.connection_limit",
        1000,
        "Open HTTP connections served at once (idle ones cost a few kB, not a thread);"
        " beyond it new connections wait. Put a reverse proxy in front when exposed.",
    ),
    Setting(
        "serve.channel_timeout_seconds",
        30,
        "An HTTP connection idle this long (no request in progress) is closed.",
    ),
    Setting(
        "serve.max_request_megabytes",
        64.0,
        "Largest export upload to POST /api/v1/ingest with the ingest token, in MiB;"
        " every other request body is at most 1 MiB. Larger ones are answered 413"
        " before their body is read.",
    ),
    Setting(
        "serve.tls_cert",
        "",
        "PEM certificate (chain) file: with serve.tls_key, serve.http is HTTPS, served by"
        " hawatch itself (TLS 1.2+). Empty: plain HTTP (or a TLS proxy in front).",
    ),
    Setting("serve.tls_key", "", "PEM private key file of serve.tls_cert (keep it 0600)."),
    Setting(
        "serve.trusted_proxy",
        "",
        "Address of the TLS reverse proxy in front (e.g. 127.0.0.1): its X-Forwarded-For"
        " and X-Forwarded-Proto are believed (client address, https), anyone else's are"
        " dropped. Empty: no proxy.",
    ),
    Setting("serve.syslog_udp", "127.0.0.1:5514", "HOST:PORT for syslog over UDP; empty: off."),
    Setting("serve.syslog_tcp", "127.0.0.1:5514", "HOST:PORT for syslog over TCP; empty: off."),
    Setting(
        "serve.syslog_tcp_max_connections",
        2048,
        "TCP syslog connections open at once; at the limit, the longest-idle connection of"
        " the address holding the most is closed to let a new one in.",
    ),
    Setting(
        "serve.syslog_tcp_idle_seconds",
        0.0,
        "Close a TCP syslog connection that sent nothing for this long; 0: never (most"
        " senders lose the message they write next after such a close).",
    ),
    Setting("serve.drop_dir", "", "A folder watched for export and log files to ingest."),
    Setting(
        "serve.drop_quiet_seconds",
        2.0,
        "A drop-folder file nobody wrote to for this long is ingested (up to its last"
        " complete line; lines it gains later are ingested too).",
    ),
    Setting(
        "serve.drop_settle_seconds",
        300.0,
        "A drop-folder file nobody wrote to for this long is finished: its last line is"
        " ingested even without a newline, and it moves to processed/.",
    ),
    Setting(
        "serve.spool_dir",
        "",
        "Where the listener spools received syslog (default: DB path + .spool).",
    ),
    Setting("serve.analysis_interval_seconds", 60, "How often the analysis job runs."),
    Setting(
        "serve.ingest_token",
        "",
        "Bearer token for POST /api/v1/ingest.",
        secret=True,
        env_name="HAWATCH_INGEST_TOKEN",
    ),
    Setting(
        "serve.max_pending_files",
        600,
        "Spooled files waiting for ingest above which HTTP ingest answers 503 (back-pressure).",
    ),
    *LOG_SETTINGS,
    Setting(
        "dashboard.session_hours",
        12,
        "Hours a dashboard login lasts (users are in DB path + .users.json, see `hawatch users`).",
    ),
    Setting(
        "dashboard.secure_cookie",
        "auto",
        "Send the session cookie over HTTPS only: on, off, or auto (on when the"
        " dashboard is reached over HTTPS: serve.tls_cert or serve.trusted_proxy set).",
    ),
    Setting(
        "dashboard.login_max_failures",
        5,
        "Failed logins of one account (four times as many from one address) within"
        " dashboard.login_window_minutes before it must wait (1 s, doubling with each"
        " further failure, at most the window).",
    ),
    Setting(
        "dashboard.login_window_minutes",
        15,
        "How long a failed login counts against its account and address.",
    ),
    Setting(
        "dashboard.fleet_page_size",
        100,
        "Pairs per page of the fleet page (worst first); ?per_page=N overrides it, up to"
        " 1000. The wallboard shows as many of the pairs that are not ok.",
    ),
    Setting(
        "dashboard.wallboard_refresh_seconds",
        30,
        "How often the wallboard (/wallboard, for a NOC screen) reloads itself; each"
        " reload also renews the screen's login (see docs/deploy.md).",
    ),
    *POLL_SETTINGS,
    *ANALYTICS_SETTINGS,
    *ALERT_SETTINGS,
)

BY_NAME: dict[str, Setting] = {s.name: s for s in SETTINGS}


def _flatten(doc: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in doc.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(_flatten(value, name + "."))
        else:
            flat[name] = value
    return flat


def _coerce(setting: Setting, value: Any, where: str) -> Any:
    kind = type(setting.default)
    if isinstance(value, kind) and not (kind is int and isinstance(value, bool)):
        return value
    try:
        if kind is bool:
            return str(value).strip().lower() in ("1", "true", "yes", "on")
        return kind(value)
    except (TypeError, ValueError):
        raise HawatchError(
            f"{where}: {setting.name} must be a {kind.__name__}, got {value!r}"
        ) from None


def load_config(path: str | Path | None = None, env: dict[str, str] | None = None) -> Settings:
    """Defaults, then the TOML file, then HAWATCH_* variables."""
    values = {s.name: s.default for s in SETTINGS}
    if path:
        try:
            doc = tomllib.loads(Path(path).read_text("utf-8"))
        except OSError as exc:
            raise HawatchError(f"cannot read config {path}: {exc.strerror}") from None
        except tomllib.TOMLDecodeError as exc:
            raise HawatchError(f"config {path}: {exc}") from None
        for name, value in _flatten(doc).items():
            setting = BY_NAME.get(name)
            if setting is None:
                raise HawatchError(
                    f"config {path}: unknown setting {name!r} (docs/configuration.md lists them)"
                )
            if setting.secret:
                raise HawatchError(f"config {path}: {name} is a secret; set {setting.env}")
            values[name] = _coerce(setting, value, f"config {path}")
    environ = os.environ if env is None else env
    for setting in SETTINGS:
        if setting.env in environ:
            values[setting.name] = _coerce(setting, environ[setting.env], setting.env)
    return cast(Settings, values)  # every name is set, each coerced to its default's type
