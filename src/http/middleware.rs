//! Cross-cutting request handling: request id, problem rendering, security and CORS
//! headers, and the one structured log line per request.

use std::sync::{Arc, Mutex};

use axum::{
    body::Body,
    extract::{MatchedPath, Request, State},
    middleware::Next,
    response::{IntoResponse, Response},
};
use http::{header, HeaderName, HeaderValue, Method, StatusCode};
use serde::Serialize;

use super::problem::{self, ProblemMarker};
use super::state::AppState;
use crate::counting::RoundTrips;
use crate::error::ApiError;
use crate::faults::{FailingStore, Fault, X_FAULT_INJECT};
use crate::ports::{Level, RequestPoint};
use crate::store::Consistency;
use crate::trace::TraceContext;

pub const X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");
pub const TRACEPARENT: HeaderName = HeaderName::from_static("traceparent");
pub const TRACERESPONSE: HeaderName = HeaderName::from_static("traceresponse");
/// The replication position of a host with read replicas (D1 Sessions): answered on
/// every response that touched the database, sent back by the client for read-your-writes.
pub const X_D1_BOOKMARK: HeaderName = HeaderName::from_static("x-d1-bookmark");

/// A bookmark is what D1 hands out: hyphen-separated groups of hex digits, at most 256
/// chars. Anything else is refused rather than passed on, because D1 orders bookmarks
/// by comparing them and would wait for a position that never comes.
pub fn valid_bookmark(s: &str) -> bool {
    (1..=256).contains(&s.len())
        && s.split('-').count() <= 8
        && s.split('-').all(|g| !g.is_empty() && g.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// The id of the current request, available to handlers as an extension.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

/// Facts a handler learns that the log line wants (the authenticated principal).
#[derive(Debug, Clone, Default)]
pub struct LogContext(pub Arc<Mutex<LogFields>>);

#[derive(Debug, Clone, Default)]
pub struct LogFields {
    pub principal: Option<String>,
    /// The rate-limit policy applied last, for the response headers.
    pub rate_limit: Option<super::limits::Applied>,
    /// The limiter failed (and the policy failed open or closed).
    pub limiter_error: Option<String>,
    /// The host could not open a replica session; the request read at the primary.
    pub session_error: Option<String>,
    /// Why a sign-in with a provider was refused (answered by a redirect, not a problem).
    pub refusal: Option<String>,
}

/// Where a request's first query may run, from its method and `X-D1-Bookmark`: safe
/// methods read from any replica, or from one caught up with the client's bookmark;
/// everything else starts at the primary.
fn consistency<'a>(method: &Method, bookmark: Option<&'a str>) -> Consistency<'a> {
    match (matches!(*method, Method::GET | Method::HEAD), bookmark) {
        (false, _) => Consistency::Primary,
        (true, Some(b)) => Consistency::After(b),
        (true, None) => Consistency::AnyReplica,
    }
}

impl LogContext {
    pub fn set_principal(&self, id: &str) {
        if let Ok(mut f) = self.0.lock() {
            f.principal = Some(id.to_owned());
        }
    }

    pub fn set_rate_limit(&self, applied: super::limits::Applied) {
        if let Ok(mut f) = self.0.lock() {
            f.rate_limit = Some(applied);
        }
    }

    pub fn set_refusal(&self, why: &str) {
        if let Ok(mut f) = self.0.lock() {
            f.refusal = Some(why.to_owned());
        }
    }

    pub fn set_limiter_error(&self, e: &str) {
        if let Ok(mut f) = self.0.lock() {
            f.limiter_error = Some(e.to_owned());
        }
    }
}

