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
use crate::fixtures::{LIMITED_AUTH_FAILURES, LIMITED_AUTH_IP, LIMITED_LOGIN_FAILURES, LIMITED_PRINCIPAL, PASSWORD};
use crate::{ensure, ensure_eq, Client, Entry, Resp};

pub fn checks() -> Vec<Entry> {
    crate::checks![RateLimitedHost => [
        ratelimit_the_ip_limit_on_auth_routes_answers_429_then_resets,
        ratelimit_failed_logins_are_limited_per_account_from_any_ip,
        ratelimit_principals_have_their_own_budgets,
        ratelimit_concurrent_wrong_logins_cannot_overrun_the_account_budget,
        ratelimit_ipv6_clients_share_the_budget_of_their_64_prefix,
        ratelimit_wrong_current_passwords_count_against_the_login_budget,
        ratelimit_failed_authentication_is_limited_per_client_ip,
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

/// Sends `GET /v1/me` as `who` until the answer is 429; returns how many were admitted
/// and the 429. A leased limit (Workers) admits a burst up to one smaller than the limit
/// (the budget it holds back for its leases), an exact one the limit.
fn until_limited(c: &Client, who: &str, limit: u32) -> Result<(u32, Resp), String> {
    let mut admitted = 0;
    for _ in 0..=limit {
        let res = c.send_from(fresh_ip(), "GET", "/v1/me", &[("Authorization", who)], None)?;
        if res.status == 429 {
            return Ok((admitted, res));
        }
        ensure_eq!(res.status, 200, format!("request {} within the limit", admitted + 1));
        admitted += 1;
    }
    Err(format!("{} requests admitted under a limit of {limit}", admitted))
}

fn ratelimit_principals_have_their_own_budgets(c: &Client) -> Result<(), String> {
    let a = c.register_from(Some(fresh_ip()), "RlA")?;
    let b = c.register_from(Some(fresh_ip()), "RlB")?;
    let key_res = c.post_json(
        "/v1/api-keys",
        &json!({"password": PASSWORD, "name": "rl", "scopes": ["read"]}),
        Some(&a.bearer()),
    )?;
    let key = format!("Bearer {}", key_res.json()?["key"].as_str().unwrap_or_default());
    let (limit, window) = LIMITED_PRINCIPAL;
    // The key creation above spent one request of A's budget.
    let (admitted, over) = until_limited(c, &a.bearer(), limit)?;
    ensure!(
        admitted < limit && admitted + 2 >= limit,
        "{} of A's requests admitted under a limit of {limit}",
        admitted + 1
    );
    let retry = expect_429(&over, "principal", limit, window)?;
    let res = c.send_from(fresh_ip(), "GET", "/v1/me", &[("Authorization", &b.bearer())], None)?;
    ensure_eq!(res.status, 200, "B has its own budget");
    ensure!(
        res.header("ratelimit-policy") == Some(format!("\"principal\";q={limit};w={window}").as_str()),
        "RateLimit-Policy {:?}",
        res.header("ratelimit-policy")
    );
    let res = c.send_from(fresh_ip(), "GET", "/v1/me", &[("Authorization", &key)], None)?;
    ensure_eq!(res.status, 200, "A's API key is its own principal");
    std::thread::sleep(Duration::from_millis(retry * 1000 + 100));
    let res = c.send_from(fresh_ip(), "GET", "/v1/me", &[("Authorization", &a.bearer())], None)?;
    ensure_eq!(res.status, 200, "A again after Retry-After");
    Ok(())
}

fn ratelimit_concurrent_wrong_logins_cannot_overrun_the_account_budget(c: &Client) -> Result<(), String> {
    // Each attempt is charged before its password is checked: of many wrong logins sent at
    // once (from as many addresses), only the budget's worth reach the password check.
    let a = c.register_from(Some(fresh_ip()), "RlConcurrent")?;
    let (limit, window) = LIMITED_LOGIN_FAILURES;
    let started = std::time::Instant::now();
    let statuses: Vec<u16> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..12)
            .map(|_| {
                let (ip, email) = (fresh_ip(), a.email.clone());
                s.spawn(move || {
                    post(c, ip, "/v1/auth/login", &json!({"email": email, "password": "wrong password!"}), None)
                        .map(|r| r.status)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().map_err(|_| "thread".to_owned()).and_then(|r| r).unwrap_or(0)).collect()
    });
    // GCRA refills one attempt every window/limit: allow what refilled while they ran.
    let refilled = u32::try_from(started.elapsed().as_millis() * u128::from(limit) / (u128::from(window) * 1000))
        .unwrap_or(u32::MAX);
    let wrong = statuses.iter().filter(|s| **s == 401).count();
    let limited = statuses.iter().filter(|s| **s == 429).count();
    ensure!(wrong >= 1 && wrong <= (limit + refilled) as usize, "{wrong} wrong passwords checked: {statuses:?}");
    ensure_eq!(wrong + limited, statuses.len(), format!("every attempt answered 401 or 429: {statuses:?}"));
    Ok(())
}

fn ratelimit_ipv6_clients_share_the_budget_of_their_64_prefix(c: &Client) -> Result<(), String> {
    // The limited host trusts X-Forwarded-For (as behind a proxy): clients speak from IPv6.
    let (limit, window) = LIMITED_AUTH_IP;
    let refresh = |xff: &str| {
        let body = json!({"refresh_token": "rt_nope"}).to_string();
        let headers = [("Content-Type", "application/json"), ("X-Forwarded-For", xff)];
        c.send_from(fresh_ip(), "POST", "/v1/auth/refresh", &headers, Some(body.as_bytes()))
    };
    let net = format!("2001:db8:{:x}:{:x}", fresh_ip().octets()[3], crate::fixtures::now_secs() % 0xffff);
    for i in 0..limit {
        // A different address of the same /64 every time.
        let res = refresh(&format!("{net}:{:x}::{:x}", i + 1, i + 7))?;
        ensure_eq!(res.status, 401, format!("request {} of the /64 within the limit", i + 1));
    }
    let over = refresh(&format!("{net}:ffff:ffff:ffff:ffff"))?;
    expect_429(&over, "auth-ip", limit, window).map_err(|e| format!("another address of the same /64: {e}"))?;
    let next_net = format!("2001:db8:{:x}:{:x}::1", fresh_ip().octets()[3], crate::fixtures::now_secs() % 0xffff);
    ensure_eq!(refresh(&next_net)?.status, 401, "another /64 has its own budget");
    Ok(())
}

fn ratelimit_wrong_current_passwords_count_against_the_login_budget(c: &Client) -> Result<(), String> {
    let a = c.register_from(Some(fresh_ip()), "RlChange")?;
    let (limit, window) = LIMITED_LOGIN_FAILURES;
    let change = |current: &str| {
        let body = json!({"current_password": current, "new_password": "a brand new password"});
        post(c, fresh_ip(), "/v1/me/password", &body, Some(&a.bearer()))
    };
    let mut refused = 0;
    while refused < limit {
        let res = change("not the password")?;
        if res.status == 429 {
            break;
        }
        expect_problem(&res, 403, "forbidden").map_err(|e| format!("wrong guess {}: {e}", refused + 1))?;
        refused += 1;
    }
    let over = change("still not it")?;
    expect_problem(&over, 429, "rate-limited").map_err(|e| format!("after {refused} wrong guesses: {e}"))?;
    // The same budget as login: the account's login is refused too, right password or not.
    let login = post(c, fresh_ip(), "/v1/auth/login", &json!({"email": a.email, "password": PASSWORD}), None)?;
    let retry = expect_problem(&login, 429, "rate-limited")
        .map(|_| login.header("retry-after").and_then(|v| v.parse::<u64>().ok()))?;
    ensure!(retry.is_some_and(|r| r >= 1 && r <= window), "Retry-After {retry:?}");
    Ok(())
}

fn ratelimit_failed_authentication_is_limited_per_client_ip(c: &Client) -> Result<(), String> {
    // Every refused token or key is charged to the client address; once its budget is
    // spent the address gets 429 (and Workers stop checking new credentials from it).
    let (limit, window) = LIMITED_AUTH_FAILURES;
    let a = c.register_from(Some(fresh_ip()), "RlAuthFail")?;
    let ip = fresh_ip();
    let me = |who: &str| c.send_from(ip, "GET", "/v1/me", &[("Authorization", who)], None);
    ensure_eq!(me(&a.bearer())?.status, 200, "a valid token before");
    let bad_key = format!("Bearer tm_{}", "B".repeat(43));
    let mut refused = 0;
    let over = loop {
        let res = me(if refused % 2 == 0 { "Bearer not.a.token" } else { &bad_key })?;
        if res.status == 429 {
            break res;
        }
        expect_problem(&res, 401, "unauthenticated").map_err(|e| format!("failure {}: {e}", refused + 1))?;
        refused += 1;
        ensure!(refused <= limit, "{refused} failures answered 401 under a limit of {limit}");
    };
    ensure!(refused + 1 >= limit, "only {refused} failures before 429 under a limit of {limit}");
    expect_429(&over, "auth-fail", limit, window).or_else(|e| {
        // An instance that already knows the address is refused answers before trying.
        expect_problem(&over, 429, "rate-limited").map(|_| 1).map_err(|_| e)
    })?;
    ensure_eq!(me(&a.bearer())?.status, 200, "a token the server already checked still works");
    let other = c.send_from(fresh_ip(), "GET", "/v1/me", &[("Authorization", "Bearer not.a.token")], None)?;
    ensure_eq!(other.status, 401, "another address has its own budget");
    Ok(())
}
