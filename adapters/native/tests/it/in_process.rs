//! Behaviour that a black-box run cannot reach: the database going away, time passing,
//! and hashing parameters changing between deployments. Runs the real router in-process
//! over an in-memory SQLite with ports the test controls.

use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};

use std::sync::Arc;

use async_trait::async_trait;
use http::StatusCode;
use serde_json::{json, Value};
use taskapi::store::StmtResult;
use taskapi::{Clock, Ports, Row, Settings, Statement, Store, StoreError};

use crate::common::{captured, settings};
use taskapi_native::{OsRandom, SqliteStore, SystemClock};

/// The system clock plus an offset the test moves forward.
#[derive(Default)]
struct ShiftedClock(AtomicI64);
impl Clock for ShiftedClock {
    fn now_ms(&self) -> i64 {
        SystemClock.now_ms() + self.0.load(Ordering::SeqCst)
    }
}

/// A store that can be switched off, as if the database were unreachable, and that can
/// let another request's write land just before the next batch (a race, on purpose).
struct Switchable {
    inner: SqliteStore,
    down: AtomicBool,
    race: std::sync::Mutex<Option<Statement>>,
}

impl Switchable {
    fn check(&self) -> Result<(), StoreError> {
        if self.down.load(Ordering::SeqCst) {
            Err(StoreError::Unavailable("connection refused".into()))
        } else {
            Ok(())
        }
    }
}

#[async_trait]
impl Store for Switchable {
    async fn query(&self, stmt: Statement) -> Result<Vec<Row>, StoreError> {
        self.check()?;
        self.inner.query(stmt).await
    }
    async fn execute(&self, stmt: Statement) -> Result<u64, StoreError> {
        self.check()?;
        self.inner.execute(stmt).await
    }
    async fn batch(&self, stmts: Vec<Statement>) -> Result<Vec<StmtResult>, StoreError> {
        self.check()?;
        let racing = self.race.lock().unwrap().take();
        if let Some(other) = racing {
            self.inner.execute(other).await?;
        }
        self.inner.batch(stmts).await
    }
}

struct App {
    router: axum::Router,
    store: Arc<Switchable>,
    clock: Arc<ShiftedClock>,
}

fn app_with(store: Arc<Switchable>, clock: Arc<ShiftedClock>, settings: Settings) -> App {
    let ports = Ports {
        limiter: Arc::new(taskapi::ratelimit::SqlRateLimiter { store: store.clone() }),
        store: store.clone(),
        clock: clock.clone(),
        random: Arc::new(OsRandom),
        logger: captured(),
        metrics: Arc::new(taskapi::NoMetrics),
        http: Arc::new(taskapi::NoHttp),
        cache: Arc::new(taskapi::NoSharedCache),
        settings: Arc::new(settings),
    };
    App { router: taskapi::app(ports), store, clock }
}

fn new_app(extra: &[(&str, &str)]) -> App {
    let store = Arc::new(Switchable {
        inner: SqliteStore::in_memory().unwrap(),
        down: AtomicBool::new(false),
        race: Default::default(),
    });
    app_with(store, Arc::new(ShiftedClock::default()), settings(extra))
}

impl App {
    fn call(&self, method: &str, path: &str, token: Option<&str>, body: Option<Value>) -> (StatusCode, Value) {
        crate::common::call(&self.router, method, path, token, body)
    }

    fn register(&self, email: &str) -> String {
        crate::common::register(&self.router, email)["access_token"].as_str().unwrap().to_owned()
    }

    /// Logs in as `email` with the password every account here is registered with.
    fn login(&self, email: &str) -> (StatusCode, Value) {
        self.call("POST", "/v1/auth/login", None, Some(json!({"email": email, "password": "correct horse battery"})))
    }

    fn stored_hash(&self, email: &str) -> String {
        let rows =
            futures_executor::block_on(self.store.inner.query(Statement::new(
                "SELECT password_hash FROM users WHERE email_normalized = ?1",
                vec![email.into()],
            )))
            .unwrap();
        rows[0].text(0).unwrap()
    }
}