/// A caller-supplied request id is kept when it is 1–128 chars of `[A-Za-z0-9._-]`.
pub fn valid_request_id(s: &str) -> bool {
    (1..=128).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

#[derive(Serialize)]
struct LogLine<'a> {
    time: String,
    level: &'static str,
    msg: &'static str,
    request_id: &'a str,
    trace_id: &'a str,
    span_id: &'a str,
    method: &'a str,
    route: Option<&'a str>,
    status: u16,
    duration_ms: i64,
    principal: Option<&'a str>,
    /// Round trips to the database and to the rate limiter's shared store.
    store_calls: u32,
    limiter_calls: u32,
    /// Calls to other services (OpenID providers); left out when none.
    #[serde(skip_serializing_if = "is_zero")]
    outbound_calls: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    problem: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    limiter_error: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    session_error: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    refusal: Option<&'a str>,
    /// Whether the request's metrics data point was written (absent where the host keeps
    /// none), or why not.
    #[serde(skip_serializing_if = "Option::is_none")]
    data_point: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    metrics_error: Option<&'a str>,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

const EXPOSED_HEADERS: &str =
    "X-Request-Id, ETag, Link, Location, Retry-After, RateLimit, RateLimit-Policy, X-D1-Bookmark, traceresponse";
const ALLOWED_METHODS: &str = "GET, POST, PATCH, DELETE, OPTIONS";
const ALLOWED_HEADERS: &str =
    "Authorization, Content-Type, Idempotency-Key, If-Match, If-None-Match, X-Request-Id, X-D1-Bookmark, traceparent, tracestate";

pub async fn request_context(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let base = state.base();
    let ports = &base.ports;
    let trips = Arc::new(RoundTrips::default());
    let started = ports.clock.now_ms();
    let request_id = match req.headers().get(&X_REQUEST_ID).and_then(|v| v.to_str().ok()) {
        Some(id) if valid_request_id(id) => id.to_owned(),
        _ => crate::ids::uuid_v7(ports.clock.as_ref(), ports.random.as_ref())
            .unwrap_or_else(|_| format!("req-{started}")),
    };
    let trace = TraceContext::continue_or_start(
        req.headers().get(&TRACEPARENT).and_then(|v| v.to_str().ok()),
        ports.random.as_ref(),
    );
    req.extensions_mut().insert(trace.clone());
    let method = req.method().clone();
    let route = req.extensions().get::<MatchedPath>().map(|m| m.as_str().to_owned());
    let origin = req.headers().get(header::ORIGIN).cloned();
    let allowed_origin =
        origin.filter(|o| o.to_str().is_ok_and(|o| ports.settings.cors_allowed_origins.iter().any(|a| a == o)));
    let log_ctx = LogContext::default();
    req.extensions_mut().insert(RequestId(request_id.clone()));
    req.extensions_mut().insert(log_ctx.clone());

    let is_preflight = method == Method::OPTIONS && req.headers().contains_key(header::ACCESS_CONTROL_REQUEST_METHOD);
    let bookmark = match req.headers().get(&X_D1_BOOKMARK).map(HeaderValue::to_str) {
        None => Ok(None),
        Some(Ok(b)) if valid_bookmark(b) => Ok(Some(b.to_owned())),
        Some(_) => Err(ApiError::Malformed(
            "X-D1-Bookmark must be a bookmark this API returned (hex groups separated by `-`)".to_owned(),
        )),
    };
    // Test builds only (FAULT_INJECTION, refused in production): a panic or a failing
    // statement on request.
    let fault = match req.headers().get(&X_FAULT_INJECT) {
        Some(v) if ports.settings.fault_injection => v.to_str().ok().and_then(Fault::parse).map(Some).ok_or(()),
        _ => Ok(None),
    };
    crate::faults::set_current_request(Some((&request_id, &trace.trace_id, &trace.span_id)));
    let mut session = None;
    let mut res = if is_preflight {
        preflight(allowed_origin.is_some())
    } else {
        // The body is read before any refusal: wrangler dev breaks the connection's next
        // request when a response goes out before its request body was consumed.
        match (super::extract::buffer_body(req).await, bookmark) {
            (Err(e), _) | (Ok(_), Err(e)) => e.into_response(),
            (Ok(_), Ok(_)) if fault.is_err() => ApiError::Malformed(
                "X-Fault-Inject must be `panic` or `fail-statement=N` (N from 1 to 10000)".to_owned(),
            )
            .into_response(),
            (Ok(mut req), Ok(bookmark)) => {
                let mut store = None;
                match ports.store.session(consistency(&method, bookmark.as_deref())) {
                    Ok(Some(s)) => {
                        session = Some(s.clone());
                        store = Some(s);
                    }
                    Ok(None) => {}
                    // The plain store reads at the primary: correct, only slower.
                    Err(e) => {
                        if let Ok(mut f) = log_ctx.0.lock() {
                            f.session_error = Some(e.to_string());
                        }
                    }
                }
                match fault {
                    #[allow(clippy::panic)]
                    Ok(Some(Fault::Panic)) => panic!("injected panic (X-Fault-Inject: panic)"),
                    Ok(Some(Fault::FailStatement(n))) => {
                        let inner = store.unwrap_or_else(|| ports.store.clone());
                        store = Some(Arc::new(FailingStore::new(inner, n)));
                    }
                    _ => {}
                }
                req.extensions_mut().insert(state.request(store, &trips, &trace));
                next.run(req).await
            }
        }
    };

    let mut hidden_error = None;
    let mut problem_slug = None;
    if let Some(ProblemMarker(err)) = res.extensions_mut().remove::<ProblemMarker>() {
        problem_slug = Some(err.slug());
        hidden_error = err.log_detail().map(str::to_owned);
        res = with_problem_body(res, &err, &request_id);
    }

    let h = res.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&request_id) {
        h.insert(X_REQUEST_ID, v);
    }
    if let Ok(v) = HeaderValue::from_str(&trace.header()) {
        h.insert(TRACERESPONSE, v);
    }
    if let Some(b) = session.and_then(|s| s.bookmark()) {
        if let Ok(v) = HeaderValue::from_str(&b) {
            h.insert(X_D1_BOOKMARK, v);
        }
    }
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    if let Some(o) = allowed_origin {
        h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, o);
        h.insert(header::ACCESS_CONTROL_EXPOSE_HEADERS, HeaderValue::from_static(EXPOSED_HEADERS));
        // Browsers send the refresh cookie cross-origin only to an origin that allows it;
        // only the configured origins ever get this header (never with a wildcard).
        h.insert(header::ACCESS_CONTROL_ALLOW_CREDENTIALS, HeaderValue::from_static("true"));
    }
    if !ports.settings.cors_allowed_origins.is_empty() {
        h.append(header::VARY, HeaderValue::from_static("Origin"));
    }

    let fields = log_ctx.0.lock().map(|f| f.clone()).unwrap_or_default();
    if let Some(applied) = &fields.rate_limit {
        super::limits::write_headers(res.headers_mut(), applied);
    }
    let status = res.status().as_u16();
    let duration_ms = ports.clock.now_ms().saturating_sub(started);
    let point = RequestPoint {
        route: route.as_deref().unwrap_or("unmatched"),
        method: method.as_str(),
        status,
        duration_ms,
        principal_kind: match fields.principal.as_deref().and_then(|p| p.split_once(':')) {
            Some(("user", _)) => "user",
            Some(("key", _)) => "key",
            _ => "anonymous",
        },
        problem: problem_slug,
        store_calls: trips.store(),
        limiter_calls: trips.limiter(),
        trace_id: &trace.trace_id,
    };
    let (data_point, metrics_error) = match ports.metrics.record(&point) {
        Ok(true) => (Some(true), None),
        Ok(false) => (None, None),
        Err(e) => (Some(false), Some(e)),
    };
    let level = if status >= 500 {
        Level::Error
    } else if fields.limiter_error.is_some() || fields.session_error.is_some() || metrics_error.is_some() {
        Level::Warn
    } else {
        Level::Info
    };
    if level >= ports.settings.log_level {
        let line = LogLine {
            time: crate::clock::format_rfc3339_ms(started),
            level: level.as_str(),
            msg: "request",
            request_id: &request_id,
            trace_id: &trace.trace_id,
            span_id: &trace.span_id,
            method: method.as_str(),
            route: route.as_deref(),
            status,
            duration_ms,
            principal: fields.principal.as_deref(),
            store_calls: trips.store(),
            limiter_calls: trips.limiter(),
            outbound_calls: trips.outbound(),
            problem: problem_slug,
            error: hidden_error.as_deref(),
            limiter_error: fields.limiter_error.as_deref(),
            session_error: fields.session_error.as_deref(),
            refusal: fields.refusal.as_deref(),
            data_point,
            metrics_error: metrics_error.as_deref(),
        };
        if let Ok(s) = serde_json::to_string(&line) {
            ports.logger.write(level, &s);
        }
    }
    res
}

