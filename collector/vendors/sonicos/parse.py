"""SonicOS enhanced syslog: a batch of raw lines in, staged events, counts and rejects out.

Parsing runs as SQL over a whole batch (an Arrow table `raw_batch` of `pos, line,
received_at`) because DuckDB's vectorised regexes are several times faster than a per-line
Python tokenizer. Each field is found with a literal-prefixed pattern (`' sn=...'`), so key
order, RFC 3164/5424 headers, relay prefixes and double spaces do not matter. Only four
fields are extracted from every line (sn, time, m, n); the rest only from the few HA lines.

Every line ends in exactly one place: an HA event (`stg_events`), a count (`stg_counts`) or
a reject (`stg_rejects`). `collector.writer` moves the stages into the store; it is shared
with the export parser, which fills the same stages.
"""

from __future__ import annotations

import duckdb
from hawatch.collector.vendors.sonicos.catalog import (
    COUNTED_MESSAGES,
    HA_MESSAGES,
    HA_TABLE,
    HA_TEXT_RE,
    REUSED_MESSAGES,
)
from hawatch.store.execute import execute_script

_COUNTED_IDS = ", ".join(str(m.message_id) for m in COUNTED_MESSAGES)


def _quote(text: str) -> str:
    return text.replace("'", "''")


# Whether a line's text agrees with its id's documented wording: one constant pattern per id
# (compiled once), rather than a pattern looked up per row.
_AGREES = "CASE h.m {} ELSE false END".format(
    " ".join(
        f"WHEN {m.message_id} THEN regexp_matches(h.msg, '(?i){_quote(m.pattern)}')"
        for m in HA_MESSAGES
        if m.pattern
    )
)

# The receive time from an RFC 5424 header (`<PRI>1 2026-11-01T10:00:05.000Z host ...`).
_HEADER_TIME = r"""CASE WHEN substr(line, 3, 3) = '>1 ' OR substr(line, 4, 3) = '>1 '
                OR substr(line, 5, 3) = '>1 ' THEN TRY_CAST(
               regexp_extract(line, '^<\d{1,3}>1 (\d{4}-\d\d-\d\dT[^ ]+) ', 1)
               AS TIMESTAMPTZ) END"""

# A line needs no more than its fields (and its text is not kept) when valid and counted.
_COUNTED_LINE = f"m IN ({_COUNTED_IDS}) AND sn <> '' AND ts IS NOT NULL"

_FIELDS = rf"""
CREATE OR REPLACE TEMP TABLE sl_fields AS
SELECT pos, sn, m, n, is_utc, ts, received_at,
       -- the text is kept only for lines that need more than the four fields (HA lines,
       -- rejects), so no later step joins back to the whole batch
       CASE WHEN ({_COUNTED_LINE}) IS NOT TRUE THEN line END AS line
FROM (
SELECT pos, sn, line,
       TRY_CAST(regexp_extract(substr(line, pm + 3, 12), '^\d{{1,9}}') AS INTEGER) AS m,
       TRY_CAST(regexp_extract(substr(line, pn + 3, 20), '^\d{{1,18}}') AS BIGINT) AS n,
       coalesce(substr(line, pt + 26, 5) = ' UTC"', false) AS is_utc,
       CASE WHEN substr(line, pt + 26, 1) = '"' OR substr(line, pt + 26, 5) = ' UTC"'
            THEN try_strptime(substr(line, pt + 7, 19), '%Y-%m-%d %H:%M:%S') END AS ts,
       received_at
FROM (
    SELECT pos, line,
           -- first, or right after <PRI>: relays that strip "id=firewall ", and Python's
           -- SysLogHandler sending `<134>sn=...` (no header)
           CASE WHEN starts_with(line, 'sn=')
                     OR (contains(left(line, 8), '>sn=')
                         AND regexp_matches(line, '^<\d{{1,3}}>sn='))
                THEN regexp_extract(line, '^(?:<\d{{1,3}}>)?sn=([0-9A-Za-z]+)', 1)
                ELSE regexp_extract(line, ' sn=([0-9A-Za-z]+)', 1) END AS sn,
           -- fixed-width fields found with strpos: cheaper than a regex over the line
           nullif(strpos(line, ' m='), 0) AS pm,
           nullif(strpos(line, ' n='), 0) AS pn,
           nullif(strpos(line, ' time="'), 0) AS pt,
           -- a listener's receive time wins over the header's
           coalesce(received_at, {_HEADER_TIME}) AS received_at
    FROM raw_batch
))
"""

