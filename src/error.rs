//! The API's one error type, below every layer: domain parsing, use cases and adapters
//! return it; the HTTP layer maps it once to `application/problem+json`.

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
        Self { field: field.into(), code: code.into(), message: message.into() }
    }
}

/// Every failure the API reports. Internal details stay in the log, never in a body.
#[derive(Debug, Clone, PartialEq)]
pub enum ApiError {
    Validation(Vec<FieldError>),
    Malformed(String),
    /// No credential, or not one this API could try (401).
    Unauthenticated(String),
    /// A bearer credential was presented and is invalid, expired or revoked (401 with
    /// `error="invalid_token"`, RFC 6750).
    InvalidToken(String),
    Forbidden(String),
    NotFound(String),
    MethodNotAllowed,
    Conflict(String),
    /// A sign-in with a provider whose email already belongs to an account that has not
    /// linked this identity (409): linking is only done by the signed-in user.
    AccountExists(String),
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

impl ApiError {
    /// The stable slug of the error's class (the last segment of the problem `type`).
    pub fn slug(&self) -> &'static str {
        match self {
            ApiError::Validation(_) => "validation",
            ApiError::Malformed(_) => "malformed",
            ApiError::Unauthenticated(_) | ApiError::InvalidToken(_) => "unauthenticated",
            ApiError::Forbidden(_) => "forbidden",
            ApiError::NotFound(_) => "not-found",
            ApiError::MethodNotAllowed => "method-not-allowed",
            ApiError::Conflict(_) => "conflict",
            ApiError::AccountExists(_) => "account-exists",
            ApiError::InvalidStatusTransition(_) => "invalid-status-transition",
            ApiError::PreconditionFailed(_) => "precondition-failed",
            ApiError::PayloadTooLarge(_) => "payload-too-large",
            ApiError::UnsupportedMediaType => "unsupported-media-type",
            ApiError::RateLimited { .. } => "rate-limited",
            ApiError::Internal(_) => "internal",
            ApiError::Unavailable(_) => "unavailable",
        }
    }

    /// What the log gets beyond the public body: the hidden cause of a 5xx.
    pub fn log_detail(&self) -> Option<&str> {
        match self {
            ApiError::Internal(d) | ApiError::Unavailable(d) => Some(d),
            _ => None,
        }
    }

    /// The public explanation (never internals).
    pub fn detail(&self) -> String {
        match self {
            ApiError::Validation(errs) => format!("{} field(s) are invalid; see `errors`", errs.len()),
            ApiError::Malformed(d)
            | ApiError::Unauthenticated(d)
            | ApiError::InvalidToken(d)
            | ApiError::Forbidden(d)
            | ApiError::NotFound(d)
            | ApiError::Conflict(d)
            | ApiError::AccountExists(d)
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
        }
    }

    /// A validation problem about one field.
    pub fn field(field: &str, code: &str, message: &str) -> ApiError {
        ApiError::Validation(vec![FieldError::new(field, code, message)])
    }
}

/// An internal error carrying `e` for the log.
pub fn internal(e: impl std::fmt::Display) -> ApiError {
    ApiError::Internal(e.to_string())
}

/// One field's error is a validation problem listing it.
impl From<FieldError> for ApiError {
    fn from(e: FieldError) -> Self {
        ApiError::Validation(vec![e])
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Unavailable(m) => ApiError::Unavailable(m),
            StoreError::Revoked(m) => ApiError::InvalidToken(m),
            other => ApiError::Internal(other.to_string()),
        }
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.slug(), self.detail())
    }
}

/// Collects field errors while parsing a request into domain values, so one response
/// reports every invalid field.
#[derive(Debug, Default)]
pub struct Errors(Vec<FieldError>);

impl Errors {
    /// Keeps the value, or records the error and yields `None`.
    pub fn check<T>(&mut self, r: Result<T, FieldError>) -> Option<T> {
        match r {
            Ok(v) => Some(v),
            Err(e) => {
                self.0.push(e);
                None
            }
        }
    }

    /// Records an error.
    pub fn push(&mut self, e: FieldError) {
        self.0.push(e);
    }

    /// Records several errors.
    pub fn extend(&mut self, e: impl IntoIterator<Item = FieldError>) {
        self.0.extend(e);
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// `Ok(value)` when no error was recorded.
    ///
    /// # Errors
    /// The collected field errors as one validation problem.
    pub fn finish<T>(self, value: Option<T>) -> Result<T, ApiError> {
        match value {
            Some(v) if self.0.is_empty() => Ok(v),
            _ => Err(ApiError::Validation(self.0)),
        }
    }

    /// `Ok(())` when no error was recorded.
    ///
    /// # Errors
    /// The collected field errors as one validation problem.
    pub fn done(self) -> Result<(), ApiError> {
        self.finish(Some(()))
    }
}
