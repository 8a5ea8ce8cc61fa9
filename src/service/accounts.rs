//! Accounts, sessions and API keys: registration, login, refresh-token rotation with
//! reuse detection, logout, password change, API key lifecycle.

use serde::Serialize;
use utoipa::ToSchema;

use crate::auth::password::{self, Verdict};
use crate::auth::tokens::{self, API_KEY_PREFIX, REFRESH_PREFIX};
use crate::domain::user::{Email, Password};
use crate::http::ApiError;
use crate::ids::uuid_v7;
use crate::ports::Ports;
use crate::store::{Row, Statement, StoreError};

/// A user as the API shows it: never a hash.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct User {
    #[schema(example = "0192f5e2-8c1a-7b3e-9a4f-0c2d9e8b7a61")]
    pub id: String,
    #[schema(example = "ada@example.com")]
    pub email: String,
    #[schema(example = "Ada Lovelace")]
    pub name: String,
    #[schema(example = "2026-11-21T10:00:00.000Z")]
    pub created_at: String,
}

/// An OAuth 2.0-shaped token response (RFC 6749 §5.1).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TokenResponse {
    /// EdDSA-signed JWT; send as `Authorization: Bearer <access_token>`.
    pub access_token: String,
    /// Always `Bearer`.
    #[schema(example = "Bearer")]
    pub token_type: &'static str,
    /// Seconds until the access token expires.
    #[schema(example = 900)]
    pub expires_in: i64,
    /// Opaque; exchange at `POST /v1/auth/refresh`. Single use: every refresh returns a new one.
    pub refresh_token: String,
    /// Seconds until the refresh token expires.
    #[schema(example = 604800)]
    pub refresh_expires_in: i64,
}

/// An API key as listed: never its secret.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ApiKey {
    pub id: String,
    pub name: String,
    /// `read` (GET only) and/or `write` (implies read).
    #[schema(example = json!(["read"]))]
    pub scopes: Vec<String>,
    /// The first characters of the key, to recognise it.
    #[schema(example = "tm_Zx81Qa")]
    pub prefix: String,
    pub created_at: String,
    pub expires_at: Option<String>,
}

fn internal(e: impl std::fmt::Display) -> ApiError {
    ApiError::Internal(e.to_string())
}

fn fmt_time(ms: i64) -> String {
    crate::clock::format_rfc3339_ms(ms)
}

/// Statements that open a session for `user_id`, and the tokens to hand out.
fn open_session(ports: &Ports, user_id: &str, now: i64) -> Result<(Vec<Statement>, TokenResponse), ApiError> {
    let s = &ports.settings;
    let sid = uuid_v7(ports.clock.as_ref(), ports.random.as_ref()).map_err(internal)?;
    let refresh = tokens::generate(REFRESH_PREFIX, ports.random.as_ref()).map_err(internal)?;
    let hash = tokens::digest(&refresh);
    let expires = now.saturating_add(s.refresh_ttl_secs.saturating_mul(1000));
    let access = s.jwt.issue(user_id, &sid, now).map_err(internal)?;
    let stmts = vec![
        Statement::new(
            "INSERT INTO sessions (id, user_id, refresh_hash, generation, created_at, refreshed_at, expires_at) \
             VALUES (?1, ?2, ?3, 1, ?4, ?4, ?5)",
            vec![
                sid.clone().into(),
                user_id.into(),
                hash.clone().into(),
                now.into(),
                expires.into(),
            ],
        ),
        Statement::new(
            "INSERT INTO refresh_tokens (token_hash, session_id, generation, created_at) VALUES (?1, ?2, 1, ?3)",
            vec![hash.into(), sid.into(), now.into()],
        ),
    ];
    Ok((stmts, token_response(ports, access, refresh)))
}

fn token_response(ports: &Ports, access_token: String, refresh_token: String) -> TokenResponse {
    TokenResponse {
        access_token,
        token_type: "Bearer",
        expires_in: ports.settings.jwt.access_ttl_secs,
        refresh_token,
        refresh_expires_in: ports.settings.refresh_ttl_secs,
    }
}

