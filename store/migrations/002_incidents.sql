-- Incidents found by the analytics, the bookkeeping of incremental analysis, pair health.
-- Documented for analysts in docs/schema.md.

CREATE SEQUENCE incident_ids START 1;

CREATE TABLE incidents (
    incident_id    BIGINT NOT NULL DEFAULT nextval('incident_ids'),  -- stable across runs
    pair           VARCHAR NOT NULL,
    kind           VARCHAR NOT NULL,  -- flapping | unsynced_failover | session_drop | ...
    incident_key   VARCHAR,           -- what makes it the same incident on the next run
    severity       VARCHAR NOT NULL,  -- critical | warning | info
    opened_at      TIMESTAMPTZ NOT NULL,
    resolved_at    TIMESTAMPTZ,       -- NULL while open
    status         VARCHAR NOT NULL,  -- open | resolved | withdrawn
    summary        VARCHAR NOT NULL,
    evidence       JSON NOT NULL,
    first_detected TIMESTAMPTZ NOT NULL,
    last_updated   TIMESTAMPTZ NOT NULL
);

-- Pairs with new data since the last analysis, and from when: an incremental pass looks at
-- these pairs only, from `since` minus the look-back.
CREATE TABLE analysis_dirty (
    pair      VARCHAR NOT NULL,
    since     TIMESTAMPTZ NOT NULL,
    marked_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE analysis_runs (
    run_at    TIMESTAMPTZ NOT NULL,
    mode      VARCHAR NOT NULL,       -- full | incremental | since
    pairs     INTEGER NOT NULL,
    opened    INTEGER NOT NULL,
    updated   INTEGER NOT NULL,
    resolved  INTEGER NOT NULL,
    withdrawn INTEGER NOT NULL,
    seconds   DOUBLE NOT NULL
);

-- Every piece of evidence about a pair's stateful-sync state, in time: sync events from logs
-- and exports, and the state status reports carried.
CREATE VIEW sync_timeline AS
SELECT pair, time, CASE kind WHEN 'sync_enabled' THEN 'enabled'
                             WHEN 'sync_disabled' THEN 'disabled'
                             WHEN 'sync_completed' THEN 'synced'
                             ELSE 'not_synced' END AS state
FROM ha_events
WHERE kind IN ('sync_enabled', 'sync_disabled', 'sync_started', 'sync_completed',
               'sync_failed') AND pair IS NOT NULL
UNION ALL
SELECT pair, time, stateful_sync FROM status_samples
WHERE stateful_sync IS NOT NULL AND pair IS NOT NULL;

-- ok / warning / critical with a score (100 = healthy) and the reasons, per pair.
CREATE VIEW pair_health AS
WITH open_incidents AS (
    SELECT pair,
           count(*) FILTER (WHERE severity = 'critical') AS critical,
           count(*) FILTER (WHERE severity = 'warning') AS warning,
           string_agg(kind || ': ' || summary, '; ' ORDER BY severity, opened_at)
               AS reasons
    FROM incidents WHERE status = 'open' GROUP BY pair
)
SELECT p.pair, p.site,
       CASE WHEN coalesce(o.critical, 0) > 0 THEN 'critical'
            WHEN coalesce(o.warning, 0) > 0 OR p.stateful_sync IN ('disabled', 'not_synced')
                 THEN 'warning'
            ELSE 'ok' END AS health,
       greatest(0, 100 - 40 * coalesce(o.critical, 0) - 15 * coalesce(o.warning, 0)
                   - CASE WHEN p.stateful_sync IN ('disabled', 'not_synced') THEN 10 ELSE 0 END)
           AS score,
       coalesce(o.critical, 0) AS open_critical, coalesce(o.warning, 0) AS open_warning,
       concat_ws('; ', o.reasons,
                 CASE WHEN p.stateful_sync IN ('disabled', 'not_synced')
                      THEN 'stateful sync ' || p.stateful_sync END) AS reasons
FROM pairs p LEFT JOIN open_incidents o USING (pair);
