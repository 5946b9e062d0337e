"""Move a parsed batch from its stg_* tables into the store, inside the caller's transaction.

Parsers of every format fill the same stage tables, so de-duplication, loss accounting and
device bookkeeping exist once, here. Nothing is de-duplicated with key constraints: DuckDB's
indexes slow bulk appends, so new rows are anti-joined against the stored rows of the same
time range, which DuckDB's zone maps keep cheap.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import duckdb
from hawatch.collector.pairing import PAIRING_COLUMNS, refresh_batch_pairs
from hawatch.store.execute import execute_script
from hawatch.store.rollups import MARK_FROM_STAGES, refresh_rollups

# Every stage a parser may fill; missing ones are created empty so the writer needs no cases.
STAGES: dict[str, str] = {
    "stg_events": """event_key VARCHAR, time TIMESTAMPTZ, pair VARCHAR, serial VARCHAR,
        reported_serial VARCHAR, role VARCHAR, kind VARCHAR, state_from VARCHAR,
        state_to VARCHAR, trigger VARCHAR, detail VARCHAR, message_id INTEGER, seq BIGINT,
        priority TINYINT, device_time TIMESTAMP, received_at TIMESTAMPTZ, source_pos BIGINT""",
    "stg_counts": "minute TIMESTAMPTZ, serial VARCHAR, message_id INTEGER, lines BIGINT",
    "stg_rejects": "pos BIGINT, raw VARCHAR, raw_length BIGINT, reason VARCHAR",
    "stg_sequences": """serial VARCHAR, message_id INTEGER, lines BIGINT, distinct_n BIGINT,
        min_n BIGINT, max_n BIGINT, first_n BIGINT, last_n BIGINT, first_time TIMESTAMPTZ,
        last_time TIMESTAMPTZ""",
    "stg_skew": "minute TIMESTAMPTZ, serial VARCHAR, samples BIGINT, skew_seconds DOUBLE",
    "stg_samples": """time TIMESTAMPTZ, pair VARCHAR, serial VARCHAR, connections BIGINT,
        vpn_sas BIGINT, source_pos BIGINT""",
    "stg_status": """time TIMESTAMPTZ, pair VARCHAR, serial VARCHAR, state VARCHAR,
        stateful_sync VARCHAR, model VARCHAR, firmware VARCHAR, ha_mode VARCHAR,
        source_pos BIGINT, max_connections BIGINT""",
    "stg_windows": """pair VARCHAR, starts_at TIMESTAMPTZ, ends_at TIMESTAMPTZ, kind VARCHAR,
        comment VARCHAR, source_pos BIGINT""",
    "stg_pairing": PAIRING_COLUMNS,
}


@dataclass
class BatchResult:
    """What one batch added; summed over a run for the ingest summary."""

    events_by_kind: dict[str, int] = field(default_factory=dict)
    events_new: int = 0
    events_duplicate: int = 0
    counted: int = 0
    quarantined: int = 0
    quarantine_stored: int = 0  # of those, kept with their text (the rest over the cap)
    samples: int = 0
    status: int = 0
    windows: int = 0

    def add(self, other: BatchResult) -> None:
        for kind, n in other.events_by_kind.items():
            self.events_by_kind[kind] = self.events_by_kind.get(kind, 0) + n
        self.events_new += other.events_new
        self.events_duplicate += other.events_duplicate
        self.counted += other.counted
        self.quarantined += other.quarantined
        self.quarantine_stored += other.quarantine_stored
        self.samples += other.samples
        self.status += other.status
        self.windows += other.windows

    @property
    def events(self) -> int:
        return self.events_new + self.events_duplicate

    @property
    def usable(self) -> int:
        """Rows stored from good lines or records: events, counted lines, samples, windows."""
        return self.events + self.counted + self.samples + self.status + self.windows


def reset_stages(cur: duckdb.DuckDBPyConnection) -> None:
    """Empty stage tables, so a parser fills only what its format has."""
    for name, columns in STAGES.items():
        cur.execute(f"CREATE OR REPLACE TEMP TABLE {name} ({columns})")


def _scalar(cur: duckdb.DuckDBPyConnection, sql: str, params: object = None) -> int:
    row = cur.execute(sql, params).fetchone()
    return int(row[0]) if row and row[0] is not None else 0


_INSERT_EVENTS = """
INSERT INTO ha_events
SELECT event_key, time, pair, serial, reported_serial, role, kind, state_from, state_to,
       trigger, detail, message_id, seq, priority, device_time, received_at, $source_id,
       source_pos
FROM (SELECT DISTINCT ON (event_key) * FROM stg_events ORDER BY event_key, source_pos) e
WHERE e.event_key NOT IN (
    SELECT event_key FROM ha_events
    WHERE time BETWEEN (SELECT min(time) FROM stg_events) AND (SELECT max(time) FROM stg_events))
