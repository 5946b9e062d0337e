"""Time as the simulator writes it: UTC epoch seconds inside, strings only at the edges.

Units log their own wall-clock time without an offset, so a local-time site repeats an hour
when DST ends. The formatters are called once per line, so offsets are cached per 15 minutes
(every real zone changes offset on a quarter hour) and date prefixes per minute.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_SLOT = 900


def iso_z(ts: int) -> str:
    """ISO 8601 UTC with `Z`, the shape the exports and truth.json use."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


def epoch(moment: datetime) -> int:
    """Whole UTC seconds of an aware (or UTC-naive) datetime."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp())


class LocalClock:
    """Formats UTC seconds as one zone's wall clock: `time="..."` and relay headers."""

    def __init__(self, timezone: str) -> None:
        self.zone = ZoneInfo(timezone)
        self._offsets: dict[int, int] = {}
        self._minute = -1
        self._prefix = ""
        self._bsd_minute = -1
        self._bsd_prefix = ""

    def offset(self, ts: int) -> int:
        """Seconds east of UTC at `ts`."""
        slot = ts // _SLOT
        found = self._offsets.get(slot)
        if found is None:
            delta = datetime.fromtimestamp(slot * _SLOT, self.zone).utcoffset()
            found = int(delta.total_seconds()) if delta else 0
            if len(self._offsets) > 50_000:
                self._offsets.clear()
            self._offsets[slot] = found
        return found

    def stamp(self, ts: int, utc: bool = False) -> str:
        """`YYYY-MM-DD HH:MM:SS` in local time, or in UTC (for `time="... UTC"`)."""
        local = ts if utc else ts + self.offset(ts)
        minute = local // 60
        if minute != self._minute:
            self._minute = minute
            self._prefix = time.strftime("%Y-%m-%d %H:%M:", time.gmtime(minute * 60))
        return f"{self._prefix}{local % 60:02d}"

    def bsd(self, ts: int) -> str:
        """`Mmm dd HH:MM:SS` (day padded with a space), as a syslog relay writes it."""
        local = ts + self.offset(ts)
        minute = local // 60
        if minute != self._bsd_minute:
            self._bsd_minute = minute
            parts = time.gmtime(minute * 60)
            self._bsd_prefix = (
                f"{_MONTHS[parts.tm_mon - 1]} {parts.tm_mday:>2} "
                f"{parts.tm_hour:02d}:{parts.tm_min:02d}:"
            )
        return f"{self._bsd_prefix}{local % 60:02d}"

    def steady(self, start: int, end: int) -> bool:
        """Whether the offset is the same all through [start, end]: no DST change inside,
        so local times there are unambiguous and convert back to UTC exactly."""
        first = self.offset(start)
        return all(self.offset(t) == first for t in range(start, end + _SLOT, _SLOT))
