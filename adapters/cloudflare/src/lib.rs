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
use worker::{event, Context, Env, HttpRequest};

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
async fn fetch(mut req: HttpRequest, env: Env, _ctx: Context) -> worker::Result<http::Response<axum::body::Body>> {
    // Cloudflare's edge sets CF-Connecting-IP to the client address (clients cannot forge it).
    let peer = req.headers().get("cf-connecting-ip").and_then(|v| v.to_str().ok()).map(str::to_owned);
    if let Some(ip) = peer {
        req.extensions_mut().insert(taskapi::http::limits::PlatformClientIp(ip));
    }
    let mut router = match app(&env) {
        Ok(router) => router,
        Err(e) => {
            worker::console_error!("{{\"level\":\"error\",\"msg\":\"startup failed\",\"error\":{:?}}}", e);
            return Ok(taskapi::http::startup_failure(req.headers()));
        }
    };
    match router.call(req).await {
        Ok(res) => Ok(res),
        Err(never) => match never {},
    }
}
