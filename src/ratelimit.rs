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
        (self.window_ms / i64::from(self.limit.max(1))).max(1)
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
    let allowed = new_tat - now <= window;
    let stored = if allowed { new_tat } else { base };
    let remaining = if stored - now >= window {
        0
    } else {
        (window - (stored - now)) / t
    };
    Decision {
        allowed,
        remaining: u32::try_from(remaining.max(0)).unwrap_or(0),
        reset_ms: (stored - now).max(0),
        retry_after_ms: if allowed { 0 } else { (new_tat - now - window).max(1) },
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
