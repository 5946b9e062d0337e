-- Operators' acknowledgements of incidents. Documented in docs/schema.md.

CREATE TABLE acknowledgements (
    incident_id BIGINT NOT NULL,
    acked_by    VARCHAR NOT NULL,
    comment     VARCHAR,
    acked_at    TIMESTAMPTZ NOT NULL,
    cleared_at  TIMESTAMPTZ          -- set when the incident resolved: an acknowledgement
                                     -- never outlives its incident
);
