//! Leases: an instance takes a slice of a key's budget from the shared store in one call
//! and answers requests from it locally until it is used up or expires, so a busy key
//! costs one shared-store round trip per slice instead of one per request.
//!
//! Why it never exceeds the limit: the shared store deducts a slice from the key's GCRA
//! state when it grants it, as if all of the slice's requests arrived at once, over a
//! window shortened by the lease's lifetime `d`. Requests admitted from the slice arrive
//! at most `d` later than that; so any interval of length `Δ` holds requests granted in an
//! interval of length `Δ + d`, at most `(L − d/T) + (Δ + d)/T = L + Δ/T` of them: the
//! bound of one exact GCRA. Unused requests of an expired slice are not given back (they
//! are only ever an under-use). Slices are a share of what remains, so instances that
//! come later still get budget, and a refused lease is remembered until its retry time.

use std::collections::HashMap;
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use super::{Checked, Decision, LimiterError, Quota, RateLimiter};

/// Most requests one lease may carry.
pub const MAX_LEASE: u32 = 256;

/// A lease takes at most this fraction (1/SHARE) of what remains of a key's budget.
pub const SHARE: u32 = 4;

/// How long a lease may be used: short enough that the budget held back for it (its
/// lifetime over the emission interval) stays a small part of the limit, and never so
/// long that nothing is left (a limit of one request has lifetime 0: every request asks).
pub fn lifetime(quota: Quota) -> i64 {
    let window = quota.window();
    (window / 12).min(5_000).min(window.saturating_sub(quota.emission_interval_ms())).max(0)
}

/// What a lease call grants.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Grant {
    /// Requests granted (0: refused).
    pub granted: u32,
    /// Until when they may be used.
    pub expires_at: i64,
    /// The key's state after the grant (a refusal's `retry_after_ms`).
    pub decision: Decision,
}

/// Grants up to `want` requests of the budget in state `tat` at `now`; returns the grant
/// (its decision carries the new state).
pub fn grant(tat: Option<i64>, now: i64, quota: Quota, want: u32) -> Grant {
    let t = quota.emission_interval_ms();
    let d = lifetime(quota);
    let window = quota.window().saturating_sub(d);
    let base = tat.unwrap_or(now).max(now);
    let ahead = base.saturating_sub(now);
    let available = u32::try_from(window.saturating_sub(ahead).max(0).checked_div(t).unwrap_or(0)).unwrap_or(0);
    let granted = if available == 0 { 0 } else { want.min((available / SHARE).max(1)) };
    let new_tat = base.saturating_add(t.saturating_mul(i64::from(granted)));
    let mut decision = Decision::from_state(new_tat, granted > 0, now, quota);
    if granted == 0 {
        // The full window may still hold a request the shortened one does not: a refusal
        // reports none left, as the 429 it becomes must.
        decision.remaining = 0;
        decision.retry_after_ms = base.saturating_add(t).saturating_sub(now).saturating_sub(window).max(1);
    }
    Grant { granted, expires_at: now.saturating_add(d), decision }
}

/// The shared store behind a [`LeasingLimiter`] (a Durable Object per key on Workers).
#[async_trait::async_trait]
pub trait LeaseBackend: Send + Sync {
    /// Grants up to `want` requests of `key` (see [`grant`]).
    ///
    /// # Errors
    /// When the shared store cannot be reached.
    async fn lease(&self, key: &str, quota: Quota, now_ms: i64, want: u32) -> Result<Grant, LimiterError>;

    /// One exact request (see [`RateLimiter::check`]).
    ///
    /// # Errors
    /// When the shared store cannot be reached.
    async fn check(&self, key: &str, quota: Quota, now_ms: i64, consume: bool) -> Result<Decision, LimiterError>;

    /// Gives back one request (see [`super::refund`]).
    ///
    /// # Errors
    /// When the shared store cannot be reached.
    async fn refund(&self, key: &str, quota: Quota, now_ms: i64) -> Result<(), LimiterError>;
}

#[async_trait::async_trait]
impl<T: LeaseBackend + ?Sized> LeaseBackend for std::sync::Arc<T> {
    async fn lease(&self, key: &str, quota: Quota, now_ms: i64, want: u32) -> Result<Grant, LimiterError> {
        (**self).lease(key, quota, now_ms, want).await
    }

