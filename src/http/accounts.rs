//! Routes of the Authentication section: accounts, sessions, API keys.

use axum::extract::Path;
use axum::response::{IntoResponse, Response};
use axum::Json;
use http::{header, StatusCode};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::extract::{AuthUser, JsonBody, SessionUser};
use super::limits::AuthIpLimit;
use super::pagination::{page_response, ListQuery, Page, Position};
use super::{ApiError, Ctx};
use crate::domain::user::{parse_name, Email, Password};
use crate::domain::{text, Errors};
use crate::service::accounts::{self, ApiKey, TokenResponse, User};

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisterRequest {
    #[schema(example = "ada@example.com")]
    pub email: String,
    /// 10–128 characters.
    #[schema(example = "correct horse battery staple", min_length = 10, max_length = 128)]
    pub password: String,
    /// 1–100 characters.
    #[schema(example = "Ada Lovelace", min_length = 1, max_length = 100)]
    pub name: String,
}

impl RegisterRequest {
    /// The contract's field rules, as the server applies them (also exported to clients
    /// by the `taskapi-validate` wasm package).
    ///
    /// # Errors
    /// `Validation` with every failing field.
    pub fn validate(&self) -> Result<(Email, Password, String), ApiError> {
        let mut errs = Errors::default();
        let email = errs.check(Email::parse("email", &self.email));
        let password = errs.check(Password::parse("password", &self.password));
        let name = errs.check(parse_name("name", &self.name));
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
    #[schema(example = "ada@example.com")]
    pub email: String,
    #[schema(example = "correct horse battery staple")]
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
    #[schema(example = "Ada King", min_length = 1, max_length = 100)]
    pub name: String,
}

impl UpdateMeRequest {
    /// # Errors
    /// `Validation` when the name breaks its rules.
    pub fn validate(&self) -> Result<String, ApiError> {
        let mut errs = Errors::default();
        let name = errs.check(parse_name("name", &self.name));
        errs.finish(name)
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangePasswordRequest {
    pub current_password: String,
    #[schema(min_length = 10, max_length = 128)]
    pub new_password: String,
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

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateApiKeyRequest {
    /// 1–100 characters.
    #[schema(example = "CI pipeline")]
    pub name: String,
    /// Non-empty subset of `read`, `write` (`write` implies read).
    #[schema(example = json!(["read"]))]
    pub scopes: Vec<String>,
    /// 1–365; omitted or `null` means the key does not expire.
    #[schema(example = 90, minimum = 1, maximum = 365)]
    #[serde(default, deserialize_with = "super::projects::integer")]
    pub expires_in_days: Option<i64>,
}

impl CreateApiKeyRequest {
    /// The name and the scopes (deduplicated, sorted); `expires_in_days` within 1–365.
    ///
    /// # Errors
    /// `Validation` with every failing field.
    pub fn validate(&self) -> Result<(String, Vec<String>), ApiError> {
        let mut errs = Errors::default();
        let name = errs.check(text("name", crate::domain::trim_line(&self.name), 1, 100, false));
        let mut scopes: Vec<String> = Vec::new();
        if self.scopes.is_empty() {
            errs.0.push(super::FieldError::new(
                "scopes",
                "required",
                "needs at least one of `read`, `write`",
            ));
        }
        for (i, s) in self.scopes.iter().enumerate() {
            if s != "read" && s != "write" {
                errs.0.push(super::FieldError::new(
                    format!("scopes[{i}]"),
                    "invalid",
                    "must be `read` or `write`",
                ));
            } else if !scopes.contains(s) {
                scopes.push(s.clone());
            }
        }
        scopes.sort();
        if self.expires_in_days.is_some_and(|d| !(1..=365).contains(&d)) {
            errs.0.push(super::FieldError::new(
                "expires_in_days",
                "out_of_range",
                "must be from 1 to 365",
            ));
        }
        errs.finish(name.map(|n| (n, scopes)))
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedApiKey {
    #[serde(flatten)]
    pub api_key: ApiKey,
    /// The secret, shown this once: send as `Authorization: Bearer tm_...`.
    #[schema(example = "tm_Zx81Qa3v0c9b6nH2kTq5yW7eR1uI4oP8aS6dF0gJ2lX")]
    pub key: String,
}

/// Create an account; returns tokens for its first session.
#[utoipa::path(post, path = "/v1/auth/register", tag = "auth", operation_id = "register",
    request_body = RegisterRequest,
    responses(
        (status = 429, description = "Too many requests from this client address (or, for login, failures for this account)", body = crate::http::Problem, content_type = "application/problem+json",
            headers(("Retry-After" = u64, description = "Seconds to wait"), ("RateLimit-Policy" = String, description = "Policy, e.g. `\"auth-ip\";q=10;w=60`"), ("RateLimit" = String, description = "State, e.g. `\"auth-ip\";r=0;t=42`"))),
        (status = 201, description = "Account created, signed in", body = RegisterResponse),
        (status = 400, description = "Malformed JSON", body = crate::http::Problem, content_type = "application/problem+json"),
        (status = 409, description = "The email is taken (case-insensitively)", body = crate::http::Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body over 64 KiB", body = crate::http::Problem, content_type = "application/problem+json"),
        (status = 415, description = "Body is not application/json", body = crate::http::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields", body = crate::http::Problem, content_type = "application/problem+json"),
    ))]
pub async fn register(
    Ctx(state): Ctx,
    _limit: AuthIpLimit,
    JsonBody(req): JsonBody<RegisterRequest>,
) -> Result<Response, ApiError> {
    let (email, password, name) = req.validate()?;
    let (user, tokens) = accounts::register(&state.ports, email, password, name).await?;
    Ok((StatusCode::CREATED, Json(RegisterResponse { tokens, user })).into_response())
}

/// Sign in with email and password.
#[utoipa::path(post, path = "/v1/auth/login", tag = "auth", operation_id = "login",
    request_body = LoginRequest,
    responses(
        (status = 429, description = "Too many requests from this client address (or, for login, failures for this account)", body = crate::http::Problem, content_type = "application/problem+json",
            headers(("Retry-After" = u64, description = "Seconds to wait"), ("RateLimit-Policy" = String, description = "Policy, e.g. `\"auth-ip\";q=10;w=60`"), ("RateLimit" = String, description = "State, e.g. `\"auth-ip\";r=0;t=42`"))),
        (status = 200, description = "Signed in", body = TokenResponse),
        (status = 401, description = "Unknown email or wrong password (indistinguishable)", body = crate::http::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields", body = crate::http::Problem, content_type = "application/problem+json"),
    ))]
pub async fn login(
    Ctx(state): Ctx,
    _limit: AuthIpLimit,
    JsonBody(req): JsonBody<LoginRequest>,
) -> Result<Json<TokenResponse>, ApiError> {
    accounts::login(&state.ports, &req.email, &req.password).await.map(Json)
}

/// Exchange a refresh token for new tokens. The presented token dies; presenting it
/// again revokes the whole session.
#[utoipa::path(post, path = "/v1/auth/refresh", tag = "auth", operation_id = "refresh",
    request_body = RefreshRequest,
    responses(
        (status = 429, description = "Too many requests from this client address (or, for login, failures for this account)", body = crate::http::Problem, content_type = "application/problem+json",
            headers(("Retry-After" = u64, description = "Seconds to wait"), ("RateLimit-Policy" = String, description = "Policy, e.g. `\"auth-ip\";q=10;w=60`"), ("RateLimit" = String, description = "State, e.g. `\"auth-ip\";r=0;t=42`"))),
        (status = 200, description = "New tokens", body = TokenResponse),
        (status = 401, description = "Invalid, expired, revoked or already-used refresh token", body = crate::http::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields", body = crate::http::Problem, content_type = "application/problem+json"),
    ))]
pub async fn refresh(
    Ctx(state): Ctx,
    _limit: AuthIpLimit,
    JsonBody(req): JsonBody<RefreshRequest>,
) -> Result<Json<TokenResponse>, ApiError> {
    accounts::refresh(&state.ports, &req.refresh_token).await.map(Json)
}

/// End this session: its refresh token dies at once; its access tokens expire on their own.
#[utoipa::path(post, path = "/v1/auth/logout", tag = "auth", operation_id = "logout",
    security(("accessToken" = [])),
    responses(
        (status = 204, description = "Signed out"),
        (status = 401, description = "Not authenticated", body = crate::http::Problem, content_type = "application/problem+json"),
        (status = 403, description = "API keys cannot manage sessions", body = crate::http::Problem, content_type = "application/problem+json"),
    ))]
pub async fn logout(Ctx(state): Ctx, user: SessionUser) -> Result<StatusCode, ApiError> {
    accounts::logout(&state.ports, &user.user_id, &user.sid).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// End every session of the caller.
#[utoipa::path(post, path = "/v1/auth/logout-all", tag = "auth", operation_id = "logoutAll",
    security(("accessToken" = [])),
    responses(
        (status = 204, description = "Every session ended"),
        (status = 401, description = "Not authenticated", body = crate::http::Problem, content_type = "application/problem+json"),
        (status = 403, description = "API keys cannot manage sessions", body = crate::http::Problem, content_type = "application/problem+json"),
    ))]
pub async fn logout_all(Ctx(state): Ctx, user: SessionUser) -> Result<StatusCode, ApiError> {
    accounts::logout_all(&state.ports, &user.user_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The caller's account.
#[utoipa::path(get, path = "/v1/me", tag = "auth", operation_id = "getMe",
    security(("accessToken" = []), ("apiKey" = [])),
    responses(
        (status = 200, description = "The caller", body = User),
        (status = 401, description = "Not authenticated", body = crate::http::Problem, content_type = "application/problem+json"),
    ))]
pub async fn get_me(Ctx(state): Ctx, user: AuthUser) -> Result<Json<User>, ApiError> {
    accounts::me(&state.ports, &user.user_id).await.map(Json)
}

/// Rename the caller.
#[utoipa::path(patch, path = "/v1/me", tag = "auth", operation_id = "updateMe",
    security(("accessToken" = []), ("apiKey" = ["write"])),
    request_body = UpdateMeRequest,
    responses(
        (status = 200, description = "The updated caller", body = User),
        (status = 401, description = "Not authenticated", body = crate::http::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Read-only API key", body = crate::http::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields", body = crate::http::Problem, content_type = "application/problem+json"),
    ))]
