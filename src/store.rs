//! The store port: a small SQL executor. Every query is written once, here in the core,
//! and runs unchanged on D1, Spin SQLite and rusqlite.

use std::borrow::Cow;
use std::sync::Arc;

use async_trait::async_trait;

/// A SQLite value as it crosses the port.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Integer(i64),
    Real(f64),
    Text(String),
    Blob(Vec<u8>),
}

impl From<&str> for Value {
    fn from(v: &str) -> Self {
        Value::Text(v.to_owned())
    }
}
impl From<String> for Value {
    fn from(v: String) -> Self {
        Value::Text(v)
    }
}
impl From<i64> for Value {
    fn from(v: i64) -> Self {
        Value::Integer(v)
    }
}
impl From<bool> for Value {
    fn from(v: bool) -> Self {
        Value::Integer(i64::from(v))
    }
}
impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(v: Option<T>) -> Self {
        v.map_or(Value::Null, Into::into)
    }
}

/// One SQL statement with positional (`?N`) parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct Statement {
    pub sql: Cow<'static, str>,
    pub params: Vec<Value>,
}

impl Statement {
    pub fn new(sql: impl Into<Cow<'static, str>>, params: Vec<Value>) -> Self {
        Self { sql: sql.into(), params }
    }
}

/// A result row: values in the order of the statement's column list.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Row(pub Vec<Value>);

impl Row {
    fn get(&self, idx: usize) -> Result<&Value, StoreError> {
        self.0.get(idx).ok_or_else(|| StoreError::Decode(format!("column {idx} missing")))
    }

    /// An integer column. D1 hands every number over as a JS double, so integral reals
    /// are accepted (all our integers stay below 2^53).
    pub fn int(&self, idx: usize) -> Result<i64, StoreError> {
        match self.get(idx)? {
            Value::Integer(i) => Ok(*i),
            #[allow(clippy::cast_possible_truncation)]
            Value::Real(f) if f.fract() == 0.0 && f.abs() < 9_007_199_254_740_992.0 => Ok(*f as i64),
            other => Err(StoreError::Decode(format!("column {idx}: expected integer, got {other:?}"))),
        }
    }

    /// A nullable column read with `read`.
    fn opt<T>(
        &self,
        idx: usize,
        read: impl Fn(&Self, usize) -> Result<T, StoreError>,
    ) -> Result<Option<T>, StoreError> {
        match self.get(idx)? {
            Value::Null => Ok(None),
            _ => read(self, idx).map(Some),
        }
    }

    pub fn opt_int(&self, idx: usize) -> Result<Option<i64>, StoreError> {
        self.opt(idx, Self::int)
    }

    pub fn text(&self, idx: usize) -> Result<String, StoreError> {
        match self.get(idx)? {
            Value::Text(s) => Ok(s.clone()),
            other => Err(StoreError::Decode(format!("column {idx}: expected text, got {other:?}"))),
        }
    }

    pub fn opt_text(&self, idx: usize) -> Result<Option<String>, StoreError> {
        self.opt(idx, Self::text)
    }

    pub fn bool(&self, idx: usize) -> Result<bool, StoreError> {
        Ok(self.int(idx)? != 0)
    }
}

/// What one statement of a batch produced.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct StmtResult {
    pub rows: Vec<Row>,
    /// Rows inserted, updated or deleted.
    pub changes: u64,
}

/// Store failures in domain terms; adapters translate driver errors into these.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreError {
    /// A UNIQUE or PRIMARY KEY constraint rejected the write; the text names the constraint.
    Conflict(String),
    /// A CHECK, NOT NULL or FOREIGN KEY constraint rejected the write.
    Constraint(String),
    /// The database cannot be reached or is overloaded; worth retrying later (503).
    Unavailable(String),
    /// A row did not have the shape the query promised.
    Decode(String),
    /// A guard statement refused the whole write or read because the caller's credential
    /// is no longer valid (an API key deleted or expired since it was last seen).
    Revoked(String),
    /// Anything else the driver reported (500).
    Other(String),
}

impl std::fmt::Display for StoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StoreError::Conflict(m) => write!(f, "conflict: {m}"),
            StoreError::Constraint(m) => write!(f, "constraint: {m}"),
            StoreError::Unavailable(m) => write!(f, "unavailable: {m}"),
            StoreError::Decode(m) => write!(f, "decode: {m}"),
            StoreError::Revoked(m) => write!(f, "revoked: {m}"),
            StoreError::Other(m) => write!(f, "store: {m}"),
        }
    }
}

impl std::error::Error for StoreError {}

