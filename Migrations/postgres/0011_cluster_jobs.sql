-- PostgreSQL version of ../0011_cluster_jobs.sql: the same tables, columns, constraints and indexes
-- (BIGINT for INTEGER, DOUBLE PRECISION for REAL, BYTEA for BLOB, identity ids,
-- UTC text timestamps). Keep the two in step; see docs/ARCHITECTURE.md.
-- Background work that must run once, whichever node of a cluster started it,
-- and survive the node that ran it (on SQLite there is one node; a restart is
-- the same story: a job that was running when the server died is run again).

-- A project's latest export job (with its reward model): who runs it, its
-- progress, and the request to run again if that node goes silent.
CREATE TABLE reward_jobs (
    project_id BIGINT PRIMARY KEY REFERENCES projects (id) ON DELETE CASCADE,
    state TEXT NOT NULL CHECK (state IN ('running', 'done', 'failed')),
    request TEXT NOT NULL,
    node TEXT NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 1,
    heartbeat_at BIGINT NOT NULL,
    epoch BIGINT NOT NULL DEFAULT 0,
    epochs BIGINT NOT NULL DEFAULT 0,
    loss DOUBLE PRECISION,
    validation_loss DOUBLE PRECISION,
    started_at BIGINT NOT NULL,
    finished_at BIGINT,
    error TEXT
);

-- Short leases on named work (`adaptive:PROJECT`): one holder at a time,
-- free again when it expires, so work a dead node held is picked up.
CREATE TABLE cluster_leases (
    name TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    expires_at BIGINT NOT NULL
);