# Batches from the C scanner (collector.vendors.sonicos.fastscan) arrive with the fields
# extracted. It leaves header times outside the strict RFC 3339 form to DuckDB's cast, keeping
# those lines' text.
_SCANNED_FIELDS = f"""
CREATE OR REPLACE TEMP TABLE sl_fields AS
SELECT pos, sn, m, n, is_utc, ts, received_at,
       CASE WHEN ({_COUNTED_LINE}) IS NOT TRUE THEN line END AS line
FROM (
    SELECT pos, sn, m, n, is_utc, ts, line,
           coalesce(received_at, CASE WHEN line IS NOT NULL THEN {_HEADER_TIME} END)
               AS received_at
    FROM raw_batch
)
"""

# Units' time zones: the unit's own, else its pair's, else the default.
_TZ = """
CREATE OR REPLACE TEMP TABLE sl_tz AS
SELECT s.sn, coalesce(d.timezone, p.timezone, $default_tz) AS tz
FROM (SELECT DISTINCT sn FROM sl_fields WHERE sn <> '') s
LEFT JOIN devices d ON d.serial = s.sn
LEFT JOIN pairs p ON p.pair = d.pair
"""

_REJECTS = r"""
CREATE OR REPLACE TEMP TABLE stg_rejects AS
SELECT f.pos, rtrim(f.line, chr(13) || chr(10) || chr(0)) AS raw,
       -- the line's size in bytes: each invalid byte is shown as four characters (\xNN)
       strlen(rtrim(f.line, chr(13) || chr(10)))
           - 3 * len(regexp_extract_all(rtrim(f.line, chr(13) || chr(10)), '\\x[0-9a-f]{2}'))
           AS raw_length,
       CASE
         WHEN f.sn = '' AND f.m IS NULL AND NOT f.line LIKE '% time="%' THEN
           CASE
             WHEN f.line LIKE '%\%ASA-%' ESCAPE '\' THEN 'Cisco ASA line: vendor not supported'
             WHEN f.line LIKE '%logid=%' THEN 'FortiGate line: vendor not supported'
             WHEN f.line LIKE '%Keepalived%' THEN 'keepalived line: vendor not supported'
             WHEN regexp_matches(f.line, '(?i)\bcarp\b')  -- kernel "carp:", OPNsense "Carp"
               THEN 'CARP line: vendor not supported'
             WHEN f.line LIKE '%CEF:0|SonicWall|%'
               THEN 'SonicOS ArcSight/CEF format: set the syslog format to Enhanced Syslog'
             WHEN regexp_matches(f.line, '[\x00-\x08\x0e-\x1f]')
               THEN 'binary data, not a log line'
             ELSE 'not a SonicOS key=value line (no sn=, time=, m=)'
           END
         WHEN f.sn = '' THEN 'no serial (sn=)'
         WHEN NOT f.line LIKE '% time="%' THEN 'no time= field'
         ELSE 'unparseable time="' || left(regexp_extract(f.line, ' time="([^"]*)"', 1), 40)
              || '"'
       END AS reason
FROM sl_fields f
WHERE f.sn = '' OR f.ts IS NULL
"""

# A line's text: `msg="..."` as SonicOS writes it; else `msg='...'` or an unquoted `msg=`
# up to the next key; else the bare text right after `m=NNN`, the shape of the RSA table's
# lines (B-pipeline HEADER#0001 `... m=%{messageid} %{payload}`). Only for the few HA lines.
_TEXT = r"""CASE WHEN contains(l, ' msg="') THEN regexp_extract(l, ' msg="([^"]*)"', 1)
     WHEN contains(l, ' msg=''') THEN regexp_extract(l, ' msg=''([^'']*)''', 1)
     WHEN contains(l, ' msg=')
          THEN regexp_extract(l, ' msg=(.*?)(?:\s+[A-Za-z_][A-Za-z0-9_]*=|\s*$)', 1)
     ELSE regexp_extract(l, ' m=\d+ +(.*?)(?:\s*[A-Za-z_][A-Za-z0-9_]*=|\s*$)', 1) END"""

