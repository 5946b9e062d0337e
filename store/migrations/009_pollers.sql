-- Pollers (collector/pollers/): the capacity a poll reads, and each polled unit's current
-- poll outcome. Documented in docs/schema.md.

-- sonicMaxConnCacheEntries / SonicOS `max_connections`: the unit's connection capacity
ALTER TABLE status_samples ADD COLUMN max_connections BIGINT;

-- One row per polled unit and protocol, rewritten after every poll (current state, not a row
-- per attempt): what "unit unreachable" and "stale" are built on. No secrets: the credential
-- profile is named, never its contents.
CREATE TABLE poll_status (
    serial        VARCHAR NOT NULL,  -- the unit, as the inventory names it
    protocol      VARCHAR NOT NULL,  -- rest | snmp
    pair          VARCHAR,
    role          VARCHAR,           -- primary | secondary
    address       VARCHAR NOT NULL,  -- host:port polled
    profile       VARCHAR,           -- credential profile name (poll_profile)
    outcome       VARCHAR NOT NULL,  -- ok | timeout | refused | tls | auth | protocol
    reason        VARCHAR,           -- one line; NULL when ok
    last_attempt  TIMESTAMPTZ NOT NULL,
    last_success  TIMESTAMPTZ,       -- NULL: never answered
    failing_since TIMESTAMPTZ,       -- first failed attempt of the current run of failures
    failures      BIGINT NOT NULL,   -- consecutive failed attempts (0 after a success)
    latency_ms    DOUBLE,            -- the last attempt, login to logout
    reported_serial VARCHAR,         -- the serial the unit answered with, when it answered
    uptime_seconds BIGINT,           -- the unit's uptime at its last success
    attempts      BIGINT NOT NULL,   -- since the row was created
    successes     BIGINT NOT NULL
);
