//! Store round trips per route. In production every call to the store is a network hop
//! (to D1's primary or a replica), so each route's count is part of its contract: with an
//! access token, reads make one call and writes one (an idempotent member add two; login,
//! password change and API key creation two: the password is verified between them). A counting store
//! wrapper measures them; the request's log line must report the same number. And the
//! principal limit, leased as on Workers, calls its shared store at most 20 times per
//! 1,000 authenticated requests.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use async_trait::async_trait;
use axum::body::Body;
use http::{Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::{json, Value};
use taskapi::ratelimit::lease::MemoryBackend;
use taskapi::ratelimit::LeasingLimiter;
use taskapi::store::StmtResult;
use taskapi::{Ports, Row, Statement, Store, StoreError};
use taskapi_native::{MemoryMetrics, OsRandom, SqliteStore, StdoutLogger, SystemClock};
use tower::ServiceExt;

use crate::common::{captured, settings};

/// Counts every call to the store it wraps.
struct Counting {
    inner: SqliteStore,
    calls: AtomicU32,
}

#[async_trait]
impl Store for Counting {
    async fn query(&self, stmt: Statement) -> Result<Vec<Row>, StoreError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        self.inner.query(stmt).await
    }
    async fn execute(&self, stmt: Statement) -> Result<u64, StoreError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        self.inner.execute(stmt).await
    }
    async fn batch(&self, stmts: Vec<Statement>) -> Result<Vec<StmtResult>, StoreError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        self.inner.batch(stmts).await
    }
    async fn query_many(&self, stmts: Vec<Statement>) -> Result<Vec<Vec<Row>>, StoreError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        self.inner.query_many(stmts).await
    }
}

struct Host {
    router: axum::Router,
    store: Arc<Counting>,
    limiter: Arc<MemoryBackend>,
    log: Arc<StdoutLogger>,
    metrics: Arc<MemoryMetrics>,
}

fn host() -> Host {
    let store = Arc::new(Counting { inner: SqliteStore::in_memory().unwrap(), calls: AtomicU32::new(0) });
    let limiter = Arc::new(MemoryBackend::default());
    let log = captured();
    let metrics = Arc::new(MemoryMetrics::default());
    let ports = Ports {
        store: store.clone(),
        limiter: Arc::new(LeasingLimiter::new(limiter.clone())),
        clock: Arc::new(SystemClock),
        random: Arc::new(OsRandom),
        logger: log.clone(),
        metrics: metrics.clone(),
        http: Arc::new(taskapi::NoHttp),
        cache: Arc::new(taskapi::NoSharedCache),
        settings: Arc::new(settings(&[("RATE_LIMITS_ENABLED", "true")])),
    };
    Host { router: taskapi::app(ports), store, limiter, log, metrics }
}

struct Sent {
    status: StatusCode,
    body: Value,
    etag: Option<String>,
    trips: u32,
}

impl Host {
    fn send(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
        headers: &[(&str, &str)],
    ) -> Sent {
        let mut req = Request::builder().method(method).uri(path);
        if let Some(t) = token {
            req = req.header("authorization", format!("Bearer {t}"));
        }
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let body = match body {
            Some(b) => {
                req = req.header("content-type", "application/json");
                Body::from(b.to_string())
            }
            None => Body::empty(),
        };
        let before = self.store.calls.load(Ordering::SeqCst);
        let res = futures_executor::block_on(self.router.clone().oneshot(req.body(body).unwrap())).unwrap();
        let status = res.status();
        let etag = res.headers().get("etag").map(|v| v.to_str().unwrap().to_owned());
        let bytes = futures_executor::block_on(res.into_body().collect()).unwrap().to_bytes();
        Sent {
            status,
            body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
            etag,
            trips: self.store.calls.load(Ordering::SeqCst) - before,
        }
    }

    /// The `store_calls` of the last request's log line.
    fn logged_trips(&self) -> u64 {
        let lines = self.log.captured.as_ref().unwrap().lock().unwrap();
        let last: Value = serde_json::from_str(lines.last().unwrap()).unwrap();
        last["store_calls"].as_u64().unwrap()
    }

