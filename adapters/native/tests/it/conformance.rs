//! Runs the black-box conformance suite against the native host on a loopback port, with
//! the test OpenID provider (tests/oidc/provider.mjs on Node) started beside it.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::{mpsc, Arc};

use conformance::fixtures::{oidc_callback, oidc_config, OIDC_CLIENT_ID, OIDC_CLIENT_SECRET};
use taskapi::Settings;
use taskapi_native::{ports, SqliteStore, StdoutLogger};

/// Starts the host on `listener` with `config`; returns its base URL.
fn start_native_host(listener: std::net::TcpListener, config: Vec<(&'static str, String)>) -> String {
    let addr = listener.local_addr().unwrap_or_else(|e| panic!("listener: {e}"));
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build();
        let Ok(rt) = rt else { return };
        rt.block_on(async move {
            let settings =
                Settings::from_lookup(|k| config.iter().find(|(name, _)| *name == k).map(|(_, v)| v.clone()));
            let settings = match settings {
                Ok(s) => s,
                Err(e) => return drop(tx.send(Err(e.to_string()))),
            };
            let Ok(store) = SqliteStore::in_memory() else { return };
            let app = taskapi_native::app(ports(Arc::new(store), settings, Arc::new(StdoutLogger::default())));
            let _ = listener.set_nonblocking(true);
            let Ok(listener) = tokio::net::TcpListener::from_std(listener) else { return };
            let _ = tx.send(Ok(()));
            let _ = axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>()).await;
        });
    });
    match rx.recv() {
        Ok(Ok(())) => format!("http://{addr}"),
        other => panic!("native host did not start: {other:?}"),
    }
}

/// The test OpenID provider, stopped when dropped.
struct Provider {
    child: Child,
    issuer: String,
}

impl Drop for Provider {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts tests/oidc/provider.mjs (Node from `$NODE`, else `node` on PATH; its packages
/// from `npm ci --prefix tests/oidc`) with the host's callback as its redirect URI.
fn start_provider(callback: &str) -> Provider {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let dir = root.join("tests/oidc");
    assert!(
        dir.join("node_modules/oidc-provider").is_dir(),
        "the test OpenID provider is not installed: run `npm ci --prefix tests/oidc` (scripts/test.sh does)"
    );
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or_else(|e| panic!("a free port: {e}"));
    let node = std::env::var("NODE").unwrap_or_else(|_| "node".to_owned());
    let mut child = Command::new(&node)
        .arg(dir.join("provider.mjs"))
        .args(["--port", &port.to_string(), "--client-id", OIDC_CLIENT_ID, "--client-secret", OIDC_CLIENT_SECRET])
        .args(["--redirect-uri", callback, "--quiet"])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap_or_else(|e| panic!("starting the OpenID provider with `{node}`: {e} (set NODE to a Node.js 22)"));
    let stdout = child.stdout.take().unwrap_or_else(|| panic!("provider stdout"));
    let mut line = String::new();
    let _ = BufReader::new(stdout).read_line(&mut line);
    let issuer = line.trim().strip_prefix("ready ").map(str::to_owned);
    let issuer = issuer.unwrap_or_else(|| panic!("the OpenID provider did not start: {line:?}"));
    Provider { child, issuer }
}

/// Runs `suite` against a native host started with `config`; every check must pass.
fn passes(config: Vec<(&'static str, String)>, name: &str, suite: conformance::Suite, oidc: bool) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("bind: {e}"));
    let base = format!("http://{}", listener.local_addr().unwrap_or_else(|e| panic!("addr: {e}")));
    let mut config = config;
    let provider = oidc.then(|| start_provider(&oidc_callback(&base)));
    if let Some(p) = &provider {
        config.extend(oidc_config(&p.issuer, &base));
    }
    let base = start_native_host(listener, config);
    let traits = conformance::HostTraits { oidc, ..Default::default() };
    let report = conformance::run(&base, name, suite, None, traits);
    drop(provider);
    assert!(report.passed > 0, "no checks ran");
    assert!(report.failures.is_empty(), "failed checks: {:#?}", report.failures);
}

#[test]
fn the_native_host_passes_the_conformance_suite() {
    passes(conformance::fixtures::host_config(), "native", conformance::Suite::Main, true);
}

#[test]
fn the_native_host_enforces_the_rate_limits() {
    passes(conformance::fixtures::limited_host_config(), "native-ratelimit", conformance::Suite::RateLimits, false);
}