/// Creates an account and its first session.
///
/// # Errors
/// `Conflict` when the email is taken (case-insensitively).
pub async fn register(
    ports: &Ports,
    email: Email,
    password: Password,
    name: String,
) -> Result<(User, TokenResponse), ApiError> {
    let taken = ports
        .store
        .query(Statement::new(
            "SELECT 1 FROM users WHERE email_normalized = ?1",
            vec![email.normalized.clone().into()],
        ))
        .await?;
    if !taken.is_empty() {
        return Err(ApiError::Conflict(
            "an account with this email already exists".to_owned(),
        ));
    }
    let now = ports.clock.now_ms();
    let id = uuid_v7(ports.clock.as_ref(), ports.random.as_ref()).map_err(internal)?;
    let hash =
        password::hash(password.expose(), ports.settings.password_hash, ports.random.as_ref()).map_err(internal)?;
    let (session, tokens) = open_session(ports, &id, now)?;
    let mut stmts = vec![Statement::new(
        "INSERT INTO users (id, email, email_normalized, name, password_hash, created_at, updated_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)",
        vec![
            id.clone().into(),
            email.display.clone().into(),
            email.normalized.into(),
            name.clone().into(),
            hash.into(),
            now.into(),
        ],
    )];
    stmts.extend(session);
    match ports.store.batch(stmts).await {
        Ok(_) => Ok((
            User {
                id,
                email: email.display,
                name,
                created_at: fmt_time(now),
            },
            tokens,
        )),
        Err(StoreError::Conflict(_)) => Err(ApiError::Conflict(
            "an account with this email already exists".to_owned(),
        )),
        Err(e) => Err(e.into()),
    }
}

const BAD_LOGIN: &str = "the email or password is incorrect";

/// Checks credentials and opens a session. An unknown email costs one password hash,
/// like a known one, so timing does not tell them apart.
///
/// # Errors
/// `Unauthenticated` with one message for both unknown email and wrong password.
pub async fn login(ports: &Ports, email: &str, password_given: &str) -> Result<TokenResponse, ApiError> {
    let params = ports.settings.password_hash;
    let normalized = Email::parse("email", email)
        .map(|e| e.normalized)
        .unwrap_or_else(|_| email.trim().to_lowercase());
    // Per-account failures, whatever the IP: checked before any password work, counted on
    // failure. Fails closed: a broken limiter must not allow unlimited guessing.
    let failures = ports
        .settings
        .rate_limits
        .map(|l| (format!("login-fail:{normalized}"), l.login_failures));
    if let Some((key, quota)) = &failures {
        let d = ports
            .limiter
            .check(key, *quota, ports.clock.now_ms(), false)
            .await
            .map_err(|e| ApiError::Unavailable(e.to_string()))?;
        if !d.allowed {
            return Err(ApiError::RateLimited {
                retry_after_secs: u64::try_from(d.retry_after_ms.saturating_add(999) / 1000).unwrap_or(1),
            });
        }
    }
    let count_failure = || async {
        if let Some((key, quota)) = &failures {
            ports
                .limiter
                .check(key, *quota, ports.clock.now_ms(), true)
                .await
                .map_err(|e| ApiError::Unavailable(e.to_string()))?;
        }
        Ok::<(), ApiError>(())
    };
    let rows = ports
        .store
        .query(Statement::new(
            "SELECT id, password_hash FROM users WHERE email_normalized = ?1",
            vec![normalized.into()],
        ))
        .await?;
    let Some(row) = rows.first() else {
        // Spend what a verification would, then fail the same way.
        let _ = password::hash(password_given, params, ports.random.as_ref());
        count_failure().await?;
        return Err(ApiError::Unauthenticated(BAD_LOGIN.to_owned()));
    };
    let (user_id, stored) = (row.text(0)?, row.text(1)?);
    let verdict = password::verify(password_given, &stored, params);
    if verdict == Verdict::Wrong {
        count_failure().await?;
        return Err(ApiError::Unauthenticated(BAD_LOGIN.to_owned()));
    }
    let now = ports.clock.now_ms();
    let (mut stmts, tokens) = open_session(ports, &user_id, now)?;
    if verdict == Verdict::CorrectNeedsRehash {
        let rehashed = password::hash(password_given, params, ports.random.as_ref()).map_err(internal)?;
        stmts.push(Statement::new(
            "UPDATE users SET password_hash = ?1 WHERE id = ?2 AND password_hash = ?3",
            vec![rehashed.into(), user_id.into(), stored.into()],
        ));
    }
    ports.store.batch(stmts).await?;
    Ok(tokens)
}

