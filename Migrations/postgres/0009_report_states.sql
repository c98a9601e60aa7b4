-- PostgreSQL version of ../0009_report_states.sql: the same tables, columns, constraints and indexes
-- (BIGINT for INTEGER, DOUBLE PRECISION for REAL, BYTEA for BLOB, identity ids,
-- UTC text timestamps). Keep the two in step; see docs/ARCHITECTURE.md.
-- Pair reports can be resolved by an admin; an annotator has at most one open
-- report per pair (older duplicates count as resolved).
ALTER TABLE pair_reports ADD COLUMN resolved_at BIGINT;
ALTER TABLE pair_reports ADD COLUMN resolved_by BIGINT REFERENCES users (id) ON DELETE SET NULL;
UPDATE pair_reports SET resolved_at = created_at
WHERE id NOT IN (SELECT max(id) FROM pair_reports GROUP BY pair_id, user_id);
CREATE UNIQUE INDEX pair_reports_open ON pair_reports (pair_id, user_id) WHERE resolved_at IS NULL;
CREATE INDEX pair_reports_created ON pair_reports (created_at);
