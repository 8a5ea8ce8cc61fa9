//! Faults on purpose, for the reliability tests: with `FAULT_INJECTION=true` (refused
//! when `ENVIRONMENT=production`) a request may carry `X-Fault-Inject: panic` (the
//! handler panics) or `X-Fault-Inject: fail-statement=N` (the Nth SQL statement of the
//! request fails as if the database were unreachable; a batch containing it fails whole).
//! Also the panic hook that logs any panic, injected or not, with its request id.

use std::cell::RefCell;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Once};

use async_trait::async_trait;
use http::HeaderName;

use crate::ports::{Clock, Level, Logger};
use crate::store::{Row, Statement, StmtResult, Store, StoreError};

pub const X_FAULT_INJECT: HeaderName = HeaderName::from_static("x-fault-inject");

/// A fault a request asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    Panic,
    /// The Nth statement (1-based) of the request fails.
    FailStatement(u32),
}

impl Fault {
    /// `panic` or `fail-statement=N` with N in 1..=10000.
    pub fn parse(v: &str) -> Option<Fault> {
        if v == "panic" {
            return Some(Fault::Panic);
        }
        let n: u32 = v.strip_prefix("fail-statement=")?.parse().ok()?;
        (1..=10_000).contains(&n).then_some(Fault::FailStatement(n))
    }
}

/// A store whose Nth statement fails with `Unavailable`.
pub struct FailingStore {
    inner: Arc<dyn Store>,
    fail_at: u32,
    seen: AtomicU32,
}

impl FailingStore {
    pub fn new(inner: Arc<dyn Store>, fail_at: u32) -> Self {
        Self { inner, fail_at, seen: AtomicU32::new(0) }
    }

    /// Counts `n` statements; true when the failing one is among them.
    fn hits(&self, n: usize) -> bool {
        let n = u32::try_from(n).unwrap_or(u32::MAX);
        let before = self.seen.fetch_add(n, Ordering::SeqCst);
        before < self.fail_at && self.fail_at <= before.saturating_add(n)
    }

    fn fault(&self) -> StoreError {
        StoreError::Unavailable(format!("injected fault: statement {} failed", self.fail_at))
    }
}

#[async_trait]
impl Store for FailingStore {
    async fn query(&self, stmt: Statement) -> Result<Vec<Row>, StoreError> {
        if self.hits(1) {
            return Err(self.fault());
        }
        self.inner.query(stmt).await
    }

    async fn execute(&self, stmt: Statement) -> Result<u64, StoreError> {
        if self.hits(1) {
            return Err(self.fault());
        }
        self.inner.execute(stmt).await
    }

    async fn batch(&self, stmts: Vec<Statement>) -> Result<Vec<StmtResult>, StoreError> {
        if self.hits(stmts.len()) {
            return Err(self.fault());
        }
        self.inner.batch(stmts).await
    }

    fn bookmark(&self) -> Option<String> {
        self.inner.bookmark()
    }
}

/// The request being handled: its id, trace id and span id.
type Current = (String, String, String);

thread_local! {
    /// The request being handled on this thread, for the panic hook. Wasm hosts are
    /// single-threaded; a panic happens inside the poll of the request that caused it,
    /// which set this when it started.
    static CURRENT_REQUEST: RefCell<Option<Current>> = const { RefCell::new(None) };
}

/// Records the request (id, trace id, span id) the panic hook reports.
pub fn set_current_request(ids: Option<(&str, &str, &str)>) {
    CURRENT_REQUEST.with(|c| *c.borrow_mut() = ids.map(|(r, t, s)| (r.to_owned(), t.to_owned(), s.to_owned())));
}

/// The request id [`set_current_request`] recorded on this thread.
pub fn current_request() -> Option<String> {
    CURRENT_REQUEST.with(|c| c.borrow().as_ref().map(|(r, _, _)| r.clone()))
}

/// Installs (once per process/instance) a panic hook that writes one error line with the
/// request id and the panic message, then runs the hook that was there before (the
/// Workers runtime's, which schedules the reinitialisation of the instance).
pub fn install_panic_hook(logger: Arc<dyn Logger>, clock: Arc<dyn Clock>) {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let current = CURRENT_REQUEST.with(|c| c.borrow().clone());
            let line = serde_json::json!({
                "time": crate::clock::format_rfc3339_ms(clock.now_ms()),
                "level": "error",
                "msg": "panic",
                "request_id": current.as_ref().map(|c| &c.0),
                "trace_id": current.as_ref().map(|c| &c.1),
                "span_id": current.as_ref().map(|c| &c.2),
                "error": info.to_string(),
            });
            logger.write(Level::Error, &line.to_string());
            previous(info);
        }));
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn faults_parse_strictly() {
        assert_eq!(Fault::parse("panic"), Some(Fault::Panic));
        assert_eq!(Fault::parse("fail-statement=3"), Some(Fault::FailStatement(3)));
        for bad in ["", "Panic", "fail-statement=0", "fail-statement=-1", "fail-statement=x", "fail-statement=10001"] {
            assert_eq!(Fault::parse(bad), None, "{bad}");
        }
    }

    struct Ok0;
    #[async_trait]
    impl Store for Ok0 {
        async fn query(&self, _: Statement) -> Result<Vec<Row>, StoreError> {
            Ok(Vec::new())
        }
        async fn execute(&self, _: Statement) -> Result<u64, StoreError> {
            Ok(0)
        }
        async fn batch(&self, stmts: Vec<Statement>) -> Result<Vec<StmtResult>, StoreError> {
            Ok(vec![StmtResult::default(); stmts.len()])
        }
    }

    #[test]
    fn the_nth_statement_fails_and_a_batch_containing_it_fails_whole() {
        futures_executor::block_on(async {
            let s = FailingStore::new(Arc::new(Ok0), 3);
            let stmt = || Statement::new("SELECT 1", Vec::new());
            assert!(s.query(stmt()).await.is_ok()); // 1
            assert!(s.batch(vec![stmt(), stmt()]).await.is_err()); // 2, 3
            assert!(s.execute(stmt()).await.is_ok()); // 4
            let s = FailingStore::new(Arc::new(Ok0), 2);
            assert!(s.execute(stmt()).await.is_ok()); // 1
            assert!(matches!(s.query(stmt()).await, Err(StoreError::Unavailable(_)))); // 2
            assert!(s.query(stmt()).await.is_ok()); // 3
        });
    }
}
