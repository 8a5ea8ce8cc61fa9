//! Per-operation costs of the core, natively (criterion): JWT sign and verify, password
//! hash and verify with the production parameters, and whole requests through the router
//! over an in-memory SQLite. `cargo bench -p taskapi-native --bench ops`.

// Benchmark code: a broken setup should stop the run loudly.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
#![allow(clippy::indexing_slicing, clippy::arithmetic_side_effects)]

use std::hint::black_box;
use std::sync::Arc;

use axum::body::Body;
use criterion::{criterion_group, criterion_main, Criterion};
use http::Request;
use taskapi::auth::password::{self, HashParams};
use taskapi::Settings;
use taskapi_native::{ports, OsRandom, SqliteStore};
use tower::ServiceExt;

fn settings() -> Settings {
    let mut config = conformance::fixtures::host_config();
    config.push(("RATE_LIMITS_ENABLED", "false".to_owned()));
    Settings::from_lookup(|k| config.iter().rev().find(|(n, _)| *n == k).map(|(_, v)| v.clone())).unwrap()
}

fn ops(c: &mut Criterion) {
    let s = settings();
    let now = 1_795_255_200_000;
    let token = s.jwt.issue("user", "session", now).unwrap();
    c.bench_function("jwt sign (EdDSA)", |b| b.iter(|| black_box(s.jwt.issue("user", "session", now).unwrap())));
    // A copy of the configuration starts with an empty cache of checked tokens.
    c.bench_function("jwt verify (EdDSA), a token not seen before", |b| {
        b.iter(|| black_box(s.jwt.verify(&taskapi::auth::jwt::VerifiedTokens::default(), &token, now).unwrap()))
    });
    c.bench_function("jwt verify, a token this instance already checked", |b| {
        let seen = taskapi::auth::jwt::VerifiedTokens::default();
        b.iter(|| black_box(s.jwt.verify(&seen, &token, now).unwrap()))
    });

    let mut slow = c.benchmark_group("argon2id m=19MiB t=2 p=1");
    slow.sample_size(10);
    let hash = password::hash("correct horse battery staple", HashParams::OWASP, &OsRandom).unwrap();
    slow.bench_function("password hash", |b| {
        b.iter(|| black_box(password::hash("correct horse battery staple", HashParams::OWASP, &OsRandom).unwrap()))
    });
    slow.bench_function("password verify", |b| {
        b.iter(|| black_box(password::verify("correct horse battery staple", &hash, HashParams::OWASP)))
    });
    slow.finish();

    // Requests log one line each; the benchmark discards them.
    struct Discard;
    impl taskapi::Logger for Discard {
        fn write(&self, _: taskapi::ports::Level, _: &str) {}
    }
    let app = taskapi::app(ports(Arc::new(SqliteStore::in_memory().unwrap()), settings(), Arc::new(Discard)));
    let send = |req: Request<Body>| futures_executor::block_on(app.clone().oneshot(req)).unwrap();
    let body = r#"{"email":"bench@example.test","password":"correct horse battery staple","name":"B"}"#;
    let res = send(
        Request::post("/v1/auth/register").header("content-type", "application/json").body(Body::from(body)).unwrap(),
    );
    let bytes = futures_executor::block_on(http_body_util::BodyExt::collect(res.into_body())).unwrap().to_bytes();
    let access =
        serde_json::from_slice::<serde_json::Value>(&bytes).unwrap()["access_token"].as_str().unwrap().to_owned();
    assert_eq!(send(Request::get("/v1/health").body(Body::empty()).unwrap()).status(), 200);
    c.bench_function("router: GET /v1/health (in-memory SQLite)", |b| {
        b.iter(|| black_box(send(Request::get("/v1/health").body(Body::empty()).unwrap()).status()))
    });
    let me = || Request::get("/v1/me").header("authorization", format!("Bearer {access}")).body(Body::empty()).unwrap();
    assert_eq!(send(me()).status(), 200);
    c.bench_function("router: GET /v1/me, token verified (in-memory SQLite)", |b| {
        b.iter(|| {
            let req =
                Request::get("/v1/me").header("authorization", format!("Bearer {access}")).body(Body::empty()).unwrap();
            black_box(send(req).status())
        })
    });
}

criterion_group!(benches, ops);
criterion_main!(benches);
