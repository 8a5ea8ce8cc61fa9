//! End-to-end test of `spin-test-host`: builds the guest in `tests/guest`
//! for wasm32-wasip2, serves it on a free loopback port and checks the
//! SQLite / key-value / variables / header round-trips over real HTTP.
//!
//! Needs the `wasm32-wasip2` rustup target and the guest's crates available
//! to cargo (crates.io or a warm registry cache).

// Test harness code: failing loudly is the point.
#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]

use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

fn build_guest() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/guest/Cargo.toml");
    let target_dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("guest-target");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = Command::new(cargo)
        .args(["build", "--release", "--target", "wasm32-wasip2", "--manifest-path"])
        .arg(&manifest)
        .env("CARGO_TARGET_DIR", &target_dir)
        // Do not inherit the outer build's flags/profile settings.
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .status()
        .expect("running cargo to build the test guest");
    assert!(status.success(), "building tests/guest for wasm32-wasip2 failed (is the wasm32-wasip2 target installed?)");
    target_dir.join("wasm32-wasip2/release/spin_host_test_guest.wasm")
}

/// An empty directory `{name}-{pid}` under the tests' temporary directory.
fn scratch_dir(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

struct Host {
    child: Child,
    addr: SocketAddr,
    stdout_lines: mpsc::Receiver<String>,
    /// The host's stderr lines (also echoed to the test's stderr).
    stderr_lines: mpsc::Receiver<String>,
}

/// Forwards each line of `from` to the returned channel, until EOF.
fn lines_of(from: impl Read + Send + 'static, echo: bool) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(from).lines() {
            let Ok(line) = line else { break };
            if echo {
                eprintln!("{line}");
            }
            // Receiver gone: keep draining so the host never blocks.
            let _ = tx.send(line);
        }
    });
    rx
}

impl Host {
    fn start(component: &Path, dir: &Path) -> Host {
        Host::start_with(component, dir, &[])
    }

    fn start_with(component: &Path, dir: &Path, extra_args: &[String]) -> Host {
        let init = dir.join("init.sql");
        std::fs::write(
            &init,
            "CREATE TABLE IF NOT EXISTS seeded (id INTEGER PRIMARY KEY, name TEXT NOT NULL);\n\
             INSERT INTO seeded (name) VALUES ('alpha'), ('beta');\n",
        )
        .expect("writing init.sql");
        let mut child = Command::new(env!("CARGO_BIN_EXE_spin-test-host"))
            .arg("--component")
            .arg(component)
            .args(["--listen", "127.0.0.1:0"])
            .arg("--sqlite")
            .arg(dir.join("app.db"))
            .arg("--sqlite-init")
            .arg(&init)
            .args(["--var", "greeting=hello from cli"])
            .args(["--var", "overridden=cli wins"])
            .env("SPIN_VARIABLE_FROM_ENV", "hello from env")
            .env("SPIN_VARIABLE_OVERRIDDEN", "env loses")
            .args(extra_args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("starting spin-test-host");
        // Keep draining stdout (the guest logs a line per request there).
        let rx = lines_of(child.stdout.take().expect("piped stdout"), false);
        let stderr_lines = lines_of(child.stderr.take().expect("piped stderr"), true);
        let deadline = Instant::now() + Duration::from_secs(300);
        let addr = loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = match rx.recv_timeout(left) {
                Ok(line) => line,
                Err(_) => {
                    let _ = child.kill();
                    panic!("spin-test-host did not print its listening line");
                }
            };
            if let Some(rest) = line.strip_prefix("listening on http://") {
                break rest.parse().expect("listening address");
            }
        };
        Host { child, addr, stdout_lines: rx, stderr_lines }
    }
}

