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

struct Host {
    child: Child,
    addr: SocketAddr,
    stdout_lines: mpsc::Receiver<String>,
}

impl Host {
    fn start(component: &Path, dir: &Path) -> Host {
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
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("starting spin-test-host");
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, rx) = mpsc::channel();
        // Keep draining stdout (the guest logs a line per request there).
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    // Receiver gone: keep draining so the host never blocks.
                }
            }
        });
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
        Host { child, addr, stdout_lines: rx }
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
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("roundtrip-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
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
