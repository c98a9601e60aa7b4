-- Study links for recruited crowds (Prolific, MTurk, any platform that sends a
-- participant id): a participant arrives at /s/<token> with their platform id,
-- gets an annotator identity bound to it (no password) and a session that
-- reaches only the study's project, judges a fixed number of pairs (after an
-- optional screener of gold pairs), and leaves with a completion code.
CREATE TABLE studies (
    id INTEGER PRIMARY KEY,
    project_id INTEGER NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    -- The link's secret part: 128 random bits, base64url. Kept in clear: admins
    -- copy the link again later, and every participant of the platform sees it.
    token TEXT NOT NULL UNIQUE,
    max_participants INTEGER NOT NULL CHECK (max_participants BETWEEN 1 AND 100000),
    judgements_per_participant INTEGER NOT NULL CHECK (judgements_per_participant BETWEEN 1 AND 10000),
    time_limit_minutes INTEGER NOT NULL CHECK (time_limit_minutes BETWEEN 1 AND 10080),
    -- Gold pairs served first, and how many must be right to go on (0: no screener).
    screener_pairs INTEGER NOT NULL DEFAULT 0 CHECK (screener_pairs BETWEEN 0 AND 100),
    screener_min_correct INTEGER NOT NULL DEFAULT 0 CHECK (screener_min_correct BETWEEN 0 AND screener_pairs),
    completion_code TEXT NOT NULL,
    -- Where a participant goes when done ({code} replaced); '' shows the code only.
    return_url TEXT NOT NULL DEFAULT '',
    created_by INTEGER REFERENCES users (id) ON DELETE SET NULL,
    created_at INTEGER NOT NULL,
    closed_at INTEGER
) STRICT;
CREATE INDEX studies_project ON studies (project_id);

CREATE TABLE study_participants (
    id INTEGER PRIMARY KEY,
    study_id INTEGER NOT NULL REFERENCES studies (id) ON DELETE CASCADE,
    platform TEXT NOT NULL CHECK (platform IN ('prolific', 'mturk', 'generic')),
    platform_id TEXT NOT NULL,
    user_id INTEGER NOT NULL UNIQUE REFERENCES users (id) ON DELETE CASCADE,
    -- What else the platform sent (STUDY_ID, SESSION_ID; assignmentId, hitId), as JSON.
    details TEXT NOT NULL DEFAULT '{}',
    state TEXT NOT NULL CHECK (state IN ('screening', 'judging', 'completed', 'screened_out', 'timed_out')),
    -- An admin's decision for payment: rejected work is also quarantined.
    review TEXT NOT NULL DEFAULT 'pending' CHECK (review IN ('pending', 'approved', 'rejected')),
    started_at INTEGER NOT NULL,
    finished_at INTEGER,
    UNIQUE (study_id, platform, platform_id)
) STRICT;

-- A participant's session reaches only its study's project.
ALTER TABLE sessions ADD COLUMN study_id INTEGER REFERENCES studies (id) ON DELETE CASCADE;
