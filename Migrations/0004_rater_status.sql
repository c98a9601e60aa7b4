-- An admin's decision about a rater in a project: quarantined (excluded from
-- agreement, aggregation and exports) or cleared (a detector flag overridden).
CREATE TABLE rater_status (
    project_id INTEGER NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    status TEXT NOT NULL CHECK (status IN ('quarantined', 'cleared')),
    comment TEXT NOT NULL DEFAULT '',
    set_by INTEGER REFERENCES users (id) ON DELETE SET NULL,
    set_at INTEGER NOT NULL,
    PRIMARY KEY (project_id, user_id)
) STRICT;
