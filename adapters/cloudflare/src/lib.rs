//! Cloudflare Workers host: wires D1, the Durable Object rate limiter, the clock, the
//! random source and `console.log` into the core, and hands it each request.

mod d1;
mod fetch;
mod limiter;
mod metrics;

use std::cell::RefCell;
use std::sync::Arc;

use axum::Router;
use taskapi::ports::{Level, RandomError};
use taskapi::{Clock, Logger, Ports, Random, Settings};
use tower_service::Service;
use wasm_bindgen::prelude::*;
use worker::{event, Context, Env};

pub use limiter::RateLimiter;

thread_local! {
    // Built on the first request of an isolate and reused: bindings do not change
    // within an isolate, and routing tables and settings are worth building once.
    static APP: RefCell<Option<Router>> = const { RefCell::new(None) };
}

struct WorkerClock;
impl Clock for WorkerClock {
    fn now_ms(&self) -> i64 {
        i64::try_from(worker::Date::now().as_millis()).unwrap_or(i64::MAX)
    }
}

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_namespace = crypto, js_name = getRandomValues, catch)]
    fn get_random_values(buf: &mut [u8]) -> Result<JsValue, JsValue>;
}

struct WebCryptoRandom;
impl Random for WebCryptoRandom {
    fn fill(&self, buf: &mut [u8]) -> Result<(), RandomError> {
        // getRandomValues accepts at most 65,536 bytes per call.
        for chunk in buf.chunks_mut(65_536) {
            get_random_values(chunk).map_err(|e| RandomError(format!("{e:?}")))?;
        }
        Ok(())
    }
}

struct ConsoleLogger;
impl Logger for ConsoleLogger {
    fn write(&self, level: Level, line: &str) {
        match level {
            Level::Error => worker::console_error!("{line}"),
            Level::Warn => worker::console_warn!("{line}"),
            _ => worker::console_log!("{line}"),
        }
    }
}

fn build_app(env: &Env) -> Result<Router, String> {
    let settings = Settings::from_lookup(|k| {
        env.var(k).map(|v| v.to_string()).or_else(|_| env.secret(k).map(|v| v.to_string())).ok()
    })
    .map_err(|e| e.to_string())?;
    let db = env.d1("DB").map_err(|e| format!("D1 binding `DB`: {e}"))?;
    let limiter =
        env.durable_object("RATE_LIMITER").map_err(|e| format!("Durable Object binding `RATE_LIMITER`: {e}"))?;
    let logger: Arc<dyn Logger> = Arc::new(ConsoleLogger);
    let clock: Arc<dyn Clock> = Arc::new(WorkerClock);
    // Logs a panic with its request id, then hands over to the runtime's hook, which
    // schedules the reinitialisation of the instance (the panic aborts it); entry.js
    // turns the failed request into a 500 problem.
    taskapi::faults::install_panic_hook(logger.clone(), clock.clone());
    let ports = Ports {
        store: Arc::new(d1::D1Store::new(db)),
        limiter: Arc::new(taskapi::ratelimit::LeasingLimiter::new(limiter::DoBackend::new(limiter))),
        clock,
        random: Arc::new(WebCryptoRandom),
        logger,
        // The Analytics Engine binding is optional: without it (a deployment that keeps no
        // metrics) nothing is written.
        metrics: match env.analytics_engine("METRICS") {
            Ok(dataset) => Arc::new(metrics::AnalyticsEngine::new(dataset)),
            Err(_) => Arc::new(taskapi::NoMetrics),
        },
        http: Arc::new(fetch::WorkerFetch),
        cache: Arc::new(taskapi::NoSharedCache),
        settings: Arc::new(settings),
    };
    Ok(taskapi::app(ports))
}

fn app(env: &Env) -> Result<Router, String> {
    APP.with(|cell| {
        if let Some(app) = cell.borrow().as_ref() {
            return Ok(app.clone());
        }
        let app = build_app(env)?;
        *cell.borrow_mut() = Some(app.clone());
        Ok(app)
    })
}

#[event(fetch)]
async fn fetch(req: web_sys::Request, env: Env, _ctx: Context) -> worker::Result<web_sys::Response> {
    let req = from_js_request(req).await?;
    to_js_response(handle(req, env).await).await
}

