//! Native host ports: rusqlite store, system clock, OS randomness, stdout logger.

use std::path::Path;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use rusqlite::types::{Value as SqlValue, ValueRef};
pub use taskapi::clock::SystemClock;
use taskapi::ports::{HttpError, Level, RandomError};
use taskapi::store::StmtResult;
use taskapi::{Logger, Ports, Random, Row, Settings, Statement, Store, StoreError, Value};

/// A rusqlite connection behind a mutex: one writer at a time, like D1.
pub struct SqliteStore {
    conn: Mutex<rusqlite::Connection>,
}

fn map_err(e: &rusqlite::Error) -> StoreError {
    StoreError::from_sqlite_message(&e.to_string())
}

fn to_sql(v: Value) -> SqlValue {
    match v {
        Value::Null => SqlValue::Null,
        Value::Integer(i) => SqlValue::Integer(i),
        Value::Real(f) => SqlValue::Real(f),
        Value::Text(s) => SqlValue::Text(s),
        Value::Blob(b) => SqlValue::Blob(b),
    }
}

fn from_sql(v: ValueRef<'_>) -> Value {
    match v {
        ValueRef::Null => Value::Null,
        ValueRef::Integer(i) => Value::Integer(i),
        ValueRef::Real(f) => Value::Real(f),
        ValueRef::Text(t) => Value::Text(String::from_utf8_lossy(t).into_owned()),
        ValueRef::Blob(b) => Value::Blob(b.to_vec()),
    }
}

fn run(conn: &rusqlite::Connection, stmt: Statement) -> Result<StmtResult, StoreError> {
    let mut prepared = conn.prepare_cached(&stmt.sql).map_err(|e| map_err(&e))?;
    let columns = prepared.column_count();
    let params = rusqlite::params_from_iter(stmt.params.into_iter().map(to_sql));
    let mut rows = prepared.query(params).map_err(|e| map_err(&e))?;
    let mut out = Vec::new();
    while let Some(row) = rows.next().map_err(|e| map_err(&e))? {
        let mut values = Vec::with_capacity(columns);
        for i in 0..columns {
            values.push(from_sql(row.get_ref(i).map_err(|e| map_err(&e))?));
        }
        out.push(Row(values));
    }
    drop(rows);
    let changes = if prepared.readonly() { 0 } else { conn.changes() };
    Ok(StmtResult { rows: out, changes })
}

impl SqliteStore {
    /// Opens (creating if needed) the database file and applies the migrations.
    ///
    /// # Errors
    /// When the file cannot be opened or a migration fails.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let conn = rusqlite::Connection::open(path).map_err(|e| map_err(&e))?;
        Self::init(conn)
    }

    /// A private in-memory database with the migrations applied.
    ///
    /// # Errors
    /// When a migration fails.
    pub fn in_memory() -> Result<Self, StoreError> {
        let conn = rusqlite::Connection::open_in_memory().map_err(|e| map_err(&e))?;
        Self::init(conn)
    }

    fn init(conn: rusqlite::Connection) -> Result<Self, StoreError> {
        conn.execute_batch("PRAGMA journal_mode = WAL; PRAGMA busy_timeout = 5000; PRAGMA foreign_keys = ON;")
            .map_err(|e| map_err(&e))?;
        for (_, sql) in taskapi::migrations::MIGRATIONS {
            conn.execute_batch(sql).map_err(|e| map_err(&e))?;
        }
        Ok(Self { conn: Mutex::new(conn) })
    }

    fn with_conn<T>(
        &self,
        f: impl FnOnce(&mut rusqlite::Connection) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let mut guard = self.conn.lock().map_err(|_| StoreError::Unavailable("connection mutex poisoned".into()))?;
        f(&mut guard)
    }
}

#[async_trait]
impl Store for SqliteStore {
    async fn query(&self, stmt: Statement) -> Result<Vec<Row>, StoreError> {
        self.with_conn(|c| run(c, stmt).map(|r| r.rows))
    }

    async fn execute(&self, stmt: Statement) -> Result<u64, StoreError> {
        self.with_conn(|c| run(c, stmt).map(|r| r.changes))
    }

    async fn query_many(&self, stmts: Vec<Statement>) -> Result<Vec<Vec<Row>>, StoreError> {
        self.batch(stmts).await.map(|r| r.into_iter().map(|s| s.rows).collect())
    }

    async fn batch(&self, stmts: Vec<Statement>) -> Result<Vec<StmtResult>, StoreError> {
        self.with_conn(|c| {
            let tx = c.transaction().map_err(|e| map_err(&e))?;
            let mut results = Vec::with_capacity(stmts.len());
            for stmt in stmts {
                results.push(run(&tx, stmt)?);
            }
            tx.commit().map_err(|e| map_err(&e))?;
            Ok(results)
        })
    }
}

pub struct OsRandom;

impl Random for OsRandom {
    fn fill(&self, buf: &mut [u8]) -> Result<(), RandomError> {
        getrandom::fill(buf).map_err(|e| RandomError(e.to_string()))
    }
}

/// Writes log lines to stdout, or collects them in memory for tests.
#[derive(Default)]
pub struct StdoutLogger {
    pub captured: Option<Mutex<Vec<String>>>,
}