    async fn check(&self, key: &str, quota: Quota, now_ms: i64, consume: bool) -> Result<Decision, LimiterError> {
        (**self).check(key, quota, now_ms, consume).await
    }

    async fn refund(&self, key: &str, quota: Quota, now_ms: i64) -> Result<(), LimiterError> {
        (**self).refund(key, quota, now_ms).await
    }
}

/// This instance's slice of a key.
#[derive(Debug, Clone, Copy)]
struct Slice {
    remaining: u32,
    expires_at: i64,
    /// When the key's budget is fully back, as of the grant.
    reset_at: i64,
    /// A refused lease: no request is admitted (or asked for) before this time.
    blocked_until: i64,
}

/// Keys an instance keeps slices for before it starts over.
const CAPACITY: usize = 4096;

/// The limiter port over a [`LeaseBackend`]: `admit` answers from slices, `check` and
/// `refund` go to the backend.
pub struct LeasingLimiter<B> {
    backend: B,
    slices: Mutex<HashMap<String, Slice>>,
}

impl<B> LeasingLimiter<B> {
    pub fn new(backend: B) -> Self {
        Self { backend, slices: Mutex::new(HashMap::new()) }
    }

    /// Answers from this instance's slice, if it can.
    fn local(&self, key: &str, now: i64) -> Option<Decision> {
        let mut slices = self.slices.lock().ok()?;
        let s = slices.get_mut(key)?;
        if now < s.blocked_until {
            return Some(Decision {
                allowed: false,
                remaining: 0,
                reset_ms: s.reset_at.saturating_sub(now).max(0),
                retry_after_ms: s.blocked_until.saturating_sub(now),
                tat: s.reset_at,
            });
        }
        if now < s.expires_at && s.remaining > 0 {
            s.remaining = s.remaining.saturating_sub(1);
            return Some(Decision {
                allowed: true,
                remaining: s.remaining,
                reset_ms: s.reset_at.saturating_sub(now).max(0),
                retry_after_ms: 0,
                tat: s.reset_at,
            });
        }
        None
    }

    /// Keeps a new grant (merged with a live slice taken concurrently).
    fn keep(&self, key: &str, now: i64, g: &Grant) {
        let Ok(mut slices) = self.slices.lock() else { return };
        if slices.len() >= CAPACITY {
            slices.retain(|_, s| now < s.expires_at || now < s.blocked_until);
            if slices.len() >= CAPACITY {
                slices.clear();
            }
        }
        let reset_at = now.saturating_add(g.decision.reset_ms);
        let fresh = if g.granted == 0 {
            Slice {
                remaining: 0,
                expires_at: now,
                reset_at,
                blocked_until: now.saturating_add(g.decision.retry_after_ms),
            }
        } else {
            Slice { remaining: g.granted.saturating_sub(1), expires_at: g.expires_at, reset_at, blocked_until: 0 }
        };
        let merged = match slices.get(key) {
            Some(old) if g.granted > 0 && now < old.expires_at && old.remaining > 0 => Slice {
                remaining: fresh.remaining.saturating_add(old.remaining),
                expires_at: fresh.expires_at.min(old.expires_at),
                ..fresh
            },
            _ => fresh,
        };
        slices.insert(key.to_owned(), merged);
    }
}

#[async_trait::async_trait]
impl<B: LeaseBackend> RateLimiter for LeasingLimiter<B> {
    async fn check(&self, key: &str, quota: Quota, now: i64, consume: bool) -> Result<Checked, LimiterError> {
        Ok(Checked { decision: self.backend.check(key, quota, now, consume).await?, remote_calls: 1 })
    }

    async fn admit(&self, key: &str, quota: Quota, now: i64) -> Result<Checked, LimiterError> {
        if let Some(decision) = self.local(key, now) {
            return Ok(Checked { decision, remote_calls: 0 });
        }
        let g = self.backend.lease(key, quota, now, MAX_LEASE).await?;
        self.keep(key, now, &g);
        let mut decision = g.decision;
        if g.granted > 0 {
            decision.remaining = g.granted.saturating_sub(1);
        }
        Ok(Checked { decision, remote_calls: 1 })
    }

    async fn refund(&self, key: &str, quota: Quota, now: i64) -> Result<u32, LimiterError> {
        self.backend.refund(key, quota, now).await.map(|()| 1)
    }