impl Drop for Host {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

struct Reply {
    status: u16,
    body: Vec<u8>,
    client: SocketAddr,
}

impl Reply {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("body is not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }
}

/// Minimal HTTP/1.1 client: one request per connection, handles chunked bodies.
fn request(addr: SocketAddr, method: &str, path: &str, extra_headers: &[(&str, &str)], body: &[u8]) -> Reply {
    let mut stream = TcpStream::connect(addr).expect("connecting to the host");
    stream.set_read_timeout(Some(Duration::from_secs(60))).expect("timeout");
    let client = stream.local_addr().expect("local addr");
    let mut head =
        format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n", body.len());
    for (k, v) in extra_headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).expect("writing request");
    stream.write_all(body).expect("writing body");
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).expect("reading response");

    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no header end in {:?}", String::from_utf8_lossy(&raw)));
    let head = String::from_utf8_lossy(&raw[..split]).to_string();
    let mut rest = raw[split + 4..].to_vec();
    let mut lines = head.lines();
    let status: u16 = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("bad status line in {head:?}"));
    let chunked = lines.any(|l| {
        let l = l.to_ascii_lowercase();
        l.starts_with("transfer-encoding:") && l.contains("chunked")
    });
    if chunked {
        let mut out = Vec::new();
        let mut pos = 0;
        loop {
            let eol = rest[pos..].windows(2).position(|w| w == b"\r\n").expect("chunk size line") + pos;
            let size_str = String::from_utf8_lossy(&rest[pos..eol]).to_string();
            let size = usize::from_str_radix(size_str.split(';').next().unwrap_or("").trim(), 16).expect("chunk size");
            pos = eol + 2;
            if size == 0 {
                break;
            }
            out.extend_from_slice(&rest[pos..pos + size]);
            pos += size + 2;
        }
        rest = out;
    }
    Reply { status, body: rest, client }
}

fn get(addr: SocketAddr, path: &str) -> Reply {
    request(addr, "GET", path, &[], b"")
}

