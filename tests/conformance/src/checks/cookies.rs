//! Browser sessions in cookies: `"session": "cookie"` puts the refresh token in the
//! `__Host-refresh` cookie; a body-less refresh reads it, only from an allowed origin and
//! as JSON; logout clears it; credentials are allowed to the configured origins only.

use serde_json::json;

use super::expect_problem;
use crate::fixtures::{unique_email, PASSWORD};
use crate::{ensure, ensure_eq, Client, Entry, Resp, TEST_ORIGIN};

pub fn checks() -> Vec<Entry> {
    crate::checks![Any => [
        cookie_sessions_keep_the_refresh_token_out_of_the_body,
        cookie_refresh_rotates_the_cookie_and_a_reused_one_is_cleared,
        cookie_attack_refresh_with_a_foreign_or_missing_origin_is_refused,
        credentials_are_allowed_to_the_configured_origins_only,
        logout_clears_the_session_cookie,
        a_body_less_refresh_without_a_cookie_is_unauthenticated,
    ]]
}

/// The `__Host-refresh` cookie a response sets: (value, attributes).
fn set_cookie(res: &Resp) -> Option<(String, String)> {
    res.headers
        .iter()
        .filter(|(k, _)| k.eq_ignore_ascii_case("set-cookie"))
        .find_map(|(_, v)| v.strip_prefix("__Host-refresh=").map(|rest| rest.split_once(';').unwrap_or((rest, ""))))
        .map(|(value, attrs)| (value.to_owned(), attrs.trim().to_owned()))
}

/// Registers `email` in cookie mode; the response is a 201.
fn register_in_cookie_mode(c: &Client, email: &str) -> Result<Resp, String> {
    let res = c.post_json(
        "/v1/auth/register",
        &json!({"email": email, "password": PASSWORD, "name": "Cookie", "session": "cookie"}),
        None,
    )?;
    ensure_eq!(res.status, 201, format!("register: {}", res.text()));
    Ok(res)
}

/// A new account in cookie mode: (access token, refresh cookie value).
fn cookie_account(c: &Client) -> Result<(String, String), String> {
    let res = register_in_cookie_mode(c, &unique_email("Cookie"))?;
    let (value, _) = set_cookie(&res).ok_or("no cookie")?;
    Ok((format!("Bearer {}", res.json()?["access_token"].as_str().unwrap_or_default()), value))
}

/// A body-less refresh with the cookie, from `origin`, with `content_type`.
fn refresh(c: &Client, cookie: &str, origin: Option<&str>, content_type: Option<&str>) -> Result<Resp, String> {
    let cookie = format!("theme=dark; __Host-refresh={cookie}");
    let mut headers = vec![("Cookie", cookie.as_str())];
    if let Some(o) = origin {
        headers.push(("Origin", o));
    }
    if let Some(t) = content_type {
        headers.push(("Content-Type", t));
    }
    c.send("POST", "/v1/auth/refresh", &headers, None)
}

fn cookie_sessions_keep_the_refresh_token_out_of_the_body(c: &Client) -> Result<(), String> {
    let email = unique_email("CookieMode");
    let res = register_in_cookie_mode(c, &email)?;
    let body = res.json()?;
    ensure!(body.get("refresh_token").is_none(), "a refresh token in the body: {body}");
    ensure!(body["access_token"].as_str().is_some() && body["user"]["email"] == json!(email), "{body}");
    let (value, attrs) = set_cookie(&res).ok_or("no __Host-refresh cookie")?;
    ensure!(value.starts_with("rt_"), "cookie value");
    let max_age = format!("Max-Age={}", body["refresh_expires_in"]);
    for attr in ["HttpOnly", "Secure", "SameSite=Strict", "Path=/", max_age.as_str()] {
        ensure!(attrs.split("; ").any(|a| a == attr), "cookie lacks {attr}: {attrs}");
    }
    ensure!(!attrs.to_ascii_lowercase().contains("domain="), "a __Host- cookie has no Domain");
    ensure_eq!(res.header("cache-control"), Some("no-store"), "Cache-Control");
    let res =
        c.post_json("/v1/auth/login", &json!({"email": email, "password": PASSWORD, "session": "cookie"}), None)?;
    ensure_eq!(res.status, 200, "login in cookie mode");
    ensure!(res.json()?.get("refresh_token").is_none() && set_cookie(&res).is_some(), "login's cookie");
    // Token mode (the default) sets no cookie.
    let res = c.post_json("/v1/auth/login", &json!({"email": email, "password": PASSWORD}), None)?;
    ensure!(res.json()?["refresh_token"].as_str().is_some() && set_cookie(&res).is_none(), "token mode");
    let res = c.post_json("/v1/auth/login", &json!({"email": email, "password": PASSWORD, "session": "jar"}), None)?;
    expect_problem(&res, 422, "validation")?;
    Ok(())
}

