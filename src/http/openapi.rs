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
    tags(
        (name = "operations", description = "Health and API description")
    )
)]
pub struct ApiDoc;

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
        .get_or_init(|| {
            serde_json::to_vec(&*state.openapi_doc)
                .unwrap_or_default()
                .into()
        })
        .clone();
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            ),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=300"),
            ),
        ],
        body,
    )
}