/// Exchanges a refresh token for new tokens. The old one dies; presenting a rotated
/// one again revokes the whole session.
///
/// # Errors
/// `Unauthenticated` for anything but the current refresh token of a live session.
pub async fn refresh(ports: &Ports, presented: &str) -> Result<TokenResponse, ApiError> {
    let refused = || ApiError::Unauthenticated("the refresh token is invalid, expired or revoked".to_owned());
    if !tokens::well_formed(REFRESH_PREFIX, presented) {
        return Err(refused());
    }
    let now = ports.clock.now_ms();
    let old_hash = tokens::digest(presented);
    let next = tokens::generate(REFRESH_PREFIX, ports.random.as_ref()).map_err(internal)?;
    let new_hash = tokens::digest(&next);
    let expires = now.saturating_add(ports.settings.refresh_ttl_secs.saturating_mul(1000));
    let results = ports
        .store
        .batch(vec![
            // The conditional UPDATE is the rotation: of two racing refreshes with the same
            // token, exactly one matches `refresh_hash = old`.
            Statement::new(
                "UPDATE sessions SET refresh_hash = ?1, generation = generation + 1, refreshed_at = ?2, expires_at = ?3 \
                 WHERE refresh_hash = ?4 AND revoked_at IS NULL AND expires_at > ?2 RETURNING id, user_id",
                vec![new_hash.clone().into(), now.into(), expires.into(), old_hash.clone().into()],
            ),
            Statement::new(
                "INSERT INTO refresh_tokens (token_hash, session_id, generation, created_at) \
                 SELECT ?1, id, generation, ?2 FROM sessions WHERE refresh_hash = ?1",
                vec![new_hash.into(), now.into()],
            ),
        ])
        .await?;
    if let Some(row) = results.first().and_then(|r| r.rows.first()) {
        let (sid, user_id) = (row.text(0)?, row.text(1)?);
        let access = ports.settings.jwt.issue(&user_id, &sid, now).map_err(internal)?;
        return Ok(token_response(ports, access, next));
    }
    // Not current. If this session issued it, it was rotated already: a reuse.
    let known = ports
        .store
        .query(Statement::new(
            "SELECT session_id FROM refresh_tokens WHERE token_hash = ?1",
            vec![old_hash.into()],
        ))
        .await?;
    if let Some(row) = known.first() {
        ports
            .store
            .execute(Statement::new(
                "UPDATE sessions SET revoked_at = ?1, revoked_reason = 'refresh_token_reuse' \
                 WHERE id = ?2 AND revoked_at IS NULL",
                vec![now.into(), row.text(0)?.into()],
            ))
            .await?;
    }
    Err(refused())
}

/// Revokes one session.
///
/// # Errors
/// Store failures only.
pub async fn logout(ports: &Ports, user_id: &str, sid: &str) -> Result<(), ApiError> {
    ports
        .store
        .execute(Statement::new(
            "UPDATE sessions SET revoked_at = ?1, revoked_reason = 'logout' WHERE id = ?2 AND user_id = ?3 AND revoked_at IS NULL",
            vec![ports.clock.now_ms().into(), sid.into(), user_id.into()],
        ))
        .await?;
    Ok(())
}

/// Revokes every session of the user.
///
/// # Errors
/// Store failures only.
pub async fn logout_all(ports: &Ports, user_id: &str) -> Result<(), ApiError> {
    ports
        .store
        .execute(Statement::new(
            "UPDATE sessions SET revoked_at = ?1, revoked_reason = 'logout_all' WHERE user_id = ?2 AND revoked_at IS NULL",
            vec![ports.clock.now_ms().into(), user_id.into()],
        ))
        .await?;
    Ok(())
}

fn user_from_row(row: &Row) -> Result<User, ApiError> {
    Ok(User {
        id: row.text(0)?,
        email: row.text(1)?,
        name: row.text(2)?,
        created_at: fmt_time(row.int(3)?),
    })
}

/// The caller's account.
///
/// # Errors
/// `Unauthenticated` when the account no longer exists.
pub async fn me(ports: &Ports, user_id: &str) -> Result<User, ApiError> {
    let rows = ports
        .store
        .query(Statement::new(
            "SELECT id, email, name, created_at FROM users WHERE id = ?1",
            vec![user_id.into()],
        ))
        .await?;
    rows.first()
        .map(user_from_row)
        .transpose()?
        .ok_or_else(|| ApiError::Unauthenticated("this account no longer exists".to_owned()))
}

/// Renames the caller.
///
/// # Errors
/// `Unauthenticated` when the account no longer exists.
pub async fn rename(ports: &Ports, user_id: &str, name: String) -> Result<User, ApiError> {
    let rows = ports
        .store
        .query(Statement::new(
            "UPDATE users SET name = ?1, updated_at = ?2 WHERE id = ?3 RETURNING id, email, name, created_at",
            vec![name.into(), ports.clock.now_ms().into(), user_id.into()],
        ))
        .await?;
    rows.first()
        .map(user_from_row)
        .transpose()?
        .ok_or_else(|| ApiError::Unauthenticated("this account no longer exists".to_owned()))
}

