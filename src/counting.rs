//! Round trips per request: the request's store, rate limiter and outbound HTTP client are
//! wrapped so that every call to the shared database, the shared limiter store or another
//! service is counted, for the request's log line and metrics data point (and the tests
//! that hold routes to one round trip). Outbound calls also carry the request's trace.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use async_trait::async_trait;

use crate::ratelimit::{Checked, LimiterError, Quota, RateLimiter};
use crate::store::{Consistency, Row, Statement, StmtResult, Store, StoreError};

/// The round trips of one request so far.
#[derive(Debug, Default)]
pub struct RoundTrips {
    store: AtomicU32,
    limiter: AtomicU32,
    outbound: AtomicU32,
}

impl RoundTrips {
    /// Calls to the store (a query, an execute, a batch, a multi-read: one each).
    pub fn store(&self) -> u32 {
        self.store.load(Ordering::Relaxed)
    }

    /// Calls to the limiter's shared store (a lease answered locally is none).
    pub fn limiter(&self) -> u32 {
        self.limiter.load(Ordering::Relaxed)
    }

    /// Outbound HTTP calls (to OpenID providers).
    pub fn outbound(&self) -> u32 {
        self.outbound.load(Ordering::Relaxed)
    }

    fn add_store(&self) {
        self.store.fetch_add(1, Ordering::Relaxed);
    }

    fn add_limiter(&self, n: u32) {
        self.limiter.fetch_add(n, Ordering::Relaxed);
    }
}

/// A store that counts its calls.
pub struct CountedStore {
    pub inner: Arc<dyn Store>,
    pub trips: Arc<RoundTrips>,
}

#[async_trait]
impl Store for CountedStore {
    async fn query(&self, stmt: Statement) -> Result<Vec<Row>, StoreError> {
        self.trips.add_store();
        self.inner.query(stmt).await
    }

    async fn execute(&self, stmt: Statement) -> Result<u64, StoreError> {
        self.trips.add_store();
        self.inner.execute(stmt).await
    }

    async fn batch(&self, stmts: Vec<Statement>) -> Result<Vec<StmtResult>, StoreError> {
        self.trips.add_store();
        self.inner.batch(stmts).await
    }

    async fn query_many(&self, stmts: Vec<Statement>) -> Result<Vec<Vec<Row>>, StoreError> {
        self.trips.add_store();
        self.inner.query_many(stmts).await
    }

    fn session(&self, consistency: Consistency<'_>) -> Result<Option<Arc<dyn Store>>, StoreError> {
        self.inner.session(consistency)
    }

    fn bookmark(&self) -> Option<String> {
        self.inner.bookmark()
    }
}

/// A limiter that counts its calls to the shared store.
pub struct CountedLimiter {
    pub inner: Arc<dyn RateLimiter>,
    pub trips: Arc<RoundTrips>,
}

impl CountedLimiter {
    fn count(&self, r: Result<Checked, LimiterError>) -> Result<Checked, LimiterError> {
        self.trips.add_limiter(r.as_ref().map_or(1, |c| c.remote_calls));
        r
    }
}

#[async_trait]
impl RateLimiter for CountedLimiter {
    async fn check(&self, key: &str, quota: Quota, now: i64, consume: bool) -> Result<Checked, LimiterError> {
        let r = self.inner.check(key, quota, now, consume).await;
        self.count(r)
    }

    async fn admit(&self, key: &str, quota: Quota, now: i64) -> Result<Checked, LimiterError> {
        let r = self.inner.admit(key, quota, now).await;
        self.count(r)
    }

    async fn refund(&self, key: &str, quota: Quota, now: i64) -> Result<u32, LimiterError> {
        let r = self.inner.refund(key, quota, now).await;
        self.trips.add_limiter(r.as_ref().map_or(1, |n| *n));
        r
    }

    fn blocked(&self, key: &str, now: i64) -> Option<crate::ratelimit::Decision> {
        self.inner.blocked(key, now)
    }
}

/// An outbound HTTP client that counts its calls and passes the request's trace on
/// (`traceparent` of the request's span, W3C Trace Context).
pub struct CountedHttp {
    pub inner: Arc<dyn crate::ports::HttpClient>,
    pub trips: Arc<RoundTrips>,
    /// The `traceparent` value outbound calls carry.
    pub traceparent: Option<http::HeaderValue>,
}

#[async_trait]
impl crate::ports::HttpClient for CountedHttp {
    async fn send(&self, mut req: http::Request<Vec<u8>>) -> Result<http::Response<Vec<u8>>, crate::ports::HttpError> {
        self.trips.outbound.fetch_add(1, Ordering::Relaxed);
        if let Some(tp) = &self.traceparent {
            req.headers_mut().insert(http::HeaderName::from_static("traceparent"), tp.clone());
        }
        self.inner.send(req).await
    }
}
