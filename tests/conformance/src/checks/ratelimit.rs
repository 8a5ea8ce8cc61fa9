//! Rate limiting, run against a host instance configured with the small limits of
//! `fixtures::limited_host_config`. Requests come from distinct loopback addresses so
//! each check has its own client IPs, and each uses a fresh connection, so counts are
//! shown to be shared across connections (one Durable Object per key on Workers, one
//! SQL row per key on Spin).

use std::net::Ipv4Addr;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::Duration;

use serde_json::json;

use super::expect_problem;
use crate::fixtures::{LIMITED_AUTH_IP, LIMITED_LOGIN_FAILURES, LIMITED_PRINCIPAL, PASSWORD};
use crate::{ensure, ensure_eq, Client, Entry, Resp};

pub fn checks() -> Vec<Entry> {
    crate::checks![RateLimitedHost => [
        ratelimit_the_ip_limit_on_auth_routes_answers_429_then_resets,
        ratelimit_failed_logins_are_limited_per_account_from_any_ip,
        ratelimit_principals_have_their_own_budgets,
    ]]
}

static NEXT_IP: AtomicU8 = AtomicU8::new(10);

/// A loopback address no other check of this run uses.
fn fresh_ip() -> Ipv4Addr {
    let n = NEXT_IP.fetch_add(1, Ordering::Relaxed);
    Ipv4Addr::new(127, 0, 1, n)
}

fn post(
    c: &Client,
    from: Ipv4Addr,
    path: &str,
    body: &serde_json::Value,
    bearer: Option<&str>,
) -> Result<Resp, String> {
    let b = body.to_string();
    let mut headers = vec![("Content-Type", "application/json")];
    if let Some(t) = bearer {
        headers.push(("Authorization", t));
    }
    c.send_from(from, "POST", path, &headers, Some(b.as_bytes()))
}

fn expect_429(res: &Resp, policy: &str, limit: u32, window: u64) -> Result<u64, String> {
    expect_problem(res, 429, "rate-limited")?;
    let retry: u64 = res.header("retry-after").and_then(|v| v.parse().ok()).ok_or("Retry-After missing")?;
    ensure!(retry >= 1 && retry <= window, "Retry-After {retry}");
    ensure_eq!(
        res.header("ratelimit-policy"),
        Some(format!("\"{policy}\";q={limit};w={window}").as_str()),
        "RateLimit-Policy"
    );
    ensure!(
        res.header("ratelimit").is_some_and(|v| v.starts_with(&format!("\"{policy}\";r=0;t="))),
        "RateLimit {:?}",
        res.header("ratelimit")
    );
    Ok(retry)
}

fn ratelimit_the_ip_limit_on_auth_routes_answers_429_then_resets(c: &Client) -> Result<(), String> {
    let ip = fresh_ip();
    let (limit, window) = LIMITED_AUTH_IP;
    for i in 0..limit {
        let res = post(c, ip, "/v1/auth/refresh", &json!({"refresh_token": "rt_nope"}), None)?;
        ensure_eq!(res.status, 401, format!("request {} within the limit", i + 1));
        let expected_remaining = limit - 1 - i;
        ensure!(
            res.header("ratelimit").is_some_and(|v| v.starts_with(&format!("\"auth-ip\";r={expected_remaining};"))),
            "RateLimit on request {}: {:?}",
            i + 1,
            res.header("ratelimit")
        );
    }
    let over = post(c, ip, "/v1/auth/login", &json!({"email": "a@example.test", "password": "x"}), None)?;
    let retry = expect_429(&over, "auth-ip", limit, window)?;
    // Another client address is not affected.
    let other = post(c, fresh_ip(), "/v1/auth/refresh", &json!({"refresh_token": "rt_nope"}), None)?;
    ensure_eq!(other.status, 401, "another IP");
    std::thread::sleep(Duration::from_millis(retry * 1000 + 100));
    let again = post(c, ip, "/v1/auth/refresh", &json!({"refresh_token": "rt_nope"}), None)?;
    ensure_eq!(again.status, 401, "allowed again after Retry-After");
    Ok(())
}

