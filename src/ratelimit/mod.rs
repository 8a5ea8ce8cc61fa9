//! Rate limiting with GCRA (the generic cell rate algorithm): one timestamp per key,
//! exact at window boundaries (no fixed-window double bursts), cheap to store atomically.
//! A limit `L per W` admits a burst of `L`, then `L/W` sustained: in any interval of
//! length `Δ`, at most `L + Δ·L/W` requests.
//!
//! The port, [`RateLimiter`], has exact calls (one round trip to the shared store) and
//! [`RateLimiter::admit`], which a host may answer from a lease of budget it took from
//! the shared store earlier ([`lease`]); hosts without a long-lived instance answer it
//! exactly.

pub mod lease;
pub mod sql;

use serde::{Deserialize, Serialize};

pub use lease::LeasingLimiter;
pub use sql::SqlRateLimiter;

/// `limit` requests per `window_ms`, allowing the whole `limit` as a burst.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Quota {
    pub limit: u32,
    pub window_ms: i64,
}

impl Quota {
    /// Time between requests at the sustained rate (at least 1 ms).
    pub fn emission_interval_ms(self) -> i64 {
        self.window_ms.checked_div(i64::from(self.limit.max(1))).unwrap_or(1).max(1)
    }

    /// The window as GCRA sees it: `limit` emission intervals.
    pub fn window(self) -> i64 {
        self.emission_interval_ms().saturating_mul(i64::from(self.limit.max(1)))
    }
}

/// The outcome of one request against a quota.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decision {
    pub allowed: bool,
    /// Requests still allowed right now after this one.
    pub remaining: u32,
    /// Milliseconds until the quota is fully available again.
    pub reset_ms: i64,
    /// Milliseconds until the next request would be allowed (0 when allowed).
    pub retry_after_ms: i64,
    /// The stored state after this request: the theoretical arrival time.
    pub tat: i64,
}

/// Applies one request at `now` to the stored theoretical arrival time `tat`.
pub fn gcra(tat: Option<i64>, now: i64, quota: Quota) -> Decision {
    let t = quota.emission_interval_ms();
    let window = quota.window();
    let base = tat.unwrap_or(now).max(now);
    let new_tat = base.saturating_add(t);
    let allowed = new_tat.saturating_sub(now) <= window;
    Decision::from_state(if allowed { new_tat } else { base }, allowed, now, quota)
}

impl Decision {
    /// The decision implied by a stored state after one request at `now`: `tat` and
    /// whether that request was allowed (what the SQL limiter's upsert returns).
    pub fn from_state(tat: i64, allowed: bool, now: i64, quota: Quota) -> Decision {
        let t = quota.emission_interval_ms();
        let window = quota.window();
        let ahead = tat.saturating_sub(now).max(0);
        let remaining = if ahead >= window { 0 } else { window.saturating_sub(ahead).checked_div(t).unwrap_or(0) };
        Decision {
            allowed,
            remaining: u32::try_from(remaining).unwrap_or(0),
            reset_ms: ahead,
            retry_after_ms: if allowed {
                0
            } else {
                tat.saturating_add(t).saturating_sub(now).saturating_sub(window).max(1)
            },
            tat,
        }
    }
}

/// Gives back one request counted at or before `now` (a login that turned out right):
/// the state as if it had not come, never earlier than `now` (a request already paid
/// off by time is not credited twice).
pub fn refund(tat: Option<i64>, now: i64, quota: Quota) -> Option<i64> {
    tat.map(|t| t.saturating_sub(quota.emission_interval_ms()).max(now))
}

/// What a limiter call answered, and how many round trips to the shared store it took.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Checked {
    pub decision: Decision,
    pub remote_calls: u32,
}

/// The limiter's shared store failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LimiterError(pub String);

impl std::fmt::Display for LimiterError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "rate limiter unavailable: {}", self.0)
    }
}

/// The rate-limiter port: counters every instance shares (Durable Objects on Workers,
/// the SQL store on Spin and natively).
#[async_trait::async_trait]
pub trait RateLimiter: Send + Sync {
    /// Applies one request to `key` exactly (`consume = true`), or only reports whether
    /// one would be allowed (`consume = false`): one round trip to the shared store.
    ///
    /// # Errors
    /// When the shared store cannot be reached; callers choose to fail open or closed.
    async fn check(&self, key: &str, quota: Quota, now_ms: i64, consume: bool) -> Result<Checked, LimiterError>;

    /// Applies one request to `key`, possibly from budget leased earlier by this instance
    /// (no round trip). Never admits more than `quota` allows across all instances.
    ///
    /// # Errors
    /// As [`RateLimiter::check`].
    async fn admit(&self, key: &str, quota: Quota, now_ms: i64) -> Result<Checked, LimiterError> {
        self.check(key, quota, now_ms, true).await
    }

    /// Whether this instance already knows `key` is refused until some time (a refused
    /// lease it remembers), without asking anyone: the refusal, or `None` (unknown).
    fn blocked(&self, _key: &str, _now_ms: i64) -> Option<Decision> {
        None
    }

    /// Gives back one request that an exact [`RateLimiter::check`] consumed.
    ///
    /// # Errors
    /// As [`RateLimiter::check`].
    async fn refund(&self, key: &str, quota: Quota, now_ms: i64) -> Result<u32, LimiterError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    const Q: Quota = Quota { limit: 5, window_ms: 60_000 };

    /// The state after the whole quota was used at time 0.
    fn exhausted() -> Option<i64> {
        (0..5).fold(None, |tat, _| Some(gcra(tat, 0, Q).tat))
    }

    #[test]
    fn allows_the_limit_then_refuses_with_a_retry_time() {
        let mut tat = None;
        for i in 0..5u32 {
            let d = gcra(tat, 1_000, Q);
            assert!(d.allowed, "request {i}");
            assert_eq!(d.remaining, 4 - i);
            tat = Some(d.tat);
        }
        let d = gcra(tat, 1_000, Q);
        assert!(!d.allowed);
        assert_eq!(d.remaining, 0);
        assert_eq!(d.retry_after_ms, 12_000);
        assert_eq!(d.tat, tat.unwrap_or_default(), "a refused request does not consume");
    }

    #[test]
    fn capacity_returns_at_the_sustained_rate() {
        let tat = exhausted();
        assert!(!gcra(tat, 11_999, Q).allowed);
        assert!(gcra(tat, 12_000, Q).allowed);
        let after_window = gcra(tat, 60_000, Q);
        assert!(after_window.allowed);
        assert_eq!(after_window.remaining, 4);
    }

    #[test]
    fn from_state_agrees_with_gcra() {
        let mut tat = None;
        for i in 0..8 {
            let now = 1_000 + i * 700;
            let d = gcra(tat, now, Q);
            assert_eq!(Decision::from_state(d.tat, d.allowed, now, Q), d, "request {i}");
            tat = Some(d.tat);
        }
    }

    #[test]
    fn a_refund_gives_back_one_request_but_never_credits_time_already_passed() {
        let tat = exhausted();
        assert!(!gcra(tat, 0, Q).allowed);
        let refunded = refund(tat, 0, Q);
        assert!(gcra(refunded, 0, Q).allowed, "the refunded request is available again");
        assert_eq!(refund(Some(5_000), 10_000, Q), Some(10_000));
        assert_eq!(refund(None, 10_000, Q), None);
    }
}
