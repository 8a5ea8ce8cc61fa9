//! API key statements: create (bounded per user), list, delete.

use crate::clock::Timestamp;
use crate::domain::ids::{ApiKeyId, UserId};
use crate::domain::user::{ApiKey, ApiKeyName, ApiKeyScopes};
use crate::error::ApiError;
use crate::store::{Row, Statement};

/// Most API keys one user may hold.
pub const MAX_PER_USER: i64 = 50;

/// A new key, unless the user already holds [`MAX_PER_USER`] or its password is no longer
/// the one just verified (`?10`); returns a row when it landed.
pub fn insert(key: &ApiKey, user: &UserId, key_hash: &str, verified_hash: &str) -> Statement {
    Statement::new(
        "INSERT INTO api_keys (id, user_id, name, prefix, key_hash, scopes, created_at, expires_at) \
         SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8 \
         WHERE (SELECT count(*) FROM api_keys WHERE user_id = ?2) < ?9 \
         AND EXISTS (SELECT 1 FROM users WHERE id = ?2 AND password_hash = ?10) RETURNING 1",
        vec![
            (&key.id).into(),
            user.into(),
            key.name.as_str().into(),
            key.prefix.clone().into(),
            key_hash.into(),
            key.scopes.joined().into(),
            key.created_at.ms().into(),
            key.expires_at.map(Timestamp::ms).into(),
            MAX_PER_USER.into(),
            verified_hash.into(),
        ],
    )
}

/// The user's keys after a key id (`?1` user, `?2` after, `?3` limit).
pub const LIST_SQL: &str = "SELECT id, name, scopes, prefix, created_at, expires_at FROM api_keys \
     WHERE user_id = ?1 AND (?2 IS NULL OR id < ?2) ORDER BY id DESC LIMIT ?3";

pub fn list(user: &UserId, after: Option<&str>, limit: usize) -> Statement {
    Statement::new(LIST_SQL, vec![user.into(), after.map(str::to_owned).into(), super::fetch_limit(limit)])
}

/// # Errors
/// A row of another shape.
pub fn decode(r: &Row) -> Result<ApiKey, ApiError> {
    Ok(ApiKey {
        id: ApiKeyId::new(r.text(0)?),
        name: ApiKeyName::stored(r.text(1)?),
        scopes: ApiKeyScopes::stored(&r.text(2)?),
        prefix: r.text(3)?,
        created_at: Timestamp(r.int(4)?),
        expires_at: r.opt_int(5)?.map(Timestamp),
    })
}

pub fn delete(key: &ApiKeyId, user: &UserId) -> Statement {
    Statement::new("DELETE FROM api_keys WHERE id = ?1 AND user_id = ?2", vec![key.into(), user.into()])
}

/// Every key of the user (after `logout-all`, or a password change: then only once the
/// account has the new hash `if_password_hash`).
pub fn delete_all(user: &UserId, if_password_hash: Option<&str>) -> Statement {
    Statement::new(
        "DELETE FROM api_keys WHERE user_id = ?1 \
         AND (?2 IS NULL OR EXISTS (SELECT 1 FROM users WHERE id = ?1 AND password_hash = ?2))",
        vec![user.into(), if_password_hash.into()],
    )
}