pub async fn update_me(
    Ctx(state): Ctx,
    user: AuthUser,
    JsonBody(req): JsonBody<UpdateMeRequest>,
) -> Result<Json<User>, ApiError> {
    let name = req.validate()?;
    accounts::rename(&state.ports, &user.user_id, name).await.map(Json)
}

/// Change the password; every other session of the caller ends.
#[utoipa::path(post, path = "/v1/me/password", tag = "auth", operation_id = "changePassword",
    security(("accessToken" = [])),
    request_body = ChangePasswordRequest,
    responses(
        (status = 204, description = "Changed"),
        (status = 401, description = "Not authenticated", body = crate::http::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Wrong current password, or called with an API key", body = crate::http::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields", body = crate::http::Problem, content_type = "application/problem+json"),
    ))]
pub async fn change_password(
    Ctx(state): Ctx,
    user: SessionUser,
    JsonBody(req): JsonBody<ChangePasswordRequest>,
) -> Result<StatusCode, ApiError> {
    let new = req.validate()?;
    accounts::change_password(&state.ports, &user.user_id, &user.sid, &req.current_password, new).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Create an API key. The secret is in this response only.
#[utoipa::path(post, path = "/v1/api-keys", tag = "auth", operation_id = "createApiKey",
    security(("accessToken" = [])),
    request_body = CreateApiKeyRequest,
    responses(
        (status = 201, description = "Created; `key` is shown this once", body = CreatedApiKey),
        (status = 401, description = "Not authenticated", body = crate::http::Problem, content_type = "application/problem+json"),
        (status = 403, description = "API keys cannot manage API keys", body = crate::http::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Too many keys", body = crate::http::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields", body = crate::http::Problem, content_type = "application/problem+json"),
    ))]
