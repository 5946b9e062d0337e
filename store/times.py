"""Times as sources and operators write them, read one way everywhere: ISO 8601 with or
without an offset, `YYYY-MM-DD HH:MM:SS[ UTC]`, or epoch seconds.

The store holds UTC (TIMESTAMPTZ). A time without an offset is the writer's local time, which
only the caller can convert (an export record's unit has a time zone, an operator's `--until`
must carry one), so `parse_time` says whether the time it read was UTC.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

_EPOCH = re.compile(r"^\d{9,11}(\.\d+)?$")


class BadTime(ValueError):
    """A time that cannot be read; the message says which and why, in one line."""


def parse_time(value: str) -> tuple[datetime, bool]:
    """ISO 8601 (with or without offset), `YYYY-MM-DD HH:MM:SS[ UTC]` or epoch seconds, as
    (naive time, whether it is UTC); a time with an offset is converted to UTC."""
    text = value.strip()
    if _EPOCH.match(text):
        try:
            return datetime.fromtimestamp(float(text), UTC).replace(tzinfo=None), True
        except (ValueError, OverflowError, OSError):
            raise BadTime(f"epoch time out of range {text[:40]!r}") from None
    is_utc = text.endswith((" UTC", "Z"))
    text = text.removesuffix(" UTC").removesuffix("Z")
    try:
        parsed = datetime.fromisoformat(text)
        if parsed.tzinfo is not None:
            return parsed.astimezone(UTC).replace(tzinfo=None), True
    except (ValueError, OverflowError):
        raise BadTime(f"unparseable time {value[:40]!r}") from None
    return parsed, is_utc
