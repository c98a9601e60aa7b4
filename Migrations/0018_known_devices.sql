-- Browsers a person has signed in from: the `arbiter_device` cookie (a 256-bit
-- random token, stored as SHA-256) proves a past successful sign-in, so that
-- strangers failing against a username from many addresses cannot lock its owner
-- out of a browser they have used before (the per-user limit does not apply to
-- it; the device has a small limit of its own).
CREATE TABLE known_devices (
    token_hash BLOB PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    last_used_at INTEGER NOT NULL
) STRICT;
CREATE INDEX known_devices_user ON known_devices (user_id);
