-- A SonicOS line with sn= and time= but no m= is the unit's activity: it is counted in
-- message_counts with message_id NULL (it used to be quarantined). Documented in
-- docs/schema.md.
ALTER TABLE message_counts ALTER COLUMN message_id DROP NOT NULL;

-- Role changes: the one definition of "the pair's active unit changed", read by the analysis
-- (analytics/role_changes.py), the fleet page and pair summary (failovers, failbacks) and
-- the SQL console's examples. Several messages about one transition (both units' copies,
-- 149 "going Active" then 143 "has transitioned to Active") are one change. Documented in
-- docs/schema.md.
CREATE VIEW role_changes AS
WITH said AS (
    -- every message that says which unit is active: a unit becoming active (failover or
    -- failback), and m=152 "Active Backup detects Active Primary: Backup rebooting", whose
    -- reporting unit steps down so that its peer is the one active unit
    SELECT e.pair, e.time, e.serial AS active, e.kind, e.trigger, e.message_id, e.seq,
           e.event_key,
           -- the meaning orders the messages of one second: the decision with its cause
           -- ("missed heartbeats ... going Active", "preempting") before the transition it
           -- causes ("has transitioned to Active"), a dual-active report last
           CASE WHEN e.trigger IS NOT NULL OR e.kind = 'failback' THEN 1 ELSE 2 END AS step
    FROM ha_events e
    WHERE e.state_to = 'active' AND e.kind IN ('failover', 'failback') AND e.pair IS NOT NULL
    UNION ALL
    SELECT d.pair, d.time, CASE WHEN d.serial = p.primary_serial THEN p.secondary_serial
                                ELSE p.primary_serial END,
           d.kind, NULL, d.message_id, d.seq, d.event_key, 3
    FROM ha_events d JOIN pairs p ON p.pair = d.pair
    WHERE d.kind = 'dual_active'
), ordered AS (
    -- then a unit's n= orders its repeats of one message, and the event key makes the
    -- order total: the same events always give the same changes, however they were stored
    SELECT *, lag(active) OVER (PARTITION BY pair ORDER BY time, step, seq, active, event_key)
                  AS previous
    FROM said WHERE active IS NOT NULL
), known AS (
    -- before a pair's first such message: the newest status report naming an active unit
    -- (strictly before: a poll in the same second already shows the message's outcome)
    SELECT o.pair, s.serial AS status_active
    FROM (SELECT pair, time FROM ordered WHERE previous IS NULL) o
    ASOF JOIN (SELECT pair, serial, time FROM status_samples
               WHERE state = 'active' AND pair IS NOT NULL) s
      ON s.pair = o.pair AND s.time < o.time
)
SELECT o.pair, o.time, o.active AS new_active,
       coalesce(o.previous, k.status_active,
                CASE WHEN o.active = p.primary_serial THEN p.secondary_serial
                     ELSE p.primary_serial END) AS old_active,
       o.kind, o.trigger, o.message_id, o.event_key,
       row_number() OVER (PARTITION BY o.pair
                          ORDER BY o.time, o.step, o.seq, o.active, o.event_key) AS change_no
FROM ordered o
JOIN pairs p ON p.pair = o.pair
LEFT JOIN known k ON k.pair = o.pair AND o.previous IS NULL
-- a change of the active unit; with nothing known before, a plain "has transitioned to
-- Active" is the initial election, while a message with a cause (or a report) still is one
WHERE (o.previous IS NOT NULL AND o.previous <> o.active)
   OR (o.previous IS NULL AND k.status_active IS NOT NULL AND k.status_active <> o.active)
   OR (o.previous IS NULL AND k.status_active IS NULL AND o.step <> 2);
