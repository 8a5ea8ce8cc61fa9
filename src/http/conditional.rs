//! Conditional requests and created-resource responses: `ETag`, `If-None-Match` → 304,
//! `If-Match` for writes, and the recorded/replayed shape of idempotent creations.

use axum::extract::FromRequestParts;
use axum::response::{IntoResponse, Response};
use http::{header, request::Parts, HeaderMap, HeaderName, HeaderValue, StatusCode};
use serde::Serialize;

use super::auth::Auth;
use super::extract::BodyDigest;
use super::state::AppState;
use crate::domain::Expect;
use crate::error::ApiError;
use crate::service::create::Created;
use crate::sql::idempotency::{Key, Stored};

/// The resources that carry a version (`ETag`): their GET answers 304 to a current
/// `If-None-Match`, their PATCH and DELETE 412 to a stale `If-Match`. The OpenAPI finisher
/// declares those headers and answers on these paths' operations.
pub const VERSIONED_PATHS: &[&str] = &["/v1/projects/{id}", "/v1/tasks/{id}"];

pub const IDEMPOTENCY_KEY: HeaderName = HeaderName::from_static("idempotency-key");
pub const IDEMPOTENT_REPLAYED: HeaderName = HeaderName::from_static("idempotent-replayed");

/// A precondition header's entity tags; `None` when the request has none.
///
/// # Errors
/// 400 for a value that is not `*` or a list of entity tags ([`Expect::HEADER_PATTERN`]).
fn precondition(headers: &HeaderMap, (header, name): (HeaderName, &str)) -> Result<Option<Expect>, ApiError> {
    let Some(value) = headers.get(header) else {
        return Ok(None);
    };
    value
        .to_str()
        .ok()
        .and_then(Expect::parse_header)
        .map(Some)
        .ok_or_else(|| ApiError::Malformed(format!("{name} must be `*` or a comma-separated list of entity tags")))
}

/// What the `If-Match` header expects (anything when it is absent).
///
/// # Errors
/// 400 for a value that is not `*` or a list of entity tags.
pub fn if_match(headers: &HeaderMap) -> Result<Expect, ApiError> {
    Ok(precondition(headers, (header::IF_MATCH, "If-Match"))?.unwrap_or_default())
}

/// The entity tags of `If-None-Match`, if the request has the header.
///
/// # Errors
/// 400 for a value that is not `*` or a list of entity tags.
pub fn if_none_match(headers: &HeaderMap) -> Result<Option<Expect>, ApiError> {
    precondition(headers, (header::IF_NONE_MATCH, "If-None-Match"))
}

fn json_response(status: StatusCode, body: String) -> Response {
    let mut res = (status, body).into_response();
    res.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    res
}

/// A single resource with its ETag, or 304 when `If-None-Match` (see [`if_none_match`])
/// matches it.
pub fn resource<T: Serialize>(if_none_match: Option<&Expect>, etag: &str, value: &T) -> Response {
    let mut res = match if_none_match {
        Some(inm) if inm.matches(etag) => StatusCode::NOT_MODIFIED.into_response(),
        _ => json_response(StatusCode::OK, serde_json::to_string(value).unwrap_or_default()),
    };
    let h = res.headers_mut();
    if let Ok(v) = HeaderValue::from_str(etag) {
        h.insert(header::ETAG, v);
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, no-cache"));
    res
}

/// The 201 of a creation, in the form that is recorded for an idempotent replay.
pub fn created<T: Serialize>(location: String, etag: Option<String>, value: &T) -> Stored {
    let mut headers = vec![("location".to_owned(), location)];
    if let Some(e) = etag {
        headers.push(("etag".to_owned(), e));
    }
    Stored { status: 201, headers, body: serde_json::to_string(value).unwrap_or_default() }
}

/// Renders a creation's answer: the new resource, or the replay of an earlier one.
pub fn answer(c: Created) -> Response {
    let (stored, replayed) = match c {
        Created::New(s) => (s, false),
        Created::Replay(s) => (s, true),
    };
    let status = StatusCode::from_u16(stored.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut res = json_response(status, stored.body);
    for (k, v) in &stored.headers {
        if let (Ok(k), Ok(v)) = (HeaderName::try_from(k.as_str()), HeaderValue::from_str(v)) {
            res.headers_mut().insert(k, v);
        }
    }
    if replayed {
        res.headers_mut().insert(IDEMPOTENT_REPLAYED, HeaderValue::from_static("true"));
    }
    res
}

/// The `Idempotency-Key` of a creating POST with the caller's principal and the digest of
/// the request, checked before the body is parsed.
#[derive(Debug, Clone, Default)]
pub struct Idempotency(pub Option<Key>);

impl FromRequestParts<AppState> for Idempotency {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let Some(key) = parts.headers.get(&IDEMPOTENCY_KEY) else {
            return Ok(Idempotency(None));
        };
        let key = key.to_str().unwrap_or_default().to_owned();
        crate::service::create::validate_key(&key)?;
        let auth = Auth::from_request_parts(parts, state).await?;
        let request_hash = parts.extensions.get::<BodyDigest>().map(|d| d.0.clone()).unwrap_or_default();
        Ok(Idempotency(Some(Key { principal: auth.caller.principal(), key, request_hash })))
    }
}
