-- Webhooks: URLs admins register for events, and a durable outbox.
--
-- An event is written in the same transaction as the write it reports (an
-- import's commit, a finished export job, a quarantine), with one delivery row
-- per endpoint that wants it; a write that rolls back leaves no event, and a
-- crash after the commit leaves the delivery pending for the next run. Judgements
-- are too many to report one by one in the annotation loop: a trigger queues each
-- new judgement of a project that has an endpoint (`webhook_judgements`), and the
-- dispatcher turns the queue into batched `judgement.created` events (and the
-- `pair.completed`, `project.completed` and `rater.flagged` they lead to), in one
-- transaction that also empties what it read.

-- An endpoint: every project's events (project_id NULL) or one project's.
CREATE TABLE webhooks (
    id INTEGER PRIMARY KEY,
    project_id INTEGER REFERENCES projects (id) ON DELETE CASCADE,
    url TEXT NOT NULL,
    -- `whsec_` + base64 of 24 random bytes (the Standard Webhooks form); shown once.
    secret TEXT NOT NULL,
    -- The event types it wants, space-separated, or '*' for all.
    events TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    created_by INTEGER REFERENCES users (id) ON DELETE SET NULL,
    created_at INTEGER NOT NULL
) STRICT;

-- The outbox: what happened, once, whatever the number of endpoints.
CREATE TABLE webhook_events (
    id INTEGER PRIMARY KEY,
    project_id INTEGER REFERENCES projects (id) ON DELETE CASCADE,
    type TEXT NOT NULL,
    -- The event's `data` object, as JSON text.
    payload TEXT NOT NULL,
    created_at INTEGER NOT NULL
) STRICT;

-- One event to one endpoint: pending until a 2xx answer, failed once the retry
-- window has passed. Sent in event-id order per endpoint.
CREATE TABLE webhook_deliveries (
    webhook_id INTEGER NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    event_id INTEGER NOT NULL REFERENCES webhook_events (id) ON DELETE CASCADE,
    state TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'delivered', 'failed')),
    attempts INTEGER NOT NULL DEFAULT 0,
    -- The retry window runs from here: the event, or an admin's "send again".
    started_at INTEGER NOT NULL,
    next_attempt_at INTEGER NOT NULL,
    last_attempt_at INTEGER,
    -- The last answer's status (NULL: no answer — refused, timed out) and its
    -- first bytes, or why there was no answer.
    last_status INTEGER,
    last_response TEXT,
    PRIMARY KEY (webhook_id, event_id)
) STRICT;
CREATE INDEX webhook_deliveries_pending ON webhook_deliveries (webhook_id, event_id) WHERE state = 'pending';
CREATE INDEX webhook_deliveries_event ON webhook_deliveries (event_id);

-- Judgements waiting to be batched into events.
CREATE TABLE webhook_judgements (
    annotation_id INTEGER PRIMARY KEY REFERENCES annotations (id) ON DELETE CASCADE,
    project_id INTEGER NOT NULL REFERENCES projects (id) ON DELETE CASCADE
) STRICT;
CREATE TRIGGER webhook_judgements_enqueue AFTER INSERT ON annotations
WHEN EXISTS (SELECT 1 FROM webhooks w WHERE w.project_id IS NULL OR w.project_id = NEW.project_id)
BEGIN
    INSERT INTO webhook_judgements (annotation_id, project_id) VALUES (NEW.id, NEW.project_id);
END;

-- What derived events have already said, so each is said once: a pair completed
-- (`pair:ID`), the project completed (`project`, value: its pair count then), a
-- rater flagged (`rater:USER`, value: the finding).
CREATE TABLE webhook_marks (
    project_id INTEGER NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    subject TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (project_id, subject)
) STRICT;
