//! Routes of API keys: create (the secret shown once), list, delete.

use axum::extract::Path;
use axum::response::{IntoResponse, Response};
use axum::Json;
use http::{header, StatusCode};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::auth::SessionAuth;
use super::extract::JsonBody;
use super::pagination::{Cursors, ListQuery, Page};
use crate::domain::ids::ApiKeyId;
use crate::domain::user::{ApiKey, ApiKeyName, ApiKeyScopes};
use crate::error::{ApiError, Errors, FieldError};
use crate::service::api_keys;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateApiKeyRequest {
    /// The caller's current password: a key outlives the session, so minting one needs
    /// more than an access token. A wrong one counts against the failed-password budget.
    #[schema(format = Password)]
    pub password: String,
    /// 1–100 characters.
    #[schema(example = "CI pipeline")]
    pub name: String,
    /// Non-empty subset of `read`, `write` (`write` implies read).
    #[schema(example = json!(["read"]))]
    pub scopes: Vec<String>,
    /// 1–365; omitted or `null` means the key does not expire.
    #[schema(example = 90, minimum = 1, maximum = 365)]
    #[serde(default, deserialize_with = "super::extract::integer")]
    pub expires_in_days: Option<i64>,
}

impl CreateApiKeyRequest {
    /// The name, the scopes (deduplicated, sorted), `expires_in_days` within 1–365.
    ///
    /// # Errors
    /// `Validation` with every failing field.
    pub fn validate(&self) -> Result<(ApiKeyName, ApiKeyScopes), ApiError> {
        let mut errs = Errors::default();
        let name = errs.check(ApiKeyName::parse("name", &self.name));
        let scopes = ApiKeyScopes::parse("scopes", &self.scopes).map_err(|e| errs.extend(e)).ok();
        if self.expires_in_days.is_some_and(|d| !(1..=365).contains(&d)) {
            errs.push(FieldError::new("expires_in_days", "out_of_range", "must be from 1 to 365"));
        }
        errs.finish(name.zip(scopes))
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

/// Create an API key (needs the caller's password). The secret is in this response only.
#[utoipa::path(post, path = "/v1/api-keys", tag = "auth", operation_id = "createApiKey",
    security(("accessToken" = [])),
    request_body = CreateApiKeyRequest,
    responses(
        (status = 201, description = "Created; `key` is shown this once", body = CreatedApiKey),
        (status = 403, description = "Wrong password, or called with an API key", body = super::Problem),
        (status = 409, description = "Too many keys", body = super::Problem),
    ))]
pub async fn create_api_key(
    s: SessionAuth,
    JsonBody(req): JsonBody<CreateApiKeyRequest>,
) -> Result<Response, ApiError> {
    let (name, scopes) = req.validate()?;
    let (api_key, key) = api_keys::create(
        &s.ctx.ports,
        &s.caller.user_id,
        s.caller.session(),
        &req.password,
        name,
        scopes,
        req.expires_in_days,
    )
    .await?;
    let location = format!("/v1/api-keys/{}", api_key.id);
    Ok((StatusCode::CREATED, [(header::LOCATION, location)], Json(CreatedApiKey { api_key, key })).into_response())
}

/// The caller's API keys, newest first, without secrets.
#[utoipa::path(get, path = "/v1/api-keys", tag = "auth", operation_id = "listApiKeys",
    security(("accessToken" = [])),
    responses(
        (status = 200, description = "One page of keys", body = Page<ApiKey>,
            headers(("Link" = String, description = "`<…>; rel=\"next\"` when there is a next page"))),
        (status = 403, description = "API keys cannot manage API keys", body = super::Problem),
    ))]
pub async fn list_api_keys(s: SessionAuth, uri: http::Uri) -> Result<Response, ApiError> {
    let q = ListQuery::parse(&uri, &[])?;
    let cursors = Cursors::new(s.ctx.cursors(), "api-keys");
    let after = cursors.after(&q)?;
    let (data, more) =
        api_keys::list(&s.ctx.ports, &s.caller.user_id, after.as_ref().map(|p| p.id.as_str()), q.limit).await?;
    Ok(cursors.page_by_id(&uri, data, more, |k| k.id.to_string()))
}

/// Delete an API key; it stops working at once.
#[utoipa::path(delete, path = "/v1/api-keys/{id}", tag = "auth", operation_id = "deleteApiKey",
    security(("accessToken" = [])),
    params(("id" = String, Path, description = "API key id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 403, description = "API keys cannot manage API keys", body = super::Problem),
        (status = 404, description = "No such key of the caller", body = super::Problem),
    ))]
pub async fn delete_api_key(s: SessionAuth, Path(id): Path<ApiKeyId>) -> Result<StatusCode, ApiError> {
    api_keys::delete(&s.ctx.ports, &s.caller.user_id, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