fn cookie_refresh_rotates_the_cookie_and_a_reused_one_is_cleared(c: &Client) -> Result<(), String> {
    let (_, first) = cookie_account(c)?;
    let res = refresh(c, &first, Some(TEST_ORIGIN), Some("application/json"))?;
    ensure_eq!(res.status, 200, format!("cookie refresh: {}", res.text()));
    ensure!(res.json()?.get("refresh_token").is_none(), "a refresh token in the body");
    let (second, _) = set_cookie(&res).ok_or("no rotated cookie")?;
    ensure!(second != first && second.starts_with("rt_"), "rotated");
    // The rotated-out cookie is a reuse: 401, the session dies, and the cookie is cleared.
    let res = refresh(c, &first, Some(TEST_ORIGIN), Some("application/json"))?;
    expect_problem(&res, 401, "unauthenticated")?;
    let (cleared, attrs) = set_cookie(&res).ok_or("the dead cookie is not cleared")?;
    ensure!(cleared.is_empty() && attrs.contains("Max-Age=0"), "cleared: {attrs}");
    expect_problem(&refresh(c, &second, Some(TEST_ORIGIN), Some("application/json"))?, 401, "unauthenticated")?;
    // No body and no cookie: nothing to refresh with.
    let res = c.send("POST", "/v1/auth/refresh", &[("Origin", TEST_ORIGIN)], None)?;
    expect_problem(&res, 401, "unauthenticated")?;
    Ok(())
}

fn cookie_attack_refresh_with_a_foreign_or_missing_origin_is_refused(c: &Client) -> Result<(), String> {
    let (_, cookie) = cookie_account(c)?;
    for (origin, content_type, what) in [
        (None, Some("application/json"), "no Origin"),
        (Some("https://attacker.example"), Some("application/json"), "a foreign Origin"),
        (Some("null"), Some("application/json"), "Origin null"),
        (Some(TEST_ORIGIN), None, "no Content-Type"),
        (Some(TEST_ORIGIN), Some("text/plain"), "a form-able Content-Type"),
    ] {
        let res = refresh(c, &cookie, origin, content_type)?;
        expect_problem(&res, 403, "forbidden").map_err(|e| format!("{what}: {e}"))?;
        ensure!(set_cookie(&res).is_none(), "{what}: the refusal touched the cookie");
    }
    // The refusals spent nothing: the cookie still refreshes from the app.
    let res = refresh(c, &cookie, Some(TEST_ORIGIN), Some("application/json; charset=utf-8"))?;
    ensure_eq!(res.status, 200, "the allowed origin after the refusals");
    Ok(())
}

fn credentials_are_allowed_to_the_configured_origins_only(c: &Client) -> Result<(), String> {
    let allowed = c.get_with("/v1/health", &[("Origin", TEST_ORIGIN)])?;
    ensure_eq!(allowed.header("access-control-allow-origin"), Some(TEST_ORIGIN), "ACAO");
    ensure_eq!(allowed.header("access-control-allow-credentials"), Some("true"), "ACAC for the app");
    let foreign = c.get_with("/v1/health", &[("Origin", "https://attacker.example")])?;
    ensure!(
        foreign.header("access-control-allow-origin").is_none()
            && foreign.header("access-control-allow-credentials").is_none(),
        "a foreign origin got CORS headers"
    );
    let preflight = c.send(
        "OPTIONS",
        "/v1/auth/refresh",
        &[("Origin", TEST_ORIGIN), ("Access-Control-Request-Method", "POST")],
        None,
    )?;
    ensure_eq!(preflight.header("access-control-allow-credentials"), Some("true"), "ACAC of the preflight");
    Ok(())
}

fn logout_clears_the_session_cookie(c: &Client) -> Result<(), String> {
    let (access, cookie) = cookie_account(c)?;
    let res = c.authed("POST", "/v1/auth/logout", &access)?;
    ensure_eq!(res.status, 204, "logout");
    let (value, attrs) = set_cookie(&res).ok_or("logout does not clear the cookie")?;
    ensure!(value.is_empty() && attrs.contains("Max-Age=0"), "cleared: {attrs}");
    expect_problem(&refresh(c, &cookie, Some(TEST_ORIGIN), Some("application/json"))?, 401, "unauthenticated")?;
    Ok(())
}

/// A refresh with neither body nor cookie (and so no Content-Type) has no credential: 401,
/// not 415, on every host whatever it makes of an absent body.
fn a_body_less_refresh_without_a_cookie_is_unauthenticated(c: &Client) -> Result<(), String> {
    let res = c.send("POST", "/v1/auth/refresh", &[], None)?;
    expect_problem(&res, 401, "unauthenticated")?;
    Ok(())
}
