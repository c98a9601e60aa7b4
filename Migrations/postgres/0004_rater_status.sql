-- PostgreSQL version of ../0004_rater_status.sql: the same tables, columns, constraints and indexes
-- (BIGINT for INTEGER, DOUBLE PRECISION for REAL, BYTEA for BLOB, identity ids,
-- UTC text timestamps). Keep the two in step; see docs/ARCHITECTURE.md.
-- An admin's decision about a rater in a project: quarantined (excluded from
-- agreement, aggregation and exports) or cleared (a detector flag overridden).
CREATE TABLE rater_status (
    project_id BIGINT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    status TEXT NOT NULL CHECK (status IN ('quarantined', 'cleared')),
    comment TEXT NOT NULL DEFAULT '',
    set_by BIGINT REFERENCES users (id) ON DELETE SET NULL,
    set_at BIGINT NOT NULL,
    PRIMARY KEY (project_id, user_id)
);