"""

# Same (serial, time) is the same sample; a re-sent export adds nothing.
_INSERT_SAMPLES = """
INSERT INTO session_samples
SELECT time, pair, serial, connections, vpn_sas, $source_id
FROM (SELECT DISTINCT ON (serial, time) * FROM stg_samples ORDER BY serial, time, source_pos) s
WHERE (s.serial, s.time) NOT IN (
    SELECT (serial, time) FROM session_samples
    WHERE time BETWEEN (SELECT min(time) FROM stg_samples) AND (SELECT max(time) FROM stg_samples))
"""

_INSERT_STATUS = """
INSERT INTO status_samples
SELECT time, pair, serial, state, stateful_sync, model, firmware, ha_mode, $source_id,
       max_connections
FROM (SELECT DISTINCT ON (serial, time) * FROM stg_status ORDER BY serial, time, source_pos) s
WHERE (s.serial, s.time) NOT IN (
    SELECT (serial, time) FROM status_samples
    WHERE time BETWEEN (SELECT min(time) FROM stg_status) AND (SELECT max(time) FROM stg_status))
"""

# The same window declared twice is one window.
_INSERT_WINDOWS = """
INSERT INTO windows (pair, starts_at, ends_at, kind, comment, origin, created_at)
SELECT DISTINCT pair, starts_at, ends_at, kind, comment, 'file', now() FROM stg_windows w
WHERE (w.pair, w.starts_at, w.ends_at, w.kind) NOT IN (
    SELECT (pair, starts_at, ends_at, kind) FROM windows)
"""

# A counter that went backwards at a later time is a restart (reboot), not loss; one that
# went backwards for older data is a late file, and neither counts as missing lines.
_SEQUENCES = """
INSERT INTO sequence_gaps
SELECT q.serial, q.message_id, q.first_time, q.last_time, q.lines,
       (CASE WHEN q.last_n >= q.first_n THEN q.max_n - q.min_n + 1 - q.distinct_n ELSE 0 END)
       + (CASE WHEN st.last_seq IS NOT NULL AND q.first_n > st.last_seq
                    AND q.last_time >= st.last_time
               THEN q.first_n - st.last_seq - 1 ELSE 0 END),
       q.lines - q.distinct_n,
       (CASE WHEN q.last_n < q.first_n THEN 1 ELSE 0 END)
       + (CASE WHEN st.last_seq IS NOT NULL AND q.first_n <= st.last_seq
                    AND q.last_time > st.last_time THEN 1 ELSE 0 END),
       $source_id
FROM stg_sequences q
LEFT JOIN sequence_state st USING (serial, message_id);

CREATE OR REPLACE TEMP TABLE seq_next AS
SELECT q.serial, q.message_id,
       CASE WHEN st.last_time IS NULL OR q.last_time >= st.last_time
            THEN q.last_n ELSE st.last_seq END AS last_seq,
       greatest(q.last_time, st.last_time) AS last_time
FROM stg_sequences q LEFT JOIN sequence_state st USING (serial, message_id)
WHERE q.last_time IS NOT NULL;

DELETE FROM sequence_state
WHERE (serial, message_id) IN (SELECT (serial, message_id) FROM seq_next);
INSERT INTO sequence_state SELECT serial, message_id, last_seq, last_time FROM seq_next;
"""

# first/last seen per serial, from every row the batch adds.
_DEVICES = """
CREATE OR REPLACE TEMP TABLE seen AS
SELECT serial, min(t0) AS first_seen, max(t1) AS last_seen FROM (
    SELECT serial, minute AS t0, minute + INTERVAL 59 SECOND AS t1 FROM stg_counts
    UNION ALL SELECT serial, time, time FROM stg_events
    UNION ALL SELECT reported_serial, time, time FROM stg_events
    UNION ALL SELECT serial, time, time FROM stg_samples
    UNION ALL SELECT serial, time, time FROM stg_status
) WHERE serial IS NOT NULL AND serial <> '' GROUP BY serial;

UPDATE devices d SET first_seen = least(coalesce(d.first_seen, s.first_seen), s.first_seen),
                     last_seen = greatest(coalesce(d.last_seen, s.last_seen), s.last_seen)
FROM seen s WHERE d.serial = s.serial;

INSERT INTO devices (serial, first_seen, last_seen)
SELECT serial, first_seen, last_seen FROM seen
WHERE serial NOT IN (SELECT serial FROM devices);
"""


# When each unit was last heard from, per source kind (syslog, poll, export): the newest data
# time, and hawatch's clock for when it arrived. Data arrives "live" from a listener or a
# poll, or when it was no older than LIVE_WITHIN on arrival; last month's files never do, so
# they never make a unit look silent now (analytics/freshness.py). A poll's status row with
# nothing but a state is what the polled unit said about its peer, not a sign of the peer.
LIVE_WITHIN = "INTERVAL 1 HOUR"
LIVE_ORIGINS = ("udp", "tcp", "poll")

_LAST_SEEN = f"""
CREATE OR REPLACE TEMP TABLE seen_now AS
SELECT serial, max(time) AS last_seen FROM (
    SELECT serial, minute AS time FROM stg_counts
    UNION ALL SELECT coalesce(reported_serial, serial), time FROM stg_events
    UNION ALL SELECT serial, time FROM stg_samples
    UNION ALL SELECT serial, time FROM stg_status
    WHERE NOT $poll OR coalesce(stateful_sync, model, firmware, ha_mode) IS NOT NULL
       OR max_connections IS NOT NULL
) WHERE serial IS NOT NULL AND serial <> '' AND time IS NOT NULL GROUP BY serial;

