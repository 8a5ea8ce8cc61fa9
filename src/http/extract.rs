//! Request bodies: read whole before any handler runs (at most 64 KiB), and parsed as
//! JSON with the contract's 400/413/415/422 rules, so no handler can forget them.

use axum::extract::{FromRequest, Request};
use http::{header, Method};
use http_body_util::BodyExt;
use serde::de::DeserializeOwned;

use crate::error::{ApiError, FieldError};

/// An integer that may be written as a float with no fraction (`3.0`): JSON Schema calls
/// both integers, so the API accepts both.
pub fn integer<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    use serde::Deserialize;
    let v = Option::<serde_json::Number>::deserialize(d)?;
    match v {
        None => Ok(None),
        Some(n) => match (n.as_i64(), n.as_f64()) {
            (Some(i), _) => Ok(Some(i)),
            #[allow(clippy::cast_possible_truncation)]
            (None, Some(f)) if f.fract() == 0.0 && f.abs() < 9.0e15 => Ok(Some(f as i64)),
            _ => Err(serde::de::Error::custom(format!("invalid type: number `{n}`, expected an integer"))),
        },
    }
}

/// Distinguishes an absent field (`None`) from an explicit `null` (`Some(None)`).
pub fn double_option<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::Deserialize<'de>,
{
    use serde::Deserialize;
    Option::<T>::deserialize(d).map(Some)
}

/// Largest request body accepted.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// A JSON request body, parsed into `T` (which denies unknown fields).
#[derive(Debug)]
pub struct JsonBody<T>(pub T);

fn is_json(content_type: Option<&str>) -> bool {
    content_type.is_some_and(|ct| {
        let essence = ct.split(';').next().unwrap_or_default().trim();
        essence.eq_ignore_ascii_case("application/json")
    })
}

/// Maps a serde data error (after a syntactically valid document) to a field error.
fn field_error(path: &str, message: &str) -> FieldError {
    let message = message.split(" at line ").next().unwrap_or(message);
    let quoted = || message.split('`').nth(1).unwrap_or_default().to_owned();
    let join = |name: String| {
        if path.is_empty() || path == "." {
            name
        } else if path == name || path.ends_with(&format!(".{name}")) {
            path.to_owned()
        } else {
            format!("{path}.{name}")
        }
    };
    let at = if path == "." { String::new() } else { path.to_owned() };
    if message.starts_with("missing field") {
        FieldError::new(join(quoted()), "required", "is required")
    } else if message.starts_with("unknown field") {
        FieldError::new(join(quoted()), "unknown_field", "is not a field of this request")
    } else if message.starts_with("duplicate field") {
        FieldError::new(join(quoted()), "duplicate_field", "appears more than once")
    } else if message.starts_with("invalid type") {
        FieldError::new(at, "invalid_type", message)
    } else {
        FieldError::new(at, "invalid", message)
    }
}

/// Parses a JSON document into `T`: syntax errors are 400, shape errors 422.
///
/// # Errors
/// `Malformed` or `Validation`.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    // Syntax is judged on the whole document first: `[1,` is malformed (400), even though
    // a typed parse would stop at its first element with a shape error (422).
    serde_json::from_slice::<serde::de::IgnoredAny>(bytes)
        .map_err(|e| ApiError::Malformed(format!("invalid JSON: {e}")))?;
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let result: Result<T, _> = serde_path_to_error::deserialize(&mut de);
    match result {
        Ok(v) => {
            de.end().map_err(|e| ApiError::Malformed(format!("invalid JSON: {e}")))?;
            Ok(v)
        }
        Err(e) => {
            let path = e.path().to_string();
            let inner = e.into_inner();
            if inner.is_data() {
                Err(ApiError::Validation(vec![field_error(&path, &inner.to_string())]))
            } else {
                Err(ApiError::Malformed(format!("invalid JSON: {inner}")))
            }
        }
    }
}

impl<S, T> FromRequest<S> for JsonBody<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, _state: &S) -> Result<Self, Self::Rejection> {
        let ct = req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok());
        if !is_json(ct) {
            return Err(ApiError::UnsupportedMediaType);
        }
        // The request middleware has already buffered at most MAX_BODY_BYTES.
        let bytes = axum::body::to_bytes(req.into_body(), MAX_BODY_BYTES)
            .await
            .map_err(|_| ApiError::PayloadTooLarge(MAX_BODY_BYTES))?;
        parse_json(&bytes).map(JsonBody)
    }
}

/// A JSON body that may be left out: no bytes at all, or the JSON `null` (what the
/// document's nullable request body allows), is `T::default()`; anything else follows the
/// rules of [`JsonBody`].
#[derive(Debug)]
pub struct OptionalJsonBody<T>(pub T);

