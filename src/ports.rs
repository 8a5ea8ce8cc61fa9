//! Ports: what the core needs from a host, in the core's own terms.

use std::sync::Arc;

use crate::settings::Settings;
use crate::store::Store;

/// Wall-clock time. Workers freeze `Date.now()` during CPU work, so durations measured
/// with it only advance across I/O; that is the platform's choice, not ours.
pub trait Clock: Send + Sync {
    /// Milliseconds since the Unix epoch, UTC.
    fn now_ms(&self) -> i64;
}

/// A cryptographically secure random source.
pub trait Random: Send + Sync {
    /// Fills `buf` with random bytes.
    ///
    /// # Errors
    /// Fails only when the platform's entropy source is unavailable; callers answer 500.
    fn fill(&self, buf: &mut [u8]) -> Result<(), RandomError>;
}

/// The platform's entropy source failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RandomError(pub String);

impl std::fmt::Display for RandomError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "random source failed: {}", self.0)
    }
}

/// Severity of a log line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Debug,
    Info,
    Warn,
    Error,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Debug => "debug",
            Level::Info => "info",
            Level::Warn => "warn",
            Level::Error => "error",
        }
    }
}

/// Where structured log lines go (stdout on Spin and native, `console.log` on Workers).
pub trait Logger: Send + Sync {
    /// Writes one complete JSON line. Must not fail or block for long.
    fn write(&self, level: Level, line: &str);
}

/// One request, as a metrics data point.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestPoint<'a> {
    /// The route template (`/v1/tasks/{id}`), or `unmatched`.
    pub route: &'a str,
    pub method: &'a str,
    pub status: u16,
    pub duration_ms: i64,
    /// `user`, `key` or `anonymous`.
    pub principal_kind: &'static str,
    /// The problem type's slug of an error answer.
    pub problem: Option<&'static str>,
    /// Store round trips and calls to the rate limiter's shared store.
    pub store_calls: u32,
    pub limiter_calls: u32,
    pub trace_id: &'a str,
}

impl RequestPoint<'_> {
    /// `2xx` … `5xx`.
    pub fn status_class(&self) -> &'static str {
        match self.status / 100 {
            1 => "1xx",
            2 => "2xx",
            3 => "3xx",
            4 => "4xx",
            _ => "5xx",
        }
    }

    /// Whether the answer was a 429 of a rate limit.
    pub fn rate_limited(&self) -> bool {
        self.status == 429
    }
}

/// Where the per-request data points go (Workers Analytics Engine; nothing on Spin, whose
/// runtime exports its own OpenTelemetry metrics; memory in tests). Writing must not
/// delay the response.
pub trait Metrics: Send + Sync {
    /// Records one data point; `Ok(true)` when written, `Ok(false)` when this host keeps
    /// none.
    ///
    /// # Errors
    /// The sink's refusal, for the request's log line.
    fn record(&self, point: &RequestPoint<'_>) -> Result<bool, String>;
}

/// A host without a metrics sink.
pub struct NoMetrics;

impl Metrics for NoMetrics {
    fn record(&self, _: &RequestPoint<'_>) -> Result<bool, String> {
        Ok(false)
    }
}

/// An outbound HTTP call failed before a response arrived (refused, timed out, not
/// allowed by the platform, or the response was too large).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpError(pub String);

impl std::fmt::Display for HttpError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "outbound HTTP failed: {}", self.0)
    }
}

impl std::error::Error for HttpError {}

/// Largest response body an outbound call reads (discovery documents, key sets and token
/// responses are a few KiB).
pub const MAX_OUTBOUND_RESPONSE: usize = 1024 * 1024;

/// How long an outbound call may take, connection included.
pub const OUTBOUND_TIMEOUT_MS: u64 = 10_000;

/// Outbound HTTP (`fetch` on Workers, `wasi:http` on Spin, hyper natively): one request,
/// its whole response. Hosts apply [`OUTBOUND_TIMEOUT_MS`] and refuse bodies over
/// [`MAX_OUTBOUND_RESPONSE`]; redirects are not followed.
#[async_trait::async_trait]
pub trait HttpClient: Send + Sync {
    /// Sends `req` and reads the response.
    ///
    /// # Errors
    /// When no response arrived (an HTTP error status is a response, not an error).
    async fn send(&self, req: http::Request<Vec<u8>>) -> Result<http::Response<Vec<u8>>, HttpError>;
}

/// A host without outbound HTTP: every call fails (no OpenID provider can be used).
pub struct NoHttp;

#[async_trait::async_trait]
impl HttpClient for NoHttp {
    async fn send(&self, _: http::Request<Vec<u8>>) -> Result<http::Response<Vec<u8>>, HttpError> {
        Err(HttpError("this host makes no outbound HTTP calls".to_owned()))
    }
}

/// A small key-value store the instances of a host share, for what is worth keeping beyond
/// an instance that lives one request (Spin): a provider's discovery document and key set.
/// Best effort: a failure reads as a miss and a lost write.
#[async_trait::async_trait]
pub trait SharedCache: Send + Sync {
    async fn get(&self, key: &str) -> Option<Vec<u8>>;
    async fn put(&self, key: &str, value: Vec<u8>);
}

/// A host whose instances live long enough to keep such things in memory (Workers
/// isolates, the native process): nothing is shared.
pub struct NoSharedCache;

#[async_trait::async_trait]
impl SharedCache for NoSharedCache {
    async fn get(&self, _: &str) -> Option<Vec<u8>> {
        None
    }

    async fn put(&self, _: &str, _: Vec<u8>) {}
}

/// Everything the core needs from its host, built once per isolate/instance.
#[derive(Clone)]
pub struct Ports {
    pub store: Arc<dyn Store>,
    pub clock: Arc<dyn Clock>,
    pub random: Arc<dyn Random>,
    pub logger: Arc<dyn Logger>,
    pub limiter: Arc<dyn crate::ratelimit::RateLimiter>,
    pub metrics: Arc<dyn Metrics>,
    /// Outbound HTTP (to OpenID providers).
    pub http: Arc<dyn HttpClient>,
    /// What instances share beyond their own memory (see [`SharedCache`]).
    pub cache: Arc<dyn SharedCache>,
    pub settings: Arc<Settings>,
}

/// Random sources for unit tests: every draw is filled with one byte value.
#[cfg(test)]
pub(crate) mod test_random {
    use std::sync::atomic::{AtomicU8, Ordering};

    use super::{Random, RandomError};

    /// Each draw one byte value higher than the last, from `first`: draws differ.
    pub struct Counting(AtomicU8);

    impl Counting {
        pub fn from(first: u8) -> Self {
            Self(AtomicU8::new(first))
        }
    }

    impl Random for Counting {
        fn fill(&self, buf: &mut [u8]) -> Result<(), RandomError> {
            buf.fill(self.0.fetch_add(1, Ordering::Relaxed));
            Ok(())
        }
    }

    /// Every draw the same byte.
    pub struct Constant(pub u8);

    impl Random for Constant {
        fn fill(&self, buf: &mut [u8]) -> Result<(), RandomError> {
            buf.fill(self.0);
            Ok(())
        }
    }
}