impl StoreError {
    /// Classifies a SQLite error message the way every driver reports it (D1 prefixes
    /// `D1_ERROR:`, Spin wraps it in `io(...)`, rusqlite prints it plainly), so each
    /// adapter maps errors with one call and the three hosts agree.
    pub fn from_sqlite_message(message: &str) -> StoreError {
        let m = message.to_owned();
        if message.contains(CREDENTIAL_REVOKED) {
            StoreError::Revoked("the API key is invalid, expired or revoked".to_owned())
        } else if message.contains("UNIQUE constraint failed") || message.contains("PRIMARY KEY constraint failed") {
            StoreError::Conflict(m)
        } else if message.contains("constraint failed") {
            StoreError::Constraint(m)
        } else if message.contains("database is locked")
            || message.contains("SQLITE_BUSY")
            || message.contains("unable to open database")
            || message.contains("Network connection lost")
            || message.contains("D1_ERROR: internal")
            || message.contains("overloaded")
        {
            StoreError::Unavailable(m)
        } else {
            StoreError::Other(m)
        }
    }
}

/// The name of the CHECK constraint that a guard statement violates on purpose to abort a
/// batch (see `sql::credentials`): every driver reports it as
/// `CHECK constraint failed: credential_revoked`.
pub const CREDENTIAL_REVOKED: &str = "credential_revoked";

/// The store port. Implementations: D1 (Workers), Spin SQLite, rusqlite (native).
#[async_trait]
pub trait Store: Send + Sync {
    /// Runs one statement and returns its rows.
    ///
    /// # Errors
    /// Any [`StoreError`]; `Unavailable` when the database cannot be reached.
    async fn query(&self, stmt: Statement) -> Result<Vec<Row>, StoreError>;

    /// Runs one statement and returns how many rows it changed.
    ///
    /// # Errors
    /// Any [`StoreError`]; `Conflict` on a unique violation.
    async fn execute(&self, stmt: Statement) -> Result<u64, StoreError>;

    /// Runs the statements in order as ONE atomic write: all land or none does.
    ///
    /// # Errors
    /// The first statement's failure; nothing of the batch is then visible.
    async fn batch(&self, stmts: Vec<Statement>) -> Result<Vec<StmtResult>, StoreError>;

    /// Runs several reads in ONE round trip, all seeing the same state (D1: a batch of
    /// SELECTs; SQLite hosts: one read transaction). The default runs them one by one,
    /// which is right for a store whose every call is local.
    ///
    /// # Errors
    /// The first statement's failure.
    async fn query_many(&self, stmts: Vec<Statement>) -> Result<Vec<Vec<Row>>, StoreError> {
        let mut out = Vec::with_capacity(stmts.len());
        for stmt in stmts {
            out.push(self.query(stmt).await?);
        }
        Ok(out)
    }

    /// A store for one request with the given read consistency, on hosts whose database
    /// has read replicas (D1 Sessions). `None` (the default): one database, every read
    /// already sees every committed write, and the request uses this store.
    ///
    /// # Errors
    /// When the host cannot open the session; the request then uses this store.
    fn session(&self, _consistency: Consistency<'_>) -> Result<Option<Arc<dyn Store>>, StoreError> {
        Ok(None)
    }

    /// The newest replication position this store has observed (a D1 bookmark), for the
    /// client to send back so that its next request sees at least this state.
    fn bookmark(&self) -> Option<String> {
        None
    }
}

/// Where a request's first query may run on a replicated database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Consistency<'a> {
    /// At the primary: writes, and anything that must see the latest state.
    Primary,
    /// On any replica, however far behind: reads without a bookmark.
    AnyReplica,
    /// On a replica that has caught up with at least this bookmark (read-your-writes).
    After(&'a str),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unique_violations_from_every_driver_become_conflicts() {
        for msg in [
            "D1_ERROR: UNIQUE constraint failed: users.email_normalized: SQLITE_CONSTRAINT",
            "io(\"UNIQUE constraint failed: users.email_normalized\")",
            "UNIQUE constraint failed: users.email_normalized",
        ] {
            assert!(matches!(StoreError::from_sqlite_message(msg), StoreError::Conflict(_)), "{msg}");
        }
    }

    #[test]
    fn other_constraints_and_busy_are_classified() {
        assert!(matches!(StoreError::from_sqlite_message("FOREIGN KEY constraint failed"), StoreError::Constraint(_)));
        assert!(matches!(StoreError::from_sqlite_message("database is locked"), StoreError::Unavailable(_)));
        assert!(matches!(StoreError::from_sqlite_message("near \"SELEC\": syntax error"), StoreError::Other(_)));
    }

    #[test]
    fn integral_reals_read_as_integers_but_fractions_do_not() {
        let row = Row(vec![Value::Real(1_700_000_000_000.0), Value::Real(1.5), Value::Null]);
        assert_eq!(row.int(0), Ok(1_700_000_000_000));
        assert!(row.int(1).is_err());
        assert_eq!(row.opt_int(2), Ok(None));
        assert!(row.int(3).is_err());
    }
}
