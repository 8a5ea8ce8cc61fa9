//! Statements that check an API key inside another request's round trip: a read that
//! says whether the key is still live, and a guard that aborts a whole batch when it is
//! not (it violates the `credential_revoked` CHECK constraint on purpose).

use crate::domain::ids::ApiKeyId;
use crate::store::Statement;

const LIVE: &str = "SELECT 1 FROM api_keys WHERE id = ?1 AND key_hash = ?2 AND (expires_at IS NULL OR expires_at > ?3)";

/// One row while the key exists and has not expired.
pub fn key_live(key_id: &ApiKeyId, key_hash: &str, now: i64) -> Statement {
    Statement::new(LIVE, vec![key_id.into(), key_hash.into(), now.into()])
}

/// Fails the batch it opens (and so every write after it) unless the key is live.
pub fn abort_unless_key_live(key_id: &ApiKeyId, key_hash: &str, now: i64) -> Statement {
    Statement::new(
        format!("INSERT INTO guard_failures (reason) SELECT 'credential_revoked' WHERE NOT EXISTS ({LIVE})"),
        vec![key_id.into(), key_hash.into(), now.into()],
    )
}

/// A key by the SHA-256 of its secret, if live: id, user, scopes, expiry.
pub fn find_key(key_hash: &str, now: i64) -> Statement {
    Statement::new(
        "SELECT id, user_id, scopes, expires_at FROM api_keys \
         WHERE key_hash = ?1 AND (expires_at IS NULL OR expires_at > ?2)",
        vec![key_hash.into(), now.into()],
    )
}