# Ids of the documented HA table: with other text than their own they are kept as
# ha_unknown, never counted as traffic, unless newer firmware documents that text for the id.
_HA_TABLE_IDS = ", ".join(str(m.message_id) for m in HA_TABLE)
_REUSED = "CASE m {} ELSE false END".format(
    " ".join(
        f"WHEN {m.message_id} THEN regexp_matches(msg, '(?i){_quote(m.pattern or '')}')"
        for m in REUSED_MESSAGES
    )
)

# HA lines: catalogued ids whose text agrees, ids of the HA table, unknown ids in the HA
# group (gcat=8) or whose text reads like HA. Only these few lines (and lines without m=)
# are looked at beyond the four fields.
_EVENTS = rf"""
CREATE OR REPLACE TEMP TABLE sl_ha AS
SELECT pos, sn, m, n, ts, is_utc, received_at,
       regexp_extract(l, ' time="([^"]*)"', 1) AS t, {_TEXT} AS msg, left(l, 4096) AS line,
       TRY_CAST(regexp_extract(l, ' pri=(\d)\b', 1) AS TINYINT) AS pri,
       TRY_CAST(regexp_extract(l, ' gcat=(\d+)', 1) AS INTEGER) AS gcat
FROM (SELECT *, rtrim(line, chr(13) || chr(10) || chr(0)) AS l FROM sl_fields)
WHERE (m IS NULL OR m NOT IN ({_COUNTED_IDS})) AND sn <> '' AND ts IS NOT NULL;

CREATE OR REPLACE TEMP TABLE stg_events AS
WITH matched AS (
    SELECT h.*, c.kind AS c_kind, c.subject AS c_subject, c.state_to AS c_state_to,
           c.trigger AS c_trigger, {_AGREES} AS agrees
    FROM sl_ha h LEFT JOIN sonicos_messages c ON c.message_id = h.m
), classified AS (
    SELECT m.*,
           CASE WHEN agrees THEN c_kind ELSE 'ha_unknown' END AS kind,
           CASE WHEN agrees THEN c_subject
                ELSE CASE lower(regexp_extract(msg, '^(Primary|Secondary|Backup)\b', 1))
                       WHEN 'primary' THEN 'primary'
                       WHEN '' THEN NULL
                       ELSE 'secondary' END END AS subject,
           CASE WHEN agrees THEN c_state_to END AS state_to,
           CASE WHEN agrees THEN c_trigger END AS trigger
    FROM matched m
    WHERE agrees OR gcat = 8
       OR (NOT starts_with(msg, 'WLB') AND regexp_matches(msg, '{_quote(HA_TEXT_RE)}'))
       OR (m IN ({_HA_TABLE_IDS}) AND NOT {_REUSED})
)
SELECT md5(concat_ws('|', k.sn, k.m, k.n, k.t, k.msg)) AS event_key,
       local_to_utc(k.ts, CASE WHEN k.is_utc THEN 'UTC' ELSE z.tz END) AS time,
       u.pair, coalesce(u.serial, k.sn) AS serial, k.sn AS reported_serial,
       coalesce(k.subject, u.role) AS role, k.kind,
       CASE k.state_to WHEN 'active' THEN 'standby' WHEN 'standby' THEN 'active' END
           AS state_from,
       k.state_to, k.trigger,
       -- a message without text keeps its line, so nothing it said is lost
       CASE WHEN k.msg <> '' THEN k.msg ELSE k.line END AS detail, k.m AS message_id,
       k.n AS seq,
       k.pri AS priority, k.ts AS device_time, k.received_at, k.pos AS source_pos
FROM classified k
JOIN sl_tz z USING (sn)
LEFT JOIN unit_map u ON u.reported_serial = k.sn AND u.subject IS NOT DISTINCT FROM k.subject
"""