/// The runtime's request as the core's. worker's own conversion reads `request.cf` (which
/// the runtime builds as a new object on every access) and copies the headers one entry,
/// and so several boundary crossings, at a time; the core needs neither `cf` nor that:
/// the headers cross as one JSON text, and a body of declared length within the core's
/// limit is read in one piece (any other body is streamed, and the core refuses what
/// exceeds its limit).
async fn from_js_request(req: web_sys::Request) -> worker::Result<http::Request<axum::body::Body>> {
    let mut builder = http::Request::builder().method(req.method().as_str()).uri(req.url());
    let entries = js_sys::JSON::stringify(&js_sys::Array::from(&req.headers()))?.as_string().unwrap_or_default();
    let entries: Vec<(String, String)> =
        serde_json::from_str(&entries).map_err(|e| worker::Error::RustError(e.to_string()))?;
    let mut declared = None;
    if let Some(headers) = builder.headers_mut() {
        for (name, value) in entries {
            let name = http::HeaderName::from_bytes(name.as_bytes())?;
            if name == http::header::CONTENT_LENGTH {
                declared = value.parse::<usize>().ok();
            }
            headers.append(name, http::HeaderValue::from_str(&value)?);
        }
    }
    let body = match req.body() {
        None => axum::body::Body::empty(),
        Some(_) if declared.is_some_and(|n| n <= taskapi::http::extract::MAX_BODY_BYTES) => {
            let buffer = wasm_bindgen_futures::JsFuture::from(req.array_buffer()?).await?;
            axum::body::Body::from(js_sys::Uint8Array::new(&buffer).to_vec())
        }
        Some(stream) => axum::body::Body::new(worker::Body::new(stream)),
    };
    Ok(builder.body(body)?)
}

/// The request id entry.js chose for a request that came without a valid one (see
/// REQUEST_ID_VAR there): it becomes the request's `X-Request-Id`, so the panic answer
/// written in JavaScript and the log lines written here name the same id.
const REQUEST_ID_VAR: &str = "__TASKAPI_REQUEST_ID";

async fn handle(mut req: http::Request<axum::body::Body>, env: Env) -> http::Response<axum::body::Body> {
    let chosen = js_sys::Reflect::get(&env, &JsValue::from_str(REQUEST_ID_VAR)).ok().and_then(|v| v.as_string());
    if let Some(id) = chosen.and_then(|v| http::HeaderValue::from_str(&v).ok()) {
        req.headers_mut().insert(http::header::HeaderName::from_static("x-request-id"), id);
    }
    // Cloudflare's edge sets CF-Connecting-IP to the client address (clients cannot forge it).
    let peer = req.headers().get("cf-connecting-ip").and_then(|v| v.to_str().ok()).map(str::to_owned);
    if let Some(ip) = peer {
        req.extensions_mut().insert(taskapi::http::limits::PlatformClientIp(ip));
    }
    let mut router = match app(&env) {
        Ok(router) => router,
        Err(e) => {
            worker::console_error!("{{\"level\":\"error\",\"msg\":\"startup failed\",\"error\":{:?}}}", e);
            return taskapi::http::startup_failure(req.headers());
        }
    };
    match router.call(req).await {
        Ok(res) => res,
        Err(never) => match never {},
    }
}

/// The response handed to the runtime with its body as one byte array. Every body the
/// core writes is complete in memory, so collecting it finishes at once; the runtime then
/// gets a fixed-length body instead of a `ReadableStream` pulled chunk by chunk across
/// the wasm boundary (worker's default conversion), which saves the stream's set-up and
/// its promise round trips on every request.
async fn to_js_response(res: http::Response<axum::body::Body>) -> worker::Result<web_sys::Response> {
    let (parts, body) = res.into_parts();
    let mut bytes =
        axum::body::to_bytes(body, usize::MAX).await.map_err(|e| worker::Error::RustError(e.to_string()))?.to_vec();
    let headers = web_sys::Headers::new()?;
    for (name, value) in &parts.headers {
        headers.append(name.as_str(), std::str::from_utf8(value.as_bytes())?)?;
    }
    let init = web_sys::ResponseInit::new();
    init.set_status(parts.status.as_u16());
    init.set_headers(&headers);
    let body = if bytes.is_empty() { None } else { Some(bytes.as_mut_slice()) };
    Ok(web_sys::Response::new_with_opt_u8_array_and_init(body, &init)?)
}
