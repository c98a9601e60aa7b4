-- Single sign-on with OpenID Connect.
--
-- A sign-in in progress: its `state` (stored as SHA-256), the nonce the ID token
-- must carry and the PKCE verifier, used once — the callback deletes the row, so a
-- replayed callback finds nothing — and void after ten minutes.
CREATE TABLE oidc_logins (
    state_hash BLOB PRIMARY KEY,
    nonce TEXT NOT NULL,
    verifier TEXT NOT NULL,
    created_at INTEGER NOT NULL
) STRICT;

-- Who a provider's subject is here: the first sign-in links it to a person (new,
-- or the one an admin added under that email), later ones find it.
CREATE TABLE oidc_identities (
    issuer TEXT NOT NULL,
    subject TEXT NOT NULL,
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (issuer, subject)
) STRICT;
