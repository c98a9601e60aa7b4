-- Background work that must run once, whichever node of a cluster started it,
-- and survive the node that ran it (on SQLite there is one node; a restart is
-- the same story: a job that was running when the server died is run again).

-- A project's latest export job (with its reward model): who runs it, its
-- progress, and the request to run again if that node goes silent.
CREATE TABLE reward_jobs (
    project_id INTEGER PRIMARY KEY REFERENCES projects (id) ON DELETE CASCADE,
    state TEXT NOT NULL CHECK (state IN ('running', 'done', 'failed')),
    request TEXT NOT NULL,
    node TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 1,
    heartbeat_at INTEGER NOT NULL,
    epoch INTEGER NOT NULL DEFAULT 0,
    epochs INTEGER NOT NULL DEFAULT 0,
    loss REAL,
    validation_loss REAL,
    started_at INTEGER NOT NULL,
    finished_at INTEGER,
    error TEXT
) STRICT;

-- Short leases on named work (`adaptive:PROJECT`): one holder at a time,
-- free again when it expires, so work a dead node held is picked up.
CREATE TABLE cluster_leases (
    name TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    expires_at INTEGER NOT NULL
) STRICT;