UPDATE unit_last_seen u
SET last_seen = greatest(u.last_seen, s.last_seen), last_received = now(),
    last_live = CASE WHEN $live OR s.last_seen >= now() - {LIVE_WITHIN} THEN now()
                     ELSE u.last_live END
FROM seen_now s WHERE u.serial = s.serial AND u.source = $source;

INSERT INTO unit_last_seen
SELECT serial, $source, last_seen, now(),
       CASE WHEN $live OR last_seen >= now() - {LIVE_WITHIN} THEN now() END
FROM seen_now WHERE serial NOT IN (SELECT serial FROM unit_last_seen WHERE source = $source);
"""


def _source_kind(cur: duckdb.DuckDBPyConnection, source_id: int) -> tuple[str, bool]:
    """(syslog | poll | export, whether its data arrives live) for the batch's source."""
    row = cur.execute(
        "SELECT origin, format FROM sources WHERE source_id = ?", [source_id]
    ).fetchone()
    origin, fmt = row if row else (None, None)
    kind = "poll" if origin == "poll" else "syslog" if fmt == "syslog" else "export"
    return kind, origin in LIVE_ORIGINS


# Pairs with new HA data, and from when: the next incremental analysis looks at these only.
_DIRTY = """
INSERT INTO analysis_dirty
SELECT pair, min(time), now() FROM (
    SELECT pair, time FROM stg_events
    UNION ALL SELECT pair, time FROM stg_samples
    UNION ALL SELECT pair, time FROM stg_status
    UNION ALL SELECT pair, starts_at FROM stg_windows
) WHERE pair IS NOT NULL AND time IS NOT NULL GROUP BY pair
"""


def commit_batch(
    cur: duckdb.DuckDBPyConnection,
    source_id: int,
    source_name: str,
    quarantine_room: int | None = None,
) -> BatchResult:
    """Write the stages of one batch; the caller's transaction makes it all-or-nothing.

    At most `quarantine_room` rejected lines are stored with their text (the first ones);
    all of them are counted in the result.
    """
    ids = {"source_id": source_id}
    result = BatchResult()
    staged = _scalar(cur, "SELECT count(*) FROM stg_events")
    if staged:
        result.events_new = _scalar(cur, _INSERT_EVENTS, ids)
        result.events_duplicate = staged - result.events_new
        rows = cur.execute("SELECT kind, count(*) FROM stg_events GROUP BY kind").fetchall()
        result.events_by_kind = {kind: int(n) for kind, n in rows}
    result.counted = _scalar(cur, "SELECT sum(lines) FROM stg_counts")
    cur.execute(
        "INSERT INTO message_counts SELECT minute, serial, message_id, lines, $source_id"
        " FROM stg_counts",
        ids,
    )
    result.quarantined = _scalar(cur, "SELECT count(*) FROM stg_rejects")
    room = result.quarantined if quarantine_room is None else quarantine_room
    if result.quarantined and room:
        result.quarantine_stored = _scalar(
            cur,
            "INSERT INTO quarantine SELECT $source_id, $name, pos, left(raw, 4096),"
            " raw_length, reason, now() FROM stg_rejects ORDER BY pos LIMIT $room",
            {**ids, "name": source_name, "room": room},
        )
    result.samples = _insert_new(cur, "stg_samples", _INSERT_SAMPLES, ids)
    result.status = _insert_new(cur, "stg_status", _INSERT_STATUS, ids)
    result.windows = _insert_new(cur, "stg_windows", _INSERT_WINDOWS, {})
    if _scalar(cur, "SELECT count(*) FROM stg_sequences"):
        execute_script(cur, _SEQUENCES, ids)
    cur.execute(
        "INSERT INTO clock_skew SELECT minute, serial, samples, skew_seconds,"
        " $source_id FROM stg_skew",
        ids,
    )
    execute_script(cur, _DEVICES)
    kind, live = _source_kind(cur, source_id)
    execute_script(cur, _LAST_SEEN, {"source": kind, "live": live, "poll": kind == "poll"})
    cur.execute(_DIRTY)
    cur.execute(MARK_FROM_STAGES)
    refresh_rollups(cur)
    refresh_batch_pairs(cur)
    return result


def _insert_new(cur: duckdb.DuckDBPyConnection, stage: str, sql: str, ids: dict[str, int]) -> int:
    """Run an INSERT (DuckDB answers with the number of rows it added) if the stage has rows."""
    if not _scalar(cur, f"SELECT count(*) FROM {stage}"):
        return 0
    return _scalar(cur, sql, ids or None)
