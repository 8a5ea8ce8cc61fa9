//! Conditional requests and created-resource responses: `ETag`, `If-None-Match` → 304,
//! `If-Match` for writes, and the stored/replayed shape of idempotent creations.

use axum::extract::FromRequestParts;
use axum::response::{IntoResponse, Response};
use http::{header, request::Parts, HeaderMap, HeaderName, HeaderValue, StatusCode};
use serde::Serialize;

use super::extract::{AuthUser, BodyDigest};
use super::{ApiError, AppState};
use crate::service::idempotency::{self, Begin, Reservation, Stored};

pub const IDEMPOTENCY_KEY: HeaderName = HeaderName::from_static("idempotency-key");
pub const IDEMPOTENT_REPLAYED: HeaderName = HeaderName::from_static("idempotent-replayed");

/// The `If-Match` header, if any.
pub fn if_match(headers: &HeaderMap) -> Option<String> {
    headers
        .get(header::IF_MATCH)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

fn json_response(status: StatusCode, body: String) -> Response {
    let mut res = (status, body).into_response();
    res.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    res
}

/// A single resource with its ETag, or 304 when `If-None-Match` matches it.
pub fn resource<T: Serialize>(headers: &HeaderMap, etag: &str, value: &T) -> Response {
    let mut res = match headers.get(header::IF_NONE_MATCH).and_then(|v| v.to_str().ok()) {
        Some(inm) if crate::service::etag_matches(inm, etag) => StatusCode::NOT_MODIFIED.into_response(),
        _ => json_response(StatusCode::OK, serde_json::to_string(value).unwrap_or_default()),
    };
    let h = res.headers_mut();
    if let Ok(v) = HeaderValue::from_str(etag) {
        h.insert(header::ETAG, v);
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, no-cache"));
    res
}

/// The 201 of a creation, in the form that is stored for idempotent replay.
pub fn created<T: Serialize>(location: String, etag: Option<String>, value: &T) -> Stored {
    let mut headers = vec![("location".to_owned(), location)];
    if let Some(e) = etag {
        headers.push(("etag".to_owned(), e));
    }
    Stored {
        status: 201,
        headers,
        body: serde_json::to_string(value).unwrap_or_default(),
    }
}

/// Renders a stored creation response (first time or replay).
pub fn stored_response(stored: &Stored, replayed: bool) -> Response {
    let status = StatusCode::from_u16(stored.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut res = json_response(status, stored.body.clone());
    for (k, v) in &stored.headers {
        if let (Ok(k), Ok(v)) = (HeaderName::try_from(k.as_str()), HeaderValue::from_str(v)) {
            res.headers_mut().insert(k, v);
        }
    }
    if replayed {
        res.headers_mut()
            .insert(IDEMPOTENT_REPLAYED, HeaderValue::from_static("true"));
    }
    res
}

/// The `Idempotency-Key` of a creating POST, captured before the body is parsed; the
/// handler reserves it only once the request is valid.
#[derive(Debug, Clone, Default)]
pub struct Idempotency {
    request: Option<(String, String, String)>,
}

/// What the handler does next.
pub enum Start {
    Proceed(Option<Reservation>),
    Replay(Response),
}

impl FromRequestParts<AppState> for Idempotency {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let Some(key) = parts.headers.get(&IDEMPOTENCY_KEY) else {
            return Ok(Idempotency::default());
        };
        let key = key.to_str().unwrap_or_default().to_owned();
        idempotency::validate_key(&key)?;
        let user = AuthUser::from_request_parts(parts, state).await?;
        let digest = parts
            .extensions
            .get::<BodyDigest>()
            .map(|d| d.0.clone())
            .unwrap_or_default();
        Ok(Idempotency {
            request: Some((user.principal(), key, digest)),
        })
    }
}

impl Idempotency {
    /// Reserves the key, or answers with the stored response of its first use.
    ///
    /// # Errors
    /// 422 for a key reused with another request, 409 while the first is in flight.
    pub async fn start(&self, state: &AppState) -> Result<Start, ApiError> {
        let Some((principal, key, digest)) = &self.request else {
            return Ok(Start::Proceed(None));
        };
        match idempotency::begin(&state.ports, principal, key, digest).await? {
            Begin::Proceed(r) => Ok(Start::Proceed(Some(r))),
            Begin::Replay(stored) => Ok(Start::Replay(stored_response(&stored, true))),
        }
    }
}

/// Runs a creation with an optional reservation: the stored response joins the
/// creation's batch; a failure frees the key.
///
/// # Errors
/// The creation's error.
pub async fn finish(
    state: &AppState,
    reservation: Option<Reservation>,
    result: Result<Stored, ApiError>,
) -> Result<Response, ApiError> {
    match result {
        Ok(stored) => Ok(stored_response(&stored, false)),
        Err(e) => {
            if let Some(r) = reservation {
                r.release(&state.ports).await;
            }
            Err(e)
        }
    }
}