    /// Creates the write-scoped API key "k" of the account signed in with `token`.
    fn write_key(&self, token: &str) -> Sent {
        let body = json!({"password": "correct horse battery", "name": "k", "scopes": ["write"]});
        self.send("POST", "/v1/api-keys", Some(token), Some(body), &[])
    }

    fn register(&self, email: &str) -> (String, String, String) {
        let b = crate::common::register(&self.router, email);
        (
            b["access_token"].as_str().unwrap().to_owned(),
            b["refresh_token"].as_str().unwrap().to_owned(),
            b["user"]["id"].as_str().unwrap().to_owned(),
        )
    }
}

/// One route: the request, the answer expected, the store round trips expected.
struct Row_ {
    op: &'static str,
    method: &'static str,
    path: String,
    token: Option<String>,
    body: Option<Value>,
    headers: Vec<(&'static str, String)>,
    status: StatusCode,
    trips: u32,
}

#[allow(clippy::too_many_lines)]
#[test]
fn every_route_makes_the_documented_number_of_store_round_trips() {
    let h = host();
    let (owner, owner_refresh, _) = h.register("owner@trips.test");
    let (member, _, member_id) = h.register("member@trips.test");
    let (leaver, leaver_refresh, _) = h.register("leaver@trips.test");
    let p = h.send("POST", "/v1/projects", Some(&owner), Some(json!({"name": "Trips"})), &[]);
    let pid = p.body["id"].as_str().unwrap().to_owned();
    let doomed = h.send("POST", "/v1/projects", Some(&owner), Some(json!({"name": "Doomed"})), &[]);
    let doomed_id = doomed.body["id"].as_str().unwrap().to_owned();
    let t = h.send("POST", &format!("/v1/projects/{pid}/tasks"), Some(&owner), Some(json!({"title": "T"})), &[]);
    let tid = t.body["id"].as_str().unwrap().to_owned();
    let etag = t.etag.clone().unwrap();
    let t2 = h.send("POST", &format!("/v1/projects/{pid}/tasks"), Some(&owner), Some(json!({"title": "Gone"})), &[]);
    let t2id = t2.body["id"].as_str().unwrap().to_owned();
    let key = h.write_key(&owner);
    let key_id = key.body["id"].as_str().unwrap().to_owned();
    let pr = |path: String| format!("/v1/projects/{pid}{path}");
    let s = |x: &str| Some(x.to_owned());
    // One row per line: the table reads as the README's.
    #[rustfmt::skip]
    let rows = vec![
        Row_ { op: "getHealth", method: "GET", path: "/v1/health".into(), token: None, body: None, headers: vec![], status: StatusCode::OK, trips: 1 },
        Row_ { op: "getOpenApi", method: "GET", path: "/v1/openapi.json".into(), token: None, body: None, headers: vec![], status: StatusCode::OK, trips: 0 },
        Row_ { op: "getDocs", method: "GET", path: "/docs".into(), token: None, body: None, headers: vec![], status: StatusCode::OK, trips: 0 },
        Row_ { op: "register", method: "POST", path: "/v1/auth/register".into(), token: None, body: Some(json!({"email": "new@trips.test", "password": "correct horse battery", "name": "N"})), headers: vec![], status: StatusCode::CREATED, trips: 1 },
        Row_ { op: "login", method: "POST", path: "/v1/auth/login".into(), token: None, body: Some(json!({"email": "owner@trips.test", "password": "correct horse battery"})), headers: vec![], status: StatusCode::OK, trips: 2 },
        Row_ { op: "refresh", method: "POST", path: "/v1/auth/refresh".into(), token: None, body: Some(json!({"refresh_token": owner_refresh})), headers: vec![], status: StatusCode::OK, trips: 1 },
        Row_ { op: "getMe", method: "GET", path: "/v1/me".into(), token: s(&owner), body: None, headers: vec![], status: StatusCode::OK, trips: 1 },
        // Sign-in with a provider: the complete flow's trips are checked against a real
        // provider by the conformance suite (checks/oidc.rs); here, what needs none.
        Row_ { op: "listOidcProviders", method: "GET", path: "/v1/auth/oidc/providers".into(), token: None, body: None, headers: vec![], status: StatusCode::OK, trips: 0 },
        Row_ { op: "authorizeOidc", method: "GET", path: "/v1/auth/oidc/nope/authorize?redirect_uri=https%3A%2F%2Fapp.example%2Fcb".into(), token: None, body: None, headers: vec![], status: StatusCode::NOT_FOUND, trips: 0 },
        Row_ { op: "oidcCallback", method: "GET", path: "/v1/auth/oidc/nope/callback?code=c&state=s".into(), token: None, body: None, headers: vec![], status: StatusCode::NOT_FOUND, trips: 0 },
        Row_ { op: "exchangeOidcCode", method: "POST", path: "/v1/auth/oidc/token".into(), token: None, body: Some(json!({"code": format!("oc_{}", "A".repeat(43))})), headers: vec![], status: StatusCode::UNAUTHORIZED, trips: 1 },
        Row_ { op: "listIdentities", method: "GET", path: "/v1/me/identities".into(), token: s(&owner), body: None, headers: vec![], status: StatusCode::OK, trips: 1 },
        Row_ { op: "unlinkIdentity", method: "DELETE", path: "/v1/me/identities/00000000-0000-7000-8000-000000000000".into(), token: s(&owner), body: None, headers: vec![], status: StatusCode::NOT_FOUND, trips: 1 },
        Row_ { op: "linkIdentity", method: "POST", path: "/v1/me/identities/nope".into(), token: s(&owner), body: Some(json!({"redirect_uri": "https://app.example/cb"})), headers: vec![], status: StatusCode::NOT_FOUND, trips: 0 },
        Row_ { op: "updateMe", method: "PATCH", path: "/v1/me".into(), token: s(&owner), body: Some(json!({"name": "Owner"})), headers: vec![], status: StatusCode::OK, trips: 1 },
        Row_ { op: "createApiKey", method: "POST", path: "/v1/api-keys".into(), token: s(&owner), body: Some(json!({"password": "correct horse battery", "name": "k2", "scopes": ["read"]})), headers: vec![], status: StatusCode::CREATED, trips: 2 },
        Row_ { op: "listApiKeys", method: "GET", path: "/v1/api-keys".into(), token: s(&owner), body: None, headers: vec![], status: StatusCode::OK, trips: 1 },
        Row_ { op: "deleteApiKey", method: "DELETE", path: format!("/v1/api-keys/{key_id}"), token: s(&owner), body: None, headers: vec![], status: StatusCode::NO_CONTENT, trips: 1 },
        Row_ { op: "createProject", method: "POST", path: "/v1/projects".into(), token: s(&owner), body: Some(json!({"name": "P2"})), headers: vec![("idempotency-key", "trips-p".into())], status: StatusCode::CREATED, trips: 1 },
        Row_ { op: "listProjects", method: "GET", path: "/v1/projects".into(), token: s(&owner), body: None, headers: vec![], status: StatusCode::OK, trips: 1 },
        Row_ { op: "getProject", method: "GET", path: pr(String::new()), token: s(&owner), body: None, headers: vec![], status: StatusCode::OK, trips: 1 },
        Row_ { op: "updateProject", method: "PATCH", path: pr(String::new()), token: s(&owner), body: Some(json!({"description": "d"})), headers: vec![], status: StatusCode::OK, trips: 1 },
        Row_ { op: "addMember", method: "POST", path: pr("/members".into()), token: s(&owner), body: Some(json!({"email": "member@trips.test", "role": "member"})), headers: vec![], status: StatusCode::CREATED, trips: 1 },
        Row_ { op: "addMember", method: "POST", path: pr("/members".into()), token: s(&owner), body: Some(json!({"email": "leaver@trips.test", "role": "viewer"})), headers: vec![("idempotency-key", "trips-m".into())], status: StatusCode::CREATED, trips: 2 },
        Row_ { op: "listMembers", method: "GET", path: pr("/members".into()), token: s(&owner), body: None, headers: vec![], status: StatusCode::OK, trips: 1 },
        Row_ { op: "updateMember", method: "PATCH", path: pr(format!("/members/{member_id}")), token: s(&owner), body: Some(json!({"role": "admin"})), headers: vec![], status: StatusCode::OK, trips: 1 },
        Row_ { op: "createTask", method: "POST", path: pr("/tasks".into()), token: s(&member), body: Some(json!({"title": "By member", "assignee_id": member_id})), headers: vec![("idempotency-key", "trips-t".into())], status: StatusCode::CREATED, trips: 1 },
        Row_ { op: "listTasks", method: "GET", path: pr("/tasks?status=todo&sort=-updated_at".into()), token: s(&owner), body: None, headers: vec![], status: StatusCode::OK, trips: 1 },
        Row_ { op: "getTask", method: "GET", path: format!("/v1/tasks/{tid}"), token: s(&owner), body: None, headers: vec![], status: StatusCode::OK, trips: 1 },
        Row_ { op: "updateTask", method: "PATCH", path: format!("/v1/tasks/{tid}"), token: s(&owner), body: Some(json!({"status": "in_progress", "title": "T2", "labels": ["x"]})), headers: vec![("if-match", etag.clone())], status: StatusCode::OK, trips: 1 },
        Row_ { op: "updateTask", method: "PATCH", path: format!("/v1/tasks/{tid}"), token: s(&owner), body: Some(json!({"title": "stale"})), headers: vec![("if-match", etag)], status: StatusCode::PRECONDITION_FAILED, trips: 1 },
        Row_ { op: "deleteTask", method: "DELETE", path: format!("/v1/tasks/{t2id}"), token: s(&owner), body: None, headers: vec![], status: StatusCode::NO_CONTENT, trips: 1 },
        Row_ { op: "listMyTasks", method: "GET", path: "/v1/me/tasks".into(), token: s(&member), body: None, headers: vec![], status: StatusCode::OK, trips: 1 },
        Row_ { op: "listEvents", method: "GET", path: pr("/events".into()), token: s(&member), body: None, headers: vec![], status: StatusCode::OK, trips: 1 },
        Row_ { op: "removeMember", method: "DELETE", path: pr(format!("/members/{member_id}")), token: s(&owner), body: None, headers: vec![], status: StatusCode::NO_CONTENT, trips: 1 },
        Row_ { op: "deleteProject", method: "DELETE", path: format!("/v1/projects/{doomed_id}"), token: s(&owner), body: None, headers: vec![], status: StatusCode::NO_CONTENT, trips: 1 },
        Row_ { op: "changePassword", method: "POST", path: "/v1/me/password".into(), token: s(&leaver), body: Some(json!({"current_password": "correct horse battery", "new_password": "a new long password"})), headers: vec![], status: StatusCode::NO_CONTENT, trips: 2 },
        Row_ { op: "logout", method: "POST", path: "/v1/auth/logout".into(), token: s(&member), body: None, headers: vec![], status: StatusCode::NO_CONTENT, trips: 1 },
        Row_ { op: "logoutAll", method: "POST", path: "/v1/auth/logout-all".into(), token: s(&owner), body: None, headers: vec![], status: StatusCode::NO_CONTENT, trips: 1 },
    ];
    let _ = leaver_refresh;
    // Each operation's route template and method, from the document.
    let doc = h.send("GET", "/v1/openapi.json", None, None, &[]).body;
    let mut templates = std::collections::BTreeMap::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            templates.insert(op["operationId"].as_str().unwrap().to_owned(), (path.clone(), method.to_uppercase()));
        }
    }
    let mut covered = std::collections::BTreeSet::new();
    let mut table = String::from("| operation | request | store round trips |\n|---|---|---|\n");
    for r in &rows {
        let headers: Vec<(&str, &str)> = r.headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let sent = h.send(r.method, &r.path, r.token.as_deref(), r.body.clone(), &headers);
        assert_eq!(sent.status, r.status, "{} {} {}: {}", r.op, r.method, r.path, sent.body);
        assert_eq!(sent.trips, r.trips, "{} {} {}", r.op, r.method, r.path);
        if r.op != "getDocs" {
            assert_eq!(h.logged_trips(), u64::from(r.trips), "{}: the log line's store_calls", r.op);
        }
        // The request's metrics data point says what happened.
        let point = h.metrics.points.lock().unwrap().last().cloned().unwrap();
        let (template, method) = &templates[r.op];
        assert_eq!((&point.route, &point.method), (template, method), "{}: route and method", r.op);
        assert_eq!(point.status, r.status.as_u16(), "{}: status", r.op);
        assert_eq!(point.status_class, format!("{}xx", r.status.as_u16() / 100), "{}: status class", r.op);
        assert_eq!(point.store_calls, r.trips, "{}: store round trips", r.op);
        let kind = if r.token.is_some() { "user" } else { "anonymous" };
        assert_eq!(point.principal_kind, kind, "{}: principal kind", r.op);
        assert!(!point.rate_limited && point.trace_id.len() == 32, "{}: {point:?}", r.op);
        covered.insert(r.op);
        table.push_str(&format!("| {} | {} {} | {} |\n", r.op, r.method, r.path.split('?').next().unwrap(), r.trips));
    }
    println!("{table}");
    // Every documented operation has a row.
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (_, op) in item.as_object().unwrap() {
            let id = op["operationId"].as_str().unwrap();
            assert!(covered.contains(id), "no round-trip row for {id} ({path})");
        }
    }
}

