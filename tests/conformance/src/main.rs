//! `conformance --base-url URL [--host NAME] [--filter TEXT]`: runs the suite against a
//! running host; exits non-zero when any check fails.

fn arg(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.iter().any(|a| a == "--print-config") {
        // KEY=VALUE lines: the configuration a host under test must be started with.
        for (k, v) in conformance::fixtures::host_config() {
            println!("{k}={v}");
        }
        return;
    }
    let Some(base) = arg(&args, "--base-url") else {
        eprintln!("usage: conformance --base-url URL [--host NAME] [--filter TEXT]");
        std::process::exit(2);
    };
    let host = arg(&args, "--host").unwrap_or_else(|| "host".into());
    let report = conformance::run(&base, &host, arg(&args, "--filter").as_deref());
    if report.failed() > 0 || report.passed == 0 {
        std::process::exit(1);
    }
}
