//! The OpenAPI 3.1 document, generated from the handlers' and types' annotations.

use axum::{extract::State, response::IntoResponse};
use http::{header, HeaderValue};
use utoipa::OpenApi;

use super::AppState;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Task API",
        description = "Task-management REST API served from WebAssembly on Cloudflare Workers and Spin. \
Errors are RFC 9457 problem documents (`application/problem+json`) whose `type` is \
`https://taskapi.dev/problems/{slug}` with one slug per class: validation (422), malformed (400), \
unauthenticated (401), forbidden (403), not-found (404), method-not-allowed (405), conflict (409), \
invalid-status-transition (409), precondition-failed (412), payload-too-large (413), \
unsupported-media-type (415), rate-limited (429), internal (500), unavailable (503). \
Every response carries `X-Request-Id` (the caller's if it is 1-128 chars of `[A-Za-z0-9._-]`, \
else a fresh one) and `X-Content-Type-Options: nosniff`. Unknown paths and unknown API versions \
(anything outside `/v1`) are 404 problems.",
        license(name = "MIT OR Apache-2.0")
    ),
    servers((url = "/", description = "This host")),
    components(schemas(super::Problem, super::FieldError)),
    modifiers(&SecuritySchemes),
    tags(
        (name = "operations", description = "Health and API description"),
        (name = "auth", description = "Accounts, sessions (JWT access tokens, rotating refresh tokens) and API keys"),
        (name = "projects", description = "Projects, members and roles (the tenant boundary), and the event log"),
        (name = "tasks", description = "Tasks with the status machine, filters, sorts and keyset pagination")
    )
)]
pub struct ApiDoc;

/// The two ways to authenticate, both as `Authorization: Bearer …`.
struct SecuritySchemes;

impl utoipa::Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "accessToken",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some(
                        "EdDSA-signed access token from register/login/refresh; 15 minutes by default.",
                    ))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "apiKey",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("tm_<key>")
                    .description(Some(
                        "API key `tm_…` from POST /v1/api-keys. Scope `read` allows GET only; `write` allows \
                         everything else too. Keys can never manage keys, sessions or the password.",
                    ))
                    .build(),
            ),
        );
    }
}

/// The OpenAPI 3.1 document of this API.
#[utoipa::path(
    get,
    path = "/v1/openapi.json",
    tag = "operations",
    operation_id = "getOpenApi",
    responses((status = 200, description = "The OpenAPI 3.1 document", content_type = "application/json"))
)]
pub async fn openapi_json(State(state): State<AppState>) -> impl IntoResponse {
    let body = state
        .openapi
        .get_or_init(|| serde_json::to_vec(&*state.openapi_doc).unwrap_or_default().into())
        .clone();
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static("application/json")),
            (header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=300")),
        ],
        body,
    )
}
