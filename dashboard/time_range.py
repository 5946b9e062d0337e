"""The pair page's time range: a preset (1 h ... 30 d) or a custom start and end, read from
the URL so a range can be shared, and counted back from the wall clock so a pair whose
data stopped shows the gap instead of its last days as if they were now.

Times in the URL are UTC (`2026-11-26T08:00`, as an `<input type="datetime-local">` sends
them, or with a zone); a bad one is a one-line 400, never a traceback.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

PRESETS = ("1h", "6h", "24h", "7d", "30d")
DEFAULT = "24h"
MAX_SPAN = timedelta(days=90)
_SPAN = re.compile(r"(\d+(?:\.\d+)?)\s*([hd])")


@dataclass(frozen=True)
class TimeRange:
    start: datetime
    end: datetime
    preset: str | None  # "24h", or None for a custom start/end

    @property
    def label(self) -> str:
        """How the page names the range: "last 24 h" or "2026-11-01 00:00 to ... UTC"."""
        if self.preset:
            number, unit = _SPAN.fullmatch(self.preset).groups()  # type: ignore[union-attr]
            return f"last {number} {unit}"
        return f"{self.start:%Y-%m-%d %H:%M} to {self.end:%Y-%m-%d %H:%M} UTC"

    def query(self) -> dict[str, str]:
        """The URL parameters that give this range again."""
        if self.preset:
            return {"range": self.preset}
        return {"start": iso_minute(self.start), "end": iso_minute(self.end)}


def span(text: str) -> timedelta:
    """`6h`, `7d`, `0.25d` as a duration; ValueError with a one-line reason otherwise."""
    found = _SPAN.fullmatch(text.strip().lower())
    if not found:
        raise ValueError(
            f"range must be one of {', '.join(PRESETS)} (or N h / N d), not {text[:20]!r}"
        )
    number, unit = float(found.group(1)), found.group(2)
    length = timedelta(hours=number) if unit == "h" else timedelta(days=number)
    if not timedelta(0) < length <= MAX_SPAN:
        raise ValueError(f"range must be more than 0 and at most {MAX_SPAN.days} d")
    return length


def parse_time(text: str, name: str) -> datetime:
    """An ISO time from the URL; naive means UTC (the page shows every time in UTC)."""
    try:
        value = datetime.fromisoformat(text.strip().replace(" ", "T"))
    except ValueError:
        raise ValueError(
            f"{name} must be a time like 2026-11-26T08:00 (UTC), not {text[:30]!r}"
        ) from None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def parse_range(args: dict[str, str], now: datetime) -> TimeRange:
    """The range the URL asks for: `start` (and `end`, default now) or `range` (default
    24 h), ending now."""
    if args.get("start"):
        start = parse_time(args["start"], "start")
        end = parse_time(args["end"], "end") if args.get("end") else now
        if not start < end:
            raise ValueError("start must be before end")
        if end - start > MAX_SPAN:
            raise ValueError(f"a custom range may span at most {MAX_SPAN.days} d")
        return TimeRange(start, end, None)
    preset = (args.get("range") or DEFAULT).strip().lower().replace(" ", "")
    return TimeRange(now - span(preset), now, preset)


def days_as_range(days: str) -> str:
    """The old `?days=N` as a `range` value: `0.25` -> `6h`, `3` -> `3d`."""
    value = float(days)
    if not 0 < value <= MAX_SPAN.days:
        raise ValueError(f"days must be more than 0 and at most {MAX_SPAN.days}")
    hours = value * 24
    if value < 1 and hours == int(hours):
        return f"{int(hours)}h"
    return f"{value:g}d"


def iso_minute(value: datetime) -> str:
    """A UTC time as the URL and a datetime-local input write it."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M")


def ago(delta: timedelta) -> str:
    """A gap in words a person reads at a glance: "3 h 12 min", "4 d 2 h", "40 s"."""
    seconds = max(0, int(delta.total_seconds()))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    if days:
        return f"{days} d {hours} h" if hours else f"{days} d"
    if hours:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    return f"{minutes} min" if minutes else f"{seconds} s"
