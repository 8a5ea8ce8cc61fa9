//! A change and its event land together or not at all: with a store whose batches fail
//! at their last statement, every mutating route answers a 5xx problem and leaves the
//! database exactly as it was (no change without event, no member without project).

use std::sync::atomic::{AtomicBool, Ordering};

use std::sync::Arc;

use async_trait::async_trait;
use http::StatusCode;
use serde_json::{json, Value};
use taskapi::store::StmtResult;
use taskapi::{Row, Statement, Store, StoreError};
use taskapi_native::SqliteStore;

/// Passes everything through; when armed, appends a failing statement to every batch,
/// so the batch's earlier statements must be rolled back.
struct FailingBatches {
    inner: SqliteStore,
    armed: AtomicBool,
}

#[async_trait]
impl Store for FailingBatches {
    async fn query(&self, stmt: Statement) -> Result<Vec<Row>, StoreError> {
        self.inner.query(stmt).await
    }
    async fn execute(&self, stmt: Statement) -> Result<u64, StoreError> {
        self.inner.execute(stmt).await
    }
    async fn batch(&self, mut stmts: Vec<Statement>) -> Result<Vec<StmtResult>, StoreError> {
        if self.armed.load(Ordering::SeqCst) {
            stmts.push(Statement::new("INSERT INTO no_such_table (x) VALUES (1)", Vec::new()));
        }
        self.inner.batch(stmts).await
    }
}

struct Harness {
    app: axum::Router,
    store: Arc<FailingBatches>,
}

impl Harness {
    fn new() -> Self {
        let store =
            Arc::new(FailingBatches { inner: SqliteStore::in_memory().unwrap(), armed: AtomicBool::new(false) });
        let app = crate::common::app(store.clone());
        Harness { app, store }
    }

    fn call(&self, method: &str, path: &str, token: Option<&str>, body: Option<Value>) -> (StatusCode, Value) {
        crate::common::call(&self.app, method, path, token, body)
    }

    fn count(&self, sql: &'static str) -> i64 {
        let rows = futures_executor::block_on(self.store.inner.query(Statement::new(sql, Vec::new()))).unwrap();
        rows[0].int(0).unwrap()
    }

    fn snapshot(&self) -> Vec<i64> {
        [
            "SELECT count(*) FROM users",
            "SELECT count(*) FROM sessions",
            "SELECT count(*) FROM projects",
            "SELECT count(*) FROM members",
            "SELECT count(*) FROM tasks",
            "SELECT count(*) FROM task_labels",
            "SELECT count(*) FROM events",
            "SELECT coalesce(sum(version), 0) FROM tasks",
            "SELECT coalesce(sum(version), 0) FROM projects",
            "SELECT count(*) FROM members WHERE role = 'owner'",
            "SELECT count(*) FROM tasks WHERE assignee_id IS NOT NULL",
            "SELECT count(*) FROM idempotent_requests",
        ]
        .iter()
        .map(|sql| self.count(sql))
        .collect()
    }

    fn arm(&self, on: bool) {
        self.store.armed.store(on, Ordering::SeqCst);
    }
}

fn register(h: &Harness, email: &str) -> (String, String) {
    let b = crate::common::register(&h.app, email);
    (b["access_token"].as_str().unwrap().to_owned(), b["user"]["id"].as_str().unwrap().to_owned())
}

#[test]
fn a_failing_statement_leaves_neither_the_change_nor_its_event() {
    let h = Harness::new();
    let (owner, _) = register(&h, "owner@example.test");
    let (_, member_id) = register(&h, "member@example.test");
    let (_, p) = h.call("POST", "/v1/projects", Some(&owner), Some(json!({"name": "P"})));
    let pid = p["id"].as_str().unwrap().to_owned();
    let (s, _) = h.call(
        "POST",
        &format!("/v1/projects/{pid}/members"),
        Some(&owner),
        Some(json!({"email": "member@example.test", "role": "member"})),
    );
    assert_eq!(s, StatusCode::CREATED);
    let (_, t) = h.call(
        "POST",
        &format!("/v1/projects/{pid}/tasks"),
        Some(&owner),
        Some(json!({"title": "T", "labels": ["a"], "assignee_id": member_id})),
    );
    let tid = t["id"].as_str().unwrap().to_owned();

    let before = h.snapshot();
    h.arm(true);
    let attempts: Vec<(&str, String, Option<Value>)> = vec![
        (
            "POST",
            "/v1/auth/register".into(),
            Some(json!({"email": "x@example.test", "password": "correct horse battery", "name": "X"})),
        ),
        (
            "POST",
            "/v1/auth/login".into(),
            Some(json!({"email": "owner@example.test", "password": "correct horse battery"})),
        ),
        ("POST", "/v1/projects".into(), Some(json!({"name": "Q"}))),
        ("PATCH", format!("/v1/projects/{pid}"), Some(json!({"name": "Renamed"}))),
        ("POST", format!("/v1/projects/{pid}/tasks"), Some(json!({"title": "U", "labels": ["b"]}))),
        ("PATCH", format!("/v1/tasks/{tid}"), Some(json!({"title": "T2", "status": "in_progress", "labels": ["c"]}))),
        ("PATCH", format!("/v1/projects/{pid}/members/{member_id}"), Some(json!({"role": "admin"}))),
        ("DELETE", format!("/v1/projects/{pid}/members/{member_id}"), None),
        ("DELETE", format!("/v1/tasks/{tid}"), None),
        ("DELETE", format!("/v1/projects/{pid}"), None),
    ];
    for (method, path, body) in attempts {
        let (status, problem) = h.call(method, &path, Some(&owner), body);
        assert!(status.is_server_error(), "{method} {path}: {status} {problem}");
        assert_eq!(problem["status"].as_u64(), Some(u64::from(status.as_u16())), "{method} {path}: problem body");
        assert_eq!(h.snapshot(), before, "{method} {path} left a partial write");
    }
    h.arm(false);
    let (_, task) = h.call("GET", &format!("/v1/tasks/{tid}"), Some(&owner), None);
    assert_eq!((task["title"].as_str(), task["status"].as_str()), (Some("T"), Some("todo")));
    assert_eq!(task["assignee_id"].as_str(), Some(member_id.as_str()));
    let (s, _) = h.call("PATCH", &format!("/v1/tasks/{tid}"), Some(&owner), Some(json!({"title": "T2"})));
    assert_eq!(s, StatusCode::OK, "the same write succeeds once the store is healthy");
}
