//! Routes of the Authentication section: accounts and sessions.

use axum::response::{IntoResponse, Response};
use axum::Json;
use http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::auth::{Auth, SessionAuth};
use super::extract::{JsonBody, OptionalJsonBody};
use super::limits::AuthIpLimit;
use super::state::Ctx;
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
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefreshRequest {
    pub refresh_token: String,
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
        let mut errs = Errors::default();
        let name = errs.check(DisplayName::parse("name", &self.name));
        errs.finish(name)
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
        let mut errs = Errors::default();
        let new = errs.check(Password::parse("new_password", &self.new_password));
        errs.finish(new)
    }
}

/// Create an account; returns tokens for its first session.
#[utoipa::path(post, path = "/v1/auth/register", tag = "auth", operation_id = "register",
    security(),
    request_body = RegisterRequest,
    responses(
        (status = 201, description = "Account created, signed in", body = RegisterResponse),
        (status = 409, description = "The email is taken (case-insensitively)", body = super::Problem),
    ))]
pub async fn register(
    ctx: Ctx,
    _limit: AuthIpLimit,
    JsonBody(req): JsonBody<RegisterRequest>,
) -> Result<Response, ApiError> {
    let (email, password, name) = req.validate()?;
    let (user, tokens) = accounts::register(&ctx.ports, email, password, name).await?;
    Ok((StatusCode::CREATED, Json(RegisterResponse { tokens, user })).into_response())
}

/// Sign in with email and password.
#[utoipa::path(post, path = "/v1/auth/login", tag = "auth", operation_id = "login",
    security(),
    request_body = LoginRequest,
    responses(
        (status = 200, description = "Signed in", body = TokenResponse),
        (status = 401, description = "Unknown email or wrong password (indistinguishable)", body = super::Problem),
    ))]
pub async fn login(
    ctx: Ctx,
    _limit: AuthIpLimit,
    JsonBody(req): JsonBody<LoginRequest>,
) -> Result<Json<TokenResponse>, ApiError> {
    accounts::login(&ctx.ports, &req.email, &req.password).await.map(Json)
}

/// Exchange a refresh token for new tokens. The presented token dies; presenting it
/// again revokes the whole session.
#[utoipa::path(post, path = "/v1/auth/refresh", tag = "auth", operation_id = "refresh",
    security(),
    request_body = RefreshRequest,
    responses(
        (status = 200, description = "New tokens", body = TokenResponse),
        (status = 401, description = "Invalid, expired, revoked or already-used refresh token", body = super::Problem),
    ))]
pub async fn refresh(
    ctx: Ctx,
    _limit: AuthIpLimit,
    JsonBody(req): JsonBody<RefreshRequest>,
) -> Result<Json<TokenResponse>, ApiError> {
    accounts::refresh(&ctx.ports, &req.refresh_token).await.map(Json)
}

/// End this session: its refresh token dies at once; its access tokens expire on their own.
#[utoipa::path(post, path = "/v1/auth/logout", tag = "auth", operation_id = "logout",
    security(("accessToken" = [])),
    responses(
        (status = 204, description = "Signed out"),
        (status = 403, description = "API keys cannot manage sessions", body = super::Problem),
    ))]
pub async fn logout(s: SessionAuth) -> Result<StatusCode, ApiError> {
    accounts::logout(&s.ctx.ports, &s.caller.user_id, &s.sid).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// End every session of the caller and, unless `keep_api_keys` is true, delete every API
/// key of the account (the body is optional).
#[utoipa::path(post, path = "/v1/auth/logout-all", tag = "auth", operation_id = "logoutAll",
    security(("accessToken" = [])),
    request_body(content = Option<LogoutAllRequest>, description = "Optional; `{\"keep_api_keys\": true}` keeps the API keys"),
    responses(
        (status = 204, description = "Every session ended (and every API key deleted unless kept)"),
        (status = 403, description = "API keys cannot manage sessions", body = super::Problem),
    ))]
pub async fn logout_all(
    s: SessionAuth,
    OptionalJsonBody(req): OptionalJsonBody<LogoutAllRequest>,
) -> Result<StatusCode, ApiError> {
    accounts::logout_all(&s.ctx.ports, &s.caller.user_id, req.keep_api_keys.unwrap_or(false)).await?;
    Ok(StatusCode::NO_CONTENT)
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