#[test]
fn an_api_key_is_looked_up_once_then_checked_inside_each_round_trip() {
    let h = host();
    let (owner, _, _) = h.register("keys@trips.test");
    let k = h.write_key(&owner);
    let (key, key_id) = (k.body["key"].as_str().unwrap().to_owned(), k.body["id"].as_str().unwrap().to_owned());
    let first = h.send("GET", "/v1/me", Some(&key), None, &[]);
    assert_eq!((first.status, first.trips), (StatusCode::OK, 2), "first use: the lookup, then the read");
    let again = h.send("GET", "/v1/me", Some(&key), None, &[]);
    assert_eq!((again.status, again.trips), (StatusCode::OK, 1), "then the check rides along");
    let write = h.send("POST", "/v1/projects", Some(&key), Some(json!({"name": "By key"})), &[]);
    assert_eq!((write.status, write.trips), (StatusCode::CREATED, 1));
    // Deleted: the very next request, read or write, is refused in its one round trip.
    let del = h.send("DELETE", &format!("/v1/api-keys/{key_id}"), Some(&owner), None, &[]);
    assert_eq!(del.status, StatusCode::NO_CONTENT);
    let read = h.send("GET", "/v1/me", Some(&key), None, &[]);
    assert_eq!((read.status, read.trips), (StatusCode::UNAUTHORIZED, 1), "{}", read.body);
    let write = h.send("POST", "/v1/projects", Some(&key), Some(json!({"name": "Refused"})), &[]);
    assert_eq!(write.status, StatusCode::UNAUTHORIZED, "{}", write.body);
    let projects = h.send("GET", "/v1/projects", Some(&owner), None, &[]).body;
    assert_eq!(projects["data"].as_array().unwrap().len(), 1, "the refused write left nothing");
}

#[test]
fn the_leased_principal_limit_calls_its_shared_store_at_most_20_times_per_1000_requests() {
    let h = host();
    let (token, _, _) = h.register("lease@trips.test");
    let before = h.limiter.calls.load(Ordering::SeqCst);
    for _ in 0..1000 {
        assert_eq!(h.send("GET", "/v1/me", Some(&token), None, &[]).status, StatusCode::OK);
    }
    let calls = h.limiter.calls.load(Ordering::SeqCst) - before;
    println!("limiter calls for 1,000 authenticated requests: {calls}");
    assert!(calls <= 20, "{calls} calls to the limiter's store for 1,000 requests");
    let logged: u64 = h
        .log
        .captured
        .as_ref()
        .unwrap()
        .lock()
        .unwrap()
        .iter()
        .rev()
        .take(1000)
        .map(|l| serde_json::from_str::<Value>(l).unwrap()["limiter_calls"].as_u64().unwrap())
        .sum();
    assert_eq!(logged, calls, "the log lines' limiter_calls add up to the calls made");
}
