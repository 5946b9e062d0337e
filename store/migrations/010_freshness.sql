-- Freshness (issue 13 items 2 and 3): when each unit was last heard from per source, the
-- analysis pass's judgement of who is silent or unreachable, pair health that says `stale`,
-- and role changes seen in status reports (polls) that no HA message reported.
-- Documented in docs/schema.md.

-- Kept at ingest (collector/writer.py), one row per unit and source kind. `last_seen` is the
-- data's own time; `last_received` and `last_live` are hawatch's clock, so a unit whose clock
-- is off by hours is still judged by when its data arrived.
CREATE TABLE unit_last_seen (
    serial        VARCHAR NOT NULL,  -- the unit (syslog: sn= as logged)
    source        VARCHAR NOT NULL,  -- syslog | poll | export
    last_seen     TIMESTAMPTZ NOT NULL,  -- newest data time from this source
    last_received TIMESTAMPTZ NOT NULL,  -- when hawatch last stored data of it from here
    last_live     TIMESTAMPTZ            -- when data arrived last while current (NULL: only old data)
);

-- what the stores made before this migration hold, as if ingest had kept the table (their
-- data counts as old: `last_live` NULL until new data arrives)
INSERT INTO unit_last_seen
SELECT serial, source, max(time), max(received), NULL FROM (
    SELECT m.serial, CASE WHEN s.origin = 'poll' THEN 'poll'
                          WHEN s.format = 'syslog' OR s.format IS NULL THEN 'syslog'
                          ELSE 'export' END AS source,
           m.minute AS time, coalesce(s.last_ingest, now()) AS received
    FROM message_counts m LEFT JOIN sources s USING (source_id)
    UNION ALL
    SELECT coalesce(e.reported_serial, e.serial),
           CASE WHEN s.origin = 'poll' THEN 'poll'
                WHEN s.format = 'syslog' OR (s.format IS NULL AND e.message_id IS NOT NULL)
                     THEN 'syslog'
                ELSE 'export' END,
           e.time, coalesce(s.last_ingest, now())
    FROM ha_events e LEFT JOIN sources s USING (source_id)
    UNION ALL
    SELECT x.serial, CASE WHEN s.origin = 'poll' THEN 'poll' ELSE 'export' END, x.time,
           coalesce(s.last_ingest, now())
    FROM session_samples x LEFT JOIN sources s USING (source_id)
    UNION ALL
    -- a poll's status row with nothing but a state is what the polled unit said about its
    -- peer, not a sign of the peer
    SELECT x.serial, CASE WHEN s.origin = 'poll' THEN 'poll' ELSE 'export' END, x.time,
           coalesce(s.last_ingest, now())
    FROM status_samples x LEFT JOIN sources s USING (source_id)
    WHERE s.origin IS DISTINCT FROM 'poll'
       OR coalesce(x.stateful_sync, x.model, x.firmware, x.ha_mode) IS NOT NULL
       OR x.max_connections IS NOT NULL
) WHERE serial IS NOT NULL AND serial <> '' AND time IS NOT NULL
GROUP BY serial, source;

-- Written by every analysis pass (analytics/freshness.py), one row per unit of every pair:
-- who is silent or unreachable now. As of the last pass, like `incidents`.
CREATE TABLE unit_freshness (
    pair              VARCHAR NOT NULL,
    serial            VARCHAR NOT NULL,
    role              VARCHAR,           -- primary | secondary
    last_seen         TIMESTAMPTZ,       -- newest data from any source (NULL: never)
    last_source       VARCHAR,           -- the source of that data: syslog | poll | export
    heard_at          TIMESTAMPTZ,       -- when current data last arrived (NULL: only old data)
    polled            BOOLEAN NOT NULL,  -- hawatch serve polls it (poll_status has rows)
    live              BOOLEAN NOT NULL,  -- judged against the clock (else as of the newest data)
    threshold_seconds BIGINT NOT NULL,   -- silence longer than this is stale
    silent            BOOLEAN NOT NULL,  -- no data within the threshold
    silent_since      TIMESTAMPTZ,       -- since when (NULL: never heard at all)
    unreachable_since TIMESTAMPTZ,       -- polls failing beyond the threshold, since
    poll_problem      VARCHAR,           -- why, one line per protocol
    judged_at         TIMESTAMPTZ NOT NULL
);

