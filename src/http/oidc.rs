//! Routes of "Sign-in with an OpenID Connect provider": the provider list, the redirect to
//! the provider, its callback, the exchange of this API's one-time code, and the caller's
//! linked identities.

use std::collections::BTreeMap;

use axum::extract::Path;
use axum::response::{IntoResponse, Response};
use axum::Json;
use http::{header, HeaderValue, StatusCode};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::auth::SessionAuth;
use super::extract::JsonBody;
use super::limits::AuthIpLimit;
use super::middleware::LogContext;
use super::state::Ctx;
use crate::auth::SessionMode;
use crate::domain::ids::IdentityId;
use crate::error::ApiError;
use crate::service::oidc::{self, CallbackParams, MAX_APP_STATE};
use crate::sql::oidc::Identity;

/// A provider people can sign in with.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProviderSummary {
    /// Names the provider in the sign-in routes.
    #[schema(example = "google")]
    pub id: String,
    /// Shown to people.
    #[schema(example = "Google")]
    pub name: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ProviderList {
    #[schema(max_items = 100)]
    pub data: Vec<ProviderSummary>,
}

/// The configured sign-in providers.
#[utoipa::path(get, path = "/v1/auth/oidc/providers", tag = "oidc", operation_id = "listOidcProviders",
    security(),
    responses((status = 200, description = "The providers, in configuration order", body = ProviderList)))]
pub async fn list_providers(ctx: Ctx) -> Json<ProviderList> {
    let data = ctx.oidc().all().iter().map(|p| ProviderSummary { id: p.id.clone(), name: p.name.clone() }).collect();
    Json(ProviderList { data })
}

/// The query of a request, each name at most once.
fn query(uri: &http::Uri, known: &[&str]) -> Result<BTreeMap<String, String>, ApiError> {
    let mut out = BTreeMap::new();
    for (k, v) in form_urlencoded::parse(uri.query().unwrap_or_default().as_bytes()) {
        if !known.contains(&k.as_ref()) {
            continue; // providers may add parameters (session_state, scope…)
        }
        if out.insert(k.to_string(), v.into_owned()).is_some() {
            return Err(ApiError::Malformed(format!("query parameter `{k}` appears more than once")));
        }
    }
    Ok(out)
}

fn session_mode(value: Option<&str>, field: &str) -> Result<SessionMode, ApiError> {
    match value {
        None => Ok(SessionMode::Token),
        Some(v) => {
            SessionMode::parse(v).ok_or_else(|| ApiError::field(field, "invalid", "must be `token` or `cookie`"))
        }
    }
}

fn app_state(value: Option<&str>, field: &str) -> Result<(), ApiError> {
    match value {
        Some(s) if s.is_empty() || s.len() > MAX_APP_STATE || s.chars().any(char::is_control) => Err(ApiError::field(
            field,
            "invalid",
            &format!("must be 1–{MAX_APP_STATE} characters without control characters"),
        )),
        _ => Ok(()),
    }
}

fn redirect(location: &str) -> Response {
    let mut res = StatusCode::FOUND.into_response();
    if let Ok(v) = HeaderValue::from_str(location) {
        res.headers_mut().insert(header::LOCATION, v);
    }
    // The redirect carries one-time codes: never cached, never leaked as a Referer.
    res.headers_mut().insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    res
}

/// Start signing in: redirects the browser to the provider (authorization code flow with
/// PKCE S256, a one-time `state` valid 10 minutes and a `nonce`).
#[utoipa::path(get, path = "/v1/auth/oidc/{provider}/authorize", tag = "oidc", operation_id = "authorizeOidc",
    security(),
    params(
        ("provider" = String, Path, description = "A provider id from `GET /v1/auth/oidc/providers`"),
        ("redirect_uri" = String, Query, description = "The app URI to come back to; must equal one the provider's configuration allows"),
        ("session" = Option<SessionMode>, Query, description = "`token` (default): the refresh token in the token response; `cookie`: in the `__Host-refresh` cookie"),
        ("state" = Option<String>, Query, description = "The app's own value, handed back unchanged with the result (protects the app against login CSRF)"),
    ),
    responses(
        (status = 302, description = "To the provider's authorization endpoint", headers(("Location" = String, description = "The provider's authorization URL"))),
        (status = 400, description = "`redirect_uri` is not one the provider allows (no open redirect)", body = super::Problem),
        (status = 404, description = "No such provider", body = super::Problem),
        (status = 422, description = "`session` or `state` is invalid", body = super::Problem),
        (status = 503, description = "The provider's discovery document could not be fetched", body = super::Problem),
    ))]
