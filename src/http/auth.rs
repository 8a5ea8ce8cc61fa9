//! The authenticated request: parses `Authorization: Bearer …`, asks `service::auth` for
//! the caller, enforces the key's scope and the per-principal rate limit, and hands the
//! handler the request context on the caller's store. Extracting it is what makes a
//! route require authentication.

use axum::extract::FromRequestParts;
use http::{header, request::Parts, Method};

use super::limits::{self, Counting, OnError};
use super::middleware::LogContext;
use super::state::{AppState, Ctx};
use crate::auth::Caller;
use crate::domain::ids::SessionId;
use crate::error::ApiError;

/// An authenticated request: its context (on the caller's store) and the caller.
#[derive(Clone)]
pub struct Auth {
    pub ctx: Ctx,
    pub caller: Caller,
}

fn unauthenticated(detail: &str) -> ApiError {
    ApiError::Unauthenticated(detail.to_owned())
}

fn bearer(parts: &Parts) -> Result<&str, ApiError> {
    let value = parts
        .headers
        .get(header::AUTHORIZATION)
        .ok_or_else(|| unauthenticated("this request needs `Authorization: Bearer <token>`"))?;
    let value = value.to_str().map_err(|_| unauthenticated("the Authorization header is not valid"))?;
    let (scheme, token) = value.split_once(' ').ok_or_else(|| unauthenticated("expected `Bearer <token>`"))?;
    if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
        return Err(unauthenticated("expected `Bearer <token>`"));
    }
    Ok(token.trim())
}

/// Authenticates `token`, with failed authentications limited per client IP: each one is
/// charged to the address's budget (the 401 carries that policy's `RateLimit`), and once
/// the budget is spent the address gets 429, and an instance that knows this refuses it
/// any fresh work (a signature check, a key lookup) before trying: only credentials it
/// has checked before still pass.
async fn authenticate(
    parts: &Parts,
    ctx: &Ctx,
    log: Option<&LogContext>,
    token: &str,
) -> Result<crate::service::auth::Authenticated, ApiError> {
    let limits = ctx.ports.settings.rate_limits;
    let key = limits.map(|_| limits::client_key(parts, &ctx.ports.settings, "auth-fail"));
    let blocked = key.as_deref().and_then(|k| ctx.ports.limiter.blocked(k, ctx.ports.clock.now_ms()));
    let refused = match crate::service::auth::authenticate(&ctx.ports, ctx.caches(), token, blocked.is_some()).await {
        Ok(Some(a)) => return Ok(a),
        Ok(None) => {
            let retry = blocked.map_or(1, |d| d.retry_after_ms);
            return Err(ApiError::RateLimited {
                retry_after_secs: u64::try_from(retry.saturating_add(999) / 1000).unwrap_or(1),
            });
        }
        Err(e @ (ApiError::InvalidToken(_) | ApiError::Unauthenticated(_))) => e,
        Err(e) => return Err(e),
    };
    if let (Some(quotas), Some(key)) = (limits, key) {
        let how = (Counting::Leased, OnError::FailOpen);
        limits::enforce(ctx, log, "auth-fail", &key, quotas.auth_failures, how).await?;
    }
    Err(refused)
}

impl FromRequestParts<AppState> for Auth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &AppState) -> Result<Self, Self::Rejection> {
        if let Some(auth) = parts.extensions.get::<Auth>() {
            return Ok(auth.clone());
        }
        let ctx = Ctx::of(parts)?;
        let token = bearer(parts)?;
        let log = parts.extensions.get::<LogContext>().cloned();
        let authenticated = authenticate(parts, &ctx, log.as_ref(), token).await?;
        let caller = authenticated.caller;
        if let Some(log) = &log {
            log.set_principal(&caller.principal());
        }
        if !matches!(parts.method, Method::GET | Method::HEAD) && !caller.may_write() {
            return Err(ApiError::Forbidden("this API key has only the `read` scope".to_owned()));
        }
        if let Some(quotas) = ctx.ports.settings.rate_limits {
            let key = format!("principal:{}", caller.principal());
            limits::enforce(
                &ctx,
                log.as_ref(),
                "principal",
                &key,
                quotas.principal,
                (Counting::Leased, OnError::FailOpen),
            )
            .await?;
        }
        let auth = Auth { ctx: ctx.with_store(authenticated.store), caller };
        parts.extensions.insert(auth.clone());
        Ok(auth)
    }
}

/// A request authenticated by an access token of a login session: API keys may never
/// manage keys, sessions or the password.
pub struct SessionAuth {
    pub ctx: Ctx,
    pub caller: Caller,
    pub sid: SessionId,
}

impl FromRequestParts<AppState> for SessionAuth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let Auth { ctx, caller } = Auth::from_request_parts(parts, state).await?;
        match caller.session().cloned() {
            Some(sid) => Ok(SessionAuth { ctx, caller, sid }),
            None => Err(ApiError::Forbidden(
                "API keys cannot manage API keys, sessions or the password; use an access token".to_owned(),
            )),
        }
    }
}
