//! Account and session statements: users, login sessions, the refresh-token history.

use crate::clock::Timestamp;
use crate::domain::ids::{SessionId, UserId};
use crate::domain::user::{DisplayName, Email, User};
use crate::error::ApiError;
use crate::store::{Row, Statement};

/// A new account.
pub fn insert_user(id: &UserId, email: &Email, name: &DisplayName, password_hash: &str, now: i64) -> Statement {
    Statement::new(
        "INSERT INTO users (id, email, email_normalized, name, password_hash, created_at, updated_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)",
        vec![
            id.into(),
            email.display().into(),
            email.normalized().into(),
            name.as_str().into(),
            password_hash.into(),
            now.into(),
        ],
    )
}

/// A session's rows: the session, guarded (when `verified_hash` is given) on the account
/// still having the password hash that was just verified, so a login that raced a
/// password change does not keep a session made with the old password; and the first
/// refresh token, guarded on the session.
pub fn open_session(
    sid: &SessionId,
    user: &UserId,
    refresh_hash: &str,
    now: i64,
    expires_at: i64,
    verified_hash: Option<&str>,
) -> Vec<Statement> {
    vec![
        Statement::new(
            "INSERT INTO sessions (id, user_id, refresh_hash, generation, created_at, refreshed_at, expires_at) \
             SELECT ?1, ?2, ?3, 1, ?4, ?4, ?5 \
             WHERE ?6 IS NULL OR EXISTS (SELECT 1 FROM users WHERE id = ?2 AND password_hash = ?6) RETURNING 1",
            vec![sid.into(), user.into(), refresh_hash.into(), now.into(), expires_at.into(), verified_hash.into()],
        ),
        Statement::new(
            "INSERT INTO refresh_tokens (token_hash, session_id, generation, created_at) \
             SELECT ?1, ?2, 1, ?3 WHERE EXISTS (SELECT 1 FROM sessions WHERE id = ?2)",
            vec![refresh_hash.into(), sid.into(), now.into()],
        ),
    ]
}

/// The account and password hash a login checks: `?1` normalized email.
pub fn find_login(email_normalized: &str) -> Statement {
    Statement::new("SELECT id, password_hash FROM users WHERE email_normalized = ?1", vec![email_normalized.into()])
}

/// The password hash of an account, its email (the key of its failed-password budget),
/// and when the caller's session began (if it is one of this account's).
pub fn password_hash(user: &UserId, session: Option<&SessionId>) -> Statement {
    Statement::new(
        "SELECT u.password_hash, u.email_normalized, s.created_at FROM users u \
         LEFT JOIN sessions s ON s.id = ?2 AND s.user_id = u.id AND s.revoked_at IS NULL WHERE u.id = ?1",
        vec![user.into(), session.into()],
    )
}

/// A new hash for the same password (parameters changed), only if it is still the one
/// that was verified.
pub fn rehash(user: &UserId, new_hash: &str, old_hash: &str) -> Statement {
    Statement::new(
        "UPDATE users SET password_hash = ?1 WHERE id = ?2 AND password_hash = ?3",
        vec![new_hash.into(), user.into(), old_hash.into()],
    )
}

/// Rotation: of two racing refreshes with the same token, exactly one matches
/// `refresh_hash = old` (statement 0 returns the session, the user and the new expiry),
/// and the new token joins the history. The new token lives `ttl_ms`, but never past the
/// session's absolute end (`created_at + max_lifetime_ms`), which rotation does not move.
pub fn rotate(old_hash: &str, new_hash: &str, now: i64, ttl_ms: i64, max_lifetime_ms: i64) -> Vec<Statement> {
    vec![
        Statement::new(
            "UPDATE sessions SET refresh_hash = ?1, generation = generation + 1, refreshed_at = ?2, \
             expires_at = min(?2 + ?3, created_at + ?5) \
             WHERE refresh_hash = ?4 AND revoked_at IS NULL AND expires_at > ?2 RETURNING id, user_id, expires_at",
            vec![new_hash.into(), now.into(), ttl_ms.into(), old_hash.into(), max_lifetime_ms.into()],
        ),
        Statement::new(
            "INSERT INTO refresh_tokens (token_hash, session_id, generation, created_at) \
             SELECT ?1, id, generation, ?2 FROM sessions WHERE refresh_hash = ?1",
            vec![new_hash.into(), now.into()],
        ),
    ]
}

/// The session that once issued a refresh token (to recognise a reuse).
pub fn issuer_of(token_hash: &str) -> Statement {
    Statement::new("SELECT session_id FROM refresh_tokens WHERE token_hash = ?1", vec![token_hash.into()])
}

/// Revokes one session (any user's: used on a detected reuse).
pub fn revoke(sid: &SessionId, reason: &str, now: i64) -> Statement {
    Statement::new(
        "UPDATE sessions SET revoked_at = ?1, revoked_reason = ?2 WHERE id = ?3 AND revoked_at IS NULL",
        vec![now.into(), reason.into(), sid.into()],
    )
}

/// Revokes one session of `user`.
pub fn logout(sid: &SessionId, user: &UserId, now: i64) -> Statement {
    Statement::new(
        "UPDATE sessions SET revoked_at = ?1, revoked_reason = 'logout' WHERE id = ?2 AND user_id = ?3 AND revoked_at IS NULL",
        vec![now.into(), sid.into(), user.into()],
    )
}

/// Revokes every session of `user` but `keep` (if any), for `reason`; with
/// `if_password_hash`, only once the account has that hash (a change that landed).
pub fn revoke_all(
    user: &UserId,
    keep: Option<&SessionId>,
    reason: &str,
    now: i64,
    if_password_hash: Option<&str>,
) -> Statement {
    Statement::new(
        "UPDATE sessions SET revoked_at = ?1, revoked_reason = ?2 \
         WHERE user_id = ?3 AND (?4 IS NULL OR id != ?4) AND revoked_at IS NULL \
         AND (?5 IS NULL OR EXISTS (SELECT 1 FROM users WHERE id = ?3 AND password_hash = ?5))",
        vec![now.into(), reason.into(), user.into(), keep.into(), if_password_hash.into()],
    )
}

/// A new password hash, only if the hash is still the one whose password was verified.
pub fn set_password(user: &UserId, new_hash: &str, verified_hash: &str, now: i64) -> Statement {
    Statement::new(
        "UPDATE users SET password_hash = ?1, updated_at = ?2 WHERE id = ?3 AND password_hash = ?4 RETURNING 1",
        vec![new_hash.into(), now.into(), user.into(), verified_hash.into()],
    )
}

const USER_COLUMNS: &str = "id, email, name, created_at";

pub fn get_user(id: &UserId) -> Statement {
    Statement::new(format!("SELECT {USER_COLUMNS} FROM users WHERE id = ?1"), vec![id.into()])
}

pub fn rename(id: &UserId, name: &DisplayName, now: i64) -> Statement {
    Statement::new(
        format!("UPDATE users SET name = ?1, updated_at = ?2 WHERE id = ?3 RETURNING {USER_COLUMNS}"),
        vec![name.as_str().into(), now.into(), id.into()],
    )
}

/// # Errors
/// A row of another shape.
pub fn decode_user(row: &Row) -> Result<User, ApiError> {
    Ok(User {
        id: UserId::new(row.text(0)?),
        email: row.text(1)?,
        name: DisplayName::stored(row.text(2)?),
        created_at: Timestamp(row.int(3)?),
    })
}
