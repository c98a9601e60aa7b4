-- Repeats spaced out (issue 34): a pair comes back for a self-consistency check
-- only after this many other judgements of the rater in the project and this many
-- minutes, so it is judged afresh rather than recognised.
ALTER TABLE projects ADD COLUMN repeat_after_judgements BIGINT NOT NULL DEFAULT 20 CHECK (repeat_after_judgements BETWEEN 0 AND 100000);
ALTER TABLE projects ADD COLUMN repeat_after_minutes BIGINT NOT NULL DEFAULT 30 CHECK (repeat_after_minutes BETWEEN 0 AND 10080);
