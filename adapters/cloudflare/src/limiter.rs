//! The rate-limit Durable Object: one object per limited key, holding that key's GCRA
//! state, so every isolate and every location shares one count. The object's input gate
//! delivers no other request while its storage calls are pending, so each
//! read-modify-write below does not interleave. The arithmetic is the core's
//! (`taskapi::ratelimit`); this file only carries it across the binding.

use async_trait::async_trait;
use taskapi::ratelimit::lease::{self, Grant, LeaseBackend};
use taskapi::ratelimit::{gcra, refund, Decision, LimiterError, Quota};
use worker::send::{SendFuture, SendWrapper};
use worker::{
    durable_object, DurableObject, Env, Method, ObjectNamespace, Request, RequestInit, Response, Result, State,
};

/// One call to a key's object.
#[derive(serde::Serialize, serde::Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
enum Call {
    Check { quota: Quota, now_ms: i64, consume: bool },
    Lease { quota: Quota, now_ms: i64, want: u32 },
    Refund { quota: Quota, now_ms: i64 },
}

/// The lease backend on Workers: one Durable Object per key, reached by name, so every
/// isolate in every location counts against the same object.
pub struct DoBackend {
    ns: SendWrapper<ObjectNamespace>,
}

impl DoBackend {
    pub fn new(ns: ObjectNamespace) -> Self {
        Self { ns: SendWrapper::new(ns) }
    }

    async fn call<T: serde::de::DeserializeOwned>(
        &self,
        key: &str,
        call: &Call,
    ) -> std::result::Result<T, LimiterError> {
        let run = async {
            let stub = self.ns.id_from_name(key)?.get_stub()?;
            let mut init = RequestInit::new();
            init.with_method(Method::Post).with_body(Some(serde_json::to_string(call)?.into()));
            let req = Request::new_with_init("https://rate-limiter/call", &init)?;
            let mut res = stub.fetch_with_request(req).await?;
            res.json::<T>().await
        };
        SendFuture::new(run).await.map_err(|e| LimiterError(e.to_string()))
    }
}

#[async_trait]
impl LeaseBackend for DoBackend {
    async fn lease(&self, key: &str, quota: Quota, now_ms: i64, want: u32) -> std::result::Result<Grant, LimiterError> {
        self.call(key, &Call::Lease { quota, now_ms, want }).await
    }

    async fn check(
        &self,
        key: &str,
        quota: Quota,
        now_ms: i64,
        consume: bool,
    ) -> std::result::Result<Decision, LimiterError> {
        self.call(key, &Call::Check { quota, now_ms, consume }).await
    }

    async fn refund(&self, key: &str, quota: Quota, now_ms: i64) -> std::result::Result<(), LimiterError> {
        self.call::<serde_json::Value>(key, &Call::Refund { quota, now_ms }).await.map(|_| ())
    }
}

#[durable_object]
pub struct RateLimiter {
    state: State,
}

impl DurableObject for RateLimiter {
    fn new(state: State, _env: Env) -> Self {
        Self { state }
    }

    async fn fetch(&self, mut req: Request) -> Result<Response> {
        let call: Call = req.json().await?;
        let storage = self.state.storage();
        let tat: Option<i64> = storage.get("tat").await?;
        match call {
            Call::Check { quota, now_ms, consume } => {
                let d = gcra(tat, now_ms, quota);
                if d.allowed && consume {
                    storage.put("tat", d.tat).await?;
                }
                Response::from_json(&d)
            }
            Call::Lease { quota, now_ms, want } => {
                let g = lease::grant(tat, now_ms, quota, want);
                if g.granted > 0 {
                    storage.put("tat", g.decision.tat).await?;
                }
                Response::from_json(&g)
            }
            Call::Refund { quota, now_ms } => {
                if let Some(t) = refund(tat, now_ms, quota) {
                    storage.put("tat", t).await?;
                }
                Response::from_json(&serde_json::json!({}))
            }
        }
    }
}
