-- Task kinds: a project judges pairs (A versus B, as before), ranks K responses
-- to a prompt, or rates each response on attributes; any kind may also ask for a
-- rewrite of the best response. One data model underneath: a task is a `pairs`
-- row whose `responses` hold all K texts (response_a/response_b are the first
-- two, so search and the item browser keep working); a judgement is an
-- `annotations` row whose `ranking` or `ratings` hold all of it, and whose
-- `choice` is what it implies for responses 1 and 2 (so counts that read `choice`
-- stay truthful). Indices are canonical (into `responses`); `shown_order` says
-- in which order the responses were shown.
ALTER TABLE projects ADD COLUMN kind TEXT NOT NULL DEFAULT 'pairwise' CHECK (kind IN ('pairwise', 'ranking', 'rating'));
-- JSON array of attribute names (rating projects), e.g. ["helpfulness", "correctness"].
ALTER TABLE projects ADD COLUMN attributes TEXT NOT NULL DEFAULT '[]';
ALTER TABLE projects ADD COLUMN scale_min INTEGER NOT NULL DEFAULT 0;
ALTER TABLE projects ADD COLUMN scale_max INTEGER NOT NULL DEFAULT 4;
-- JSON array of labels, one per scale point (anchors), or [] for numbers only.
ALTER TABLE projects ADD COLUMN scale_labels TEXT NOT NULL DEFAULT '[]';
ALTER TABLE projects ADD COLUMN rewrite INTEGER NOT NULL DEFAULT 0 CHECK (rewrite IN (0, 1));

-- JSON array of the K response texts (NULL: the pair's two) and their models.
ALTER TABLE pairs ADD COLUMN responses TEXT;
ALTER TABLE pairs ADD COLUMN models TEXT;

-- JSON array: the canonical index shown at each position (NULL: pairwise, see shown_swapped).
ALTER TABLE assignments ADD COLUMN shown_order TEXT;

-- JSON, best first, ties as nested arrays: [2, [0, 1], 3].
ALTER TABLE annotations ADD COLUMN ranking TEXT;
-- JSON array, one object per response: [{"helpfulness": 3, "correctness": 4}, ...].
ALTER TABLE annotations ADD COLUMN ratings TEXT;
-- The annotator's rewrite of response `rewrite_base` (canonical index).
ALTER TABLE annotations ADD COLUMN rewrite TEXT;
ALTER TABLE annotations ADD COLUMN rewrite_base INTEGER CHECK (rewrite_base >= 0);
ALTER TABLE annotations ADD COLUMN shown_order TEXT;

ALTER TABLE annotation_revisions ADD COLUMN ranking TEXT;
ALTER TABLE annotation_revisions ADD COLUMN ratings TEXT;
ALTER TABLE annotation_revisions ADD COLUMN rewrite TEXT;
ALTER TABLE annotation_revisions ADD COLUMN rewrite_base INTEGER;

-- Search reads every response of a task (the first 100,000 characters of them).
-- Pairs stored before have no `responses`, so their words are unchanged.
DROP VIEW pair_documents;
CREATE VIEW pair_documents AS
    SELECT id, project_id,
           external_id || ' ' || substr(prompt, 1, 50000) || ' ' || substr(response_a, 1, 50000) || ' ' || substr(response_b, 1, 50000)
               || ' ' || coalesce(model_a, '') || ' ' || coalesce(model_b, '') || ' ' || substr(coalesce(metadata, ''), 1, 50000)
               || ' ' || substr(coalesce(responses, ''), 1, 100000) AS document
    FROM pairs;
