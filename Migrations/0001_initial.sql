-- Arbiter's first schema: people, tokens, projects, pairs, assignments, annotations.
-- Times: TEXT in RFC 3339 UTC ("2026-11-26T11:00:00.000Z"), except the lease
-- clock on assignments, which is INTEGER Unix milliseconds for fast comparison.

CREATE TABLE users (
    id INTEGER PRIMARY KEY,
    username TEXT NOT NULL CHECK (length(username) BETWEEN 1 AND 64),
    role TEXT NOT NULL CHECK (role IN ('admin', 'reviewer', 'annotator')),
    -- 0 for raters that exist only through imported annotations.
    can_log_in INTEGER NOT NULL DEFAULT 1 CHECK (can_log_in IN (0, 1)),
    disabled INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),
    password_hash TEXT,
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    last_seen_at TEXT
) STRICT;
CREATE UNIQUE INDEX users_username ON users (username COLLATE NOCASE);

-- API tokens are stored as SHA-256, never in clear.
CREATE TABLE api_tokens (
    id INTEGER PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    token_hash BLOB NOT NULL UNIQUE,
    label TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    last_used_at TEXT,
    revoked_at TEXT
) STRICT;
CREATE INDEX api_tokens_user ON api_tokens (user_id);

CREATE TABLE projects (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 200),
    guidelines TEXT NOT NULL DEFAULT '',
    overlap INTEGER NOT NULL DEFAULT 3 CHECK (overlap BETWEEN 1 AND 100),
    lease_ttl_seconds INTEGER NOT NULL DEFAULT 600 CHECK (lease_ttl_seconds BETWEEN 1 AND 86400),
    gold_rate REAL NOT NULL DEFAULT 0 CHECK (gold_rate >= 0 AND gold_rate <= 1),
    repeat_rate REAL NOT NULL DEFAULT 0 CHECK (repeat_rate >= 0 AND repeat_rate <= 1),
    -- JSON array of aspect names, e.g. ["helpfulness", "harmlessness"].
    aspects TEXT NOT NULL DEFAULT '[]',
    allow_ties INTEGER NOT NULL DEFAULT 1 CHECK (allow_ties IN (0, 1)),
    allow_both_bad INTEGER NOT NULL DEFAULT 1 CHECK (allow_both_bad IN (0, 1)),
    strength_enabled INTEGER NOT NULL DEFAULT 1 CHECK (strength_enabled IN (0, 1)),
    rationale_required INTEGER NOT NULL DEFAULT 0 CHECK (rationale_required IN (0, 1)),
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
) STRICT;

CREATE TABLE pairs (
    id INTEGER PRIMARY KEY,
    project_id INTEGER NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    external_id TEXT NOT NULL,
    -- SHA-256 of the prompt and the two responses (order-independent), for dedup.
    content_hash BLOB NOT NULL,
    -- A string, or a JSON list of {"role","content"} messages when prompt_is_messages.
    prompt TEXT NOT NULL,
    prompt_is_messages INTEGER NOT NULL DEFAULT 0 CHECK (prompt_is_messages IN (0, 1)),
    response_a TEXT NOT NULL,
    response_b TEXT NOT NULL,
    model_a TEXT,
    model_b TEXT,
    metadata TEXT,
    gold TEXT CHECK (gold IN ('A', 'B', 'tie', 'both_bad')),
    -- Normal judgements completed plus normal leases live: what overlap counts.
    active_count INTEGER NOT NULL DEFAULT 0 CHECK (active_count >= 0),
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
) STRICT;
CREATE UNIQUE INDEX pairs_external_id ON pairs (project_id, external_id);
CREATE UNIQUE INDEX pairs_content_hash ON pairs (project_id, content_hash);
-- The assignment query walks this: in-progress pairs first, then by id.
CREATE INDEX pairs_open ON pairs (project_id, active_count DESC, id) WHERE gold IS NULL;
CREATE INDEX pairs_gold ON pairs (project_id, id) WHERE gold IS NOT NULL;

CREATE TABLE assignments (
    id INTEGER PRIMARY KEY,
    project_id INTEGER NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    pair_id INTEGER NOT NULL REFERENCES pairs (id) ON DELETE CASCADE,
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind TEXT NOT NULL CHECK (kind IN ('normal', 'gold', 'repeat')),
    -- 1 when response_b was shown on the left.
    shown_swapped INTEGER NOT NULL CHECK (shown_swapped IN (0, 1)),
    state TEXT NOT NULL DEFAULT 'leased' CHECK (state IN ('leased', 'completed', 'expired', 'skipped')),
    leased_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    completed_at INTEGER
) STRICT;
CREATE INDEX assignments_pair_user ON assignments (pair_id, user_id);
CREATE INDEX assignments_live ON assignments (user_id, project_id) WHERE state = 'leased';
CREATE INDEX assignments_expiry ON assignments (expires_at) WHERE state = 'leased';

CREATE TABLE annotations (
    id INTEGER PRIMARY KEY,
    -- NULL for imported judgements.
    assignment_id INTEGER UNIQUE REFERENCES assignments (id) ON DELETE SET NULL,
    project_id INTEGER NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    pair_id INTEGER NOT NULL REFERENCES pairs (id) ON DELETE CASCADE,
    user_id INTEGER NOT NULL REFERENCES users (id),
    -- 'repeat': the rater judged this pair before (feeds self-consistency only).
    kind TEXT NOT NULL DEFAULT 'normal' CHECK (kind IN ('normal', 'gold', 'repeat')),
    -- Canonical: relative to the stored pair, whatever side it was shown on.
    choice TEXT NOT NULL CHECK (choice IN ('A', 'B', 'tie', 'both_bad')),
    strength INTEGER CHECK (strength BETWEEN 1 AND 3),
    aspects TEXT,
    rationale TEXT,
    shown_swapped INTEGER CHECK (shown_swapped IN (0, 1)),
    duration_ms INTEGER CHECK (duration_ms >= 0),
    created_at TEXT NOT NULL
) STRICT;
CREATE INDEX annotations_pair_user ON annotations (pair_id, user_id);
CREATE INDEX annotations_user_project ON annotations (user_id, project_id);
CREATE INDEX annotations_project ON annotations (project_id, id);
