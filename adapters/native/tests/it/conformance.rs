//! Runs the black-box conformance suite against the native host on a loopback port.

use std::net::SocketAddr;
use std::sync::{mpsc, Arc};

use taskapi::Settings;
use taskapi_native::{ports, SqliteStore, StdoutLogger};

fn start_native_host(config: Vec<(&'static str, String)>) -> String {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build();
        let Ok(rt) = rt else { return };
        rt.block_on(async move {
            let settings =
                Settings::from_lookup(|k| config.iter().find(|(name, _)| *name == k).map(|(_, v)| v.clone()));
            let (Ok(settings), Ok(store)) = (settings, SqliteStore::in_memory()) else {
                return;
            };
            let app = taskapi_native::app(ports(Arc::new(store), settings, Arc::new(StdoutLogger::default())));
            let Ok(listener) = tokio::net::TcpListener::bind("127.0.0.1:0").await else {
                return;
            };
            let Ok(addr) = listener.local_addr() else {
                return;
            };
            let _ = tx.send(addr);
            let _ = axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>()).await;
        });
    });
    let addr = rx.recv().unwrap_or_else(|e| panic!("native host did not start: {e}"));
    format!("http://{addr}")
}

/// Runs `suite` against a native host started with `config`; every check must pass.
fn passes(config: Vec<(&'static str, String)>, name: &str, suite: conformance::Suite) {
    let base = start_native_host(config);
    let report = conformance::run(&base, name, suite, None, conformance::HostTraits::default());
    assert!(report.passed > 0, "no checks ran");
    assert!(report.failures.is_empty(), "failed checks: {:#?}", report.failures);
}

#[test]
fn the_native_host_passes_the_conformance_suite() {
    passes(conformance::fixtures::host_config(), "native", conformance::Suite::Main);
}

#[test]
fn the_native_host_enforces_the_rate_limits() {
    passes(conformance::fixtures::limited_host_config(), "native-ratelimit", conformance::Suite::RateLimits);
}