fn ratelimit_failed_logins_are_limited_per_account_from_any_ip(c: &Client) -> Result<(), String> {
    let email = crate::fixtures::unique_email("RlLogin");
    let reg =
        post(c, fresh_ip(), "/v1/auth/register", &json!({"email": email, "password": PASSWORD, "name": "R"}), None)?;
    ensure_eq!(reg.status, 201, "register");
    let (limit, window) = LIMITED_LOGIN_FAILURES;
    for i in 0..limit {
        // Each failure from a different address: the per-IP limit never triggers.
        let res = post(c, fresh_ip(), "/v1/auth/login", &json!({"email": email, "password": "wrong password!"}), None)?;
        expect_problem(&res, 401, "unauthenticated").map_err(|e| format!("failure {}: {e}", i + 1))?;
    }
    let blocked = post(c, fresh_ip(), "/v1/auth/login", &json!({"email": email, "password": PASSWORD}), None)?;
    expect_problem(&blocked, 429, "rate-limited")?;
    let retry: u64 = blocked.header("retry-after").and_then(|v| v.parse().ok()).ok_or("Retry-After")?;
    ensure!(retry >= 1 && retry <= window, "Retry-After {retry}");
    // Another account from the same address is unaffected.
    let other = post(
        c,
        fresh_ip(),
        "/v1/auth/login",
        &json!({"email": crate::fixtures::unique_email("RlOther"), "password": PASSWORD}),
        None,
    )?;
    ensure_eq!(other.status, 401, "other account");
    std::thread::sleep(Duration::from_millis(retry * 1000 + 100));
    let ok = post(c, fresh_ip(), "/v1/auth/login", &json!({"email": email, "password": PASSWORD}), None)?;
    ensure_eq!(ok.status, 200, "correct password once the failures have decayed");
    Ok(())
}

fn ratelimit_principals_have_their_own_budgets(c: &Client) -> Result<(), String> {
    let a = c.register("RlA")?;
    let b = c.register("RlB")?;
    let key_res = c.post_json("/v1/api-keys", &json!({"name": "rl", "scopes": ["read"]}), Some(&a.bearer()))?;
    let key = format!("Bearer {}", key_res.json()?["key"].as_str().unwrap_or_default());
    let (limit, window) = LIMITED_PRINCIPAL;
    // The key creation above spent one request of A's budget.
    let mut last = None;
    for i in 1..limit {
        let res = c.send_from(fresh_ip(), "GET", "/v1/me", &[("Authorization", &a.bearer())], None)?;
        ensure_eq!(res.status, 200, format!("request {} of A", i + 1));
        ensure!(
            res.header("ratelimit-policy") == Some(format!("\"principal\";q={limit};w={window}").as_str()),
            "RateLimit-Policy {:?}",
            res.header("ratelimit-policy")
        );
        last = Some(res);
    }
    ensure!(
        last.is_some_and(|r| r.header("ratelimit").is_some_and(|v| v.starts_with("\"principal\";r=0;"))),
        "r=0 at the limit"
    );
    let over = c.send_from(fresh_ip(), "GET", "/v1/me", &[("Authorization", &a.bearer())], None)?;
    let retry = expect_429(&over, "principal", limit, window)?;
    let res = c.send_from(fresh_ip(), "GET", "/v1/me", &[("Authorization", &b.bearer())], None)?;
    ensure_eq!(res.status, 200, "B has its own budget");
    let res = c.send_from(fresh_ip(), "GET", "/v1/me", &[("Authorization", &key)], None)?;
    ensure_eq!(res.status, 200, "A's API key is its own principal");
    std::thread::sleep(Duration::from_millis(retry * 1000 + 100));
    let res = c.send_from(fresh_ip(), "GET", "/v1/me", &[("Authorization", &a.bearer())], None)?;
    ensure_eq!(res.status, 200, "A again after Retry-After");
    Ok(())
}
