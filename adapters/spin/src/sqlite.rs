//! The store port on Spin SQLite. Spin has no batch call, so an atomic batch is
//! `BEGIN IMMEDIATE` … `COMMIT` on this request's own connection.

use async_trait::async_trait;
use spin_sdk::sqlite::{Connection, Value as SpinValue};
use taskapi::store::StmtResult;
use taskapi::{Row, Statement, Store, StoreError, Value};

pub struct SpinStore {
    conn: Result<Connection, String>,
}

impl SpinStore {
    /// Opens the `default` database; a failure is kept and reported by every call,
    /// so `/v1/health` can answer 503 instead of the component failing.
    pub async fn open_default() -> Self {
        Self { conn: Connection::open_default().await.map_err(|e| format!("{e:?}")) }
    }

    fn conn(&self) -> Result<&Connection, StoreError> {
        self.conn.as_ref().map_err(|e| StoreError::Unavailable(format!("sqlite open: {e}")))
    }

    async fn run(&self, stmt: Statement) -> Result<StmtResult, StoreError> {
        let conn = self.conn()?;
        let params: Vec<SpinValue> = stmt.params.into_iter().map(to_spin).collect();
        let result = conn.execute(stmt.sql.as_ref(), params).await.map_err(err)?;
        let rows = result.collect().await.map_err(err)?;
        let rows = rows.into_iter().map(|r| Row(r.values.into_iter().map(from_spin).collect())).collect();
        let changes = conn.changes().await;
        Ok(StmtResult { rows, changes })
    }

    async fn exec_plain(&self, sql: &'static str) -> Result<(), StoreError> {
        self.run(Statement::new(sql, Vec::new())).await.map(|_| ())
    }
}

fn err(e: spin_sdk::sqlite::Error) -> StoreError {
    match e {
        spin_sdk::sqlite::Error::Io(m) => StoreError::from_sqlite_message(&m),
        spin_sdk::sqlite::Error::DatabaseFull => StoreError::Unavailable("database full".into()),
        other => StoreError::Unavailable(format!("{other:?}")),
    }
}

fn to_spin(v: Value) -> SpinValue {
    match v {
        Value::Null => SpinValue::Null,
        Value::Integer(i) => SpinValue::Integer(i),
        Value::Real(f) => SpinValue::Real(f),
        Value::Text(s) => SpinValue::Text(s),
        Value::Blob(b) => SpinValue::Blob(b),
    }
}

fn from_spin(v: SpinValue) -> Value {
    match v {
        SpinValue::Null => Value::Null,
        SpinValue::Integer(i) => Value::Integer(i),
        SpinValue::Real(f) => Value::Real(f),
        SpinValue::Text(s) => Value::Text(s),
        SpinValue::Blob(b) => Value::Blob(b),
    }
}

#[async_trait]
impl Store for SpinStore {
    async fn query(&self, stmt: Statement) -> Result<Vec<Row>, StoreError> {
        self.run(stmt).await.map(|r| r.rows)
    }

    async fn execute(&self, stmt: Statement) -> Result<u64, StoreError> {
        self.run(stmt).await.map(|r| r.changes)
    }

    /// Several reads in one read transaction (one snapshot; no write lock).
    async fn query_many(&self, stmts: Vec<Statement>) -> Result<Vec<Vec<Row>>, StoreError> {
        self.transaction("BEGIN", stmts).await.map(|r| r.into_iter().map(|s| s.rows).collect())
    }

    async fn batch(&self, stmts: Vec<Statement>) -> Result<Vec<StmtResult>, StoreError> {
        self.transaction("BEGIN IMMEDIATE", stmts).await
    }
}

impl SpinStore {
    async fn transaction(&self, begin: &'static str, stmts: Vec<Statement>) -> Result<Vec<StmtResult>, StoreError> {
        self.exec_plain(begin).await?;
        let mut results = Vec::with_capacity(stmts.len());
        for stmt in stmts {
            match self.run(stmt).await {
                Ok(r) => results.push(r),
                Err(e) => {
                    // The statement's error is what the caller needs; a failed rollback
                    // leaves the transaction to die with the connection.
                    let _ = self.exec_plain("ROLLBACK").await;
                    return Err(e);
                }
            }
        }
        if let Err(e) = self.exec_plain("COMMIT").await {
            let _ = self.exec_plain("ROLLBACK").await;
            return Err(e);
        }
        Ok(results)
    }
}