#[test]
fn x_fault_inject_is_inert_unless_fault_injection_is_configured() {
    let off = new_app(&[("FAULT_INJECTION", "false")]);
    let send = |app: &App, fault: &str| {
        let req =
            http::Request::get("/v1/health").header("x-fault-inject", fault).body(axum::body::Body::empty()).unwrap();
        futures_executor::block_on(tower::ServiceExt::oneshot(app.router.clone(), req)).unwrap().status()
    };
    assert_eq!(send(&off, "fail-statement=1"), StatusCode::OK);
    assert_eq!(send(&off, "nonsense"), StatusCode::OK);
    let on = new_app(&[]);
    assert_eq!(send(&on, "fail-statement=1"), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(send(&on, "nonsense"), StatusCode::BAD_REQUEST);
}

#[test]
fn health_is_a_503_problem_when_the_database_is_unreachable() {
    let app = new_app(&[]);
    assert_eq!(app.call("GET", "/v1/health", None, None).0, StatusCode::OK);
    app.store.down.store(true, Ordering::SeqCst);
    let (status, body) = app.call("GET", "/v1/health", None, None);
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(body["type"], "https://taskapi.dev/problems/unavailable");
    assert!(!body.to_string().contains("connection refused"), "internals leaked: {body}");
    app.store.down.store(false, Ordering::SeqCst);
    assert_eq!(app.call("GET", "/v1/health", None, None).0, StatusCode::OK);
}

#[test]
fn an_expired_api_key_stops_working_and_access_tokens_expire() {
    let app = new_app(&[]);
    let token = app.register("expiry@example.test");
    let (s, key) = app.call(
        "POST",
        "/v1/api-keys",
        Some(&token),
        Some(json!({"password": "correct horse battery", "name": "short", "scopes": ["read"], "expires_in_days": 1})),
    );
    assert_eq!(s, StatusCode::CREATED);
    let key = key["key"].as_str().unwrap().to_owned();
    assert_eq!(app.call("GET", "/v1/me", Some(&key), None).0, StatusCode::OK);
    // 16 minutes: past the access token's 15 and the 30 s leeway, before the key's day.
    app.clock.0.store(16 * 60_000, Ordering::SeqCst);
    assert_eq!(app.call("GET", "/v1/me", Some(&token), None).0, StatusCode::UNAUTHORIZED);
    assert_eq!(app.call("GET", "/v1/me", Some(&key), None).0, StatusCode::OK);
    app.clock.0.store(86_400_000 + 1_000, Ordering::SeqCst);
    let (s, body) = app.call("GET", "/v1/me", Some(&key), None);
    assert_eq!(s, StatusCode::UNAUTHORIZED, "{body}");
}

#[test]
fn a_refresh_token_expires_after_its_lifetime() {
    let app = new_app(&[("REFRESH_TOKEN_TTL_SECONDS", "3600")]);
    let (s, b) = app.call(
        "POST",
        "/v1/auth/register",
        None,
        Some(json!({"email": "rt@example.test", "password": "correct horse battery", "name": "R"})),
    );
    assert_eq!(s, StatusCode::CREATED);
    assert_eq!(b["refresh_expires_in"], 3600);
    app.clock.0.store(3_601_000, Ordering::SeqCst);
    let (s, _) = app.call("POST", "/v1/auth/refresh", None, Some(json!({"refresh_token": b["refresh_token"]})));
    assert_eq!(s, StatusCode::UNAUTHORIZED);
}

#[test]
fn login_rehashes_a_password_stored_with_other_parameters() {
    let weak = [("PASSWORD_HASH_MEMORY_KIB", "64"), ("PASSWORD_HASH_ITERATIONS", "1")];
    let before = new_app(&weak);
    before.register("rehash@example.test");
    let old = before.stored_hash("rehash@example.test");
    assert!(old.contains("m=64,t=1,p=1"), "{old}");
    // The next deployment uses the OWASP defaults; the same database.
    let after = app_with(before.store.clone(), before.clock.clone(), settings(&[]));
    let (s, _) = after.login("rehash@example.test");
    assert_eq!(s, StatusCode::OK);
    let new = after.stored_hash("rehash@example.test");
    assert!(new.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{new}");
    let (s, _) = after.login("rehash@example.test");
    assert_eq!(s, StatusCode::OK, "the new hash verifies");
    assert_eq!(after.stored_hash("rehash@example.test"), new, "no second rehash");
}

#[test]
fn the_principal_limit_fails_open_and_login_fails_closed_when_the_limiter_store_is_down() {
    struct DownLimiter;
    #[async_trait]
    impl taskapi::ratelimit::RateLimiter for DownLimiter {
        async fn check(
            &self,
            _: &str,
            _: taskapi::ratelimit::Quota,
            _: i64,
            _: bool,
        ) -> Result<taskapi::ratelimit::Checked, taskapi::ratelimit::LimiterError> {
            Err(taskapi::ratelimit::LimiterError("limiter store unreachable".into()))
        }
        async fn refund(
            &self,
            _: &str,
            _: taskapi::ratelimit::Quota,
            _: i64,
        ) -> Result<u32, taskapi::ratelimit::LimiterError> {
            Err(taskapi::ratelimit::LimiterError("limiter store unreachable".into()))
        }
    }
    let healthy = new_app(&[]);
    let token = healthy.register("limiter@example.test");
    let logger = captured();
    let ports = Ports {
        limiter: Arc::new(DownLimiter),
        store: healthy.store.clone(),
        clock: healthy.clock.clone(),
        random: Arc::new(OsRandom),
        logger: logger.clone(),
        metrics: Arc::new(taskapi::NoMetrics),
        http: Arc::new(taskapi::NoHttp),
        cache: Arc::new(taskapi::NoSharedCache),
        settings: Arc::new(settings(&[])),
    };
    let router = taskapi::app(ports);
    let broken = App { router, store: healthy.store.clone(), clock: healthy.clock.clone() };
    assert_eq!(broken.call("GET", "/v1/me", Some(&token), None).0, StatusCode::OK, "principal limit fails open");
    let (s, body) = broken.login("limiter@example.test");
    assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE, "login fails closed: {body}");
    let (s, _) = broken.call("POST", "/v1/auth/refresh", None, Some(json!({"refresh_token": "rt_x"})));
    assert_eq!(s, StatusCode::UNAUTHORIZED, "refresh fails open");
    let lines = logger.captured.as_ref().unwrap().lock().unwrap().clone();
    assert!(
        lines.iter().any(|l| l.contains("\"level\":\"warn\"") && l.contains("limiter_error")),
        "the failure is logged: {lines:#?}"
    );
}

#[test]
fn a_login_racing_a_password_change_keeps_no_session() {
    let app = new_app(&[]);
    app.register("race@example.test");
    let count = |sql: &'static str| {
        let rows = futures_executor::block_on(app.store.inner.query(Statement::new(sql, Vec::new()))).unwrap();
        rows[0].int(0).unwrap()
    };
    let sessions = count("SELECT count(*) FROM sessions");
    // The password changes between the login's check of the old one and its write.
    *app.store.race.lock().unwrap() = Some(Statement::new(
        "UPDATE users SET password_hash = '$argon2id$v=19$m=19456,t=2,p=1$changed$changed' \
         WHERE email_normalized = 'race@example.test'",
        Vec::new(),
    ));
    let (s, body) = app.login("race@example.test");
    assert_eq!(s, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(count("SELECT count(*) FROM sessions"), sessions, "no session made with the old password");
}

#[test]
fn a_session_ends_at_its_absolute_lifetime_however_often_it_is_refreshed() {
    let app = new_app(&[("REFRESH_TOKEN_TTL_SECONDS", "3600"), ("SESSION_MAX_LIFETIME_SECONDS", "7200")]);
    let b = crate::common::register(&app.router, "lifetime@example.test");
    assert_eq!(b["refresh_expires_in"], 3600);
    let mut token = b["refresh_token"].as_str().unwrap().to_owned();
    let mut refresh_at = |secs: i64| {
        app.clock.0.store(secs * 1000, Ordering::SeqCst);
        let (s, b) = app.call("POST", "/v1/auth/refresh", None, Some(json!({"refresh_token": token})));
        if s == StatusCode::OK {
            token = b["refresh_token"].as_str().unwrap().to_owned();
        }
        (s, b["refresh_expires_in"].as_i64())
    };
    assert_eq!(refresh_at(3000), (StatusCode::OK, Some(3600)), "a rotation within the window");
    // Sliding would give 3600 again; the session has only 7200 - 6000 left.
    let (s, left) = refresh_at(6000);
    assert_eq!(s, StatusCode::OK);
    assert!(left.is_some_and(|l| (1199..=1200).contains(&l)), "{left:?}");
    assert_eq!(refresh_at(7100).0, StatusCode::OK, "still within the lifetime");
    assert_eq!(refresh_at(7250).0, StatusCode::UNAUTHORIZED, "past the absolute lifetime");
}
