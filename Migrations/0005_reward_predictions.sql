-- A reward model's out-of-fold probability that response A is the better one,
-- per pair (written when a model is trained on an export; the latest run wins).
-- The rater report uses it as one more signal: raters who keep contradicting
-- confident predictions made without their pair's label.
CREATE TABLE reward_predictions (
    pair_id INTEGER PRIMARY KEY REFERENCES pairs (id) ON DELETE CASCADE,
    project_id INTEGER NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    p_a REAL NOT NULL CHECK (p_a >= 0 AND p_a <= 1),
    created_at INTEGER NOT NULL
) STRICT;
CREATE INDEX reward_predictions_project ON reward_predictions (project_id);
