//! The error type rendered once as RFC 9457 `application/problem+json`: the status and
//! title of each class, and the body (the request middleware adds the request id).

use axum::response::{IntoResponse, Response};
use http::{HeaderValue, StatusCode};
use serde::Serialize;
use utoipa::ToSchema;

pub use crate::error::{ApiError, FieldError};

/// The problem types: (slug, title, status). One stable `type` per class.
pub const PROBLEM_TYPES: &[(&str, &str, u16)] = &[
    ("validation", "Request validation failed", 422),
    ("malformed", "Malformed request", 400),
    ("unauthenticated", "Authentication required", 401),
    ("forbidden", "Forbidden", 403),
    ("not-found", "Not found", 404),
    ("method-not-allowed", "Method not allowed", 405),
    ("conflict", "Conflict", 409),
    ("account-exists", "An account with this email exists", 409),
    ("invalid-status-transition", "Invalid status transition", 409),
    ("precondition-failed", "Precondition failed", 412),
    ("payload-too-large", "Payload too large", 413),
    ("unsupported-media-type", "Unsupported media type", 415),
    ("rate-limited", "Too many requests", 429),
    ("internal", "Internal server error", 500),
    ("unavailable", "Service unavailable", 503),
];

/// Prefix of every problem `type` URI; the slug follows.
pub const PROBLEM_TYPE_BASE: &str = "https://taskapi.dev/problems/";

/// The `type` of a problem in the document: any URI (RFC 9457 lets a server add types, so
/// clients must accept others), with the known ones of [`PROBLEM_TYPES`] documented as
/// examples rather than a closed enumeration.
pub struct ProblemType;

impl ProblemType {
    /// The `type` URI of every known problem class.
    pub fn known() -> Vec<String> {
        PROBLEM_TYPES.iter().map(|(slug, _, _)| format!("{PROBLEM_TYPE_BASE}{slug}")).collect()
    }
}

impl utoipa::PartialSchema for ProblemType {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ObjectBuilder, SchemaFormat, Type};
        let known = Self::known();
        let list = known.iter().map(|u| format!("`{u}`")).collect::<Vec<_>>().join(", ");
        ObjectBuilder::new()
            .schema_type(Type::String)
            .format(Some(SchemaFormat::Custom("uri".to_owned())))
            .description(Some(format!("One URI per class of error; clients must accept others. Known: {list}.")))
            .examples(known)
            .into()
    }
}

impl ToSchema for ProblemType {}

/// The body of a problem response. `request_id` is filled in by the request middleware.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Problem {
    // URI of the problem type, e.g. `https://taskapi.dev/problems/validation`; any URI
    // (the schema `ProblemType` documents the known ones).
    #[serde(rename = "type")]
    #[schema(value_type = ProblemType)]
    pub type_uri: String,
    pub title: String,
    // The HTTP status: problems are only ever errors.
    #[schema(minimum = 400, maximum = 599)]
    pub status: u16,
    pub detail: String,
    /// The request id, also in the `X-Request-Id` header and the log line.
    pub request_id: String,
    /// Per-field details (validation problems only).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub errors: Option<Vec<FieldError>>,
}

fn class(slug: &str) -> Option<&'static (&'static str, &'static str, u16)> {
    PROBLEM_TYPES.iter().find(|(s, _, _)| *s == slug)
}

/// The HTTP status of an error.
pub fn status(e: &ApiError) -> StatusCode {
    class(e.slug()).and_then(|(_, _, c)| StatusCode::from_u16(*c).ok()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

/// The public problem body of an error (without the request id).
pub fn to_problem(e: &ApiError) -> Problem {
    let slug = e.slug();
    Problem {
        type_uri: format!("{PROBLEM_TYPE_BASE}{slug}"),
        title: class(slug).map_or("Error", |(_, t, _)| *t).to_owned(),
        status: status(e).as_u16(),
        detail: e.detail(),
        request_id: String::new(),
        errors: match e {
            ApiError::Validation(errs) => Some(errs.clone()),
            _ => None,
        },
    }
}

/// The challenge of a 401 without a credential (RFC 6750 §3).
pub const WWW_AUTHENTICATE_BEARER: &str = "Bearer realm=\"taskapi\"";
/// The challenge of a 401 for a credential that was presented and refused.
pub const WWW_AUTHENTICATE_INVALID_TOKEN: &str = "Bearer realm=\"taskapi\", error=\"invalid_token\"";

/// Marker placed in response extensions; the request middleware renders the body,
/// because only it knows the request id.
#[derive(Debug, Clone)]
pub struct ProblemMarker(pub ApiError);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut res = status(&self).into_response();
        if let ApiError::RateLimited { retry_after_secs } = &self {
            if let Ok(v) = HeaderValue::from_str(&retry_after_secs.to_string()) {
                res.headers_mut().insert(http::header::RETRY_AFTER, v);
            }
        }
        // RFC 6750 §3: every 401 names the scheme; `invalid_token` when one was presented.
        let challenge = match &self {
            ApiError::Unauthenticated(_) => Some(WWW_AUTHENTICATE_BEARER),
            ApiError::InvalidToken(_) => Some(WWW_AUTHENTICATE_INVALID_TOKEN),
            _ => None,
        };
        if let Some(c) = challenge {
            res.headers_mut().insert(http::header::WWW_AUTHENTICATE, HeaderValue::from_static(c));
        }
        res.extensions_mut().insert(ProblemMarker(self));
        res
    }
}

/// Renders a problem body with its request id.
pub fn render(problem: &mut Problem, request_id: &str) -> Response {
    problem.request_id = request_id.to_owned();
    let body = serde_json::to_vec(problem).unwrap_or_default();
    let mut res = Response::new(axum::body::Body::from(body));
    *res.status_mut() = StatusCode::from_u16(problem.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    res.headers_mut().insert(http::header::CONTENT_TYPE, HeaderValue::from_static("application/problem+json"));
    res
}
