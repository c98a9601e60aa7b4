-- One-time password-reset links an admin issues for a person (same rules as
-- invites: single use, expiring, revocable; only the token's SHA-256 is stored).
CREATE TABLE password_resets (
    id INTEGER PRIMARY KEY,
    token_hash BLOB NOT NULL UNIQUE,
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_by INTEGER REFERENCES users (id) ON DELETE SET NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at INTEGER,
    revoked_at INTEGER
) STRICT;
CREATE INDEX password_resets_user ON password_resets (user_id);