# Counted lines: every valid line that did not become an event, per unit, minute and id
# (NULL for a line without m=: still the unit's activity).
_COUNTS = f"""
CREATE OR REPLACE TEMP TABLE stg_counts AS
WITH lines AS (
    SELECT sn, m, ts, is_utc FROM sl_fields
    WHERE m IN ({_COUNTED_IDS}) AND sn <> '' AND ts IS NOT NULL
    UNION ALL
    SELECT sn, m, ts, is_utc FROM sl_ha WHERE pos NOT IN (SELECT source_pos FROM stg_events)
), g AS (
    SELECT sn, m, date_trunc('minute', ts) AS minute_local, is_utc, count(*) AS lines
    FROM lines GROUP BY ALL
)
SELECT local_to_utc(g.minute_local, CASE WHEN g.is_utc THEN 'UTC' ELSE z.tz END) AS minute,
       g.sn AS serial, g.m AS message_id, sum(g.lines)::BIGINT AS lines
FROM g JOIN sl_tz z USING (sn)
GROUP BY ALL
"""

# Loss and duplication from the n= counters, per unit and message id. The cross-batch part
# (against sequence_state) is done by the writer, which owns that state.
_SEQUENCES = """
CREATE OR REPLACE TEMP TABLE stg_sequences AS
WITH q AS (
    SELECT sn AS serial, m AS message_id, count(*) AS lines,
           count(DISTINCT n) AS distinct_n, min(n) AS min_n, max(n) AS max_n,
           -- first and last in arrival (file) order: many lines share a second, and local
           -- times repeat when clocks fall back
           arg_min(n, pos) AS first_n, arg_max(n, pos) AS last_n,
           arg_min(ts, pos) AS first_local, arg_max(ts, pos) AS last_local,
           bool_or(is_utc) AS is_utc
    FROM sl_fields
    WHERE sn <> '' AND m IS NOT NULL AND n IS NOT NULL AND ts IS NOT NULL
    GROUP BY ALL
)
SELECT q.serial, q.message_id, q.lines, q.distinct_n, q.min_n, q.max_n, q.first_n, q.last_n,
       local_to_utc(q.first_local, CASE WHEN q.is_utc THEN 'UTC' ELSE z.tz END) AS first_time,
       local_to_utc(q.last_local, CASE WHEN q.is_utc THEN 'UTC' ELSE z.tz END) AS last_time
FROM q JOIN sl_tz z ON z.sn = q.serial
"""

# Device clock against receive time, where one is known (live listeners, RFC 5424 header
# timestamps). Grouped by the device's second first, so conversion runs once per group.
_SKEW = """
CREATE OR REPLACE TEMP TABLE stg_skew AS
WITH s AS (
    SELECT sn, ts, is_utc, count(*) AS samples, avg(epoch(received_at)) AS received_epoch
    FROM sl_fields
    WHERE received_at IS NOT NULL AND sn <> '' AND m IS NOT NULL AND ts IS NOT NULL
    GROUP BY ALL
), c AS (
    SELECT s.sn, s.samples, s.received_epoch,
           local_to_utc(s.ts, CASE WHEN s.is_utc THEN 'UTC' ELSE z.tz END) AS device_utc
    FROM s JOIN sl_tz z USING (sn)
)
SELECT date_trunc('minute', device_utc) AS minute, sn AS serial,
       sum(samples)::BIGINT AS samples,
       sum((epoch(device_utc) - received_epoch) * samples) / sum(samples) AS skew_seconds
FROM c
GROUP BY ALL
"""


def stage_fields(cur: duckdb.DuckDBPyConnection) -> None:
    """`sl_fields` from the registered `raw_batch`: extracted here from `pos, line,
    received_at`, or already extracted by the C scanner (which adds an `sn` column)."""
    columns = {row[0] for row in cur.execute("DESCRIBE raw_batch").fetchall()}
    cur.execute(_SCANNED_FIELDS if "sn" in columns else _FIELDS)


def stage_sonicos(cur: duckdb.DuckDBPyConnection, default_tz: str) -> None:
    """Parse the registered `raw_batch` into the stg_* tables (see module docstring)."""
    stage_fields(cur)
    cur.execute(_TZ, {"default_tz": default_tz})
    cur.execute(_REJECTS)
    execute_script(cur, _EVENTS)
    cur.execute(_COUNTS)
    cur.execute(_SEQUENCES)
    cur.execute(_SKEW)
