-- Adaptive overlap that keeps its promise per crowd (issue 33).
-- Each rater's class-conditional rates, P(picks A | A is better) and
-- P(picks B | B is better), and whether the stop rule counts their votes (0 for a
-- rater the detector flags or a reviewer quarantined).
ALTER TABLE rater_accuracy ADD COLUMN pick_a REAL CHECK (pick_a IS NULL OR (pick_a > 0 AND pick_a < 1));
ALTER TABLE rater_accuracy ADD COLUMN pick_b REAL CHECK (pick_b IS NULL OR (pick_b > 0 AND pick_b < 1));
ALTER TABLE rater_accuracy ADD COLUMN counted INTEGER NOT NULL DEFAULT 1 CHECK (counted IN (0, 1));

-- The threshold an automatic stop rule uses on the project, chosen from the fitted
-- crowd with the rater accuracies: the lowest whose predicted label error at
-- stopping is no worse than fixed overlap 3's.
CREATE TABLE stop_thresholds (
    project_id INTEGER PRIMARY KEY REFERENCES projects (id) ON DELETE CASCADE,
    threshold REAL NOT NULL CHECK (threshold > 0.5 AND threshold < 1),
    expected_error REAL NOT NULL,
    fixed_three_error REAL NOT NULL,
    expected_judgements REAL NOT NULL
) STRICT;
