-- A SonicOS line with sn= and time= but no m= is the unit's activity: it is counted in
-- message_counts with message_id NULL (it used to be quarantined). Documented in
-- docs/schema.md.
ALTER TABLE message_counts ALTER COLUMN message_id DROP NOT NULL;

-- Role changes: every change of a pair's active unit, the one definition (written in
-- analytics/role_changes.py) that the analysis, the fleet page and pair summary (failovers,
-- failbacks) and the SQL console's examples count. Each analysis pass rewrites the rows of
-- the pairs it looks at. Documented in docs/schema.md.
CREATE TABLE role_changes (
    pair       VARCHAR NOT NULL,
    time       TIMESTAMPTZ NOT NULL,
    new_active VARCHAR NOT NULL,    -- the unit active after the change
    old_active VARCHAR,             -- the unit active before it
    kind       VARCHAR NOT NULL,    -- failover | failback | dual_active
    trigger    VARCHAR,             -- heartbeat | error_signal | preempt | reboot | NULL
    message_id INTEGER,             -- SonicOS m= of the message that made it (NULL: export)
    event_key  VARCHAR NOT NULL,    -- that message's ha_events.event_key
    change_no  BIGINT NOT NULL      -- the pair's changes numbered in order, from 1
);

-- every pair with HA events is looked at again by the next (incremental) pass, which fills
-- the table for its whole history
INSERT INTO analysis_dirty
SELECT pair, max(time), now() FROM ha_events WHERE pair IS NOT NULL GROUP BY pair;
