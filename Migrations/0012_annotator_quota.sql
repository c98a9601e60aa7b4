-- An optional cap on the judgements one annotator gives in a project (0: none),
-- so that a few fast raters cannot dominate a project's labels.
ALTER TABLE projects ADD COLUMN max_per_annotator INTEGER NOT NULL DEFAULT 0 CHECK (max_per_annotator >= 0);