/// Changes the password and revokes every other session, in one atomic write.
///
/// # Errors
/// `Forbidden` when the current password is wrong.
pub async fn change_password(
    ports: &Ports,
    user_id: &str,
    sid: &str,
    current: &str,
    new: Password,
) -> Result<(), ApiError> {
    let rows = ports
        .store
        .query(Statement::new(
            "SELECT password_hash FROM users WHERE id = ?1",
            vec![user_id.into()],
        ))
        .await?;
    let stored = rows
        .first()
        .map(|r| r.text(0))
        .transpose()?
        .ok_or_else(|| ApiError::Unauthenticated("this account no longer exists".to_owned()))?;
    if password::verify(current, &stored, ports.settings.password_hash) == Verdict::Wrong {
        return Err(ApiError::Forbidden("the current password is incorrect".to_owned()));
    }
    let hash = password::hash(new.expose(), ports.settings.password_hash, ports.random.as_ref()).map_err(internal)?;
    let now = ports.clock.now_ms();
    ports
        .store
        .batch(vec![
            Statement::new(
                "UPDATE users SET password_hash = ?1, updated_at = ?2 WHERE id = ?3",
                vec![hash.into(), now.into(), user_id.into()],
            ),
            Statement::new(
                "UPDATE sessions SET revoked_at = ?1, revoked_reason = 'password_changed' \
                 WHERE user_id = ?2 AND id != ?3 AND revoked_at IS NULL",
                vec![now.into(), user_id.into(), sid.into()],
            ),
        ])
        .await?;
    Ok(())
}

/// Most API keys one user may hold.
pub const MAX_API_KEYS: i64 = 50;

/// Creates an API key and returns it with its secret, which is never shown again.
///
/// # Errors
/// `Conflict` when the user already holds [`MAX_API_KEYS`].
pub async fn create_api_key(
    ports: &Ports,
    user_id: &str,
    name: String,
    scopes: Vec<String>,
    expires_in_days: Option<i64>,
) -> Result<(ApiKey, String), ApiError> {
    let count = ports
        .store
        .query(Statement::new(
            "SELECT count(*) FROM api_keys WHERE user_id = ?1",
            vec![user_id.into()],
        ))
        .await?;
    if count.first().map(|r| r.int(0)).transpose()?.unwrap_or(0) >= MAX_API_KEYS {
        return Err(ApiError::Conflict(format!(
            "a user may hold at most {MAX_API_KEYS} API keys; delete one first"
        )));
    }
    let now = ports.clock.now_ms();
    let id = uuid_v7(ports.clock.as_ref(), ports.random.as_ref()).map_err(internal)?;
    let key = tokens::generate(API_KEY_PREFIX, ports.random.as_ref()).map_err(internal)?;
    let prefix: String = key.chars().take(API_KEY_PREFIX.len().saturating_add(6)).collect();
    let expires_at = expires_in_days.map(|d| now.saturating_add(d.saturating_mul(86_400_000)));
    ports
        .store
        .execute(Statement::new(
            "INSERT INTO api_keys (id, user_id, name, prefix, key_hash, scopes, created_at, expires_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            vec![
                id.clone().into(),
                user_id.into(),
                name.clone().into(),
                prefix.clone().into(),
                tokens::digest(&key).into(),
                scopes.join(",").into(),
                now.into(),
                expires_at.into(),
            ],
        ))
        .await?;
    let api_key = ApiKey {
        id,
        name,
        scopes,
        prefix,
        created_at: fmt_time(now),
        expires_at: expires_at.map(fmt_time),
    };
    Ok((api_key, key))
}

/// The user's keys after a key id (`?1` user, `?2` after, `?3` limit).
pub const LIST_API_KEYS_SQL: &str = "SELECT id, name, scopes, prefix, created_at, expires_at FROM api_keys \
     WHERE user_id = ?1 AND (?2 IS NULL OR id < ?2) ORDER BY id DESC LIMIT ?3";

/// One page of the user's keys, newest first, after the key id `after`.
///
/// # Errors
/// Store failures only.
pub async fn list_api_keys(
    ports: &Ports,
    user_id: &str,
    after: Option<&str>,
    limit: usize,
) -> Result<(Vec<ApiKey>, bool), ApiError> {
    let rows = ports
        .store
        .query(Statement::new(
            LIST_API_KEYS_SQL,
            vec![
                user_id.into(),
                after.map(str::to_owned).into(),
                super::fetch_limit(limit),
            ],
        ))
        .await?;
    super::page(&rows, limit, |r| {
        Ok(ApiKey {
            id: r.text(0)?,
            name: r.text(1)?,
            scopes: r.text(2)?.split(',').map(str::to_owned).collect(),
            prefix: r.text(3)?,
            created_at: fmt_time(r.int(4)?),
            expires_at: r.opt_int(5)?.map(fmt_time),
        })
    })
}

/// Deletes one of the user's keys; it stops working at once.
///
/// # Errors
/// `NotFound` when the user has no such key.
pub async fn delete_api_key(ports: &Ports, user_id: &str, key_id: &str) -> Result<(), ApiError> {
    let n = ports
        .store
        .execute(Statement::new(
            "DELETE FROM api_keys WHERE id = ?1 AND user_id = ?2",
            vec![key_id.into(), user_id.into()],
        ))
        .await?;
    if n == 0 {
        return Err(ApiError::NotFound("no such API key".to_owned()));
    }
    Ok(())
}
