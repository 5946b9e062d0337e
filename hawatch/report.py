"""What `hawatch ingest` and `hawatch demo` print: per source, the totals, and the fleet."""

from __future__ import annotations

import json
import sys

from hawatch.analytics.pair_summary import pair_summary, unpaired_serials
from hawatch.collector.ingest import IngestReport, SourceReport
from hawatch.output import render
from hawatch.store.db import Store


def _source_line(s: SourceReport) -> str:
    if s.status == "failed":
        return f"{s.name}: FAILED: {s.error}"
    if s.status == "unchanged":
        return f"{s.name}: already ingested, nothing new"
    if s.status == "inventory":
        return f"{s.name}: pair inventory, {s.lines} pairs applied"
    if s.status == "skipped":
        return f"{s.name}: simulator truth file, not ingested"
    if s.status in ("refused", "interrupted"):
        return f"{s.name}: {s.status.upper()}: {s.error}"
    r = s.result
    rate = s.lines / s.seconds if s.seconds else 0.0
    unit = "records" if s.format in ("json", "csv") else "lines"
    made = [f"{r.events} HA events ({r.events_duplicate} duplicates)"]
    if s.format == "syslog":
        made.append(f"{r.counted:,} counted")
    else:
        made.append(f"{r.samples:,} session samples, {r.status:,} status samples")
        if r.windows:
            made.append(f"{r.windows} windows")
    made.append(
        f"{r.quarantined:,} quarantined"
        + (
            f" ({s.quarantine_unstored:,} past the cap counted, not stored)"
            if s.quarantine_unstored
            else ""
        )
    )
    resumed = " (resumed)" if s.status == "resumed" else ""
    return (
        f"{s.name}{resumed}: {s.lines:,} {unit} [{s.format}] -> {', '.join(made)};"
        f" {rate:,.0f} {unit}/s"
    )


def unusable_line(s: SourceReport) -> str:
    """One line for a source of which nothing could be used (the quarantine says why)."""
    unit = "records" if s.format in ("json", "csv") else "lines"
    return (
        f"{s.name}: nothing usable: all {s.lines:,} {unit} quarantined; is it a SonicOS"
        " log (Enhanced Syslog) or an HA export (docs/formats.md)?"
    )


def print_ingest_report(report: IngestReport, fmt: str) -> None:
    total = report.total
    for failed in report.failed:  # on stderr whatever the format: scripts read stdout
        print(f"hawatch: error: {failed.name}: {failed.error}", file=sys.stderr)
    for unusable in report.unusable:
        print(f"hawatch: error: {unusable_line(unusable)}", file=sys.stderr)
    if fmt != "table":
        sources = [
            {
                "name": s.name,
                "format": s.format,
                "status": s.status,
                "lines": s.lines,
                "blank": s.blank,
                "seconds": round(s.seconds, 3),
                "events": s.result.events,
                "events_new": s.result.events_new,
                "events_duplicate": s.result.events_duplicate,
                "counted": s.result.counted,
                "quarantined": s.result.quarantined,
                "quarantine_stored": s.result.quarantine_stored,
                "session_samples": s.result.samples,
                "status_samples": s.result.status,
                "events_by_kind": s.result.events_by_kind,
                "error": s.error,
            }
            for s in report.sources
        ]
        if fmt == "json":
            print(json.dumps({"sources": sources, "seconds": round(report.seconds, 3)}, indent=2))
        else:
            cols = [k for k in sources[0] if k != "events_by_kind"] if sources else []
            print(render(cols, [[s[c] for c in cols] for s in sources], "csv"))
        return
    for source in report.sources:
        print(_source_line(source))
    syslog_lines = sum(s.lines for s in report.sources if s.format == "syslog")
    syslog = [s.result for s in report.sources if s.format == "syslog"]
    accounted = sum(r.events + r.counted + r.quarantined for r in syslog)
    rate = report.lines / report.seconds if report.seconds else 0.0
    print(
        f"\ntotal: {report.lines:,} lines/records in {report.seconds:.2f} s "
        f"({rate:,.0f}/s); syslog lines {syslog_lines:,} = HA events "
        f"{sum(r.events for r in syslog):,} + counted {sum(r.counted for r in syslog):,} "
        f"+ quarantined {sum(r.quarantined for r in syslog):,}"
        + ("" if accounted == syslog_lines else f"  (MISMATCH: {accounted:,})")
    )
    kinds = ", ".join(f"{k} {n}" for k, n in sorted(total.events_by_kind.items()))
    print(f"events by kind: {kinds or 'none'}")
    print(
        f"new events {total.events_new:,}, duplicates skipped {total.events_duplicate:,}, "
        f"session samples {total.samples:,}, status samples {total.status:,}, "
        f"quarantined {total.quarantined:,}"
    )


def print_pair_summary(store: Store, fmt: str) -> None:
    cur = store.cursor()
    columns, rows = pair_summary(cur)
    print()
    print(render(columns, rows, fmt) if rows else "no pairs known yet (add --inventory)")
    unpaired = unpaired_serials(cur)
    if unpaired:
        shown = ", ".join(unpaired[:10]) + (" ..." if len(unpaired) > 10 else "")
        print(f"\nunpaired units ({len(unpaired)}; in no inventory or export): {shown}")
