//! `spin:sqlite/sqlite@3.1.0` backed by rusqlite.
//!
//! Every guest `open`/`open-async` gets a connection of its own (taken from a
//! small idle pool, or freshly opened), so a guest can hold a transaction on
//! its connection while other requests use theirs. A connection goes back to
//! the idle pool only when it is outside any transaction (autocommit mode);
//! otherwise it is closed, which rolls the transaction back.

use crate::bindings::sqlite::{self, Error, QueryResult, RowResult, Value};
use crate::HostState;
use anyhow::Context as _;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use wasmtime::component::{Accessor, FutureReader, HasSelf, Resource, StreamReader};

/// How many idle connections a database keeps for reuse.
const MAX_IDLE: usize = 64;
const BUSY_TIMEOUT: Duration = Duration::from_millis(5000);

/// One configured database (a label bound to a file).
pub struct Database {
    label: String,
    path: PathBuf,
    idle: Mutex<Vec<rusqlite::Connection>>,
}

/// Open a SQLite file the way every connection of this host is opened:
/// WAL journal, 5 s busy timeout, foreign keys on.
pub fn open_file(path: &Path) -> rusqlite::Result<rusqlite::Connection> {
    let conn = rusqlite::Connection::open(path)?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    // `journal_mode` answers with a row, so it must be read, not executed.
    let _mode: String = conn.query_row("PRAGMA journal_mode=WAL", [], |row| row.get(0))?;
    conn.execute_batch("PRAGMA foreign_keys=ON;")?;
    Ok(conn)
}

impl Database {
    /// Create (if missing) and check the database file.
    pub fn new(label: String, path: PathBuf) -> anyhow::Result<Self> {
        if let Some(parent) = path.parent() {
            if !parent.as_os_str().is_empty() {
                std::fs::create_dir_all(parent).with_context(|| format!("creating directory {}", parent.display()))?;
            }
        }
        let conn =
            open_file(&path).with_context(|| format!("opening sqlite database {label:?} at {}", path.display()))?;
        Ok(Self { label, path, idle: Mutex::new(vec![conn]) })
    }

    pub fn label(&self) -> &str {
        &self.label
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Run a batch of SQL (e.g. an init file) against this database.
    pub fn execute_batch(&self, sql: &str) -> anyhow::Result<()> {
        let conn = self.checkout().map_err(anyhow::Error::msg)?;
        let result = conn.execute_batch(sql);
        self.checkin(conn);
        Ok(result?)
    }

    fn checkout(&self) -> Result<rusqlite::Connection, String> {
        let pooled = self.idle.lock().map_err(|e| e.to_string())?.pop();
        match pooled {
            Some(conn) => Ok(conn),
            None => open_file(&self.path).map_err(|e| e.to_string()),
        }
    }

    fn checkin(&self, conn: rusqlite::Connection) {
        if !conn.is_autocommit() {
            // Still inside a transaction the guest never finished: closing
            // the connection rolls it back.
            return;
        }
        if let Ok(mut idle) = self.idle.lock() {
            if idle.len() < MAX_IDLE {
                idle.push(conn);
            }
        }
    }
}

/// All databases a guest may open, by label.
#[derive(Default)]
pub struct Databases {
    by_label: HashMap<String, Arc<Database>>,
}

impl Databases {
    pub fn insert(&mut self, db: Database) {
        self.by_label.insert(db.label.clone(), Arc::new(db));
    }

    pub fn get(&self, label: &str) -> Option<Arc<Database>> {
        self.by_label.get(label).cloned()
    }

    pub fn iter(&self) -> impl Iterator<Item = &Arc<Database>> {
        self.by_label.values()
    }
}

/// A guest-owned connection (the `connection` resource).
pub struct Conn {
    inner: Arc<Mutex<PooledConn>>,
}

struct PooledConn {
    conn: Option<rusqlite::Connection>,
    db: Arc<Database>,
}

impl Drop for PooledConn {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take() {
            self.db.checkin(conn);
        }
    }
}

