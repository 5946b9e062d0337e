-- Rollups kept up to date at ingest (store/rollups.py), so analysis and the fleet page never
-- aggregate the raw samples. Documented in docs/schema.md.

-- Per pair and clock hour: the pair's connections per 5-minute bucket (the sum over both
-- units of each unit's latest sample, carried at most 15 minutes), and that hour's figures.
CREATE TABLE load_hours (
    pair       VARCHAR NOT NULL,
    hour_start TIMESTAMPTZ NOT NULL,
    level      DOUBLE,                 -- mean of the hour's buckets
    min_conn   BIGINT,
    max_conn   BIGINT,
    prev_level DOUBLE,                 -- level of the hour before, NULL when it has no data
    buckets    STRUCT(t TIMESTAMPTZ, conn BIGINT)[]  -- in time order
);

-- The session samples within an hour of a unit of the same pair becoming active: what the
-- role-change context (connections before and after a failover) reads.
CREATE TABLE failover_samples (
    time        TIMESTAMPTZ NOT NULL,
    pair        VARCHAR NOT NULL,
    serial      VARCHAR NOT NULL,
    connections BIGINT,
    vpn_sas     BIGINT
);

-- Pair-time ranges whose rollups must be rebuilt; emptied by every rebuild.
CREATE TABLE rollup_dirty (
    pair  VARCHAR NOT NULL,
    since TIMESTAMPTZ NOT NULL,
    until TIMESTAMPTZ NOT NULL
);

ALTER TABLE pairs ADD COLUMN connections_now BIGINT;      -- newest bucket of load_hours
ALTER TABLE pairs ADD COLUMN connections_at TIMESTAMPTZ;  -- its time

-- build the rollups of what is already stored
INSERT INTO rollup_dirty
SELECT pair, min(time), max(time) FROM (
    SELECT pair, time FROM session_samples
    UNION ALL SELECT pair, time FROM ha_events WHERE state_to = 'active'
) WHERE pair IS NOT NULL GROUP BY pair;
