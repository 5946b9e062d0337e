"""The log of `hawatch serve`, set up once (`configure_logging`, the first thing serve does).

One handler on stderr and one format for every record: UTC time, level, logger name, message
(and the traceback, for a failure). hawatch's own loggers, Flask's, waitress' and
APScheduler's all go through it, and so do the listener child's lines (relayed by
hawatch/listener_supervisor.py under the child's own logger names, `relay_line`). The level
is the setting `log.level` (HAWATCH_LOG_LEVEL). APScheduler says INFO at every run of every
job, so it speaks from WARNING up unless the level is DEBUG.
"""

from __future__ import annotations

import logging
import re
import sys
import time
from typing import TextIO

from hawatch.store.errors import HawatchError
from hawatch.store.settings import Setting

LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
LOG_SETTINGS: tuple[Setting, ...] = (
    Setting(
        "log.level",
        "INFO",
        "Least severe records `hawatch serve` logs (stderr): DEBUG, INFO, WARNING or ERROR.",
    ),
)
FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
CHATTY = ("apscheduler",)  # INFO at every job run
# the listener child's format (collector/syslog/listener_log.py)
_CHILD_LINE = re.compile(
    r"hawatch-listener\[(\d+)\] (DEBUG|INFO|WARNING|ERROR|CRITICAL) "
    r"(hawatch(?:\.\w+)*): (.*)",
    re.S,
)


class UtcFormatter(logging.Formatter):
    """ISO 8601 times in UTC, to the millisecond: 2026-11-02T04:41:32.123Z."""

    converter = time.gmtime  # type: ignore[assignment]  # typeshed: no optional argument
    default_time_format = "%Y-%m-%dT%H:%M:%S"
    default_msec_format = "%s.%03dZ"


class _ServeHandler(logging.StreamHandler):
    """The one handler; a second configure_logging replaces it instead of adding one."""


def parse_level(value: str) -> int:
    name = str(value).strip().upper()
    if name not in LEVELS:
        raise HawatchError(f"log.level: expected one of {', '.join(LEVELS)}, got {value!r}")
    level: int = getattr(logging, name)
    return level


def configure_logging(level_name: str, stream: TextIO | None = None) -> None:
    """Every record at `level_name` and above to `stream` (stderr), in one format."""
    level = parse_level(level_name)
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, _ServeHandler)]:
        root.removeHandler(old)
    handler = _ServeHandler(stream or sys.stderr)
    handler.setFormatter(UtcFormatter(FORMAT))
    root.addHandler(handler)
    root.setLevel(level)
    for name in CHATTY:
        logging.getLogger(name).setLevel(level if level <= logging.DEBUG else logging.WARNING)
    logging.captureWarnings(True)


def relay_line(text: str) -> None:
    """Log one line of the listener child's stderr: at its level and under its logger's
    name when it is one of the child's records, else (a crash's traceback, a line cut
    short) as a warning of `hawatch.listener`."""
    found = _CHILD_LINE.fullmatch(text)
    if found is None:
        logging.getLogger("hawatch.listener").warning("%s", text)
        return
    pid, level, name, message = found.groups()
    logging.getLogger(name).log(getattr(logging, level), "[listener %s] %s", pid, message)
