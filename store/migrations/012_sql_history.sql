-- Each user's SQL console history (issue 14 item 6): every query a dashboard user ran, when,
-- how many rows it gave, how long it took and its error. Private to its user: the SQL
-- sandbox refuses to read this table (store/sql_check.py PRIVATE_RELATIONS), and the console
-- shows a user only their own rows. Written by the web app through Store.transaction(),
-- never through the analysts' read-only cursor. Documented in docs/schema.md.

CREATE SEQUENCE sql_history_ids START 1;

CREATE TABLE sql_history (
    entry_id   BIGINT NOT NULL DEFAULT nextval('sql_history_ids'),
    user_name  VARCHAR NOT NULL,     -- the dashboard user (hawatch users)
    ran_at     TIMESTAMPTZ NOT NULL, -- when the query was sent
    query      VARCHAR NOT NULL,     -- the statement as typed
    way        VARCHAR NOT NULL,     -- console | csv | json
    row_count  BIGINT,               -- rows answered (NULL: it failed)
    seconds    DOUBLE,               -- time taken (NULL: it did not run)
    error      VARCHAR               -- the one-line error (NULL: it ran)
);
