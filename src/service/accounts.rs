//! Accounts and sessions: registration, login, refresh-token rotation with reuse
//! detection, logout, the caller's profile and password.

use serde::Serialize;
use utoipa::ToSchema;

use crate::auth::password::{self, Verdict};
use crate::auth::tokens::{self, REFRESH_PREFIX};
use crate::auth::Caller;
use crate::clock::Timestamp;
use crate::domain::ids::{SessionId, UserId};
use crate::domain::user::{DisplayName, Email, Password, User};
use crate::error::{internal, ApiError};
use crate::ports::Ports;
use crate::sql::{self, accounts as q};
use crate::store::{Statement, StoreError};

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
    /// Opaque; exchange at `POST /v1/auth/refresh`. Single use: every refresh returns a new
    /// one. Absent in cookie mode, where it travels in the `__Host-refresh` cookie instead.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub refresh_token: Option<String>,
    /// Seconds until the refresh token expires.
    #[schema(example = 604800)]
    pub refresh_expires_in: i64,
}

/// A new session's statements and the tokens to hand out.
pub(super) struct NewSession {
    pub(super) stmts: Vec<Statement>,
    pub(super) tokens: TokenResponse,
}

/// Opens a session for `user`; with `verified_hash`, only while the account's password
/// hash is still the one just verified.
pub(super) fn open_session(
    ports: &Ports,
    user: &UserId,
    now: i64,
    verified_hash: Option<&str>,
) -> Result<NewSession, ApiError> {
    let s = &ports.settings;
    let sid = SessionId::new(super::new_id(ports)?);
    let refresh = tokens::generate(REFRESH_PREFIX, ports.random.as_ref()).map_err(internal)?;
    let lifetime = s.refresh_ttl_secs.min(s.session_max_lifetime_secs);
    let expires = now.saturating_add(lifetime.saturating_mul(1000));
    let access = s.jwt.issue(user.as_str(), sid.as_str(), now).map_err(internal)?;
    Ok(NewSession {
        stmts: q::open_session(&sid, user, &tokens::digest(&refresh), now, expires, verified_hash),
        tokens: token_response(ports, access, refresh, lifetime),
    })
}

fn token_response(ports: &Ports, access_token: String, refresh_token: String, refresh_secs: i64) -> TokenResponse {
    TokenResponse {
        access_token,
        token_type: "Bearer",
        expires_in: ports.settings.jwt.access_ttl_secs,
        refresh_token: Some(refresh_token),
        refresh_expires_in: refresh_secs,
    }
}

fn email_taken() -> ApiError {
    ApiError::Conflict("an account with this email already exists".to_owned())
}

fn account_gone() -> ApiError {
    ApiError::InvalidToken("this account no longer exists".to_owned())
}

/// Creates an account and its first session in one write.
///
/// # Errors
/// `Conflict` when the email is taken (case-insensitively).
pub async fn register(
    ports: &Ports,
    email: Email,
    password: Password,
    name: DisplayName,
) -> Result<(User, TokenResponse), ApiError> {
    let now = ports.clock.now_ms();
    let id = UserId::new(super::new_id(ports)?);
    let hash =
        password::hash(password.expose(), ports.settings.password_hash, ports.random.as_ref()).map_err(internal)?;
    let session = open_session(ports, &id, now, None)?;
    let mut stmts = vec![q::insert_user(&id, &email, &name, &hash, now)];
    stmts.extend(session.stmts);
    match ports.store.batch(stmts).await {
        Ok(_) => Ok((User { id, email: email.display().to_owned(), name, created_at: Timestamp(now) }, session.tokens)),
        Err(StoreError::Conflict(_)) => Err(email_taken()),
        Err(e) => Err(e.into()),
    }
}

const BAD_LOGIN: &str = "the email or password is incorrect";

/// One attempt against an account's failed-password budget (login, password change, API
/// key creation), whatever the client's IP. The attempt is charged BEFORE the password is
/// checked, so concurrent guesses cannot overrun the budget, and given back when the
/// password was right. A limiter that cannot be reached refuses the attempt (503): a
/// broken limiter must not allow unlimited guessing.
pub struct PasswordAttempt<'a> {
    ports: &'a Ports,
    charged: Option<(String, crate::ratelimit::Quota)>,
}

