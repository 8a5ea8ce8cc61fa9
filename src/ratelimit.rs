//! Rate limiting with GCRA (the generic cell rate algorithm): one timestamp per key,
//! exact at window boundaries (no fixed-window double bursts), cheap to store atomically.

use serde::{Deserialize, Serialize};

/// `limit` requests per `window_ms`, allowing the whole `limit` as a burst.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Quota {
    pub limit: u32,
    pub window_ms: i64,
}

impl Quota {
    /// Time between requests at the sustained rate (at least 1 ms).
    pub fn emission_interval_ms(self) -> i64 {
        self.window_ms
            .checked_div(i64::from(self.limit.max(1)))
            .unwrap_or(1)
            .max(1)
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
    let window = t.saturating_mul(i64::from(quota.limit.max(1)));
    let base = tat.unwrap_or(now).max(now);
    let new_tat = base.saturating_add(t);
    let allowed = new_tat.saturating_sub(now) <= window;
    let stored = if allowed { new_tat } else { base };
    let ahead = stored.saturating_sub(now);
    let remaining = if ahead >= window {
        0
    } else {
        window.saturating_sub(ahead).checked_div(t).unwrap_or(0)
    };
    Decision {
        allowed,
        remaining: u32::try_from(remaining.max(0)).unwrap_or(0),
        reset_ms: ahead.max(0),
        retry_after_ms: if allowed {
            0
        } else {
            new_tat.saturating_sub(now).saturating_sub(window).max(1)
        },
        tat: stored,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const Q: Quota = Quota {
        limit: 5,
        window_ms: 60_000,
    };

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
        let mut tat = None;
        for _ in 0..5 {
            tat = Some(gcra(tat, 0, Q).tat);
        }
        assert!(!gcra(tat, 11_999, Q).allowed);
        assert!(gcra(tat, 12_000, Q).allowed);
        let after_window = gcra(tat, 60_000, Q);
        assert!(after_window.allowed);
        assert_eq!(after_window.remaining, 4);
    }
}

impl Decision {
    /// The decision implied by a stored state after one request at `now`: `tat` and
    /// whether that request was allowed (what the SQL limiter's upsert returns).
    pub fn from_state(tat: i64, allowed: bool, now: i64, quota: Quota) -> Decision {
        let t = quota.emission_interval_ms();
        let window = t.saturating_mul(i64::from(quota.limit.max(1)));
        let ahead = tat.saturating_sub(now).max(0);
        let remaining = if ahead >= window {
            0
        } else {
            window.saturating_sub(ahead).checked_div(t).unwrap_or(0)
        };
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

/// The limiter's shared store failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LimiterError(pub String);

impl std::fmt::Display for LimiterError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "rate limiter unavailable: {}", self.0)
    }
}

/// The rate-limiter port: counters every instance shares (a Durable Object per key on
/// Workers, the SQL store on Spin and natively).
#[async_trait::async_trait]
pub trait RateLimiter: Send + Sync {
    /// Applies one request to `key` (`consume = true`), or only reports whether one
    /// would be allowed (`consume = false`).
    ///
    /// # Errors
    /// When the shared store cannot be reached; callers choose to fail open or closed.
    async fn check(&self, key: &str, quota: Quota, now_ms: i64, consume: bool) -> Result<Decision, LimiterError>;
}

/// GCRA on the SQL store in one atomic upsert: the row's `tat` moves only when the
/// request is allowed, and `allowed` reports which happened.
pub struct SqlRateLimiter {
    pub store: std::sync::Arc<dyn crate::store::Store>,
}

/// `?1` key, `?2` now, `?3` emission interval, `?4` window. SET expressions all see the
/// old row, so `allowed` and `tat` are decided on the same state.
pub const UPSERT_SQL: &str =
    "INSERT INTO rate_limits (key, tat, allowed, expires_at) VALUES (?1, ?2 + ?3, 1, ?2 + ?3) \
     ON CONFLICT (key) DO UPDATE SET \
     allowed = CASE WHEN max(tat, ?2) + ?3 - ?2 <= ?4 THEN 1 ELSE 0 END, \
     tat = CASE WHEN max(tat, ?2) + ?3 - ?2 <= ?4 THEN max(tat, ?2) + ?3 ELSE tat END, \
     expires_at = CASE WHEN max(tat, ?2) + ?3 - ?2 <= ?4 THEN max(tat, ?2) + ?3 ELSE tat END \
     RETURNING tat, allowed";

#[async_trait::async_trait]
impl RateLimiter for SqlRateLimiter {
    async fn check(&self, key: &str, quota: Quota, now: i64, consume: bool) -> Result<Decision, LimiterError> {
        use crate::store::Statement;
        let err = |e: crate::store::StoreError| LimiterError(e.to_string());
        let t = quota.emission_interval_ms();
        let window = t.saturating_mul(i64::from(quota.limit.max(1)));
        if !consume {
            let rows = self
                .store
                .query(Statement::new(
                    "SELECT tat FROM rate_limits WHERE key = ?1",
                    vec![key.into()],
                ))
                .await
                .map_err(err)?;
            let tat = rows.first().map(|r| r.int(0)).transpose().map_err(err)?;
            return Ok(gcra(tat, now, quota));
        }
        let rows = self
            .store
            .query(Statement::new(
                UPSERT_SQL,
                vec![key.into(), now.into(), t.into(), window.into()],
            ))
            .await
            .map_err(err)?;
        let row = rows
            .first()
            .ok_or_else(|| LimiterError("upsert returned no row".to_owned()))?;
        let decision = Decision::from_state(row.int(0).map_err(err)?, row.bool(1).map_err(err)?, now, quota);
        // Expired rows are swept now and then, by whichever request draws the short straw.
        if now % 64 == 0 {
            let _ = self
                .store
                .execute(Statement::new(
                    "DELETE FROM rate_limits WHERE expires_at < ?1",
                    vec![now.into()],
                ))
                .await;
        }
        Ok(decision)
    }
}

#[cfg(test)]
mod state_tests {
    use super::*;

    #[test]
    fn from_state_agrees_with_gcra() {
        let q = Quota {
            limit: 5,
            window_ms: 60_000,
        };
        let mut tat = None;
        for i in 0..8 {
            let now = 1_000 + i * 700;
            let d = gcra(tat, now, q);
            assert_eq!(Decision::from_state(d.tat, d.allowed, now, q), d, "request {i}");
            tat = Some(d.tat);
        }
    }
}
