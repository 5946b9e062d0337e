"""The dashboard's one way to write a time: `2026-11-25 14:03:07 UTC`, the zone always shown.

Every stored time is UTC (docs/schema.md), and a NOC compares the dashboard with device
logs, e-mails and tickets from several zones: a time without its zone is a guess. The
templates' `when` macro (templates/_macros.html) and the fleet's rows in Python
(dashboard/fleet_rows.py) both call `when_text`, so the format is set here once.
"""

from __future__ import annotations

from datetime import UTC, datetime

from markupsafe import Markup

NONE = "—"
FORMAT = "%Y-%m-%d %H:%M:%S UTC"


def when_text(value: datetime | None) -> str:
    """The time as shown (a naive value is UTC, as the store keeps it), or a dash."""
    if value is None:
        return NONE
    if value.tzinfo is not None:
        value = value.astimezone(UTC)
    return value.strftime(FORMAT)


def when_html(value: datetime | None) -> Markup:
    """The time in a <time> element whose `datetime` a script or a test can read."""
    if value is None:
        return Markup(NONE)
    utc = value.astimezone(UTC) if value.tzinfo is not None else value
    return Markup(f'<time datetime="{utc:%Y-%m-%dT%H:%M:%S}Z">{when_text(utc)}</time>')


def ago(value: datetime, now: datetime) -> str:
    """How long before `now`, in the largest units that matter: `4 min`, `2 h 5 min`."""
    minutes = max(0, int((now - value).total_seconds() // 60))
    if minutes < 1:
        return "<1 min"
    if minutes < 60:
        return f"{minutes} min"
    if minutes < 48 * 60:
        return f"{minutes // 60} h {minutes % 60} min"
    return f"{minutes // 1440} d {minutes // 60 % 24} h"
