-- Accounts: browser sessions, invites, login throttling and the audit log.
-- Times are INTEGER Unix milliseconds.

CREATE TABLE sessions (
    id INTEGER PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    -- SHA-256 of the 256-bit cookie token; the token itself is never stored.
    token_hash BLOB NOT NULL UNIQUE,
    -- Sent back in X-CSRF-Token on state-changing requests (useless without the cookie).
    csrf_token TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL,
    -- Absolute expiry (7 days); idle expiry (12 h) is checked against last_seen_at.
    expires_at INTEGER NOT NULL,
    address TEXT NOT NULL DEFAULT ''
) STRICT;
CREATE INDEX sessions_user ON sessions (user_id);

CREATE TABLE invites (
    id INTEGER PRIMARY KEY,
    token_hash BLOB NOT NULL UNIQUE,
    role TEXT NOT NULL CHECK (role IN ('admin', 'reviewer', 'annotator')),
    created_by INTEGER REFERENCES users (id) ON DELETE SET NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at INTEGER,
    used_by INTEGER REFERENCES users (id) ON DELETE SET NULL,
    revoked_at INTEGER
) STRICT;

CREATE TABLE login_failures (
    id INTEGER PRIMARY KEY,
    -- Lower-cased as typed, whether or not such a user exists.
    username TEXT NOT NULL,
    address TEXT NOT NULL,
    at INTEGER NOT NULL
) STRICT;
CREATE INDEX login_failures_username ON login_failures (username, at);
CREATE INDEX login_failures_address ON login_failures (address, at);

CREATE TABLE audit_log (
    id INTEGER PRIMARY KEY,
    at INTEGER NOT NULL,
    -- NULL for the system or an unauthenticated caller.
    actor_id INTEGER REFERENCES users (id) ON DELETE SET NULL,
    action TEXT NOT NULL,
    target TEXT NOT NULL DEFAULT '',
    details TEXT NOT NULL DEFAULT '{}',
    address TEXT NOT NULL DEFAULT ''
) STRICT;
CREATE INDEX audit_log_at ON audit_log (at);
