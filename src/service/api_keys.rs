//! API keys: created with their secret shown once, listed without it, deleted at once.

use crate::auth::tokens::{self, API_KEY_PREFIX};
use crate::clock::Timestamp;
use crate::domain::ids::{ApiKeyId, SessionId, UserId};
use crate::domain::user::{ApiKey, ApiKeyName, ApiKeyScopes};
use crate::error::{internal, ApiError};
use crate::ports::Ports;
use crate::sql::{self, api_keys as q};

/// Creates an API key and returns it with its secret, which is never shown again. The
/// caller's password is required (a stolen access token alone cannot mint a key), and
/// a wrong one counts against the account's failed-password budget.
///
/// # Errors
/// `Forbidden` for a wrong password, `Conflict` when the user already holds the most
/// keys allowed, `RateLimited` after too many wrong passwords.
pub async fn create(
    ports: &Ports,
    user: &UserId,
    session: Option<&SessionId>,
    password: &str,
    name: ApiKeyName,
    scopes: ApiKeyScopes,
    expires_in_days: Option<i64>,
) -> Result<(ApiKey, String), ApiError> {
    let verified =
        super::accounts::verify_password(ports, user, session, password, "the password is incorrect").await?;
    let now = ports.clock.now_ms();
    let secret = tokens::generate(API_KEY_PREFIX, ports.random.as_ref()).map_err(internal)?;
    let key = ApiKey {
        id: ApiKeyId::new(super::new_id(ports)?),
        name,
        scopes,
        prefix: secret.chars().take(API_KEY_PREFIX.len().saturating_add(6)).collect(),
        created_at: Timestamp(now),
        expires_at: expires_in_days.map(|d| Timestamp(now.saturating_add(d.saturating_mul(86_400_000)))),
    };
    let rows = ports.store.query(q::insert(&key, user, &tokens::digest(&secret), &verified)).await?;
    if rows.is_empty() {
        return Err(ApiError::Conflict(format!(
            "a user may hold at most {} API keys (or the password changed meanwhile); delete one first",
            q::MAX_PER_USER
        )));
    }
    Ok((key, secret))
}

/// One page of the user's keys, newest first, after the key id `after`.
///
/// # Errors
/// Store failures only.
pub async fn list(
    ports: &Ports,
    user: &UserId,
    after: Option<&str>,
    limit: usize,
) -> Result<(Vec<ApiKey>, bool), ApiError> {
    let rows = ports.store.query(q::list(user, after, limit)).await?;
    sql::page(&rows, limit, q::decode)
}

/// Deletes one of the user's keys; it stops working at once.
///
/// # Errors
/// `NotFound` when the user has no such key.
pub async fn delete(ports: &Ports, user: &UserId, key: &ApiKeyId) -> Result<(), ApiError> {
    if ports.store.execute(q::delete(key, user)).await? == 0 {
        return Err(ApiError::NotFound("no such API key".to_owned()));
    }
    Ok(())
}