#[test]
fn serves_spin_component_round_trips() {
    let component = build_guest();
    let dir = scratch_dir("roundtrip");
    let host = Host::start(&component, &dir);
    let addr = host.addr;

    // SQLite: every value type round-trips, inside BEGIN/COMMIT; ROLLBACK leaves nothing.
    let r = get(addr, "/sqlite");
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let v = r.json();
    assert_eq!(v["columns"], json!(["id", "i", "r", "s", "b", "n"]));
    assert_eq!(
        v["rows"],
        json!([
            [{"integer": 1}, {"integer": i64::MAX}, {"real": 3.25}, {"text": "héllo ✓"}, {"blob": [0, 1, 2, 255]}, "null"],
            [{"integer": 2}, {"integer": -7}, {"real": -0.5}, {"text": ""}, {"blob": []}, {"text": "x"}]
        ])
    );
    assert_eq!(v["changes"], json!(1));
    assert_eq!(v["rowids"], json!([1, 2]));
    assert_eq!(v["count_inside_tx"], json!({"integer": 3}));
    assert_eq!(v["count_after_rollback"], json!({"integer": 2}));
    assert_eq!(v["echo"], json!([{"integer": 1}, {"real": 1.5}, {"text": "t"}, {"blob": [9]}, "null"]));

    // SQLite errors keep SQLite's text; unknown labels are no-such-database.
    let r = get(addr, "/sqlite-errors");
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let v = r.json();
    assert_eq!(v["duplicate"], json!({"io": "UNIQUE constraint failed: users.email"}));
    assert_eq!(v["syntax"], json!({"io": "near \"SELEKT\": syntax error"}));
    assert_eq!(v["other_label"], json!("no-such-database"));

    // --sqlite-init ran at start-up.
    let r = get(addr, "/seeded");
    assert_eq!(r.status, 200);
    assert_eq!(r.json(), json!([{"text": "alpha"}, {"text": "beta"}]));

    // Key-value.
    let r = get(addr, "/kv");
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(
        r.json(),
        json!({
            "greeting": "hello kv 2",
            "bin": [0, 159, 146, 150],
            "exists": true,
            "keys": ["bin", "greeting"],
            "gone": null,
            "gone_exists": false,
            "other_store": "no-such-store",
        })
    );

    // Variables: --var, SPIN_VARIABLE_*, precedence, undefined.
    let r = get(addr, "/var?greeting");
    assert_eq!((r.status, r.json()), (200, json!({"value": "hello from cli"})));
    let r = get(addr, "/var?from_env");
    assert_eq!((r.status, r.json()), (200, json!({"value": "hello from env"})));
    let r = get(addr, "/var?overridden");
    assert_eq!((r.status, r.json()), (200, json!({"value": "cli wins"})));
    let r = get(addr, "/var?nope");
    assert_eq!(r.status, 404);
    assert!(r.json()["undefined"].is_string());

    // Spin headers: a forged spin-client-addr is replaced by the real peer.
    let r = request(
        addr,
        "POST",
        "/echo?x=1",
        &[("spin-client-addr", "6.6.6.6:666"), ("Content-Type", "text/plain")],
        b"ping body",
    );
    assert_eq!(r.status, 200);
    let v = r.json();
    assert_eq!(v["client_addr"], json!(r.client.to_string()));
    assert_eq!(v["method"], json!("POST"));
    assert_eq!(v["full_url"], json!(format!("http://{addr}/echo?x=1")));
    assert_eq!(v["path_info"], json!("/echo"));
    assert_eq!(v["query"], json!("x=1"));
    assert_eq!(v["body"], json!("ping body"));

    // A trap and a handler error both give 500; the server keeps serving.
    let r = get(addr, "/trap");
    assert_eq!(r.status, 500);
    let r = get(addr, "/fail");
    assert_eq!(r.status, 500);
    let r = get(addr, "/nowhere");
    assert_eq!(r.status, 404);
    let r = get(addr, "/var?greeting");
    assert_eq!(r.status, 200);

    // 200 concurrent requests from 20 threads, each writing in a transaction.
    let threads: Vec<_> = (0..20)
        .map(|t| {
            std::thread::spawn(move || {
                (0..10)
                    .map(|i| {
                        let tag = format!("t{t}-{i}");
                        let r = get(addr, &format!("/hit?{tag}"));
                        (tag, r.status, r.body)
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let mut ok = 0;
    for t in threads {
        for (tag, status, body) in t.join().expect("client thread") {
            assert_eq!(status, 200, "{tag}: {}", String::from_utf8_lossy(&body));
            let v: Value = serde_json::from_slice(&body).expect("json");
            assert_eq!(v, json!({"tag": {"text": tag}, "kv": tag}));
            ok += 1;
        }
    }
    assert_eq!(ok, 200);

    // The guest logged one JSON line per request on (inherited) stdout.
    let mut logged = 0;
    while let Ok(line) = host.stdout_lines.recv_timeout(Duration::from_millis(200)) {
        if line.starts_with('{') {
            logged += 1;
        }
    }
    assert!(logged >= 200, "only {logged} guest log lines seen");

    // Graceful stop on SIGTERM.
    let mut host = host;
    let status = Command::new("kill").args(["-TERM", &host.child.id().to_string()]).status().expect("kill");
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(status) = host.child.try_wait().expect("wait") {
            assert!(status.success(), "host exited with {status}");
            break;
        }
        assert!(Instant::now() < deadline, "host did not stop after SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    }
    drop(host);
    let _ = std::fs::remove_dir_all(&dir);
}

/// A tiny HTTP/1.1 server on 127.0.0.1 standing in for an OpenID provider:
/// for each request it records the request line, the `Host` and `x-test`
/// headers and the body, then answers `201` with `x-reply: pong` and a body
/// naming what it got. `/slow` answers after 3 s.
fn upstream() -> (SocketAddr, mpsc::Receiver<Value>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("binding the upstream");
    let addr = listener.local_addr().expect("upstream address");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { break };
            let tx = tx.clone();
            std::thread::spawn(move || {
                let mut reader = BufReader::new(stream.try_clone().expect("clone"));
                let mut request_line = String::new();
                reader.read_line(&mut request_line).expect("request line");
                let (mut host, mut test, mut length) = (None, None, 0usize);
                loop {
                    let mut line = String::new();
                    reader.read_line(&mut line).expect("header line");
                    let line = line.trim_end();
                    if line.is_empty() {
                        break;
                    }
                    let (name, value) = line.split_once(':').expect("header");
                    let value = value.trim().to_string();
                    match name.to_ascii_lowercase().as_str() {
                        "host" => host = Some(value),
                        "x-test" => test = Some(value),
                        "content-length" => length = value.parse().expect("content-length"),
                        _ => {}
                    }
                }
                let mut body = vec![0; length];
                reader.read_exact(&mut body).expect("body");
                if request_line.contains(" /slow ") {
                    std::thread::sleep(Duration::from_secs(3));
                }
                let reply = format!("got {} bytes", body.len());
                let _ = write!(
                    stream,
                    "HTTP/1.1 201 Created\r\nx-reply: pong\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{reply}",
                    reply.len()
                );
                let _ = tx.send(json!({
                    "request_line": request_line.trim_end(),
                    "host": host,
                    "x_test": test,
                    "body": String::from_utf8_lossy(&body),
                }));
            });
        }
    });
    (addr, rx)
}

fn outbound(addr: SocketAddr, spec: Value) -> Value {
    let r = request(addr, "POST", "/outbound", &[("Content-Type", "application/json")], spec.to_string().as_bytes());
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    r.json()
}

#[test]
fn outbound_http_through_the_component() {
    let component = build_guest();
    let dir = scratch_dir("outbound");
    let (upstream_addr, seen) = upstream();
    let port = upstream_addr.port();
    // A port nothing listens on.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let host = Host::start_with(
        &component,
        &dir,
        &[
            "--allow-outbound".into(),
            format!("http://127.0.0.1:{port}"),
            "--allow-outbound".into(),
            "*://localhost:*".into(),
        ],
    );
    let addr = host.addr;

    // Allowed: method, path and query, Host, headers and body reach the
    // upstream; status, headers and body come back to the guest.
    let v = outbound(
        addr,
        json!({"url": format!("http://127.0.0.1:{port}/token/exchange?code=s3cret-code"), "method": "POST", "body": "grant_type=x"}),
    );
    assert_eq!(v, json!({"status": 201, "x_reply": "pong", "body": "got 12 bytes"}));
    let got = seen.recv_timeout(Duration::from_secs(10)).expect("the upstream saw the request");
    assert_eq!(
        got,
        json!({
            "request_line": "POST /token/exchange?code=s3cret-code HTTP/1.1",
            "host": format!("127.0.0.1:{port}"),
            "x_test": "from the guest",
            "body": "grant_type=x",
        })
    );

    // Not allowed: another port on the same host, or the same server under
    // a name that is not listed. The upstream sees nothing.
    let v = outbound(addr, json!({"url": format!("http://127.0.0.1:{closed}/")}));
    assert_eq!(v, json!({"error": "HTTP-request-denied"}));
    let v = outbound(addr, json!({"url": format!("http://[::1]:{port}/")}));
    assert_eq!(v, json!({"error": "HTTP-request-denied"}));
    assert!(seen.recv_timeout(Duration::from_millis(300)).is_err(), "a denied request reached the upstream");

    // Allowed by the wildcard entry, but nothing listens there.
    let v = outbound(addr, json!({"url": format!("http://localhost:{closed}/")}));
    assert_eq!(v, json!({"error": "connection-refused"}));

    // https is allowed by `*://localhost:*` but the test host has no TLS.
    let v = outbound(addr, json!({"url": format!("https://localhost:{port}/")}));
    assert_eq!(v, json!({"error": "TLS-protocol-error"}));

    // The guest's first-byte timeout is honoured.
    let started = Instant::now();
    let v = outbound(addr, json!({"url": format!("http://127.0.0.1:{port}/slow"), "first_byte_timeout_ms": 300}));
    assert_eq!(v, json!({"error": "connection-read-timeout"}));
    assert!(started.elapsed() < Duration::from_secs(3), "took {:?}", started.elapsed());

    // One stderr line per outbound request, without the query string.
    let mut lines = Vec::new();
    while let Ok(line) = host.stderr_lines.recv_timeout(Duration::from_millis(500)) {
        lines.push(line);
    }
    let outbound_lines: Vec<&String> =
        lines.iter().filter(|l| l.starts_with("spin-test-host: outbound ") && l.contains(" -> ")).collect();
    assert_eq!(outbound_lines.len(), 6, "{lines:#?}");
    assert!(
        outbound_lines[0]
            .starts_with(&format!("spin-test-host: outbound POST http://127.0.0.1:{port}/token/exchange -> 201 in ")),
        "{lines:#?}"
    );
    assert!(outbound_lines[1].contains("-> ErrorCode::HttpRequestDenied (not allowed by --allow-outbound)"));
    assert!(outbound_lines[3].contains(&format!("GET http://localhost:{closed}/ -> ErrorCode::ConnectionRefused")));
    assert!(outbound_lines[4].contains("(https is not supported: spin-test-host has no TLS)"));
    assert!(outbound_lines[5].contains("/slow -> ErrorCode::ConnectionReadTimeout"));
    assert!(!lines.iter().any(|l| l.contains("s3cret")), "the query string was logged: {lines:#?}");

    drop(host);
    let _ = std::fs::remove_dir_all(&dir);
}
