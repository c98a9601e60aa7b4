-- PostgreSQL version of ../0015_final_labels.sql: the same tables, columns, constraints and indexes
-- (BIGINT for INTEGER, DOUBLE PRECISION for REAL, BYTEA for BLOB, identity ids,
-- UTC text timestamps). Keep the two in step; see docs/ARCHITECTURE.md.
-- Reviewers' final labels: the answer a reviewer settled on for a pair (or the
-- crowd's, confirmed). Kept apart from annotators' judgements, so they never count
-- in agreement or rater quality; exports use them in place of the crowd's decision
-- and say so (label_source "reviewer").
CREATE TABLE pair_labels (
    pair_id BIGINT PRIMARY KEY REFERENCES pairs (id) ON DELETE CASCADE,
    project_id BIGINT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    label TEXT NOT NULL CHECK (label IN ('A', 'B', 'tie', 'both_bad')),
    -- The crowd's plurality when the label was set (NULL: none), so a reader
    -- sees whether the reviewer confirmed or overruled it.
    crowd TEXT CHECK (crowd IN ('A', 'B', 'tie', 'both_bad')),
    note TEXT NOT NULL DEFAULT '',
    user_id BIGINT REFERENCES users (id) ON DELETE SET NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX pair_labels_project ON pair_labels (project_id, pair_id);
