//! Spin host: wires Spin SQLite, Spin variables, the clock, the random source and stdout
//! into the core, and hands it each request. Spin runs a fresh instance per request,
//! so everything here is built per request; keep it cheap.

mod sqlite;

use std::collections::HashMap;
use std::sync::Arc;

use taskapi::clock::SystemClock;
use taskapi::ports::{HttpClient, HttpError, Level, RandomError, SharedCache, MAX_OUTBOUND_RESPONSE};
use taskapi::{Logger, Ports, Random, Settings};
use tower_service::Service;

struct WasiRandom;
impl Random for WasiRandom {
    fn fill(&self, buf: &mut [u8]) -> Result<(), RandomError> {
        getrandom::fill(buf).map_err(|e| RandomError(e.to_string()))
    }
}

/// Outbound HTTP through `wasi:http` (Spin refuses hosts its manifest's
/// `allowed_outbound_hosts` does not list).
struct SpinHttp;

#[async_trait::async_trait]
impl HttpClient for SpinHttp {
    async fn send(&self, req: http::Request<Vec<u8>>) -> Result<http::Response<Vec<u8>>, HttpError> {
        use spin_sdk::http::body::IncomingBodyExt;
        let call = async move {
            let req = req.map(|b| spin_sdk::http::FullBody::new(bytes::Bytes::from(b)));
            let res = spin_sdk::http::send(req).await.map_err(|e| HttpError(format!("{e:?}")))?;
            let (parts, body) = res.into_parts();
            let declared = parts.headers.get(http::header::CONTENT_LENGTH).and_then(|v| v.to_str().ok());
            if declared.and_then(|v| v.parse::<usize>().ok()).is_some_and(|n| n > MAX_OUTBOUND_RESPONSE) {
                return Err(HttpError(format!("response larger than {MAX_OUTBOUND_RESPONSE} bytes")));
            }
            let bytes = body.bytes().await.map_err(|e| HttpError(format!("reading the response: {e:?}")))?;
            if bytes.len() > MAX_OUTBOUND_RESPONSE {
                return Err(HttpError(format!("response larger than {MAX_OUTBOUND_RESPONSE} bytes")));
            }
            Ok(http::Response::from_parts(parts, bytes.to_vec()))
        };
        // One thread per instance: the wasi:http futures are polled where they were made.
        send_wrapper::SendWrapper::new(call).await
    }
}

/// Spin's default key-value store as the shared cache: an instance lives one request, so
/// what the core caches (a provider's discovery document) is worth keeping here.
struct SpinKv;

#[async_trait::async_trait]
impl SharedCache for SpinKv {
    async fn get(&self, key: &str) -> Option<Vec<u8>> {
        let key = key.to_owned();
        send_wrapper::SendWrapper::new(async move {
            let store = spin_sdk::key_value::Store::open_default().await.ok()?;
            store.get(&key).await.ok().flatten()
        })
        .await
    }

    async fn put(&self, key: &str, value: Vec<u8>) {
        let key = key.to_owned();
        send_wrapper::SendWrapper::new(async move {
            if let Ok(store) = spin_sdk::key_value::Store::open_default().await {
                let _ = store.set(&key, &value).await;
            }
        })
        .await;
    }
}

struct StdoutLogger;
impl Logger for StdoutLogger {
    fn write(&self, level: Level, line: &str) {
        if level >= Level::Error {
            eprintln!("{line}");
        } else {
            println!("{line}");
        }
    }
}

/// Spin variable names are lower-case; the core's keys are upper-case.
async fn settings() -> Result<Settings, String> {
    let mut values = HashMap::new();
    for key in Settings::KEYS {
        if let Ok(v) = spin_sdk::variables::get(key.to_ascii_lowercase()).await {
            values.insert((*key).to_owned(), v);
        }
    }
    Settings::from_map(&values).map_err(|e| e.to_string())
}

#[spin_sdk::http_service]
async fn handle(req: spin_sdk::http::Request) -> http::Response<axum::body::Body> {
    let (parts, body) = req.into_parts();
    let mut req = http::Request::from_parts(parts, axum::body::Body::new(body));
    // Spin puts the TCP peer in `spin-client-addr` (and overwrites any client-sent one).
    let peer = req
        .headers()
        .get("spin-client-addr")
        .and_then(|v| v.to_str().ok())
        .map(|a| taskapi::http::limits::PlatformClientIp(taskapi::http::limits::ip_of_socket_addr(a).to_owned()));
    if let Some(ip) = peer {
        req.extensions_mut().insert(ip);
    }
    let settings = match settings().await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("{{\"level\":\"error\",\"msg\":\"startup failed\",\"error\":{e:?}}}");
            return taskapi::http::startup_failure(req.headers());
        }
    };
    let store: Arc<dyn taskapi::Store> = Arc::new(sqlite::SpinStore::open_default().await);
    let ports = Ports {
        limiter: Arc::new(taskapi::ratelimit::SqlRateLimiter { store: store.clone() }),
        store,
        clock: Arc::new(SystemClock),
        random: Arc::new(WasiRandom),
        logger: Arc::new(StdoutLogger),
        metrics: Arc::new(taskapi::NoMetrics),
        http: Arc::new(SpinHttp),
        cache: Arc::new(SpinKv),
        settings: Arc::new(settings),
    };
    // A panic aborts this instance (wasm32-wasip2 has no unwinding) and Spin answers 500;
    // the hook logs it first with the request id. The next request gets a fresh instance.
    taskapi::faults::install_panic_hook(ports.logger.clone(), ports.clock.clone());
    match taskapi::app(ports).call(req).await {
        Ok(res) => res,
        Err(never) => match never {},
    }
}
