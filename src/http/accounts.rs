//! Routes of the Authentication section: accounts and sessions.

use axum::response::{IntoResponse, Response};
use axum::Json;
use http::{header, HeaderMap, HeaderValue, StatusCode};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::auth::{Auth, SessionAuth};
use super::extract::{JsonBody, OptionalJsonBody};
use super::limits::AuthIpLimit;
use super::state::Ctx;
use crate::auth::{cookie, SessionMode};
use crate::domain::user::{DisplayName, Email, Password, User};
use crate::error::{ApiError, Errors};
use crate::service::accounts::{self, TokenResponse};

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisterRequest {
    #[schema(example = "ada@example.com")]
    pub email: String,
    /// 10–128 characters.
    #[schema(format = Password, example = "correct horse battery staple")]
    pub password: String,
    /// 1–100 characters.
    #[schema(example = "Ada Lovelace")]
    pub name: String,
    /// `token` (default): the refresh token in the body; `cookie`: in the `__Host-refresh`
    /// cookie (HttpOnly), for browser apps.
    pub session: Option<SessionMode>,
}

impl RegisterRequest {
    /// The contract's field rules, as the server applies them (also exported to clients
    /// by the `taskapi-validate` wasm package).
    ///
    /// # Errors
    /// `Validation` with every failing field.
    pub fn validate(&self) -> Result<(Email, Password, DisplayName), ApiError> {
        let mut errs = Errors::default();
        let email = errs.check(Email::parse("email", &self.email));
        let password = errs.check(Password::parse("password", &self.password));
        let name = errs.check(DisplayName::parse("name", &self.name));
        errs.finish(email.zip(password).zip(name).map(|((e, p), n)| (e, p, n)))
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RegisterResponse {
    #[serde(flatten)]
    pub tokens: TokenResponse,
    pub user: User,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    #[schema(format = Email, example = "ada@example.com")]
    pub email: String,
    #[schema(format = Password, example = "correct horse battery staple")]
    pub password: String,
    /// `token` (default) or `cookie` (the refresh token in the `__Host-refresh` cookie).
    pub session: Option<SessionMode>,
}

/// The body of a refresh; leave it out (or send `{}`) to use the `__Host-refresh` cookie.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefreshRequest {
    pub refresh_token: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateMeRequest {
    #[schema(example = "Ada King")]
    pub name: String,
}

impl UpdateMeRequest {
    /// # Errors
    /// `Validation` when the name breaks its rules.
    pub fn validate(&self) -> Result<DisplayName, ApiError> {
        Ok(DisplayName::parse("name", &self.name)?)
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangePasswordRequest {
    #[schema(format = Password)]
    pub current_password: String,
    #[schema(format = Password)]
    pub new_password: String,
    /// Keep the account's API keys; by default a password change deletes them all.
    pub keep_api_keys: Option<bool>,
}

/// The optional body of `POST /v1/auth/logout-all`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LogoutAllRequest {
    /// Keep the account's API keys; by default signing out everywhere deletes them all.
    pub keep_api_keys: Option<bool>,
}

impl ChangePasswordRequest {
    /// The new password's rules (the current one is checked against the account).
    ///
    /// # Errors
    /// `Validation` when the new password breaks its rules.
    pub fn validate(&self) -> Result<Password, ApiError> {
        Ok(Password::parse("new_password", &self.new_password)?)
    }
}

/// Create an account; returns tokens for its first session.
#[utoipa::path(post, path = "/v1/auth/register", tag = "auth", operation_id = "register",
    security(),
    request_body = RegisterRequest,
    responses(
        (status = 201, description = "Account created, signed in (in cookie mode the refresh token is in `Set-Cookie`)", body = RegisterResponse,
            headers(("Set-Cookie" = String, description = "`__Host-refresh` in cookie mode"))),
        (status = 409, description = "The email is taken (case-insensitively)", body = super::Problem),
    ))]
pub async fn register(
    ctx: Ctx,
    _limit: AuthIpLimit,
    JsonBody(req): JsonBody<RegisterRequest>,
) -> Result<Response, ApiError> {
    let (email, password, name) = req.validate()?;
    let (user, tokens) = accounts::register(&ctx.ports, email, password, name).await?;
    Ok(signed_in(StatusCode::CREATED, tokens, Some(user), req.session.unwrap_or(SessionMode::Token)))
}

/// A signed-in answer: the token response (with the user when given); in cookie mode the
/// refresh token goes into the `__Host-refresh` cookie instead of the body.
pub fn signed_in(status: StatusCode, mut tokens: TokenResponse, user: Option<User>, mode: SessionMode) -> Response {
    let cookie = match (mode, tokens.refresh_token.take()) {
        (SessionMode::Cookie, Some(rt)) => Some(cookie::set_refresh(&rt, tokens.refresh_expires_in)),
        (_, rt) => {
            tokens.refresh_token = rt;
            None
        }
    };
    let mut res = match user {
        Some(user) => (status, Json(RegisterResponse { tokens, user })).into_response(),
        None => (status, Json(tokens)).into_response(),
    };
    if let Some(c) = cookie.and_then(|c| HeaderValue::from_str(&c).ok()) {
        res.headers_mut().append(header::SET_COOKIE, c);
    }
    res
}

fn clear_cookie(mut res: Response) -> Response {
    if let Ok(c) = HeaderValue::from_str(&cookie::clear_refresh()) {
        res.headers_mut().append(header::SET_COOKIE, c);
    }
    res
}

/// A request authenticated by the refresh cookie must come from an allowed origin and be
/// sent as JSON (which a cross-site form cannot do without a CORS preflight).
fn check_cookie_request(headers: &HeaderMap, allowed: &[String]) -> Result<(), ApiError> {
    let origin = headers.get(header::ORIGIN).and_then(|o| o.to_str().ok());
    if !origin.is_some_and(|o| allowed.iter().any(|a| a == o)) {
        return Err(ApiError::Forbidden(
            "a refresh with the session cookie must come from an allowed origin (the Origin header)".to_owned(),
        ));
    }
    let json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("application/json"));
    if !json {
        return Err(ApiError::Forbidden(
            "a refresh with the session cookie must be sent with `Content-Type: application/json`".to_owned(),
        ));
    }
    Ok(())
}

