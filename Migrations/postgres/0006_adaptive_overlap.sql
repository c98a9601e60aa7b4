-- PostgreSQL version of ../0006_adaptive_overlap.sql: the same tables, columns, constraints and indexes
-- (BIGINT for INTEGER, DOUBLE PRECISION for REAL, BYTEA for BLOB, identity ids,
-- UTC text timestamps). Keep the two in step; see docs/ARCHITECTURE.md.
-- Adaptive overlap and active selection.
--
-- A project may ask for between min_overlap and overlap judgements per pair,
-- stopping once the leading answer is stop_agree votes ahead or its weighted
-- posterior reaches stop_posterior. Each pair keeps how many judgements it wants
-- now (`wanted`): the overlap for fixed projects; for adaptive ones the minimum at
-- first, one more while contested, its count once settled. The assignment query
-- walks only pairs with active_count < wanted.
ALTER TABLE projects ADD COLUMN min_overlap BIGINT CHECK (min_overlap BETWEEN 1 AND 100);
ALTER TABLE projects ADD COLUMN stop_agree BIGINT CHECK (stop_agree BETWEEN 1 AND 100);
ALTER TABLE projects ADD COLUMN stop_posterior DOUBLE PRECISION CHECK (stop_posterior > 0.5 AND stop_posterior < 1);
-- Active selection: offer the pairs a reward model trained on the judgements so
-- far is least sure about, with a share of random pairs; retrain every N judgements.
ALTER TABLE projects ADD COLUMN active_selection BIGINT NOT NULL DEFAULT 0 CHECK (active_selection IN (0, 1));
ALTER TABLE projects ADD COLUMN active_random_share DOUBLE PRECISION NOT NULL DEFAULT 0.2
    CHECK (active_random_share >= 0 AND active_random_share <= 1);
ALTER TABLE projects ADD COLUMN active_retrain_every BIGINT NOT NULL DEFAULT 500
    CHECK (active_retrain_every BETWEEN 10 AND 1000000);

ALTER TABLE pairs ADD COLUMN wanted BIGINT NOT NULL DEFAULT 3 CHECK (wanted BETWEEN 0 AND 100);
-- Serving order among fresh pairs, lowest first (then by id): 0, except under
-- active selection for the queue of least-certain pairs, |P(A better) − 0.5| − 1.
ALTER TABLE pairs ADD COLUMN priority DOUBLE PRECISION NOT NULL DEFAULT 0;
UPDATE pairs SET wanted = (SELECT overlap FROM projects WHERE projects.id = pairs.project_id);

DROP INDEX pairs_open;
-- Only pairs that still want judgements: started ones first, then by priority and id.
CREATE INDEX pairs_open ON pairs (project_id, active_count DESC, priority, id)
    WHERE gold IS NULL AND active_count < wanted;
-- Untouched pairs by id: where the random share of active selection draws from.
CREATE INDEX pairs_fresh ON pairs (project_id, id) WHERE gold IS NULL AND active_count = 0;

-- Each rater's estimated accuracy in a project (Dawid–Skene, shrunk toward 0.75),
-- used by the weighted-posterior stop rule; refreshed in the background.
CREATE TABLE rater_accuracy (
    project_id BIGINT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    accuracy DOUBLE PRECISION NOT NULL CHECK (accuracy >= 0.5 AND accuracy < 1),
    -- Judgements of this rater on pairs someone else also judged.
    shared BIGINT NOT NULL,
    PRIMARY KEY (project_id, user_id)
);

-- The background model behind active selection, one row per project.
CREATE TABLE selection_models (
    project_id BIGINT PRIMARY KEY REFERENCES projects (id) ON DELETE CASCADE,
    -- Normal judgements in the project when the model was trained.
    judgements BIGINT NOT NULL,
    retrains BIGINT NOT NULL,
    trained_pairs BIGINT NOT NULL,
    scored_pairs BIGINT NOT NULL,
    trained_at TEXT NOT NULL
);

-- How each first lease chose its pair: 'order' (started pairs, or fresh by id),
-- 'model' (least certain first) or 'random' (the random share). The random share
-- is an unbiased sample of the project.
ALTER TABLE assignments ADD COLUMN selection TEXT CHECK (selection IN ('order', 'model', 'random'));
