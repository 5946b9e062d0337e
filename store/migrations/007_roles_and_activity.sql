-- A SonicOS line with sn= and time= but no m= is the unit's activity: it is counted in
-- message_counts with message_id NULL (it used to be quarantined). Documented in
-- docs/schema.md.
ALTER TABLE message_counts ALTER COLUMN message_id DROP NOT NULL;
