-- Rollups kept up to date at ingest (store/rollups.py), so analysis and the fleet page never
-- aggregate the raw samples. Documented in docs/schema.md.

-- Per pair and UTC day: the pair's connections per 5-minute bucket (the sum over its units of
-- each unit's sample; see docs/schema.md), each with the mean of the clock hour before it.
CREATE TABLE load_days (
    pair      VARCHAR NOT NULL,
    day_start TIMESTAMPTZ NOT NULL,
    min_conn  BIGINT,
    max_conn  BIGINT,
    min_ratio DOUBLE,   -- lowest conn / ref over the day's buckets that have a ref > 0
    max_ref   DOUBLE,   -- highest ref of the day
    buckets   STRUCT(t TIMESTAMPTZ, conn BIGINT, ref DOUBLE)[]  -- in time order
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

ALTER TABLE pairs ADD COLUMN connections_now BIGINT;      -- each unit's newest sample, summed
ALTER TABLE pairs ADD COLUMN connections_at TIMESTAMPTZ;  -- its time

-- build the rollups of what is already stored
INSERT INTO rollup_dirty
SELECT pair, min(time), max(time) FROM (
    SELECT pair, time FROM session_samples
    UNION ALL SELECT pair, time FROM ha_events WHERE state_to = 'active'
) WHERE pair IS NOT NULL GROUP BY pair;