-- the first success of the current run of successes: when an unreachable unit came back
ALTER TABLE poll_status ADD COLUMN ok_since TIMESTAMPTZ;
UPDATE poll_status SET ok_since = last_success WHERE outcome = 'ok';

-- Role changes seen only in status reports (a poll shows another unit active and no HA
-- message said so) have no event; every change says where it was seen, and a change an HA
-- message reported says whether the status reports after it agree.
ALTER TABLE role_changes ALTER COLUMN event_key DROP NOT NULL;
ALTER TABLE role_changes ADD COLUMN seen_in VARCHAR;        -- event | status
ALTER TABLE role_changes ADD COLUMN status_agrees BOOLEAN;  -- NULL: no status report to tell
UPDATE role_changes SET seen_in = 'event';

-- the pairs with status reports are looked at again, so their role changes are cross-checked
INSERT INTO analysis_dirty
SELECT pair, min(time), now() FROM status_samples
WHERE pair IS NOT NULL AND state = 'active' GROUP BY pair;

-- per pair: stale when any unit is silent or unreachable (from the last pass)
CREATE VIEW pair_freshness AS
SELECT pair,
       bool_or(silent OR unreachable_since IS NOT NULL) AS stale,
       max(last_seen) AS last_seen,
       arg_max(last_source, last_seen) AS last_source,
       max(heard_at) AS heard_at,
       string_agg(CASE WHEN unreachable_since IS NOT NULL
                       THEN serial || ' (' || coalesce(role, '?') || ') polls failing since '
                            || strftime(unreachable_since, '%Y-%m-%d %H:%M UTC')
                            || coalesce(': ' || poll_problem, '')
                       WHEN silent AND silent_since IS NULL
                       THEN serial || ' (' || coalesce(role, '?') || ') never heard from'
                       WHEN silent
                       THEN serial || ' (' || coalesce(role, '?') || ') silent since '
                            || strftime(silent_since, '%Y-%m-%d %H:%M UTC') END,
                  '; ' ORDER BY role, serial) AS reason,
       max(judged_at) AS judged_at
FROM unit_freshness GROUP BY pair;

-- ok / stale / warning / critical with a score (100 = healthy) and the reasons, per pair:
-- a pair whose units are silent is `stale`, never `ok`
DROP VIEW pair_health;
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
            WHEN coalesce(f.stale, false) THEN 'stale'
            WHEN coalesce(o.warning, 0) > 0 OR p.stateful_sync IN ('disabled', 'not_synced')
                 THEN 'warning'
            ELSE 'ok' END AS health,
       greatest(0, 100 - 40 * coalesce(o.critical, 0) - 15 * coalesce(o.warning, 0)
                   - CASE WHEN p.stateful_sync IN ('disabled', 'not_synced') THEN 10 ELSE 0 END
                   - CASE WHEN coalesce(f.stale, false) THEN 30 ELSE 0 END) AS score,
       coalesce(o.critical, 0) AS open_critical, coalesce(o.warning, 0) AS open_warning,
       concat_ws('; ', CASE WHEN f.stale THEN 'stale: ' || f.reason END, o.reasons,
                 CASE WHEN p.stateful_sync IN ('disabled', 'not_synced')
                      THEN 'stateful sync ' || p.stateful_sync END) AS reasons,
       coalesce(f.stale, false) AS stale, f.last_seen, f.last_source
FROM pairs p LEFT JOIN open_incidents o USING (pair) LEFT JOIN pair_freshness f USING (pair);
