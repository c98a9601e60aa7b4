-- PostgreSQL version of ../0012_annotator_quota.sql: the same tables, columns, constraints and indexes
-- (BIGINT for INTEGER, DOUBLE PRECISION for REAL, BYTEA for BLOB, identity ids,
-- UTC text timestamps). Keep the two in step; see docs/ARCHITECTURE.md.
-- An optional cap on the judgements one annotator gives in a project (0: none),
-- so that a few fast raters cannot dominate a project's labels.
ALTER TABLE projects ADD COLUMN max_per_annotator BIGINT NOT NULL DEFAULT 0 CHECK (max_per_annotator >= 0);