    fn blocked(&self, key: &str, now: i64) -> Option<Decision> {
        let slices = self.slices.lock().ok()?;
        let s = slices.get(key).filter(|s| now < s.blocked_until)?;
        Some(Decision {
            allowed: false,
            remaining: 0,
            reset_ms: s.reset_at.saturating_sub(now).max(0),
            retry_after_ms: s.blocked_until.saturating_sub(now),
            tat: s.reset_at,
        })
    }
}

/// A [`LeaseBackend`] in memory: one process's shared state (tests, and the model the
/// Durable Object follows).
#[derive(Debug, Default)]
pub struct MemoryBackend {
    state: Mutex<HashMap<String, i64>>,
    /// Calls made, for tests that count round trips.
    pub calls: std::sync::atomic::AtomicU64,
}

impl MemoryBackend {
    fn with<T>(&self, key: &str, f: impl FnOnce(Option<i64>) -> (Option<i64>, T)) -> Result<T, LimiterError> {
        self.calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let mut state = self.state.lock().map_err(|_| LimiterError("state poisoned".to_owned()))?;
        let (tat, out) = f(state.get(key).copied());
        if let Some(t) = tat {
            state.insert(key.to_owned(), t);
        }
        Ok(out)
    }
}

#[async_trait::async_trait]
impl LeaseBackend for MemoryBackend {
    async fn lease(&self, key: &str, quota: Quota, now: i64, want: u32) -> Result<Grant, LimiterError> {
        self.with(key, |tat| {
            let g = grant(tat, now, quota, want);
            ((g.granted > 0).then_some(g.decision.tat), g)
        })
    }

    async fn check(&self, key: &str, quota: Quota, now: i64, consume: bool) -> Result<Decision, LimiterError> {
        self.with(key, |tat| {
            let d = super::gcra(tat, now, quota);
            ((consume && d.allowed).then_some(d.tat), d)
        })
    }

    async fn refund(&self, key: &str, quota: Quota, now: i64) -> Result<(), LimiterError> {
        self.with(key, |tat| (super::refund(tat, now, quota), ()))
    }
}

#[cfg(test)]
#[allow(clippy::arithmetic_side_effects, clippy::cast_possible_wrap)]
mod tests {
    use std::sync::atomic::Ordering;
    use std::sync::Arc;

    use super::*;
    use crate::ratelimit::gcra;

    /// Every admitted time, replayed through one exact GCRA, is allowed: the admissions of
    /// all instances together never exceed what one exact limiter would allow.
    fn conforms(mut admitted: Vec<i64>, quota: Quota) -> Result<(), String> {
        admitted.sort_unstable();
        let mut tat = None;
        for (i, at) in admitted.iter().enumerate() {
            let d = gcra(tat, *at, quota);
            if !d.allowed {
                return Err(format!("admission {i} at {at} ms exceeds the limit"));
            }
            tat = Some(d.tat);
        }
        Ok(())
    }

    /// `instances` leasing limiters on one backend; each sends one request in every `every`
    /// ms slot, at a pseudo-random moment of the slot (isolates are not in step), for
    /// `until` ms. Returns each instance's admission times and the backend's calls.
    fn run(quota: Quota, instances: usize, every: i64, until: i64) -> (Vec<Vec<i64>>, u64) {
        let backend = Arc::new(MemoryBackend::default());
        let limiters: Vec<LeasingLimiter<Arc<MemoryBackend>>> =
            (0..instances).map(|_| LeasingLimiter::new(backend.clone())).collect();
        let mut admitted = vec![Vec::new(); instances];
        let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut slot = 1_000_000;
        while slot < 1_000_000 + until {
            let mut arrivals: Vec<(i64, usize)> = (0..instances)
                .map(|i| {
                    seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
                    (slot + (seed >> 33) as i64 % every.max(1), i)
                })
                .collect();
            arrivals.sort_unstable();
            for (at, i) in arrivals {
                let c = futures_executor::block_on(limiters[i].admit("k", quota, at)).unwrap();
                if c.decision.allowed {
                    admitted[i].push(at);
                }
            }
            slot += every;
        }
        (admitted, backend.calls.load(Ordering::SeqCst))
    }

