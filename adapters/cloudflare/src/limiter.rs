//! The rate-limit Durable Object: one object per limited key, holding that key's GCRA
//! state, so every isolate and every location shares one count.

use taskapi::ratelimit::{gcra, Quota};
use worker::{durable_object, DurableObject, Env, Request, Response, Result, State};

#[derive(serde::Deserialize)]
struct CheckRequest {
    quota: Quota,
    now_ms: i64,
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
        if decision.allowed {
            storage.put("tat", decision.tat).await?;
        }
        Response::from_json(&decision)
    }
}
