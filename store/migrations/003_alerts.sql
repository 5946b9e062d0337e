-- Alerting: the outbox of e-mail notifications, silences, and what each incident was last
-- notified as (the log that de-duplication and repeat intervals are decided from).
-- Documented for analysts in docs/schema.md.

CREATE SEQUENCE notification_ids START 1;

CREATE TABLE notifications (
    notification_id BIGINT NOT NULL DEFAULT nextval('notification_ids'),
    incident_ids    BIGINT[] NOT NULL,   -- the incidents this e-mail is about (may be empty)
    pair            VARCHAR,             -- NULL for digests and tests
    kind            VARCHAR NOT NULL,    -- new | repeat | resolved | flapping_summary | digest | test
    status          VARCHAR NOT NULL,    -- pending | sent | suppressed
    reason          VARCHAR,             -- why suppressed (silence, maintenance, flapping)
    recipients      VARCHAR NOT NULL,    -- comma-separated addresses
    subject         VARCHAR NOT NULL,
    text_body       VARCHAR NOT NULL,
    html_body       VARCHAR NOT NULL,
    message_id      VARCHAR NOT NULL,    -- the Message-ID header, derived from notification_id
    created_at      TIMESTAMPTZ NOT NULL,
    attempts        INTEGER NOT NULL,
    next_attempt_at TIMESTAMPTZ,
    last_error      VARCHAR,
    sent_at         TIMESTAMPTZ
);

CREATE SEQUENCE silence_ids START 1;

CREATE TABLE silences (
    silence_id BIGINT NOT NULL DEFAULT nextval('silence_ids'),
    pair       VARCHAR NOT NULL,
    starts_at  TIMESTAMPTZ NOT NULL,
    ends_at    TIMESTAMPTZ NOT NULL,   -- a silence always expires
    comment    VARCHAR,
    created_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE alert_state (
    incident_id          BIGINT NOT NULL,
    pair                 VARCHAR NOT NULL,
    notified_status      VARCHAR NOT NULL,   -- open | resolved: what the last e-mail said
    last_notified_at     TIMESTAMPTZ NOT NULL,
    last_notification_id BIGINT NOT NULL
);
