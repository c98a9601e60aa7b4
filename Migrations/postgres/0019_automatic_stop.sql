-- Adaptive overlap that keeps its promise per crowd (issue 33).
-- Each rater's class-conditional rates, P(picks A | A is better) and
-- P(picks B | B is better), and whether the stop rule counts their votes (0 for a
-- rater the detector flags or a reviewer quarantined).
ALTER TABLE rater_accuracy ADD COLUMN pick_a DOUBLE PRECISION CHECK (pick_a IS NULL OR (pick_a > 0 AND pick_a < 1));
ALTER TABLE rater_accuracy ADD COLUMN pick_b DOUBLE PRECISION CHECK (pick_b IS NULL OR (pick_b > 0 AND pick_b < 1));
ALTER TABLE rater_accuracy ADD COLUMN counted BIGINT NOT NULL DEFAULT 1 CHECK (counted IN (0, 1));

-- The threshold an automatic stop rule uses on the project, chosen from the fitted
-- crowd with the rater accuracies: the lowest whose predicted label error at
-- stopping is no worse than fixed overlap 3's.
CREATE TABLE stop_thresholds (
    project_id BIGINT PRIMARY KEY REFERENCES projects (id) ON DELETE CASCADE,
    threshold DOUBLE PRECISION NOT NULL CHECK (threshold > 0.5 AND threshold < 1),
    expected_error DOUBLE PRECISION NOT NULL,
    fixed_three_error DOUBLE PRECISION NOT NULL,
    expected_judgements DOUBLE PRECISION NOT NULL
);