pub async fn authorize(
    ctx: Ctx,
    _limit: AuthIpLimit,
    Path(provider): Path<String>,
    uri: http::Uri,
) -> Result<Response, ApiError> {
    let q = query(&uri, &["redirect_uri", "session", "state"])?;
    let redirect_uri =
        q.get("redirect_uri").ok_or_else(|| ApiError::field("redirect_uri", "required", "is required"))?;
    let mode = session_mode(q.get("session").map(String::as_str), "session")?;
    app_state(q.get("state").map(String::as_str), "state")?;
    let url =
        oidc::start(&ctx.ports, ctx.oidc(), &provider, redirect_uri, mode, q.get("state").map(String::as_str), None)
            .await?;
    Ok(redirect(&url))
}

/// Where the provider sends the browser back. Redirects to the app URI with `?code=` (this
/// API's one-time code, valid 60 s) or `?error=`, plus the app's `state` when it gave one.
/// A missing, unknown, expired or already used `state` is a 400 problem instead.
#[utoipa::path(get, path = "/v1/auth/oidc/{provider}/callback", tag = "oidc", operation_id = "oidcCallback",
    security(),
    params(
        ("provider" = String, Path, description = "The provider id"),
        ("code" = Option<String>, Query, description = "The provider's authorization code"),
        ("state" = Option<String>, Query, description = "The state of the authorization request"),
        ("iss" = Option<String>, Query, description = "The provider's issuer (RFC 9207); checked when present"),
        ("error" = Option<String>, Query, description = "The provider's error code"),
    ),
    responses(
        (status = 302, description = "To the app URI with `code` or `error` (`access_denied`, `invalid_issuer`, `invalid_grant`, `invalid_id_token`, `email_missing`, `temporarily_unavailable`, or the provider's code)", headers(("Location" = String, description = "The app URI with the result"))),
        (status = 400, description = "The state is missing, unknown, expired or already used", body = super::Problem),
        (status = 404, description = "No such provider", body = super::Problem),
    ))]
pub async fn callback(
    ctx: Ctx,
    _limit: AuthIpLimit,
    Path(provider): Path<String>,
    axum::Extension(log): axum::Extension<LogContext>,
    uri: http::Uri,
) -> Result<Response, ApiError> {
    let mut q = query(&uri, &["code", "state", "iss", "error"])?;
    let params = CallbackParams {
        code: q.remove("code"),
        state: q.remove("state"),
        iss: q.remove("iss"),
        error: q.remove("error"),
    };
    let outcome = oidc::callback(&ctx.ports, ctx.oidc(), &provider, params).await?;
    if let Some(why) = &outcome.refusal {
        log.set_refusal(why);
    }
    Ok(redirect(&outcome.location))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OidcTokenRequest {
    /// The `code` the callback gave the app (`oc_…`); works once, for 60 seconds.
    #[schema(example = "oc_Q2hhbmdlIG1lIGluIHRoZSBhcHAgYWZ0ZXIgc2lnbiA")]
    pub code: String,
    /// Overrides the session mode chosen at `authorize`.
    pub session: Option<SessionMode>,
}

/// Exchange this API's one-time sign-in code for a session (token response and the user).
/// The account rules apply here: a linked identity signs its account in; a verified email
/// without an account creates one without a password; an email that has an account is
/// 409 `account-exists` (link from that account instead); an unverified email is 403.
#[utoipa::path(post, path = "/v1/auth/oidc/token", tag = "oidc", operation_id = "exchangeOidcCode",
    security(),
    request_body = OidcTokenRequest,
    responses(
        (status = 200, description = "Signed in (in cookie mode the refresh token is in `Set-Cookie`, not the body)", body = super::accounts::RegisterResponse,
            headers(("Set-Cookie" = String, description = "`__Host-refresh` in cookie mode"))),
        (status = 401, description = "The code is invalid, expired or already used", body = super::Problem),
        (status = 403, description = "The provider has not verified the email", body = super::Problem),
        (status = 409, description = "`account-exists`: the email belongs to another account; `conflict`: the identity to link belongs to another account", body = super::Problem),
    ))]
