//! Per-operation costs of the core, measured by the same code natively and inside wasm
//! (wasm32-unknown-unknown, run by Node through wasm-bindgen): JWT sign and verify,
//! Argon2id hash and verify with the production parameters, and whole requests through
//! the router over an in-memory store that answers from memory (no SQL engine), so the
//! figure is the router, extractors, token check and JSON, not a database.

use std::future::Future;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use async_trait::async_trait;
use axum::body::Body;
use taskapi::auth::password::{self, HashParams};
use taskapi::ports::{Level, RandomError};
use taskapi::store::StmtResult;
use taskapi::{Clock, Logger, Ports, Random, Row, Settings, Statement, Store, StoreError, Value};
use tower_service::Service;
use wasm_bindgen::prelude::*;

const NOW: i64 = 1_795_255_200_000;
const USER: &str = "01a20000-0000-7000-8000-000000000001";
const PROJECT: &str = "01a20000-0000-7000-8000-000000000002";

struct FixedClock;
impl Clock for FixedClock {
    fn now_ms(&self) -> i64 {
        NOW
    }
}

/// Not random: the cost of the operations does not depend on the bytes.
struct CountingRandom;
impl Random for CountingRandom {
    fn fill(&self, buf: &mut [u8]) -> Result<(), RandomError> {
        for (i, b) in buf.iter_mut().enumerate() {
            *b = u8::try_from(i % 251).unwrap_or(0);
        }
        Ok(())
    }
}

struct Discard;
impl Logger for Discard {
    fn write(&self, _: Level, _: &str) {}
}

/// Answers the queries the measured requests make from memory: the caller, the caller's
/// project (as owner), and `RETURNING 1` for every statement of a batch.
struct MemoryStore;
#[async_trait]
impl Store for MemoryStore {
    async fn query(&self, stmt: Statement) -> Result<Vec<Row>, StoreError> {
        if stmt.sql.contains("FROM projects p") {
            return Ok(vec![Row(vec![
                Value::Text(PROJECT.to_owned()),
                Value::Text("Bench".to_owned()),
                Value::Null,
                Value::Integer(0),
                Value::Text("owner".to_owned()),
                Value::Integer(NOW),
                Value::Integer(NOW),
                Value::Integer(1),
            ])]);
        }
        if stmt.sql.starts_with("SELECT id, email, name, created_at FROM users") {
            return Ok(vec![Row(vec![
                Value::Text(USER.to_owned()),
                Value::Text("bench@example.test".to_owned()),
                Value::Text("Bench".to_owned()),
                Value::Integer(NOW),
            ])]);
        }
        Ok(vec![Row(vec![Value::Integer(1)])])
    }
    async fn execute(&self, _: Statement) -> Result<u64, StoreError> {
        Ok(1)
    }
    async fn batch(&self, stmts: Vec<Statement>) -> Result<Vec<StmtResult>, StoreError> {
        let landed = StmtResult { rows: vec![Row(vec![Value::Integer(1)])], changes: 1 };
        Ok(vec![landed; stmts.len()])
    }
}

fn settings() -> Option<Settings> {
    Settings::from_lookup(|k| match k {
        "ENVIRONMENT" => Some("development".to_owned()),
        "JWT_SIGNING_KEY" => Some("bench:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8".to_owned()),
        "RATE_LIMITS_ENABLED" => Some("false".to_owned()),
        _ => None,
    })
    .ok()
}

/// The app over the in-memory store, with nothing logged.
fn app(settings: Settings) -> axum::Router {
    taskapi::app(Ports {
        store: Arc::new(MemoryStore),
        limiter: Arc::new(taskapi::ratelimit::SqlRateLimiter { store: Arc::new(MemoryStore) }),
        clock: Arc::new(FixedClock),
        random: Arc::new(CountingRandom),
        logger: Arc::new(Discard),
        metrics: Arc::new(taskapi::NoMetrics),
        http: Arc::new(taskapi::NoHttp),
        cache: Arc::new(taskapi::NoSharedCache),
        settings: Arc::new(settings),
    })
}

/// A task creation as a client sends it.
fn create_task_request(bearer: &str) -> Option<http::Request<Body>> {
    http::Request::post(format!("/v1/projects/{PROJECT}/tasks"))
        .header("authorization", bearer)
        .header("content-type", "application/json")
        .body(Body::from(
            r#"{"title":"Write the launch post","priority":"high","due_date":"2026-12-01","labels":["launch","blog"]}"#,
        ))
        .ok()
}

/// One request through the router; the status once the body has been read.
fn send(app: &axum::Router, req: http::Request<Body>) -> Option<u16> {
    let mut router = app.clone();
    let res = ready(router.call(req))?.ok()?;
    let status = res.status().as_u16();
    ready(http_body_util::BodyExt::collect(res.into_body()))?.ok()?;
    Some(status)
}