/// Sign in with email and password.
#[utoipa::path(post, path = "/v1/auth/login", tag = "auth", operation_id = "login",
    security(),
    request_body = LoginRequest,
    responses(
        (status = 200, description = "Signed in (in cookie mode the refresh token is in `Set-Cookie`, not the body)", body = TokenResponse,
            headers(("Set-Cookie" = String, description = "`__Host-refresh` in cookie mode"))),
        (status = 401, description = "Unknown email or wrong password (indistinguishable)", body = super::Problem),
    ))]
pub async fn login(ctx: Ctx, _limit: AuthIpLimit, JsonBody(req): JsonBody<LoginRequest>) -> Result<Response, ApiError> {
    let tokens = accounts::login(&ctx.ports, &req.email, &req.password).await?;
    Ok(signed_in(StatusCode::OK, tokens, None, req.session.unwrap_or(SessionMode::Token)))
}

/// Exchange a refresh token for new tokens. The presented token dies; presenting it
/// again revokes the whole session.
#[utoipa::path(post, path = "/v1/auth/refresh", tag = "auth", operation_id = "refresh",
    security(),
    request_body(content = Option<RefreshRequest>, description = "`{\"refresh_token\": …}`; leave the body out to use the `__Host-refresh` cookie"),
    params(("__Host-refresh" = Option<String>, Cookie, description = "The refresh token of a cookie session, used when the body has no refresh token")),
    responses(
        (status = 200, description = "New tokens (with the cookie: a new cookie, and no refresh token in the body)", body = TokenResponse,
            headers(("Set-Cookie" = String, description = "The rotated `__Host-refresh` in cookie mode"))),
        (status = 401, description = "Invalid, expired, revoked or already-used refresh token (a failing cookie is cleared)", body = super::Problem),
        (status = 403, description = "A cookie refresh without an allowed `Origin` or without `Content-Type: application/json`", body = super::Problem),
    ))]
pub async fn refresh(
    ctx: Ctx,
    _limit: AuthIpLimit,
    headers: HeaderMap,
    OptionalJsonBody(req): OptionalJsonBody<RefreshRequest>,
) -> Result<Response, ApiError> {
    if let Some(rt) = req.refresh_token {
        let tokens = accounts::refresh(&ctx.ports, &rt).await?;
        return Ok(signed_in(StatusCode::OK, tokens, None, SessionMode::Token));
    }
    let from_cookie = cookie::refresh_from(headers.get_all(header::COOKIE).iter().filter_map(|v| v.to_str().ok()));
    let Some(rt) = from_cookie else {
        return Err(ApiError::Unauthenticated(
            "no refresh token: send `refresh_token`, or the `__Host-refresh` cookie of a cookie session".to_owned(),
        ));
    };
    check_cookie_request(&headers, &ctx.ports.settings.cors_allowed_origins)?;
    match accounts::refresh(&ctx.ports, rt).await {
        Ok(tokens) => Ok(signed_in(StatusCode::OK, tokens, None, SessionMode::Cookie)),
        // A cookie that no longer works is removed.
        Err(e) => Ok(clear_cookie(e.into_response())),
    }
}

