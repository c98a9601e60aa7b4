-- A project can require strength (for a decisive choice) and every aspect.
ALTER TABLE projects ADD COLUMN strength_required INTEGER NOT NULL DEFAULT 0 CHECK (strength_required IN (0, 1));
ALTER TABLE projects ADD COLUMN aspects_required INTEGER NOT NULL DEFAULT 0 CHECK (aspects_required IN (0, 1));

-- An annotator may change a judgement while its lease lasts. The annotation row
-- always holds the final judgement (agreement and exports read it); each earlier
-- version is kept here.
CREATE TABLE annotation_revisions (
    id INTEGER PRIMARY KEY,
    annotation_id INTEGER NOT NULL REFERENCES annotations (id) ON DELETE CASCADE,
    choice TEXT NOT NULL CHECK (choice IN ('A', 'B', 'tie', 'both_bad')),
    strength INTEGER CHECK (strength BETWEEN 1 AND 3),
    aspects TEXT,
    rationale TEXT,
    duration_ms INTEGER CHECK (duration_ms >= 0),
    created_at TEXT NOT NULL,
    -- When this version was replaced (Unix ms).
    replaced_at INTEGER NOT NULL
) STRICT;
CREATE INDEX annotation_revisions_annotation ON annotation_revisions (annotation_id);