pub async fn token(
    ctx: Ctx,
    _limit: AuthIpLimit,
    JsonBody(req): JsonBody<OidcTokenRequest>,
) -> Result<Response, ApiError> {
    let signed_in = oidc::exchange(&ctx.ports, &req.code, req.session).await?;
    Ok(super::accounts::signed_in(StatusCode::OK, signed_in.tokens, Some(signed_in.user), signed_in.mode))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct IdentityList {
    #[schema(max_items = 100)]
    pub data: Vec<Identity>,
}

/// The identities linked to the caller's account.
#[utoipa::path(get, path = "/v1/me/identities", tag = "oidc", operation_id = "listIdentities",
    security(("accessToken" = [])),
    responses(
        (status = 200, description = "Linked identities, oldest first", body = IdentityList),
        (status = 403, description = "API keys cannot manage sign-in methods", body = super::Problem),
    ))]
pub async fn list_identities(s: SessionAuth) -> Result<Json<IdentityList>, ApiError> {
    Ok(Json(IdentityList { data: oidc::identities(&s.ctx.ports, &s.caller.user_id).await? }))
}

/// Unlink an identity. Refused while it is the account's last way to sign in.
#[utoipa::path(delete, path = "/v1/me/identities/{id}", tag = "oidc", operation_id = "unlinkIdentity",
    security(("accessToken" = [])),
    params(("id" = String, Path, description = "Identity id")),
    responses(
        (status = 204, description = "Unlinked"),
        (status = 403, description = "API keys cannot manage sign-in methods", body = super::Problem),
        (status = 404, description = "No such identity of the caller", body = super::Problem),
        (status = 409, description = "It is the last way to sign in (no password, no other identity)", body = super::Problem),
    ))]
pub async fn unlink_identity(s: SessionAuth, Path(id): Path<IdentityId>) -> Result<StatusCode, ApiError> {
    oidc::unlink(&s.ctx.ports, &s.caller.user_id, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LinkIdentityRequest {
    /// The app URI to come back to (one the provider's configuration allows).
    #[schema(example = "https://app.example.com/settings/identities")]
    pub redirect_uri: String,
    /// `token` (default) or `cookie`: how the session of the returning code is handed over.
    pub session: Option<SessionMode>,
    /// The app's own value, handed back unchanged.
    pub state: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LinkIdentityResponse {
    /// Send the browser here; it comes back to `redirect_uri` with a code whose exchange
    /// links the identity and signs in.
    pub authorize_url: String,
}

/// Link another identity of the provider `id`: returns the provider URL to send the
/// browser to. The identity that comes back is linked to the caller's account when the app
/// exchanges the code.
#[utoipa::path(post, path = "/v1/me/identities/{id}", tag = "oidc", operation_id = "linkIdentity",
    security(("accessToken" = [])),
    params(("id" = String, Path, description = "The id of the provider to link (the path shares its template with `DELETE /v1/me/identities/{id}`, whose `id` is an identity id)")),
    request_body = LinkIdentityRequest,
    responses(
        (status = 200, description = "Where to send the browser", body = LinkIdentityResponse),
        (status = 400, description = "`redirect_uri` is not one the provider allows", body = super::Problem),
        (status = 403, description = "API keys cannot manage sign-in methods", body = super::Problem),
        (status = 404, description = "No such provider", body = super::Problem),
        (status = 503, description = "The provider's discovery document could not be fetched", body = super::Problem),
    ))]
pub async fn link_identity(
    s: SessionAuth,
    Path(provider): Path<String>,
    JsonBody(req): JsonBody<LinkIdentityRequest>,
) -> Result<Json<LinkIdentityResponse>, ApiError> {
    app_state(req.state.as_deref(), "state")?;
    let mode = req.session.unwrap_or(SessionMode::Token);
    let url = oidc::start(
        &s.ctx.ports,
        s.ctx.oidc(),
        &provider,
        &req.redirect_uri,
        mode,
        req.state.as_deref(),
        Some(&s.caller.user_id),
    )
    .await?;
    Ok(Json(LinkIdentityResponse { authorize_url: url }))
}
