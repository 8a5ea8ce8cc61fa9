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

/// Everything the core needs from its host, built once per isolate/instance.
#[derive(Clone)]
pub struct Ports {
    pub store: Arc<dyn Store>,
    pub clock: Arc<dyn Clock>,
    pub random: Arc<dyn Random>,
    pub logger: Arc<dyn Logger>,
    pub limiter: Arc<dyn crate::ratelimit::RateLimiter>,
    pub settings: Arc<Settings>,
}
