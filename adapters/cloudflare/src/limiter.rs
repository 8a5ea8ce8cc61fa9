//! The rate-limit Durable Object: one object per limited key, holding that key's GCRA
//! state, so every isolate and every location shares one count. The object's input gate
//! delivers no other request while its storage calls are pending, so the
//! read-modify-write below does not interleave.

use async_trait::async_trait;
use taskapi::ratelimit::{gcra, Decision, LimiterError, Quota, RateLimiter as LimiterPort};
use worker::send::{SendFuture, SendWrapper};
use worker::{
    durable_object, DurableObject, Env, Method, ObjectNamespace, Request, RequestInit, Response, Result, State,
};

#[derive(serde::Serialize, serde::Deserialize)]
struct CheckRequest {
    quota: Quota,
    now_ms: i64,
    consume: bool,
}

/// The limiter port on Workers: one Durable Object per key, reached by name, so every
/// isolate in every location counts against the same object.
pub struct DoRateLimiter {
    ns: SendWrapper<ObjectNamespace>,
}

impl DoRateLimiter {
    pub fn new(ns: ObjectNamespace) -> Self {
        Self {
            ns: SendWrapper::new(ns),
        }
    }

    async fn call(&self, key: &str, body: &CheckRequest) -> Result<Decision> {
        let stub = self.ns.id_from_name(key)?.get_stub()?;
        let mut init = RequestInit::new();
        init.with_method(Method::Post)
            .with_body(Some(serde_json::to_string(body)?.into()));
        let req = Request::new_with_init("https://rate-limiter/check", &init)?;
        let mut res = stub.fetch_with_request(req).await?;
        res.json().await
    }
}

#[async_trait]
impl LimiterPort for DoRateLimiter {
    async fn check(
        &self,
        key: &str,
        quota: Quota,
        now_ms: i64,
        consume: bool,
    ) -> std::result::Result<Decision, LimiterError> {
        SendFuture::new(async move {
            self.call(key, &CheckRequest { quota, now_ms, consume })
                .await
                .map_err(|e| LimiterError(e.to_string()))
        })
        .await
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
        let check: CheckRequest = req.json().await?;
        let storage = self.state.storage();
        let tat: Option<i64> = storage.get("tat").await?;
        let decision = gcra(tat, check.now_ms, check.quota);
        if decision.allowed && check.consume {
            storage.put("tat", decision.tat).await?;
        }
        Response::from_json(&decision)
    }
}