/// Drives a future that never waits on I/O (the in-memory store answers at once).
fn ready<F: Future>(f: F) -> Option<F::Output> {
    let mut f = std::pin::pin!(f);
    let mut cx = Context::from_waker(Waker::noop());
    for _ in 0..64 {
        if let Poll::Ready(v) = f.as_mut().poll(&mut cx) {
            return Some(v);
        }
    }
    None
}

/// Runs `op` repeatedly for at least `min_ms` (and 3 rounds) and returns µs per call.
fn measure(now_ms: fn() -> f64, min_ms: f64, mut op: impl FnMut() -> bool) -> Option<f64> {
    for _ in 0..3 {
        if !op() {
            return None;
        }
    }
    let mut calls: u32 = 0;
    let start = now_ms();
    loop {
        if !op() {
            return None;
        }
        calls = calls.saturating_add(1);
        let elapsed = now_ms() - start;
        if elapsed >= min_ms && calls >= 3 {
            return Some(elapsed * 1000.0 / f64::from(calls));
        }
    }
}

pub fn native_now_ms() -> f64 {
    use std::sync::OnceLock;
    use std::time::Instant;
    static START: OnceLock<Instant> = OnceLock::new();
    START.get_or_init(Instant::now).elapsed().as_secs_f64() * 1000.0
}

/// Every measurement as `[{"operation": …, "us": …}]`.
pub fn run_json(now_ms: fn() -> f64) -> String {
    let mut rows: Vec<serde_json::Value> = Vec::new();
    let mut record = |name: &str, us: Option<f64>| {
        rows.push(serde_json::json!({"operation": name, "us": us}));
    };
    let Some(s) = settings() else {
        return "[]".to_owned();
    };
    let token = s.jwt.issue(USER, "session", NOW).unwrap_or_default();
    record("JWT sign (EdDSA)", measure(now_ms, 300.0, || s.jwt.issue(USER, "session", NOW).is_ok()));
    record(
        "JWT verify (EdDSA), a token not seen before",
        measure(now_ms, 300.0, || s.jwt.verify(&taskapi::auth::jwt::VerifiedTokens::default(), &token, NOW).is_ok()),
    );
    let seen = taskapi::auth::jwt::VerifiedTokens::default();
    record(
        "JWT verify, a token this instance already checked",
        measure(now_ms, 300.0, || s.jwt.verify(&seen, &token, NOW).is_ok()),
    );
    let hash = password::hash("correct horse battery staple", HashParams::OWASP, &CountingRandom).unwrap_or_default();
    record(
        "Argon2id hash (m=19 MiB, t=2, p=1)",
        measure(now_ms, 1000.0, || {
            password::hash("correct horse battery staple", HashParams::OWASP, &CountingRandom).is_ok()
        }),
    );
    record(
        "Argon2id verify",
        measure(now_ms, 1000.0, || {
            matches!(
                password::verify("correct horse battery staple", &hash, HashParams::OWASP),
                password::Verdict::Correct
            )
        }),
    );
    // The ID-token check of a sign-in's callback (openidconnect, RS256 with a 2048-bit key).
    let (provider, discovery, jwks, id_token) = taskapi::oidc::provider::recorded_sign_in();
    record(
        "ID token verify (RS256 2048, openidconnect; discovery and key set parsed too)",
        measure(now_ms, 300.0, || {
            taskapi::oidc::provider::verify_id_token(
                &provider,
                &discovery,
                &jwks,
                &id_token,
                "bench-nonce",
                NOW,
                30_000,
            )
            .is_ok()
        }),
    );
    let app = app(s);
    let send = |req| send(&app, req);
    let health = || http::Request::get("/v1/health").body(Body::empty()).ok();
    record(
        "GET /v1/health through the router (in-memory store)",
        measure(now_ms, 300.0, || health().and_then(send) == Some(200)),
    );
    let bearer = format!("Bearer {token}");
    let me = || http::Request::get("/v1/me").header("authorization", bearer.as_str()).body(Body::empty()).ok();
    record(
        "GET /v1/me through the router, token verified (in-memory store)",
        measure(now_ms, 300.0, || me().and_then(send) == Some(200)),
    );
    let create = || create_task_request(&bearer);
    record(
        "POST /v1/projects/{id}/tasks through the router (in-memory store)",
        measure(now_ms, 300.0, || create().and_then(send) == Some(201)),
    );
    serde_json::Value::Array(rows).to_string()
}

/// Sends `n` task creations through the router (for instruction-count profiles).
pub fn create_tasks(n: u32) -> u32 {
    let Some(s) = settings() else { return 0 };
    let bearer = format!("Bearer {}", s.jwt.issue(USER, "session", NOW).unwrap_or_default());
    let app = app(s);
    let mut created: u32 = 0;
    for _ in 0..n {
        if create_task_request(&bearer).and_then(|req| send(&app, req)) == Some(201) {
            created = created.saturating_add(1);
        }
    }
    created
}

fn performance_now() -> f64 {
    js_sys::Date::now()
}

/// The measurements inside wasm (for `bench/ops.mjs`).
#[wasm_bindgen(js_name = runBenchmarks)]
pub fn run_benchmarks() -> String {
    run_json(performance_now)
}
