-- Imports over HTTP write their pairs in short transactions, between annotators'
-- writes, instead of holding the single writer for the whole file. Until the
-- import commits, its pairs are staged: in `pairs`, tagged with the import, and
-- invisible to every reader (they read `visible_pairs`). Committing is one row:
-- the import's state; discarding deletes its pairs in short chunks.
CREATE TABLE imports (
    id INTEGER PRIMARY KEY,
    project_id INTEGER NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    user_id INTEGER REFERENCES users (id) ON DELETE SET NULL,
    state TEXT NOT NULL DEFAULT 'staging' CHECK (state IN ('staging', 'committed', 'discarded')),
    started_at TEXT NOT NULL,
    finished_at TEXT
) STRICT;
-- One import at a time per project: two staging the same pair would each count
-- the other's copy as a duplicate.
CREATE UNIQUE INDEX imports_staging ON imports (project_id) WHERE state = 'staging';

ALTER TABLE pairs ADD COLUMN import_id INTEGER REFERENCES imports (id) ON DELETE SET NULL;
CREATE INDEX pairs_import ON pairs (import_id) WHERE import_id IS NOT NULL;

-- Every pair but those of an import still staging. Readers that list or count a
-- project's pairs use this; a pair reached through an assignment or annotation is
-- visible by construction (staged pairs are never leased).
CREATE VIEW visible_pairs AS
    SELECT * FROM pairs
    WHERE import_id IS NULL OR import_id NOT IN (SELECT id FROM imports WHERE state = 'staging');