fn preflight(allowed: bool) -> Response {
    let mut res = StatusCode::NO_CONTENT.into_response();
    if allowed {
        let h = res.headers_mut();
        h.insert(header::ACCESS_CONTROL_ALLOW_METHODS, HeaderValue::from_static(ALLOWED_METHODS));
        h.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, HeaderValue::from_static(ALLOWED_HEADERS));
        h.insert(header::ACCESS_CONTROL_MAX_AGE, HeaderValue::from_static("600"));
    }
    res
}

fn with_problem_body(res: Response, err: &ApiError, request_id: &str) -> Response {
    let (mut parts, _) = res.into_parts();
    let mut problem = problem::to_problem(err);
    let rendered = problem::render(&mut problem, request_id);
    let (rparts, body) = rendered.into_parts();
    parts.status = rparts.status;
    for (k, v) in &rparts.headers {
        parts.headers.insert(k.clone(), v.clone());
    }
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, Body::new(body))
}

/// Fallback for paths no route matches, including unknown API versions.
pub async fn not_found(req: Request) -> ApiError {
    let path = req.uri().path();
    if path.starts_with("/v") && !path.starts_with("/v1/") && path != "/v1" {
        let version = path.trim_start_matches('/').split('/').next().unwrap_or_default();
        ApiError::NotFound(format!("API version `{version}` does not exist; this server speaks /v1"))
    } else {
        ApiError::NotFound("no resource at this path".to_owned())
    }
}

/// Fallback for a known path with a method it does not support.
pub async fn method_not_allowed() -> ApiError {
    ApiError::MethodNotAllowed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bookmarks_are_hex_groups() {
        for good in
            ["00000000-00000aef-00000000-00000000000000000000000000000000", "0000000c-00000002-00004f7b-1A8A2C", "f"]
        {
            assert!(valid_bookmark(good), "{good}");
        }
        let long = "a".repeat(257);
        for bad in ["", "-", "a-", "-a", "a--b", "g", "0 1", "0-1-2-3-4-5-6-7-8", long.as_str(), "é"] {
            assert!(!valid_bookmark(bad), "{bad}");
        }
    }

    #[test]
    fn safe_methods_read_from_replicas_and_the_rest_starts_at_the_primary() {
        assert_eq!(consistency(&Method::GET, None), Consistency::AnyReplica);
        assert_eq!(consistency(&Method::HEAD, Some("0a")), Consistency::After("0a"));
        assert_eq!(consistency(&Method::POST, Some("0a")), Consistency::Primary);
        assert_eq!(consistency(&Method::PATCH, None), Consistency::Primary);
        assert_eq!(consistency(&Method::DELETE, None), Consistency::Primary);
    }
}
