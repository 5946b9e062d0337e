-- hawatch schema, version 1. Documented for analysts in docs/schema.md.
-- All times are TIMESTAMPTZ in UTC. No indexes or key constraints: DuckDB is built for bulk
-- appends, and ingest de-duplicates with anti-joins pruned by time instead.

CREATE TABLE event_kinds (
    kind        VARCHAR NOT NULL,  -- e.g. failover, heartbeat_loss, sync_completed
    category    VARCHAR NOT NULL,  -- role | heartbeat | sync | link | monitor | mismatch | system | capacity
    description VARCHAR NOT NULL
);

CREATE TABLE sonicos_messages (
    message_id  INTEGER NOT NULL,  -- SonicOS m=
    kind        VARCHAR,           -- event kind for HA-relevant ids, NULL for counted-only ids
    text        VARCHAR NOT NULL,  -- message text as SonicOS writes it
    pattern     VARCHAR,           -- regex (case-insensitive) the text must match to mean kind
    subject     VARCHAR,           -- primary | secondary: whose state the message reports
    state_to    VARCHAR,           -- active | standby | NULL
    trigger     VARCHAR,           -- heartbeat | error_signal | preempt | ... | NULL
    source      VARCHAR NOT NULL   -- where this id and text are documented
);

CREATE TABLE pairs (
    pair             VARCHAR NOT NULL,
    site             VARCHAR,
    ha_mode          VARCHAR,      -- active_standby | active_active_dpi | active_active_clustering
    stateful_sync    VARCHAR,      -- enabled | disabled | synced | not_synced | NULL (unknown)
    preempt          BOOLEAN,
    active_serial    VARCHAR,      -- unit that last became active, per events
    primary_serial   VARCHAR,
    secondary_serial VARCHAR,
    timezone         VARCHAR,      -- IANA name or fixed offset for the units' local times
    origin           VARCHAR NOT NULL,  -- inventory | export | log
    updated_at       TIMESTAMPTZ NOT NULL
);

CREATE TABLE devices (
    serial     VARCHAR NOT NULL,
    pair       VARCHAR,            -- NULL: unpaired (seen, but in no inventory or export)
    role       VARCHAR,            -- primary | secondary | NULL
    model      VARCHAR,
    firmware   VARCHAR,
    timezone   VARCHAR,            -- overrides the pair's time zone
    first_seen TIMESTAMPTZ,
    last_seen  TIMESTAMPTZ
);

CREATE TABLE sources (
    source_id        INTEGER NOT NULL,
    name             VARCHAR NOT NULL,  -- path, '-' for stdin, or a listener name
    fingerprint      VARCHAR NOT NULL,  -- sha256 of the first bytes: same content, same source
    fingerprint_bytes INTEGER NOT NULL, -- how many bytes (64 KiB, or less for a small file)
    format           VARCHAR NOT NULL,  -- syslog | json | csv
    committed_offset BIGINT NOT NULL,   -- bytes (of the decompressed stream) fully ingested
    committed_lines  BIGINT NOT NULL,
    complete         BOOLEAN NOT NULL,
    first_ingest     TIMESTAMPTZ NOT NULL,
    last_ingest      TIMESTAMPTZ NOT NULL
);

CREATE TABLE ha_events (
    event_key       VARCHAR NOT NULL,  -- md5 of the identifying fields: duplicates are skipped
    time            TIMESTAMPTZ NOT NULL,
    pair            VARCHAR,
    serial          VARCHAR,           -- unit the event is about
    reported_serial VARCHAR,           -- sn= as logged (shared by both units in many set-ups)
    role            VARCHAR,           -- primary | secondary, from the text or the inventory
    kind            VARCHAR NOT NULL,
    state_from      VARCHAR,
    state_to        VARCHAR,
    trigger         VARCHAR,
    detail          VARCHAR,           -- the message text, or the export record's detail
    message_id      INTEGER,           -- SonicOS m=, when the source is syslog
    seq             BIGINT,            -- SonicOS n=
    priority        TINYINT,           -- SonicOS pri= (0 emergency .. 7 debug)
    device_time     TIMESTAMP,         -- the unit's own clock, as written
    received_at     TIMESTAMPTZ,       -- when a collector received it, when known
    source_id       INTEGER NOT NULL,
    source_pos      BIGINT NOT NULL    -- line (or record) number in the source, from 1
);

CREATE TABLE session_samples (
    time      TIMESTAMPTZ NOT NULL,
    pair      VARCHAR,
    serial    VARCHAR NOT NULL,
    connections BIGINT,
    vpn_sas   BIGINT,
    source_id INTEGER NOT NULL
);

CREATE TABLE status_samples (
    time          TIMESTAMPTZ NOT NULL,
    pair          VARCHAR,
    serial        VARCHAR NOT NULL,
    state         VARCHAR,           -- active | standby | ... as the export reports it
    stateful_sync VARCHAR,
    model         VARCHAR,
    firmware      VARCHAR,
    ha_mode       VARCHAR,
    source_id     INTEGER NOT NULL
);

