"""Counters of the serving process, in Prometheus' text format.

Per source (udp, tcp, http, drop): lines or records received (from the listener's own
counters for syslog), parsed into events or counts, quarantined, dropped by the kernel
(UDP receive-buffer overflows), the ingest backlog, and batch write latency. Polls: per
protocol and outcome (a fixed, small set of labels: never per unit, never a credential).
"""

from __future__ import annotations

import math
import threading
from collections import defaultdict
from typing import Any

from hawatch.collector.ingest import SourceReport
from hawatch.collector.pollers.credentials import PROTOCOLS
from hawatch.collector.pollers.outcome import PollResult
from hawatch.store.kinds import POLL_OUTCOMES


class Metrics:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.ingested: dict[str, int] = defaultdict(int)
        self.parsed: dict[str, int] = defaultdict(int)
        self.quarantined: dict[str, int] = defaultdict(int)
        self.files: dict[str, int] = defaultdict(int)
        self.failed: dict[str, int] = defaultdict(int)
        self.retried: dict[str, int] = defaultdict(int)
        self.refused: dict[str, int] = defaultdict(int)
        self.write_seconds: dict[str, float] = defaultdict(float)
        self.last_write_seconds: dict[str, float] = defaultdict(float)
        self.analysis_runs = 0
        self.analysis_seconds = 0.0
        self.incidents_opened = 0
        self.polls: dict[tuple[str, str], int] = defaultdict(int)
        self.poll_seconds: dict[str, float] = defaultdict(float)
        self.poll_last: dict[tuple[str, str], str] = {}  # (serial, protocol) -> outcome
        self.polls_skipped = 0

    def record_ingest(self, source: str, report: SourceReport, seconds: float) -> None:
        """One ingest of a file. A file the store could not take (disk full) is not a
        failure of the file: it waits and is counted as a retry; one refused for what it is
        (an inventory, not the format it was sent as) is the sender's error, counted apart
        from failures, which are hawatch's to look into."""
        r = report.result
        with self._lock:
            self.files[source] += 1
            self.failed[source] += report.status == "failed" and not report.transient
            self.retried[source] += report.transient
            self.refused[source] += report.status == "refused"
            self.ingested[source] += report.lines
            self.parsed[source] += r.events + r.counted + r.samples + r.status
            self.quarantined[source] += r.quarantined
            self.write_seconds[source] += seconds
            self.last_write_seconds[source] = seconds

    def record_refused(self, source: str) -> None:
        """A file refused unread (a link or device in the drop folder)."""
        with self._lock:
            self.files[source] += 1
            self.refused[source] += 1

    def record_analysis(self, seconds: float, opened: int) -> None:
        with self._lock:
            self.analysis_runs += 1
            self.analysis_seconds += seconds
            self.incidents_opened += opened

    def record_poll(self, result: PollResult) -> None:
        with self._lock:
            self.polls[(result.protocol, result.outcome)] += 1
            self.poll_seconds[result.protocol] += result.latency_ms / 1000
            self.poll_last[(result.unit.serial, result.protocol)] = result.outcome

    def record_poll_skipped(self) -> None:
        with self._lock:
            self.polls_skipped += 1

    def _poll_lines(self) -> list[str]:
        """Poll counters; caller holds the lock."""
        units = {o: 0 for o in POLL_OUTCOMES}
        for outcome in self.poll_last.values():
            units[outcome] += 1
        return [
            "# HELP hawatch_polls_total Polls finished, by protocol and outcome.",
            "# TYPE hawatch_polls_total counter",
            *(
                f'hawatch_polls_total{{protocol="{p}",outcome="{o}"}} {self.polls[(p, o)]}'
                for p in PROTOCOLS
                for o in POLL_OUTCOMES
            ),
            "# HELP hawatch_poll_seconds_total Time polls took, retries included.",
            "# TYPE hawatch_poll_seconds_total counter",
            *(
                f'hawatch_poll_seconds_total{{protocol="{p}"}} {sample_value(self.poll_seconds[p])}'
                for p in PROTOCOLS
            ),
            "# HELP hawatch_poll_units Polled units (per protocol) whose last poll had this"
            " outcome.",
            "# TYPE hawatch_poll_units gauge",
            *(f'hawatch_poll_units{{outcome="{o}"}} {n}' for o, n in units.items()),
            "# HELP hawatch_polls_skipped_total Polls not started: the unit's previous poll"
            " was still running.",
            "# TYPE hawatch_polls_skipped_total counter",
            f"hawatch_polls_skipped_total {self.polls_skipped}",
        ]

    def render(self, listener: dict[str, Any], backlog: int) -> str:
        lines: list[str] = []

        def metric(name: str, kind: str, help_text: str, values: dict[str, float] | float) -> None:
            lines.append(f"# HELP hawatch_{name} {help_text}")
            lines.append(f"# TYPE hawatch_{name} {kind}")
            if isinstance(values, dict):
                lines.extend(
                    f'hawatch_{name}{{source="{s}"}} {sample_value(v)}'
                    for s, v in sorted(values.items())
                )
            else:
                lines.append(f"hawatch_{name} {sample_value(values)}")

        with self._lock:
            metric(
                "received_total",
                "counter",
                "Lines (syslog) received by the listener.",
                _listener_counts(listener, "lines"),
            )
            metric(
                "ingested_total", "counter", "Lines or records read by ingest.", dict(self.ingested)
            )
            metric(
                "parsed_total",
                "counter",
                "Lines or records stored as events, counts or samples.",
                dict(self.parsed),
            )
            metric(
                "quarantined_total",
                "counter",
                "Lines or records quarantined.",
                dict(self.quarantined),
            )
            metric(
                "dropped_total",
                "counter",
                "Datagrams the kernel dropped before the listener read them.",
                _listener_counts(listener, "kernel_drops"),
            )
            metric(
                "ingest_failed_files_total",
                "counter",
                "Files that failed to ingest (kept in failed/ with the reason).",
                dict(self.failed),
            )
            metric(
                "ingest_refused_files_total",
                "counter",
                "Files refused for what they are: links, inventories, wrong format, too"
                " large (answered 4xx, or moved to the drop folder's failed/).",
                dict(self.refused),
            )
            metric(
                "ingest_retries_total",
                "counter",
                "Ingests the store could not take (disk full, I/O): the file waits.",
                dict(self.retried),
            )
            metric(
                "queue_depth_files", "gauge", "Spooled or uploaded files waiting.", float(backlog)
            )
            metric(
                "batch_write_seconds_total",
                "counter",
                "Time spent ingesting files.",
                dict(self.write_seconds),
            )
            metric(
                "batch_write_seconds_last",
                "gauge",
                "Duration of the last file ingest.",
                dict(self.last_write_seconds),
            )
            metric("analysis_runs_total", "counter", "Analysis passes.", float(self.analysis_runs))
            metric(
                "analysis_seconds_total",
                "counter",
                "Time spent in analysis.",
                self.analysis_seconds,
            )
            metric(
                "incidents_opened_total",
                "counter",
                "Incidents opened by analysis.",
                float(self.incidents_opened),
            )
            lines.extend(self._poll_lines())
        return "\n".join(lines) + "\n"


def sample_value(value: float) -> str:
    """A sample in full precision: whole numbers as integers (1001541, where `:g` wrote
    1.00154e+06 and a scraper read 1001540), other values as the shortest text that reads
    back as the same float."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if float(value).is_integer() and abs(value) < 2**63:
        return str(int(value))
    return repr(float(value))


def _listener_counts(stats: dict[str, Any], key: str) -> dict[str, float]:
    """`key` per source from the listener's stats (`sources` of listener-stats.json)."""
    found: dict[str, float] = {}
    for source, values in stats.items():
        if isinstance(values, dict) and isinstance(values.get(key), int | float):
            found[source] = float(values[key])
    return found