pub async fn create_api_key(
    Ctx(state): Ctx,
    user: SessionUser,
    JsonBody(req): JsonBody<CreateApiKeyRequest>,
) -> Result<Response, ApiError> {
    let (name, scopes) = req.validate()?;
    let (api_key, key) =
        accounts::create_api_key(&state.ports, &user.user_id, name, scopes, req.expires_in_days).await?;
    let location = format!("/v1/api-keys/{}", api_key.id);
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        Json(CreatedApiKey { api_key, key }),
    )
        .into_response())
}

const API_KEY_LIST: &str = "api-keys";

/// The caller's API keys, newest first, without secrets.
#[utoipa::path(get, path = "/v1/api-keys", tag = "auth", operation_id = "listApiKeys",
    security(("accessToken" = [])),
    params(
        ("limit" = Option<u32>, Query, description = "1–100, default 20", minimum = 1, maximum = 100),
        ("cursor" = Option<String>, Query, description = "`next_cursor` of the previous page"),
    ),
    responses(
        (status = 200, description = "One page of keys", body = Page<ApiKey>,
            headers(("Link" = String, description = "`<…>; rel=\"next\"` when there is a next page"))),
        (status = 400, description = "Bad cursor", body = crate::http::Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not authenticated", body = crate::http::Problem, content_type = "application/problem+json"),
        (status = 403, description = "API keys cannot manage API keys", body = crate::http::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Bad limit or unknown parameter", body = crate::http::Problem, content_type = "application/problem+json"),
    ))]
pub async fn list_api_keys(Ctx(state): Ctx, user: SessionUser, uri: http::Uri) -> Result<Response, ApiError> {
    let q = ListQuery::parse(&uri, &[])?;
    let codec = &state.ports.settings.cursor_codec;
    let after = q.cursor.as_deref().map(|c| codec.decode(c, API_KEY_LIST)).transpose()?;
    let (data, more) = accounts::list_api_keys(
        &state.ports,
        &user.user_id,
        after.as_ref().map(|p| p.id.as_str()),
        q.limit,
    )
    .await?;
    let next_cursor = match (more, data.last()) {
        (true, Some(last)) => Some(codec.encode(&Position {
            list: API_KEY_LIST.to_owned(),
            key: serde_json::Value::Null,
            id: last.id.clone(),
        })),
        _ => None,
    };
    Ok(page_response(&uri, data, next_cursor))
}

/// Delete an API key; it stops working at once.
#[utoipa::path(delete, path = "/v1/api-keys/{id}", tag = "auth", operation_id = "deleteApiKey",
    security(("accessToken" = [])),
    params(("id" = String, Path, description = "API key id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, description = "Not authenticated", body = crate::http::Problem, content_type = "application/problem+json"),
        (status = 403, description = "API keys cannot manage API keys", body = crate::http::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such key of the caller", body = crate::http::Problem, content_type = "application/problem+json"),
    ))]
pub async fn delete_api_key(
    Ctx(state): Ctx,
    user: SessionUser,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    accounts::delete_api_key(&state.ports, &user.user_id, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
