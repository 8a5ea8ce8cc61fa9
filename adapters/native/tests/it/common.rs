//! Helpers shared by the tests: configuration, apps, and in-process requests.

use std::sync::Arc;

use axum::body::Body;
use http::{Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::Value;
use taskapi::{Settings, Store};
use taskapi_native::{ports, StdoutLogger};
use tower::ServiceExt;

/// The conformance suite's host configuration, with `extra` variables on top.
pub fn settings(extra: &[(&str, &str)]) -> Settings {
    let mut config: Vec<(String, String)> =
        conformance::fixtures::host_config().into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
    config.extend(extra.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())));
    Settings::from_lookup(|k| config.iter().rev().find(|(n, _)| n == k).map(|(_, v)| v.clone())).unwrap()
}

/// A logger that keeps its lines for the test to read.
pub fn captured() -> Arc<StdoutLogger> {
    Arc::new(StdoutLogger { captured: Some(Default::default()) })
}

/// The app over `store` with the test configuration and a captured log.
pub fn app(store: Arc<dyn Store>) -> axum::Router {
    taskapi::app(ports(store, settings(&[]), captured()))
}

/// Sends one request through the router in-process; returns the status and JSON body
/// (`Null` when the body is not JSON).
pub fn call(
    router: &axum::Router,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut req = Request::builder().method(method).uri(path);
    if let Some(t) = token {
        req = req.header("authorization", format!("Bearer {t}"));
    }
    let body = match body {
        Some(b) => {
            req = req.header("content-type", "application/json");
            Body::from(b.to_string())
        }
        None => Body::empty(),
    };
    let res = futures_executor::block_on(router.clone().oneshot(req.body(body).unwrap())).unwrap();
    let status = res.status();
    let bytes = futures_executor::block_on(res.into_body().collect()).unwrap().to_bytes();
    (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
}

/// Registers an account through `router`; returns the token response body (with `user`).
pub fn register(router: &axum::Router, email: &str) -> Value {
    let (s, b) = call(
        router,
        "POST",
        "/v1/auth/register",
        None,
        Some(serde_json::json!({"email": email, "password": "correct horse battery", "name": "A"})),
    );
    assert_eq!(s, StatusCode::CREATED, "{b}");
    b
}