impl Conn {
    /// Run `f` with the rusqlite connection on a blocking thread.
    async fn with<R: Send + 'static>(
        &self,
        f: impl FnOnce(&rusqlite::Connection) -> R + Send + 'static,
    ) -> Result<R, Error> {
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || {
            let guard = inner.lock().map_err(|e| Error::Io(e.to_string()))?;
            let conn = guard.conn.as_ref().ok_or(Error::InvalidConnection)?;
            Ok(f(conn))
        })
        .await
        .map_err(|e| Error::Io(format!("sqlite worker failed: {e}")))?
    }

    /// Same as [`Conn::with`], on the current thread (for the synchronous WIT functions).
    fn with_sync<R>(&self, f: impl FnOnce(&rusqlite::Connection) -> R) -> Result<R, Error> {
        let guard = self.inner.lock().map_err(|e| Error::Io(e.to_string()))?;
        let conn = guard.conn.as_ref().ok_or(Error::InvalidConnection)?;
        Ok(f(conn))
    }

    fn share(&self) -> Conn {
        Conn { inner: self.inner.clone() }
    }
}

fn io(e: rusqlite::Error) -> Error {
    // Keep SQLite's own message (e.g. "UNIQUE constraint failed: users.email")
    // rather than rusqlite's wrapper text.
    match e {
        rusqlite::Error::SqliteFailure(_, Some(msg)) => Error::Io(msg),
        // rusqlite appends "in <sql> at offset N" to SQLite's own message.
        rusqlite::Error::SqlInputError { msg, .. } => Error::Io(msg),
        other => Error::Io(other.to_string()),
    }
}

/// Opens a connection for `label` (blocking: may open a file).
fn open_blocking(db: Arc<Database>) -> Result<Conn, Error> {
    let conn = db.checkout().map_err(Error::Io)?;
    Ok(Conn { inner: Arc::new(Mutex::new(PooledConn { conn: Some(conn), db })) })
}

fn to_sql(v: Value) -> rusqlite::types::Value {
    match v {
        Value::Integer(i) => rusqlite::types::Value::Integer(i),
        Value::Real(f) => rusqlite::types::Value::Real(f),
        Value::Text(s) => rusqlite::types::Value::Text(s),
        Value::Blob(b) => rusqlite::types::Value::Blob(b),
        Value::Null => rusqlite::types::Value::Null,
    }
}

fn from_sql(v: rusqlite::types::ValueRef<'_>) -> Value {
    use rusqlite::types::ValueRef;
    match v {
        ValueRef::Null => Value::Null,
        ValueRef::Integer(i) => Value::Integer(i),
        ValueRef::Real(f) => Value::Real(f),
        ValueRef::Text(t) => Value::Text(String::from_utf8_lossy(t).into_owned()),
        ValueRef::Blob(b) => Value::Blob(b.to_vec()),
    }
}

/// The outcome of running one statement: the column names, every row that was
/// produced, and how the statement finished. Rows produced before a failing
/// step are kept (they are streamed before the error is reported).
struct Outcome {
    columns: Vec<String>,
    rows: Vec<RowResult>,
    result: Result<(), Error>,
}

fn run_statement(conn: &rusqlite::Connection, sql: &str, params: Vec<Value>) -> Outcome {
    let mut outcome = Outcome { columns: Vec::new(), rows: Vec::new(), result: Ok(()) };
    let mut stmt = match conn.prepare_cached(sql) {
        Ok(s) => s,
        Err(e) => {
            outcome.result = Err(io(e));
            return outcome;
        }
    };
    outcome.columns = stmt.column_names().map(str::to_owned).collect();
    let ncols = outcome.columns.len();
    let mut rows = match stmt.query(rusqlite::params_from_iter(params.into_iter().map(to_sql))) {
        Ok(r) => r,
        Err(e) => {
            outcome.result = Err(io(e));
            return outcome;
        }
    };
    loop {
        match rows.next() {
            Ok(Some(row)) => {
                let mut values = Vec::with_capacity(ncols);
                for i in 0..ncols {
                    match row.get_ref(i) {
                        Ok(v) => values.push(from_sql(v)),
                        Err(e) => {
                            outcome.result = Err(io(e));
                            return outcome;
                        }
                    }
                }
                outcome.rows.push(RowResult { values });
            }
            Ok(None) => return outcome,
            Err(e) => {
                outcome.result = Err(io(e));
                return outcome;
            }
        }
    }
}

impl HostState {
    fn sqlite_database(&self, label: &str) -> Result<Arc<Database>, Error> {
        self.shared.sqlite.get(label).ok_or(Error::NoSuchDatabase)
    }

    fn sqlite_conn(&self, conn: &Resource<Conn>) -> Result<Conn, Error> {
        self.table.get(conn).map(Conn::share).map_err(|_| Error::InvalidConnection)
    }
}

fn push_conn(state: &mut HostState, conn: Conn) -> Result<Resource<Conn>, Error> {
    state.table.push(conn).map_err(|e| Error::Io(format!("too many connections: {e}")))
}

impl sqlite::Host for HostState {}

