"""Store poll results: their records through the export path, their outcomes in poll_status.

A poll's record is an export record (docs/formats.md), so it is staged by
collector/exports/stage.py and written by collector/writer.py like an upload: the same
de-duplication, device bookkeeping, rollups and analysis marks. All polls share one source,
named `poll` (origin `poll`), whose `committed_lines` counts the records stored. The
outcomes go to `poll_status`, one current row per unit and protocol (docs/schema.md).
"""

from __future__ import annotations

import duckdb
import pyarrow as pa
from hawatch.collector.exports.stage import stage_export
from hawatch.collector.pollers.outcome import PollResult
from hawatch.collector.writer import BatchResult, commit_batch, reset_stages
from hawatch.store.db import Store
from hawatch.store.execute import execute_script, one_row

SOURCE = "poll"

_OUTCOMES = pa.schema(
    [
        ("serial", pa.string()),
        ("protocol", pa.string()),
        ("pair", pa.string()),
        ("role", pa.string()),
        ("address", pa.string()),
        ("profile", pa.string()),
        ("outcome", pa.string()),
        ("reason", pa.string()),
        ("attempted", pa.timestamp("us", tz="UTC")),
        ("latency_ms", pa.float64()),
        ("reported_serial", pa.string()),
        ("uptime_seconds", pa.int64()),
    ]
)

_MERGE = """
CREATE OR REPLACE TEMP TABLE poll_merged AS
SELECT n.serial, n.protocol, n.pair, n.role, n.address, n.profile, n.outcome, n.reason,
       n.attempted AS last_attempt,
       CASE WHEN n.outcome = 'ok' THEN n.attempted ELSE o.last_success END AS last_success,
       CASE WHEN n.outcome = 'ok' THEN NULL
            WHEN o.outcome IS DISTINCT FROM 'ok' AND o.failing_since IS NOT NULL
                 THEN o.failing_since
            ELSE n.attempted END AS failing_since,
       CASE WHEN n.outcome = 'ok' THEN 0 ELSE coalesce(o.failures, 0) + 1 END AS failures,
       n.latency_ms, coalesce(n.reported_serial, o.reported_serial) AS reported_serial,
       CASE WHEN n.outcome = 'ok' THEN n.uptime_seconds ELSE o.uptime_seconds END
           AS uptime_seconds,
       coalesce(o.attempts, 0) + 1 AS attempts,
       coalesce(o.successes, 0) + CASE WHEN n.outcome = 'ok' THEN 1 ELSE 0 END AS successes,
       -- the first success of the current run: when an unreachable unit came back
       CASE WHEN n.outcome = 'ok' AND o.outcome = 'ok' THEN coalesce(o.ok_since, n.attempted)
            WHEN n.outcome = 'ok' THEN n.attempted END AS ok_since
FROM poll_new n LEFT JOIN poll_status o USING (serial, protocol);

DELETE FROM poll_status WHERE (serial, protocol) IN (SELECT (serial, protocol) FROM poll_merged);
INSERT INTO poll_status BY NAME SELECT * FROM poll_merged;
"""


def _source(cur: duckdb.DuckDBPyConnection) -> tuple[int, int]:
    """The `poll` source's id and records so far, claimed on first use."""
    found = cur.execute(
        "SELECT source_id, committed_lines FROM sources WHERE name = ? AND origin = 'poll'",
        [SOURCE],
    ).fetchone()
    if found:
        return int(found[0]), int(found[1])
    (next_id,) = one_row(cur, "SELECT coalesce(max(source_id), 0) + 1 FROM sources")
    cur.execute(
        "INSERT INTO sources (source_id, name, fingerprint, fingerprint_bytes, format,"
        " committed_offset, committed_lines, complete, first_ingest, last_ingest, origin)"
        " VALUES (?, ?, 'poll', 0, 'json', 0, 0, false, now(), now(), 'poll')",
        [next_id, SOURCE],
    )
    return int(next_id), 0


def _outcome_rows(results: list[PollResult]) -> pa.Table:
    newest = {(r.unit.serial, r.protocol): r for r in results}  # one row per target
    return pa.Table.from_pylist(
        [
            {
                "serial": r.unit.serial,
                "protocol": r.protocol,
                "pair": r.unit.pair,
                "role": r.unit.role,
                "address": r.address,
                "profile": r.unit.profile,
                "outcome": r.outcome,
                "reason": r.reason,
                "attempted": r.started,
                "latency_ms": round(r.latency_ms, 1),
                "reported_serial": r.reported_serial,
                "uptime_seconds": r.uptime_seconds,
            }
            for r in newest.values()
        ],
        _OUTCOMES,
    )


def store_results(store: Store, results: list[PollResult], default_tz: str) -> BatchResult:
    """Write one batch of poll results in one transaction; returns what the records added."""
    written = BatchResult()
    if not results:
        return written
    records = [r.record for r in results if r.ok and r.record is not None]
    with store.transaction() as cur:
        if records:
            source_id, done = _source(cur)
            reset_stages(cur)
            stage_export(cur, list(enumerate(records, start=done + 1)), default_tz)
            written = commit_batch(cur, source_id, SOURCE)
            cur.execute(
                "UPDATE sources SET committed_lines = committed_lines + ?,"
                " last_ingest = now() WHERE source_id = ?",
                [len(records), source_id],
            )
        cur.register("poll_new_arrow", _outcome_rows(results))
        cur.execute("CREATE OR REPLACE TEMP TABLE poll_new AS SELECT * FROM poll_new_arrow")
        cur.unregister("poll_new_arrow")
        execute_script(cur, _MERGE)
    return written


def forget_others(store: Store, keys: set[tuple[str, str]]) -> None:
    """Remove poll_status rows of units no longer polled (taken out of the inventory)."""
    rows = pa.Table.from_pylist(
        [{"serial": s, "protocol": p} for s, p in keys],
        pa.schema([("serial", pa.string()), ("protocol", pa.string())]),
    )
    with store.transaction() as cur:
        cur.register("poll_keep", rows)
        cur.execute(
            "DELETE FROM poll_status WHERE (serial, protocol) NOT IN"
            " (SELECT (serial, protocol) FROM poll_keep)"
        )
        cur.unregister("poll_keep")
