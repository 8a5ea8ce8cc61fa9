//! `conformance --base-url URL [--host NAME] [--rate-limited] [--d1-sessions] [--panic-body-from-host] [--filter TEXT]`:
//! runs the suite against a running host; exits non-zero when any check fails.
//! `--d1-sessions` says the host answers `X-D1-Bookmark` (the Workers host);
//! `--panic-body-from-host` that a panic aborts the instance and the host writes the 500
//! (Spin).
//! `--oidc` that it is configured with the test OpenID provider (tests/oidc), which runs.
//! `conformance --print-config [--rate-limited] [--oidc-issuer URL --public-base-url URL]`
//! prints the configuration a host under test must run with (with the provider's
//! settings when its issuer and the host's own URL are given).

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
        let oidc = match (arg(&args, "--oidc-issuer"), arg(&args, "--public-base-url")) {
            (Some(issuer), Some(base)) => conformance::fixtures::oidc_config(&issuer, &base),
            _ => Vec::new(),
        };
        for (k, v) in config.into_iter().chain(oidc) {
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
        eprintln!("usage: conformance --base-url URL [--host NAME] [--rate-limited] [--d1-sessions] [--panic-body-from-host] [--oidc] [--filter TEXT]");
        std::process::exit(2);
    };
    let host = arg(&args, "--host").unwrap_or_else(|| "host".into());
    let traits = conformance::HostTraits {
        d1_sessions: args.iter().any(|a| a == "--d1-sessions"),
        panic_body_from_host: args.iter().any(|a| a == "--panic-body-from-host"),
        oidc: args.iter().any(|a| a == "--oidc"),
    };
    let report = conformance::run(&base, &host, suite, arg(&args, "--filter").as_deref(), traits);
    if report.failed() > 0 || report.passed == 0 {
        std::process::exit(1);
    }
}
