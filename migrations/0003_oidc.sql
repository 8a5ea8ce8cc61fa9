-- Task API schema, version 3: sign-in with OpenID Connect providers. Idempotent, like
-- 0001 and 0002 (Spin's --sqlite and the native host run every file at every start).
--
-- An account without a password has `password_hash = ''` (an empty string is never a
-- PHC hash, so no password verifies against it); it signs in with its identities.

-- An identity of a provider linked to an account: the pair (issuer, subject) names it
-- (OpenID Connect Core 5.7); `provider` is the configured provider it came through.
CREATE TABLE IF NOT EXISTS identities (
    id         TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    provider   TEXT NOT NULL,
    issuer     TEXT NOT NULL,
    subject    TEXT NOT NULL,
    email      TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    UNIQUE (issuer, subject)
);
CREATE INDEX IF NOT EXISTS identities_by_user ON identities(user_id, id);

-- One authorization request in flight, keyed by the SHA-256 of its `state`; deleted when
-- the provider's redirect comes back (one use) and unusable after `expires_at` (10 min).
-- `link_user_id` is set when a signed-in user links another identity; `app_state` is the
-- app's own `state`, handed back to it unchanged with the result.
CREATE TABLE IF NOT EXISTS oidc_requests (
    state_hash    TEXT PRIMARY KEY,
    provider      TEXT NOT NULL,
    redirect_uri  TEXT NOT NULL,
    session_mode  TEXT NOT NULL CHECK (session_mode IN ('token', 'cookie')),
    code_verifier TEXT NOT NULL,
    nonce         TEXT NOT NULL,
    link_user_id  TEXT,
    app_state     TEXT,
    created_at    INTEGER NOT NULL,
    expires_at    INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS oidc_requests_by_expiry ON oidc_requests(expires_at);

-- The API's own one-time code, handed to the app in the redirect and exchanged once at
-- POST /v1/auth/oidc/token (60 s), keyed by its SHA-256. It carries the verified claims
-- of the provider's ID token; the account rules apply at the exchange.
CREATE TABLE IF NOT EXISTS oidc_codes (
    code_hash      TEXT PRIMARY KEY,
    provider       TEXT NOT NULL,
    issuer         TEXT NOT NULL,
    subject        TEXT NOT NULL,
    email            TEXT NOT NULL,
    email_normalized TEXT NOT NULL,
    email_verified   INTEGER NOT NULL CHECK (email_verified IN (0, 1)),
    name           TEXT NOT NULL,
    session_mode   TEXT NOT NULL CHECK (session_mode IN ('token', 'cookie')),
    link_user_id   TEXT,
    created_at     INTEGER NOT NULL,
    expires_at     INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS oidc_codes_by_expiry ON oidc_codes(expires_at);