impl sqlite::HostConnection for HostState {
    fn open(&mut self, database: String) -> wasmtime::Result<Result<Resource<Conn>, Error>> {
        let db = match self.sqlite_database(&database) {
            Ok(db) => db,
            Err(e) => return Ok(Err(e)),
        };
        Ok(open_blocking(db).and_then(|conn| push_conn(self, conn)))
    }

    fn execute(
        &mut self,
        conn: Resource<Conn>,
        statement: String,
        parameters: Vec<Value>,
    ) -> wasmtime::Result<Result<QueryResult, Error>> {
        let conn = match self.sqlite_conn(&conn) {
            Ok(c) => c,
            Err(e) => return Ok(Err(e)),
        };
        let outcome = conn.with_sync(|c| run_statement(c, &statement, parameters));
        Ok(outcome.and_then(|o| o.result.map(|()| QueryResult { columns: o.columns, rows: o.rows })))
    }

    fn last_insert_rowid(&mut self, conn: Resource<Conn>) -> wasmtime::Result<i64> {
        let conn = self.sqlite_conn(&conn).map_err(trap)?;
        conn.with_sync(|c| c.last_insert_rowid()).map_err(trap)
    }

    fn changes(&mut self, conn: Resource<Conn>) -> wasmtime::Result<u64> {
        let conn = self.sqlite_conn(&conn).map_err(trap)?;
        conn.with_sync(|c| c.changes()).map_err(trap)
    }

    fn drop(&mut self, conn: Resource<Conn>) -> wasmtime::Result<()> {
        // Dropping the last handle returns the rusqlite connection to the pool.
        self.table.delete(conn)?;
        Ok(())
    }
}

/// Functions whose WIT signature cannot report an error trap instead.
fn trap(e: Error) -> wasmtime::Error {
    wasmtime::format_err!("sqlite: {e:?}")
}

impl sqlite::HostConnectionWithStore for HasSelf<HostState> {
    async fn open_async<T>(
        accessor: &Accessor<T, Self>,
        database: String,
    ) -> wasmtime::Result<Result<Resource<Conn>, Error>> {
        let db = match accessor.with(|mut access| access.get().sqlite_database(&database)) {
            Ok(db) => db,
            Err(e) => return Ok(Err(e)),
        };
        let conn = match tokio::task::spawn_blocking(move || open_blocking(db)).await {
            Ok(Ok(conn)) => conn,
            Ok(Err(e)) => return Ok(Err(e)),
            Err(e) => return Ok(Err(Error::Io(format!("sqlite worker failed: {e}")))),
        };
        Ok(accessor.with(|mut access| push_conn(access.get(), conn)))
    }

    async fn execute_async<T>(
        accessor: &Accessor<T, Self>,
        conn: Resource<Conn>,
        statement: String,
        parameters: Vec<Value>,
    ) -> wasmtime::Result<Result<(Vec<String>, StreamReader<RowResult>, FutureReader<Result<(), Error>>), Error>> {
        let conn = match accessor.with(|mut access| access.get().sqlite_conn(&conn)) {
            Ok(c) => c,
            Err(e) => return Ok(Err(e)),
        };
        // As in Spin, only an invalid connection fails the call itself; a
        // statement that fails (to prepare, bind or step) reports its error
        // through the completion future, after any rows it produced.
        let outcome = match conn.with(move |c| run_statement(c, &statement, parameters)).await {
            Ok(o) => o,
            Err(e) => Outcome { columns: Vec::new(), rows: Vec::new(), result: Err(e) },
        };
        let Outcome { columns, rows, result } = outcome;
        accessor.with(|mut access| {
            let rows = StreamReader::new(&mut access, rows)?;
            let done = FutureReader::new(&mut access, std::future::ready(Ok::<_, wasmtime::Error>(result)))?;
            Ok(Ok((columns, rows, done)))
        })
    }

    async fn last_insert_rowid_async<T>(accessor: &Accessor<T, Self>, conn: Resource<Conn>) -> wasmtime::Result<i64> {
        let conn = accessor.with(|mut access| access.get().sqlite_conn(&conn)).map_err(trap)?;
        conn.with(|c| c.last_insert_rowid()).await.map_err(trap)
    }

    async fn changes_async<T>(accessor: &Accessor<T, Self>, conn: Resource<Conn>) -> wasmtime::Result<u64> {
        let conn = accessor.with(|mut access| access.get().sqlite_conn(&conn)).map_err(trap)?;
        conn.with(|c| c.changes()).await.map_err(trap)
    }
}
