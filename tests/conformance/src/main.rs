//! `conformance --base-url URL [--host NAME] [--rate-limited] [--d1-sessions] [--panic-body-from-host] [--filter TEXT]`:
//! runs the suite against a running host; exits non-zero when any check fails.
//! `--d1-sessions` says the host answers `X-D1-Bookmark` (the Workers host);
//! `--panic-body-from-host` that a panic aborts the instance and the host writes the 500
//! (Spin).
//! `conformance --print-config [--rate-limited]` prints the configuration a host under
//! test must run with.

fn arg(args: &[String], name: &str) -> Option<String> {
    args.iter().position(|a| a == name).and_then(|i| args.get(i.saturating_add(1)).cloned())
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.iter().any(|a| a == "--print-config") {
        // KEY=VALUE lines: the configuration a host under test must be started with.
        let limited = args.iter().any(|a| a == "--rate-limited");
        let config =
            if limited { conformance::fixtures::limited_host_config() } else { conformance::fixtures::host_config() };
        for (k, v) in config {
            println!("{k}={v}");
        }
        return;
    }
    let suite = if args.iter().any(|a| a == "--rate-limited") {
        conformance::Suite::RateLimits
    } else {
        conformance::Suite::Main
    };
    let Some(base) = arg(&args, "--base-url") else {
        eprintln!("usage: conformance --base-url URL [--host NAME] [--rate-limited] [--d1-sessions] [--panic-body-from-host] [--filter TEXT]");
        std::process::exit(2);
    };
    let host = arg(&args, "--host").unwrap_or_else(|| "host".into());
    let traits = conformance::HostTraits {
        d1_sessions: args.iter().any(|a| a == "--d1-sessions"),
        panic_body_from_host: args.iter().any(|a| a == "--panic-body-from-host"),
    };
    let report = conformance::run(&base, &host, suite, arg(&args, "--filter").as_deref(), traits);
    if report.failed() > 0 || report.passed == 0 {
        std::process::exit(1);
    }
}
