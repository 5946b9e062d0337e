-- Per source: lines or records quarantined (all of them, including those past the
-- per-source cap whose text was not stored, see ingest.max_quarantine_rows) and rows stored
-- from it (events, counted lines, samples). A source that has given nothing usable keeps
-- only a sample of its quarantined text (collector/limits.py). Documented in docs/schema.md.
ALTER TABLE sources ADD COLUMN quarantined BIGINT DEFAULT 0;
ALTER TABLE sources ADD COLUMN parsed BIGINT DEFAULT 0;

-- sources stored before: every quarantined line was stored; parsed is estimated from the
-- lines committed (blank lines included)
UPDATE sources SET quarantined = coalesce(
    (SELECT count(*) FROM quarantine q WHERE q.source_id = sources.source_id), 0);
UPDATE sources SET parsed = greatest(committed_lines - quarantined, 0);

-- One row that /healthz rewrites to prove the database can still be written.
CREATE TABLE health_probe (probed_at TIMESTAMPTZ);
INSERT INTO health_probe VALUES (now());