    #[test]
    fn several_leasing_instances_never_admit_more_than_the_limit() {
        for (limit, window_ms, instances, every, until) in [
            (300, 60_000, 4, 10, 180_000),
            (10, 60_000, 3, 100, 180_000),
            (1, 60_000, 3, 100, 180_000),
            (5, 1_000, 2, 1, 3_000),
            (1_000_000, 60_000, 8, 1, 20_000),
            (50, 5_000, 6, 7, 15_000),
        ] {
            let quota = Quota { limit, window_ms };
            let (admitted, _) = run(quota, instances, every, until);
            let all: Vec<i64> = admitted.concat();
            assert!(!all.is_empty());
            conforms(all, quota).unwrap_or_else(|e| panic!("{limit}/{window_ms}: {e}"));
        }
    }

    #[test]
    fn budget_refills_fairly_and_busy_keys_rarely_reach_the_store() {
        // Four instances each asking 10 times a second for 3 minutes against 300/min: the
        // sustained rate is served and each instance gets a fair part of it.
        let quota = Quota { limit: 300, window_ms: 60_000 };
        let (admitted, calls) = run(quota, 4, 100, 180_000);
        let total: usize = admitted.iter().map(Vec::len).sum();
        // Burst plus sustained rate, less what leases hold back: at least 80 % of 900.
        assert!(total >= 720, "only {total} admitted");
        for (i, a) in admitted.iter().enumerate() {
            assert!(a.len() * 100 >= total * 15, "instance {i} got {} of {total}", a.len());
            // Refill: every instance is served in the last minute too.
            assert!(a.iter().any(|t| *t > 1_000_000 + 120_000), "instance {i} starved");
        }
        // One instance, a high limit: about one call per slice.
        let high = Quota { limit: 1_000_000, window_ms: 60_000 };
        let (admitted, calls_high) = run(high, 1, 1, 10_000);
        assert_eq!(admitted[0].len(), 10_000);
        assert!(calls_high * 1000 <= 20 * 10_000, "{calls_high} calls for 10,000 requests");
        assert!(calls > 0);
    }

    #[test]
    fn a_refused_lease_is_remembered_until_its_retry_time() {
        let backend = Arc::new(MemoryBackend::default());
        let l = LeasingLimiter::new(backend.clone());
        let q = Quota { limit: 2, window_ms: 60_000 };
        let mut now = 0;
        while futures_executor::block_on(l.admit("k", q, now)).unwrap().decision.allowed {
            now += 1;
        }
        let calls = backend.calls.load(Ordering::SeqCst);
        let refused = futures_executor::block_on(l.admit("k", q, now + 1)).unwrap();
        assert!(!refused.decision.allowed);
        assert_eq!(refused.remote_calls, 0, "the refusal is answered locally");
        assert!(refused.decision.retry_after_ms > 0);
        assert_eq!(backend.calls.load(Ordering::SeqCst), calls);
    }

    #[test]
    fn a_refused_grant_reports_nothing_left() {
        // 5 per 3 s: the lease lifetime (250 ms) held back leaves a request in the full
        // window that no grant may take; the refusal must still say none remain.
        let q = Quota { limit: 5, window_ms: 3_000 };
        let mut tat = None;
        let mut granted = 0;
        let refused = loop {
            let g = grant(tat, 0, q, MAX_LEASE);
            if g.granted == 0 {
                break g;
            }
            granted += g.granted;
            tat = Some(g.decision.tat);
        };
        assert_eq!(granted, 4);
        assert!(!refused.decision.allowed);
        assert_eq!(refused.decision.remaining, 0);
        assert!(refused.decision.retry_after_ms > 0);
    }

    #[test]
    fn grants_are_a_share_of_what_remains_and_hold_back_the_lease_lifetime() {
        let q = Quota { limit: 300, window_ms: 60_000 };
        assert_eq!(lifetime(q), 5_000);
        let g = grant(None, 0, q, MAX_LEASE);
        // 300 less 5 s / 200 ms held back = 275 available, a quarter of it.
        assert_eq!(g.granted, 68);
        assert_eq!(g.expires_at, 5_000);
        let g2 = grant(Some(g.decision.tat), 0, q, MAX_LEASE);
        assert_eq!(g2.granted, (275 - 68) / 4);
        let single = Quota { limit: 1, window_ms: 60_000 };
        assert_eq!(lifetime(single), 0);
        let g = grant(None, 0, single, MAX_LEASE);
        assert_eq!((g.granted, g.expires_at), (1, 0), "used by the asking request only");
    }
}
