-- Task API schema, version 2: writes in one round trip. Idempotent, like 0001 (Spin's
-- --sqlite and the native host run every file at every start).

-- Idempotency-Key entries, reserved and completed inside the creation's own batch:
-- `owner` is the anchor event id of the request that holds the key. Replaces
-- `idempotency_keys` (whose entries live 24 h; a deployment loses the ones in flight).
CREATE TABLE IF NOT EXISTS idempotent_requests (
    principal_id TEXT NOT NULL,
    key          TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    owner        TEXT NOT NULL,
    status       INTEGER NOT NULL DEFAULT 0,
    headers      TEXT NOT NULL DEFAULT '',
    body         TEXT NOT NULL DEFAULT '',
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,
    PRIMARY KEY (principal_id, key)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS idempotent_requests_by_expiry ON idempotent_requests(expires_at);
DROP TABLE IF EXISTS idempotency_keys;

-- Never holds a row: a batch that must stop when a credential is no longer valid opens
-- with an INSERT here, which violates this constraint (and so aborts the whole batch)
-- exactly when the credential's check fails.
CREATE TABLE IF NOT EXISTS guard_failures (
    reason TEXT,
    CONSTRAINT credential_revoked CHECK (reason IS NULL)
);