/// End this session: its refresh token dies at once; its access tokens expire on their own.
#[utoipa::path(post, path = "/v1/auth/logout", tag = "auth", operation_id = "logout",
    security(("accessToken" = [])),
    responses(
        (status = 204, description = "Signed out (the `__Host-refresh` cookie is cleared)",
            headers(("Set-Cookie" = String, description = "Clears `__Host-refresh`"))),
        (status = 403, description = "API keys cannot manage sessions", body = super::Problem),
    ))]
pub async fn logout(s: SessionAuth) -> Result<Response, ApiError> {
    accounts::logout(&s.ctx.ports, &s.caller.user_id, &s.sid).await?;
    Ok(clear_cookie(StatusCode::NO_CONTENT.into_response()))
}

/// End every session of the caller and, unless `keep_api_keys` is true, delete every API
/// key of the account (the body is optional).
#[utoipa::path(post, path = "/v1/auth/logout-all", tag = "auth", operation_id = "logoutAll",
    security(("accessToken" = [])),
    request_body(content = Option<LogoutAllRequest>, description = "Optional; `{\"keep_api_keys\": true}` keeps the API keys"),
    responses(
        (status = 204, description = "Every session ended (and every API key deleted unless kept; the `__Host-refresh` cookie is cleared)",
            headers(("Set-Cookie" = String, description = "Clears `__Host-refresh`"))),
        (status = 403, description = "API keys cannot manage sessions", body = super::Problem),
    ))]
pub async fn logout_all(
    s: SessionAuth,
    OptionalJsonBody(req): OptionalJsonBody<LogoutAllRequest>,
) -> Result<Response, ApiError> {
    accounts::logout_all(&s.ctx.ports, &s.caller.user_id, req.keep_api_keys.unwrap_or(false)).await?;
    Ok(clear_cookie(StatusCode::NO_CONTENT.into_response()))
}

/// The caller's account.
#[utoipa::path(get, path = "/v1/me", tag = "auth", operation_id = "getMe",
    security(("accessToken" = []), ("apiKey" = [])),
    responses((status = 200, description = "The caller", body = User)))]
pub async fn get_me(a: Auth) -> Result<Json<User>, ApiError> {
    accounts::me(&a.ctx.ports, &a.caller).await.map(Json)
}

/// Rename the caller.
#[utoipa::path(patch, path = "/v1/me", tag = "auth", operation_id = "updateMe",
    security(("accessToken" = []), ("apiKey" = ["write"])),
    request_body = UpdateMeRequest,
    responses(
        (status = 200, description = "The updated caller", body = User),
        (status = 403, description = "Read-only API key", body = super::Problem),
    ))]
pub async fn update_me(a: Auth, JsonBody(req): JsonBody<UpdateMeRequest>) -> Result<Json<User>, ApiError> {
    let name = req.validate()?;
    accounts::rename(&a.ctx.ports, &a.caller, &name).await.map(Json)
}

/// Change the password; every other session of the caller ends, and every API key is
/// deleted unless `keep_api_keys` is true. A wrong current password counts against the
/// account's failed-password budget (429 when spent).
#[utoipa::path(post, path = "/v1/me/password", tag = "auth", operation_id = "changePassword",
    security(("accessToken" = [])),
    request_body = ChangePasswordRequest,
    responses(
        (status = 204, description = "Changed"),
        (status = 403, description = "Wrong current password, or called with an API key", body = super::Problem),
    ))]
pub async fn change_password(
    s: SessionAuth,
    JsonBody(req): JsonBody<ChangePasswordRequest>,
) -> Result<StatusCode, ApiError> {
    let new = req.validate()?;
    let keep = req.keep_api_keys.unwrap_or(false);
    accounts::change_password(&s.ctx.ports, &s.caller.user_id, &s.sid, (&req.current_password, &new), keep).await?;
    Ok(StatusCode::NO_CONTENT)
}
