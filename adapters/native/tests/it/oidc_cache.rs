//! A provider's discovery document and key set are fetched once and then served from
//! the instance's memory, or, for a new instance (Spin makes one per request), from the
//! host's shared cache; after an hour they are fetched again. The provider here answers
//! from the fixture of `src/oidc/testdata` and counts what it is asked.

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use http::StatusCode;
use serde_json::Value;
use taskapi::ports::{HttpClient, HttpError, SharedCache};
use taskapi::{Clock, Ports};
use taskapi_native::{OsRandom, SqliteStore};

use crate::common::{captured, settings};

const FIXTURE: &str = include_str!("../../../../src/oidc/testdata/id_token_rs256.json");

/// Serves the fixture's discovery document and key set; counts the calls.
#[derive(Default)]
struct FixtureProvider {
    calls: AtomicU32,
}

#[async_trait]
impl HttpClient for FixtureProvider {
    async fn send(&self, req: http::Request<Vec<u8>>) -> Result<http::Response<Vec<u8>>, HttpError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        let fixture: Value = serde_json::from_str(FIXTURE).unwrap();
        let body = match req.uri().path() {
            "/.well-known/openid-configuration" => fixture["discovery"].to_string(),
            "/jwks" => fixture["jwks"].to_string(),
            other => return Err(HttpError(format!("unexpected {other}"))),
        };
        Ok(http::Response::builder()
            .status(200)
            .header("content-type", "application/json")
            .body(body.into_bytes())
            .unwrap())
    }
}

#[derive(Default)]
struct MemoryCache(Mutex<HashMap<String, Vec<u8>>>);

#[async_trait]
impl SharedCache for MemoryCache {
    async fn get(&self, key: &str) -> Option<Vec<u8>> {
        self.0.lock().unwrap().get(key).cloned()
    }
    async fn put(&self, key: &str, value: Vec<u8>) {
        self.0.lock().unwrap().insert(key.to_owned(), value);
    }
}

struct Fixed(AtomicI64);
impl Clock for Fixed {
    fn now_ms(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }
}

fn instance(provider: &Arc<FixtureProvider>, cache: &Arc<MemoryCache>, clock: &Arc<Fixed>) -> axum::Router {
    let providers = r#"[{"id":"bench","name":"Bench","issuer":"https://idp.example.test","client_id":"bench-client","redirect_uris":["https://app.example/cb"]}]"#;
    let settings = settings(&[
        ("OIDC_PROVIDERS", providers),
        ("OIDC_CLIENT_SECRETS", r#"{"bench":"s"}"#),
        ("PUBLIC_BASE_URL", "https://api.example"),
    ]);
    let store = Arc::new(SqliteStore::in_memory().unwrap());
    taskapi::app(Ports {
        limiter: Arc::new(taskapi::ratelimit::SqlRateLimiter { store: store.clone() }),
        store,
        clock: clock.clone(),
        random: Arc::new(OsRandom),
        logger: captured(),
        metrics: Arc::new(taskapi::NoMetrics),
        http: provider.clone(),
        cache: cache.clone(),
        settings: Arc::new(settings),
    })
}

fn authorize(app: &axum::Router) -> StatusCode {
    let path = "/v1/auth/oidc/bench/authorize?redirect_uri=https%3A%2F%2Fapp.example%2Fcb";
    crate::common::call(app, "GET", path, None, None).0
}

#[test]
fn discovery_is_fetched_once_then_shared_by_new_instances_until_it_expires() {
    let (provider, cache) = (Arc::new(FixtureProvider::default()), Arc::new(MemoryCache::default()));
    let clock = Arc::new(Fixed(AtomicI64::new(1_795_255_200_000)));
    let first = instance(&provider, &cache, &clock);
    assert_eq!(authorize(&first), StatusCode::FOUND);
    assert_eq!(provider.calls.load(Ordering::SeqCst), 2, "discovery and key set");
    assert_eq!(authorize(&first), StatusCode::FOUND);
    assert_eq!(provider.calls.load(Ordering::SeqCst), 2, "the instance's memory");
    // A new instance (a Spin request) finds them in the shared cache.
    assert_eq!(authorize(&instance(&provider, &cache, &clock)), StatusCode::FOUND);
    assert_eq!(provider.calls.load(Ordering::SeqCst), 2, "the shared cache");
    // An hour later they are fetched again.
    clock.0.fetch_add(taskapi::oidc::provider::METADATA_TTL_MS + 1, Ordering::SeqCst);
    assert_eq!(authorize(&instance(&provider, &cache, &clock)), StatusCode::FOUND);
    assert_eq!(provider.calls.load(Ordering::SeqCst), 4, "fetched again after the expiry");
}
