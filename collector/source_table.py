"""The `sources` table: which source a file or stream is, and how far it was committed.

A source is identified by its content (sha256 of its first bytes), or by an identity its
caller gives (a listener's spool file, by name), never by a path alone. Each batch's rows and
the source's new committed offset go in one transaction, so a run killed at any moment and
started again resumes exactly after the last committed batch.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
from hawatch.collector.inputs import fingerprint
from hawatch.collector.limits import IngestLimits
from hawatch.collector.writer import BatchResult, commit_batch
from hawatch.store.db import Store
from hawatch.store.execute import one_row


@dataclass
class Source:
    """A row of `sources` as ingest needs it: where the next batch starts."""

    source_id: int
    offset: int  # bytes committed (a syslog source); exports resume by record
    lines: int  # lines or records committed
    known: bool  # stored before this run: resumed, or unchanged


def claim_source(
    store: Store, name: str, head: bytes, fmt: str, identity: str | None = None
) -> Source:
    """The stored source with this content (or, given an `identity`, this identity), or a
    new one. A listener's spool files are identified by name: two seconds of traffic may
    begin with the same bytes, and must not be taken for one file. The identity's key holds
    the first bytes too: a file that reuses an ingested file's name is then a new source,
    read from its start, not the old one resumed at its offset."""
    if identity is not None:
        head, lengths = identity.encode() + b"\0" + head, [(0,)]
    with store.transaction() as cur:
        if identity is None:
            lengths = cur.execute(
                "SELECT DISTINCT fingerprint_bytes FROM sources"
                " WHERE fingerprint_bytes BETWEEN 1 AND ?",
                [len(head)],
            ).fetchall()
        for (length,) in lengths:
            row = cur.execute(
                "SELECT source_id, committed_offset, committed_lines FROM sources"
                " WHERE fingerprint = ? AND fingerprint_bytes = ?",
                [fingerprint(head, length or None), length],
            ).fetchone()
            if row:
                return Source(int(row[0]), int(row[1]), int(row[2]), True)
        (next_id,) = one_row(cur, "SELECT coalesce(max(source_id), 0) + 1 FROM sources")
        # serve's identities are `<origin>:<file name>` (udp, tcp, http)
        origin = identity.split(":", 1)[0] if identity and ":" in identity else "file"
        cur.execute(
            "INSERT INTO sources (source_id, name, fingerprint, fingerprint_bytes, format,"
            " committed_offset, committed_lines, complete, first_ingest, last_ingest, origin,"
            " quarantined, parsed) VALUES (?, ?, ?, ?, ?, 0, 0, false, now(), now(), ?, 0, 0)",
            [next_id, name, fingerprint(head), 0 if identity else len(head), fmt, origin],
        )
        return Source(int(next_id), 0, 0, False)


# rows a staged batch would store from good lines or records
_STAGED_USABLE = """
SELECT (SELECT count(*) FROM stg_events) + (SELECT coalesce(sum(lines), 0) FROM stg_counts)
     + (SELECT count(*) FROM stg_samples) + (SELECT count(*) FROM stg_status)
     + (SELECT count(*) FROM stg_windows)
"""


def _quarantine_room(
    cur: duckdb.DuckDBPyConnection, source_id: int, limits: IngestLimits
) -> int | None:
    """How many of the batch's rejected lines may still be stored with their text (None:
    the batch has none)."""
    (rejects,) = one_row(cur, "SELECT count(*) FROM stg_rejects")
    if not rejects:
        return None
    stored, parsed = one_row(
        cur,
        "SELECT (SELECT count(*) FROM quarantine WHERE source_id = $id),"
        " (SELECT parsed FROM sources WHERE source_id = $id)",
        {"id": source_id},
    )
    usable = bool(parsed) or bool(one_row(cur, _STAGED_USABLE)[0])
    return limits.quarantine_room(int(stored), usable)


def commit_and_advance(
    cur: duckdb.DuckDBPyConnection,
    source: Source,
    name: str,
    offset: int,
    lines: int,
    limits: IngestLimits,
) -> BatchResult:
    """Store the staged batch and move the source's committed offset past it, in the
    caller's transaction: both or neither."""
    result = commit_batch(
        cur, source.source_id, name, _quarantine_room(cur, source.source_id, limits)
    )
    cur.execute(
        "UPDATE sources SET committed_offset = ?, committed_lines = ?, last_ingest = now(),"
        " quarantined = quarantined + ?, parsed = parsed + ? WHERE source_id = ?",
        [offset, lines, result.quarantined, result.usable, source.source_id],
    )
    return result