impl<S, T> FromRequest<S> for OptionalJsonBody<T>
where
    S: Send + Sync,
    T: DeserializeOwned + Default,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, _state: &S) -> Result<Self, Self::Rejection> {
        let json = is_json(req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()));
        // The request middleware has already buffered at most MAX_BODY_BYTES. A body left
        // out needs no Content-Type, whatever the host's idea of an absent body's length.
        let bytes = axum::body::to_bytes(req.into_body(), MAX_BODY_BYTES)
            .await
            .map_err(|_| ApiError::PayloadTooLarge(MAX_BODY_BYTES))?;
        if bytes.is_empty() {
            return Ok(OptionalJsonBody(T::default()));
        }
        if !json {
            return Err(ApiError::UnsupportedMediaType);
        }
        parse_json::<Option<T>>(&bytes).map(|v| OptionalJsonBody(v.unwrap_or_default()))
    }
}

/// How much of an oversized body is still read and discarded, so the connection stays
/// usable (a response sent before the request body was read upsets some proxies,
/// wrangler dev's among them). Bodies beyond this are abandoned.
const DRAIN_CAP: usize = 1024 * 1024;

async fn drain(body: &mut axum::body::Body, mut seen: usize) {
    while seen < DRAIN_CAP {
        match body.frame().await {
            Some(Ok(frame)) => seen = seen.saturating_add(frame.data_ref().map_or(0, |d| d.len())),
            _ => break,
        }
    }
}

/// Reads the whole request body (at most [`MAX_BODY_BYTES`]) before any handler runs, so
/// that every response, early rejections included, follows a fully read request, and
/// the size limit holds for every route in one place.
///
/// # Errors
/// `PayloadTooLarge` (after draining), `Malformed` when the body cannot be read.
pub async fn buffer_body(req: Request) -> Result<Request, ApiError> {
    let declared =
        req.headers().get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
    if declared == Some(0) || (declared.is_none() && matches!(*req.method(), Method::GET | Method::HEAD)) {
        return Ok(req);
    }
    let (parts, mut body) = req.into_parts();
    if declared.is_some_and(|n| n > MAX_BODY_BYTES as u64) {
        drain(&mut body, 0).await;
        return Err(ApiError::PayloadTooLarge(MAX_BODY_BYTES));
    }
    let mut bytes = Vec::new();
    while let Some(frame) = body.frame().await {
        let Ok(frame) = frame else {
            return Err(ApiError::Malformed("the request body could not be read".to_owned()));
        };
        if let Ok(data) = frame.into_data() {
            let total = bytes.len().saturating_add(data.len());
            if total > MAX_BODY_BYTES {
                drain(&mut body, total).await;
                return Err(ApiError::PayloadTooLarge(MAX_BODY_BYTES));
            }
            bytes.extend_from_slice(&data);
        }
    }
    let digest = parts.headers.contains_key(super::conditional::IDEMPOTENCY_KEY).then(|| {
        use sha2::Digest;
        let mut h = sha2::Sha256::new();
        h.update(parts.method.as_str().as_bytes());
        h.update(b" ");
        h.update(parts.uri.path().as_bytes());
        h.update(b"\n");
        h.update(&bytes);
        BodyDigest(crate::auth::tokens::hex(&h.finalize()))
    });
    let mut req = Request::from_parts(parts, axum::body::Body::from(bytes));
    if let Some(d) = digest {
        req.extensions_mut().insert(d);
    }
    Ok(req)
}

/// SHA-256 of method, path and body of a request that carries an `Idempotency-Key`.
#[derive(Debug, Clone)]
pub struct BodyDigest(pub String);

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Req {
        email: String,
        labels: Option<Vec<String>>,
    }

    fn errors(r: Result<Req, ApiError>) -> Vec<FieldError> {
        match r {
            Err(ApiError::Validation(e)) => e,
            other => panic!("expected a validation error, got {other:?}"),
        }
    }

    #[test]
    fn a_truncated_document_is_malformed_before_its_shape_is_judged() {
        for truncated in [&b"[1,"[..], b"{\"email\": 3,", b"[1, 2", b"{\"labels\": [\"a\""] {
            assert!(matches!(parse_json::<Req>(truncated), Err(ApiError::Malformed(_))), "{truncated:?}");
        }
    }

    #[test]
    fn syntax_errors_are_malformed() {
        assert!(matches!(parse_json::<Req>(b"{\"email\":"), Err(ApiError::Malformed(_))));
        assert!(matches!(parse_json::<Req>(b"{\"email\":\"a\"} trailing"), Err(ApiError::Malformed(_))));
    }

    #[test]
    fn shape_errors_name_the_field() {
        let e = errors(parse_json::<Req>(b"{}"));
        assert_eq!((e[0].field.as_str(), e[0].code.as_str()), ("email", "required"));
        let e = errors(parse_json::<Req>(br#"{"email":"a","role":"owner"}"#));
        assert_eq!((e[0].field.as_str(), e[0].code.as_str()), ("role", "unknown_field"));
        let e = errors(parse_json::<Req>(br#"{"email":"a","labels":["x",3]}"#));
        assert_eq!((e[0].field.as_str(), e[0].code.as_str()), ("labels[1]", "invalid_type"));
        let e = errors(parse_json::<Req>(br#"{"email":"a","email":"b"}"#));
        assert_eq!((e[0].field.as_str(), e[0].code.as_str()), ("email", "duplicate_field"));
        let e = errors(parse_json::<Req>(b"[1]"));
        assert_eq!(e[0].code, "invalid_type");
    }
}