impl Logger for StdoutLogger {
    fn write(&self, _level: Level, line: &str) {
        match &self.captured {
            Some(lines) => {
                if let Ok(mut l) = lines.lock() {
                    l.push(line.to_owned());
                }
            }
            None => println!("{line}"),
        }
    }
}

/// One request's data point, owned (see [`MemoryMetrics`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Point {
    pub route: String,
    pub method: String,
    pub status: u16,
    pub status_class: &'static str,
    pub duration_ms: i64,
    pub principal_kind: &'static str,
    pub rate_limited: bool,
    pub problem: Option<&'static str>,
    pub store_calls: u32,
    pub limiter_calls: u32,
    pub trace_id: String,
}

/// The metrics port in memory: the native host's data points, for tests to read.
#[derive(Debug, Default)]
pub struct MemoryMetrics {
    pub points: Mutex<Vec<Point>>,
}

impl taskapi::Metrics for MemoryMetrics {
    fn record(&self, p: &taskapi::ports::RequestPoint<'_>) -> Result<bool, String> {
        let point = Point {
            route: p.route.to_owned(),
            method: p.method.to_owned(),
            status: p.status,
            status_class: p.status_class(),
            duration_ms: p.duration_ms,
            principal_kind: p.principal_kind,
            rate_limited: p.rate_limited(),
            problem: p.problem,
            store_calls: p.store_calls,
            limiter_calls: p.limiter_calls,
            trace_id: p.trace_id.to_owned(),
        };
        self.points.lock().map_err(|_| "metrics poisoned".to_owned())?.push(point);
        Ok(true)
    }
}

/// Outbound HTTP with hyper's client: plain `http://` only (this host serves tests and
/// local development, where providers run on loopback); `https://` URLs are refused.
pub struct HyperHttp {
    client: hyper_util::client::legacy::Client<
        hyper_util::client::legacy::connect::HttpConnector,
        http_body_util::Full<bytes::Bytes>,
    >,
}

impl Default for HyperHttp {
    fn default() -> Self {
        let mut connector = hyper_util::client::legacy::connect::HttpConnector::new();
        connector.set_connect_timeout(Some(std::time::Duration::from_millis(taskapi::ports::OUTBOUND_TIMEOUT_MS)));
        let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new()).build(connector);
        Self { client }
    }
}

#[async_trait]
impl taskapi::HttpClient for HyperHttp {
    async fn send(&self, req: http::Request<Vec<u8>>) -> Result<http::Response<Vec<u8>>, HttpError> {
        use http_body_util::BodyExt;
        let limit = taskapi::ports::MAX_OUTBOUND_RESPONSE;
        let call = async {
            let res = self
                .client
                .request(req.map(|b| http_body_util::Full::new(bytes::Bytes::from(b))))
                .await
                .map_err(|e| HttpError(format!("{e:?}")))?;
            let (parts, body) = res.into_parts();
            let body = http_body_util::Limited::new(body, limit)
                .collect()
                .await
                .map_err(|e| HttpError(format!("reading the response (at most {limit} bytes): {e}")))?;
            Ok(http::Response::from_parts(parts, body.to_bytes().to_vec()))
        };
        tokio::time::timeout(std::time::Duration::from_millis(taskapi::ports::OUTBOUND_TIMEOUT_MS), call)
            .await
            .map_err(|_| HttpError(format!("no response within {} ms", taskapi::ports::OUTBOUND_TIMEOUT_MS)))?
    }
}

/// Ports for a native host over the given store; rate limits live in the same SQLite.
pub fn ports(store: Arc<dyn Store>, settings: Settings, logger: Arc<dyn Logger>) -> Ports {
    Ports {
        limiter: Arc::new(taskapi::ratelimit::SqlRateLimiter { store: store.clone() }),
        store,
        clock: Arc::new(SystemClock),
        random: Arc::new(OsRandom),
        logger,
        metrics: Arc::new(taskapi::NoMetrics),
        http: Arc::new(HyperHttp::default()),
        cache: Arc::new(taskapi::NoSharedCache),
        settings: Arc::new(settings),
    }
}

/// The app with the TCP peer as the platform's client address (serve it with
/// `into_make_service_with_connect_info::<SocketAddr>()`).
pub fn app(ports: Ports) -> axum::Router {
    taskapi::faults::install_panic_hook(ports.logger.clone(), ports.clock.clone());
    taskapi::app(ports)
        // A panic (which the hook has logged with its request id) becomes a 500 problem;
        // the server and its other connections carry on.
        .layer(axum::middleware::from_fn(|req: axum::extract::Request, next: axum::middleware::Next| async move {
            use futures_util::FutureExt;
            match std::panic::AssertUnwindSafe(next.run(req)).catch_unwind().await {
                Ok(res) => res,
                Err(_) => taskapi::http::panic_response(),
            }
        }))
        .layer(axum::middleware::map_request(|mut req: axum::extract::Request| async move {
            let peer = req.extensions().get::<axum::extract::ConnectInfo<std::net::SocketAddr>>().map(|c| c.0.ip());
            if let Some(ip) = peer {
                req.extensions_mut().insert(taskapi::http::limits::PlatformClientIp(ip.to_string()));
            }
            req
        }))
}
