-- Operators' actions kept (issue 14 item 4): every acknowledgement, silence and window
-- declared, edited or removed, written in the same transaction as the action itself, so the
-- trail can never miss one that happened nor show one that did not. Windows get an id, so
-- one can be named to edit or remove. Documented in docs/schema.md.

CREATE SEQUENCE window_ids START 1;
-- the windows stored before get their ids in the order they were declared
ALTER TABLE windows ADD COLUMN window_id BIGINT DEFAULT nextval('window_ids');

CREATE SEQUENCE audit_ids START 1;

CREATE TABLE audit_log (
    audit_id  BIGINT NOT NULL DEFAULT nextval('audit_ids'),
    acted_at  TIMESTAMPTZ NOT NULL,  -- when the action was taken
    actor     VARCHAR NOT NULL,      -- the dashboard login, or the CLI's --by / $USER
    action    VARCHAR NOT NULL,      -- acknowledge | silence | silence_edit | silence_remove
                                     -- | window | window_edit | window_remove
    target    VARCHAR NOT NULL,      -- incident | silence | window
    target_id BIGINT NOT NULL,       -- incident_id, silence_id or window_id
    pair      VARCHAR,               -- the pair acted on
    comment   VARCHAR,               -- the operator's words
    detail    VARCHAR NOT NULL       -- what changed, one line (e.g. "until 2026-11-26 08:00 UTC")
);