impl<'a> PasswordAttempt<'a> {
    /// Charges one attempt to the account `email_normalized`.
    ///
    /// # Errors
    /// `RateLimited` when the budget is spent, `Unavailable` when the limiter is down.
    pub async fn charge(ports: &'a Ports, email_normalized: &str) -> Result<PasswordAttempt<'a>, ApiError> {
        let Some(quota) = ports.settings.rate_limits.map(|l| l.login_failures) else {
            return Ok(PasswordAttempt { ports, charged: None });
        };
        let key = format!("login-fail:{email_normalized}");
        let d = ports
            .limiter
            .check(&key, quota, ports.clock.now_ms(), true)
            .await
            .map_err(|e| ApiError::Unavailable(e.to_string()))?
            .decision;
        if !d.allowed {
            return Err(ApiError::RateLimited {
                retry_after_secs: u64::try_from(d.retry_after_ms.saturating_add(999) / 1000).unwrap_or(1),
            });
        }
        Ok(PasswordAttempt { ports, charged: Some((key, quota)) })
    }

    /// The password was right: the attempt does not count. (Should the limiter fail now,
    /// the account keeps one attempt fewer until the budget refills.)
    pub async fn succeeded(self) {
        if let Some((key, quota)) = &self.charged {
            let _ = self.ports.limiter.refund(key, *quota, self.ports.clock.now_ms()).await;
        }
    }
}

/// Checks credentials and opens a session. An unknown email costs one password hash,
/// like a known one, so timing does not tell them apart.
///
/// # Errors
/// `Unauthenticated` with one message for both unknown email and wrong password;
/// `RateLimited` when the account's failed-password budget is spent.
pub async fn login(ports: &Ports, email: &str, password_given: &str) -> Result<TokenResponse, ApiError> {
    let params = ports.settings.password_hash;
    let normalized = Email::normalize_any(email);
    let attempt = PasswordAttempt::charge(ports, &normalized).await?;
    let rows = ports.store.query(q::find_login(&normalized)).await?;
    let Some(row) = rows.first() else {
        // Spend what a verification would, then fail the same way.
        let _ = password::hash(password_given, params, ports.random.as_ref());
        return Err(ApiError::Unauthenticated(BAD_LOGIN.to_owned()));
    };
    let (user, stored) = (UserId::new(row.text(0)?), row.text(1)?);
    if stored.is_empty() {
        // An account without a password (it signs in with a provider): no password is
        // right, and the answer takes as long as a verification.
        let _ = password::hash(password_given, params, ports.random.as_ref());
        return Err(ApiError::Unauthenticated(BAD_LOGIN.to_owned()));
    }
    let verdict = password::verify(password_given, &stored, params);
    if verdict == Verdict::Wrong {
        return Err(ApiError::Unauthenticated(BAD_LOGIN.to_owned()));
    }
    attempt.succeeded().await;
    let now = ports.clock.now_ms();
    let mut session = open_session(ports, &user, now, Some(&stored))?;
    if verdict == Verdict::CorrectNeedsRehash {
        let rehashed = password::hash(password_given, params, ports.random.as_ref()).map_err(internal)?;
        session.stmts.push(q::rehash(&user, &rehashed, &stored));
    }
    let results = ports.store.batch(session.stmts).await?;
    if !sql::landed(&results, 0) {
        // The password changed while this login was being checked.
        return Err(ApiError::Unauthenticated(BAD_LOGIN.to_owned()));
    }
    Ok(session.tokens)
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
    let s = &ports.settings;
    let (ttl, max) = (s.refresh_ttl_secs.saturating_mul(1000), s.session_max_lifetime_secs.saturating_mul(1000));
    let results = ports.store.batch(q::rotate(&old_hash, &tokens::digest(&next), now, ttl, max)).await?;
    if let Some(row) = sql::rows(&results, 0).first() {
        let (sid, user_id, expires) = (row.text(0)?, row.text(1)?, row.int(2)?);
        let access = s.jwt.issue(&user_id, &sid, now).map_err(internal)?;
        return Ok(token_response(ports, access, next, expires.saturating_sub(now) / 1000));
    }
    // Not current. If a session issued it, it was rotated already: a reuse.
    let known = ports.store.query(q::issuer_of(&old_hash)).await?;
    if let Some(row) = known.first() {
        let sid = SessionId::new(row.text(0)?);
        ports.store.execute(q::revoke(&sid, "refresh_token_reuse", now)).await?;
    }
    Err(refused())
}

/// Revokes the caller's session.
///
/// # Errors
/// Store failures only.
pub async fn logout(ports: &Ports, user: &UserId, sid: &SessionId) -> Result<(), ApiError> {
    ports.store.execute(q::logout(sid, user, ports.clock.now_ms())).await?;
    Ok(())
}

/// Revokes every session of the user, and (unless `keep_api_keys`) every API key.
///
/// # Errors
/// Store failures only.
pub async fn logout_all(ports: &Ports, user: &UserId, keep_api_keys: bool) -> Result<(), ApiError> {
    let now = ports.clock.now_ms();
    let mut stmts = vec![q::revoke_all(user, None, "logout_all", now, None)];
    if !keep_api_keys {
        stmts.push(crate::sql::api_keys::delete_all(user, None));
    }
    ports.store.batch(stmts).await?;
    Ok(())
}

/// The caller's account.
///
/// # Errors
/// `Unauthenticated` when the account no longer exists.
pub async fn me(ports: &Ports, caller: &Caller) -> Result<User, ApiError> {
    let rows = ports.store.query(q::get_user(&caller.user_id)).await?;
    rows.first().map(q::decode_user).transpose()?.ok_or_else(account_gone)
}

/// Renames the caller.
///
/// # Errors
/// `Unauthenticated` when the account no longer exists.
pub async fn rename(ports: &Ports, caller: &Caller, name: &DisplayName) -> Result<User, ApiError> {
    let rows = ports.store.query(q::rename(&caller.user_id, name, ports.clock.now_ms())).await?;
    rows.first().map(q::decode_user).transpose()?.ok_or_else(account_gone)
}

/// How recent a provider sign-in must be to stand in for the password of an account that
/// has none (to create an API key or set a first password).
pub const RECENT_SIGN_IN_MS: i64 = 10 * 60 * 1000;

/// Checks the caller's current password, charged to its account's failed-password
/// budget (a wrong guess counts like a failed login); returns the verified hash. An
/// account without a password (empty hash) proves itself with a session that began at
/// most [`RECENT_SIGN_IN_MS`] ago instead, and `given` must then be empty.
///
/// # Errors
/// `Forbidden` when it is wrong (or the sign-in is not recent), `RateLimited` when the
/// budget is spent.
pub async fn verify_password(
    ports: &Ports,
    user: &UserId,
    session: Option<&SessionId>,
    given: &str,
    wrong: &str,
) -> Result<String, ApiError> {
    let rows = ports.store.query(q::password_hash(user, session)).await?;
    let row = rows.first().ok_or_else(account_gone)?;
    let (stored, email, began) = (row.text(0)?, row.text(1)?, row.opt_int(2)?);
    if stored.is_empty() {
        let recent = began.is_some_and(|t| ports.clock.now_ms().saturating_sub(t) <= RECENT_SIGN_IN_MS);
        if given.is_empty() && recent {
            return Ok(stored);
        }
        return Err(ApiError::Forbidden(format!(
            "this account has no password: sign in with its provider again and, within {} minutes, send an empty password",
            RECENT_SIGN_IN_MS / 60_000
        )));
    }
    let attempt = PasswordAttempt::charge(ports, &email).await?;
    if password::verify(given, &stored, ports.settings.password_hash) == Verdict::Wrong {
        return Err(ApiError::Forbidden(wrong.to_owned()));
    }
    attempt.succeeded().await;
    Ok(stored)
}

/// Changes the password, revokes every other session and (unless `keep_api_keys`) every
/// API key, in one atomic write that lands only if the password is still the one
/// verified.
///
/// # Errors
/// `Forbidden` when the current password is wrong, `RateLimited` after too many.
pub async fn change_password(
    ports: &Ports,
    user: &UserId,
    sid: &SessionId,
    (current, new): (&str, &Password),
    keep_api_keys: bool,
) -> Result<(), ApiError> {
    let stored = verify_password(ports, user, Some(sid), current, "the current password is incorrect").await?;
    let hash = password::hash(new.expose(), ports.settings.password_hash, ports.random.as_ref()).map_err(internal)?;
    let now = ports.clock.now_ms();
    let mut stmts = vec![
        q::set_password(user, &hash, &stored, now),
        q::revoke_all(user, Some(sid), "password_changed", now, Some(&hash)),
    ];
    if !keep_api_keys {
        stmts.push(crate::sql::api_keys::delete_all(user, Some(&hash)));
    }
    let results = ports.store.batch(stmts).await?;
    if !sql::landed(&results, 0) {
        return Err(ApiError::Conflict("the password was changed by another request; sign in again".to_owned()));
    }
    Ok(())
}
