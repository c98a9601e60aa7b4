-- PostgreSQL version of ../0005_reward_predictions.sql: the same tables, columns, constraints and indexes
-- (BIGINT for INTEGER, DOUBLE PRECISION for REAL, BYTEA for BLOB, identity ids,
-- UTC text timestamps). Keep the two in step; see docs/ARCHITECTURE.md.
-- A reward model's out-of-fold probability that response A is the better one,
-- per pair (written when a model is trained on an export; the latest run wins).
-- The rater report uses it as one more signal: raters who keep contradicting
-- confident predictions made without their pair's label.
CREATE TABLE reward_predictions (
    pair_id BIGINT PRIMARY KEY REFERENCES pairs (id) ON DELETE CASCADE,
    project_id BIGINT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    p_a DOUBLE PRECISION NOT NULL CHECK (p_a >= 0 AND p_a <= 1),
    created_at BIGINT NOT NULL
);
CREATE INDEX reward_predictions_project ON reward_predictions (project_id);