CREATE TABLE windows (
    pair       VARCHAR NOT NULL,
    starts_at  TIMESTAMPTZ NOT NULL,
    ends_at    TIMESTAMPTZ NOT NULL,
    kind       VARCHAR NOT NULL,     -- failover_test | maintenance
    comment    VARCHAR,
    origin     VARCHAR NOT NULL,     -- file | cli | config
    created_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE message_counts (
    minute     TIMESTAMPTZ NOT NULL,
    serial     VARCHAR NOT NULL,     -- sn= as logged
    message_id INTEGER NOT NULL,
    lines      BIGINT NOT NULL,
    source_id  INTEGER NOT NULL
);

CREATE TABLE sequence_gaps (
    serial      VARCHAR NOT NULL,
    message_id  INTEGER NOT NULL,
    first_time  TIMESTAMPTZ,
    last_time   TIMESTAMPTZ,
    lines       BIGINT NOT NULL,
    missing     BIGINT NOT NULL,     -- n= values skipped: lines lost before they reached us
    duplicated  BIGINT NOT NULL,     -- n= values seen more than once
    resets      BIGINT NOT NULL,     -- counter went backwards (reboot) and was not counted as loss
    source_id   INTEGER NOT NULL
);

CREATE TABLE sequence_state (
    serial     VARCHAR NOT NULL,
    message_id INTEGER NOT NULL,
    last_seq   BIGINT NOT NULL,
    last_time  TIMESTAMPTZ NOT NULL
);

CREATE TABLE clock_skew (
    minute       TIMESTAMPTZ NOT NULL,
    serial       VARCHAR NOT NULL,
    samples      BIGINT NOT NULL,
    skew_seconds DOUBLE NOT NULL,    -- mean of (device time as UTC - receive time); + = ahead
    source_id    INTEGER NOT NULL
);

CREATE TABLE quarantine (
    source_id   INTEGER NOT NULL,
    source      VARCHAR NOT NULL,
    position    BIGINT NOT NULL,     -- line or record number, from 1
    raw         VARCHAR NOT NULL,    -- first 4096 characters, invalid bytes as \xNN
    raw_length  BIGINT NOT NULL,     -- length of the whole line in bytes
    reason      VARCHAR NOT NULL,
    ingested_at TIMESTAMPTZ NOT NULL
);

CREATE VIEW activity AS
SELECT minute, serial, d.pair, message_id, sum(lines)::BIGINT AS lines
FROM message_counts m LEFT JOIN devices d USING (serial)
GROUP BY ALL;

CREATE VIEW syslog_loss AS
SELECT serial, sum(lines)::BIGINT AS lines, sum(missing)::BIGINT AS missing,
       sum(duplicated)::BIGINT AS duplicated, sum(resets)::BIGINT AS resets,
       round(100.0 * sum(missing) / nullif(sum(lines) + sum(missing), 0), 3) AS loss_pct
FROM sequence_gaps GROUP BY serial;

CREATE VIEW unpaired_devices AS
SELECT serial, first_seen, last_seen FROM devices WHERE pair IS NULL;

-- Which unit a message is about. SonicOS HA messages name their subject (Primary, Backup or
-- Secondary) while both units may log with one shared sn=, so the unit is found from the
-- reported serial plus the subject; a line with no subject is about the unit that logged it.
CREATE VIEW unit_map AS
SELECT reported_serial, subject, serial, pair, role FROM (
    SELECT primary_serial AS reported_serial, 'primary' AS subject,
           primary_serial AS serial, pair, 'primary' AS role FROM pairs
    UNION ALL SELECT primary_serial, 'secondary', secondary_serial, pair, 'secondary' FROM pairs
    UNION ALL SELECT secondary_serial, 'secondary', secondary_serial, pair, 'secondary' FROM pairs
    UNION ALL SELECT secondary_serial, 'primary', primary_serial, pair, 'primary' FROM pairs
    UNION ALL SELECT primary_serial, NULL, primary_serial, pair, 'primary' FROM pairs
    UNION ALL SELECT secondary_serial, NULL, secondary_serial, pair, 'secondary' FROM pairs
) WHERE reported_serial IS NOT NULL AND serial IS NOT NULL;

-- A unit's local wall-clock time to UTC. tz is an IANA name (Europe/Berlin), UTC, or a
-- fixed offset such as +05:30 (what some inventories hold).
CREATE MACRO local_to_utc(ts, tz) AS
    CASE
      WHEN tz IS NULL OR tz = 'UTC' THEN timezone('UTC', ts)
      WHEN regexp_full_match(tz, '[+-]\d\d:\d\d') THEN timezone('UTC',
           ts - (CASE WHEN left(tz, 1) = '-' THEN -1 ELSE 1 END)
              * (to_hours(substr(tz, 2, 2)::INTEGER) + to_minutes(substr(tz, 5, 2)::INTEGER)))
      ELSE timezone(tz, ts)
    END;
