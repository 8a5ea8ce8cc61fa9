//! One error type for the whole API, rendered once as RFC 9457 `application/problem+json`.

use axum::response::{IntoResponse, Response};
use http::{HeaderValue, StatusCode};
use serde::Serialize;
use utoipa::ToSchema;

use crate::store::StoreError;

/// One invalid field of a request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct FieldError {
    /// JSON path of the field (`title`, `labels[3]`), or a parameter name.
    pub field: String,
    /// Machine-readable reason: `required`, `too_long`, `invalid`, `unknown_field`, …
    pub code: String,
    /// Human-readable explanation.
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, code: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            code: code.into(),
            message: message.into(),
        }
    }
}

/// Every failure the API reports. Internal details stay in the log, never in a body.
#[derive(Debug, Clone, PartialEq)]
pub enum ApiError {
    Validation(Vec<FieldError>),
    Malformed(String),
    Unauthenticated(String),
    Forbidden(String),
    NotFound(String),
    MethodNotAllowed,
    Conflict(String),
    InvalidStatusTransition(String),
    PreconditionFailed(String),
    PayloadTooLarge(usize),
    UnsupportedMediaType,
    RateLimited {
        retry_after_secs: u64,
    },
    /// The detail is logged, the body says only "internal error".
    Internal(String),
    /// The detail is logged, the body says only that a dependency is unavailable.
    Unavailable(String),
}

/// The problem types: (slug, title, status). One stable `type` per class.
pub const PROBLEM_TYPES: &[(&str, &str, u16)] = &[
    ("validation", "Request validation failed", 422),
    ("malformed", "Malformed request", 400),
    ("unauthenticated", "Authentication required", 401),
    ("forbidden", "Forbidden", 403),
    ("not-found", "Not found", 404),
    ("method-not-allowed", "Method not allowed", 405),
    ("conflict", "Conflict", 409),
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

/// The body of a problem response. `request_id` is filled in by the request middleware.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Problem {
    /// URI of the problem type, e.g. `https://taskapi.dev/problems/validation`.
    #[serde(rename = "type")]
    pub type_uri: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// The request id, also in the `X-Request-Id` header and the log line.
    pub request_id: String,
    /// Per-field details (validation problems only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub errors: Option<Vec<FieldError>>,
}

impl ApiError {
    pub fn slug(&self) -> &'static str {
        match self {
            ApiError::Validation(_) => "validation",
            ApiError::Malformed(_) => "malformed",
            ApiError::Unauthenticated(_) => "unauthenticated",
            ApiError::Forbidden(_) => "forbidden",
            ApiError::NotFound(_) => "not-found",
            ApiError::MethodNotAllowed => "method-not-allowed",
            ApiError::Conflict(_) => "conflict",
            ApiError::InvalidStatusTransition(_) => "invalid-status-transition",
            ApiError::PreconditionFailed(_) => "precondition-failed",
            ApiError::PayloadTooLarge(_) => "payload-too-large",
            ApiError::UnsupportedMediaType => "unsupported-media-type",
            ApiError::RateLimited { .. } => "rate-limited",
            ApiError::Internal(_) => "internal",
            ApiError::Unavailable(_) => "unavailable",
        }
    }

    pub fn status(&self) -> StatusCode {
        let code = PROBLEM_TYPES
            .iter()
            .find(|(s, _, _)| *s == self.slug())
            .map_or(500, |(_, _, c)| *c);
        StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    /// What the log gets beyond the public body: the hidden cause of a 5xx.
    pub fn log_detail(&self) -> Option<&str> {
        match self {
            ApiError::Internal(d) | ApiError::Unavailable(d) => Some(d),
            _ => None,
        }
    }

    /// The public problem body (without the request id, which the middleware adds).
    pub fn to_problem(&self) -> Problem {
        let slug = self.slug();
        let title = PROBLEM_TYPES
            .iter()
            .find(|(s, _, _)| *s == slug)
            .map_or("Error", |(_, t, _)| *t);
        let detail = match self {
            ApiError::Validation(errs) => {
                format!("{} field(s) are invalid; see `errors`", errs.len())
            }
            ApiError::Malformed(d)
            | ApiError::Unauthenticated(d)
            | ApiError::Forbidden(d)
            | ApiError::NotFound(d)
            | ApiError::Conflict(d)
            | ApiError::InvalidStatusTransition(d)
            | ApiError::PreconditionFailed(d) => d.clone(),
            ApiError::MethodNotAllowed => "this method is not allowed on this resource".to_owned(),
            ApiError::PayloadTooLarge(max) => format!("request body exceeds {max} bytes"),
            ApiError::UnsupportedMediaType => {
                "request body must be sent as `Content-Type: application/json`".to_owned()
            }
            ApiError::RateLimited { retry_after_secs } => {
                format!("rate limit exceeded; retry after {retry_after_secs} s")
            }
            ApiError::Internal(_) => "an internal error occurred; quote the request id when reporting it".to_owned(),
            ApiError::Unavailable(_) => "a dependency is temporarily unavailable; retry later".to_owned(),
        };
        Problem {
            type_uri: format!("{PROBLEM_TYPE_BASE}{slug}"),
            title: title.to_owned(),
            status: self.status().as_u16(),
            detail,
            request_id: String::new(),
            errors: match self {
                ApiError::Validation(errs) => Some(errs.clone()),
                _ => None,
            },
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Unavailable(m) => ApiError::Unavailable(m),
            other => ApiError::Internal(other.to_string()),
        }
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.slug(), self.to_problem().detail)
    }
}

/// Marker placed in response extensions; the request middleware renders the body,
/// because only it knows the request id.
#[derive(Debug, Clone)]
pub struct ProblemMarker(pub ApiError);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut res = self.status().into_response();
        if let ApiError::RateLimited { retry_after_secs } = &self {
            if let Ok(v) = HeaderValue::from_str(&retry_after_secs.to_string()) {
                res.headers_mut().insert(http::header::RETRY_AFTER, v);
            }
        }
        if let ApiError::Unauthenticated(_) = &self {
            res.headers_mut().insert(
                http::header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"taskapi\""),
            );
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
    res.headers_mut().insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/problem+json"),
    );
    res
}
