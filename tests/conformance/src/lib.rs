//! The conformance suite: the HTTP contract (../shared/API.md) as black-box checks that
//! run unchanged against every host — workerd/D1, the Spin host, the native host.

// Checks index `serde_json::Value`s, whose `Index` yields `Null` for anything missing
// instead of panicking; that is exactly what a check wants.
#![allow(clippy::indexing_slicing)]
// Test code: counters and offsets of the checks' own loops, not input of the API.
#![allow(clippy::arithmetic_side_effects)]

mod checks;
pub use checks::tracing::KNOWN_TRACE_ID;
mod client;
pub mod fixtures;

pub use client::{Client, Resp};

/// A check: Ok when the host behaves as the contract says, Err with what differed.
pub type Check = fn(&Client) -> Result<(), String>;

/// The origin every host under test is configured to allow for CORS.
pub const TEST_ORIGIN: &str = "https://app.example.test";

/// Fails the check with a message unless the condition holds.
#[macro_export]
macro_rules! ensure {
    ($cond:expr, $($arg:tt)+) => {
        if !$cond {
            return Err(format!($($arg)+));
        }
    };
}

/// Fails unless the two values are equal.
#[macro_export]
macro_rules! ensure_eq {
    ($left:expr, $right:expr, $what:expr) => {
        match (&$left, &$right) {
            (l, r) => {
                if l != r {
                    return Err(format!("{}: expected {:?}, got {:?}", $what, r, l));
                }
            }
        }
    };
}

/// What a check needs of the host under test.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Needs {
    /// Nothing beyond the contract: every host runs it.
    Any,
    /// A host started with the small limits of `fixtures::limited_host_config`.
    RateLimitedHost,
    /// A host with read replicas that answers `X-D1-Bookmark` (Workers).
    D1Sessions,
    /// A host with one database, which never answers `X-D1-Bookmark` (Spin, native).
    SingleDatabase,
    /// A host configured with `fixtures::oidc_config`, whose OpenID provider
    /// (tests/oidc/provider.mjs) is running.
    OidcProvider,
}

/// A check of the suite: its name (the function's, a sentence), and what it needs.
#[derive(Debug, Clone, Copy)]
pub struct Entry {
    pub name: &'static str,
    pub check: Check,
    pub needs: Needs,
}

/// Builds a group's registry from the check functions, named by their own names:
/// `checks![Any => [a, b], D1Sessions => [c]]`.
#[macro_export]
macro_rules! checks {
    ($($needs:ident => [$($check:ident),* $(,)?]),* $(,)?) => {
        vec![$($($crate::Entry { name: stringify!($check), check: $check, needs: $crate::Needs::$needs },)*)*]
    };
}

/// Every check of the suite.
pub fn all_checks() -> Vec<Entry> {
    checks::all()
}

/// Outcome of a run against one host.
#[derive(Debug, Default)]
pub struct Report {
    pub passed: usize,
    pub failures: Vec<(String, String)>,
}

impl Report {
    pub fn failed(&self) -> usize {
        self.failures.len()
    }
}

/// Which checks a run includes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Suite {
    /// Everything but the rate-limit checks (hosts with raised limits).
    Main,
    /// Only the checks that need a rate-limited host (`fixtures::limited_host_config`).
    RateLimits,
}

impl Suite {
    /// Whether a check with `needs` runs in this suite against a host with `traits`.
    pub fn includes(self, needs: Needs, traits: HostTraits) -> bool {
        match needs {
            Needs::RateLimitedHost => self == Suite::RateLimits,
            _ if self == Suite::RateLimits => false,
            Needs::Any => true,
            Needs::D1Sessions => traits.d1_sessions,
            Needs::SingleDatabase => !traits.d1_sessions,
            Needs::OidcProvider => traits.oidc,
        }
    }
}

/// What differs between hosts, as far as the checks are concerned.
#[derive(Debug, Clone, Copy, Default)]
pub struct HostTraits {
    /// The host answers `X-D1-Bookmark` (see [`Client::d1_sessions`]).
    pub d1_sessions: bool,
    /// See [`Client::panic_body_from_host`].
    pub panic_body_from_host: bool,
    /// The host signs in with the test OpenID provider ([`Needs::OidcProvider`]).
    pub oidc: bool,
}

/// Runs the suite's checks (narrowed to names containing `filter`) against `base_url`,
/// printing one line per check.
pub fn run(base_url: &str, host: &str, suite: Suite, filter: Option<&str>, traits: HostTraits) -> Report {
    let mut client = Client::new(base_url);
    client.d1_sessions = traits.d1_sessions;
    client.panic_body_from_host = traits.panic_body_from_host;
    let mut report = Report::default();
    let mut without_provider = 0;
    for Entry { name, check, needs } in all_checks() {
        if filter.is_some_and(|f| !name.contains(f)) {
            continue;
        }
        if !suite.includes(needs, traits) {
            if needs == Needs::OidcProvider && suite == Suite::Main {
                without_provider += 1;
            }
            continue;
        }
        match check(&client) {
            Ok(()) => {
                report.passed += 1;
                println!("[{host}] ok   {name}");
            }
            Err(e) => {
                println!("[{host}] FAIL {name}: {e}");
                report.failures.push((name.to_owned(), e));
            }
        }
    }
    if without_provider > 0 {
        println!("[{host}] SKIPPED {without_provider} checks that need the test OpenID provider (run with --oidc)");
    }
    println!(
        "conformance[{host}]: {} checks, {} passed, {} failed",
        report.passed + report.failed(),
        report.passed,
        report.failed()
    );
    report
}
