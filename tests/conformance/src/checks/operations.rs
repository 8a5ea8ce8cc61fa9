//! Operations and cross-cutting conventions: health, OpenAPI, request ids, problem
//! documents for unknown routes and versions, security headers, CORS.

use super::expect_problem;
use crate::{ensure, ensure_eq, Client, Entry, Resp, TEST_ORIGIN};

pub fn checks() -> Vec<Entry> {
    crate::checks![Any => [
        health_reports_ok_after_reaching_the_database,
        every_response_carries_a_request_id_and_nosniff,
        a_valid_caller_request_id_is_echoed,
        an_invalid_caller_request_id_is_replaced,
        unknown_routes_are_not_found_problems,
        unknown_api_versions_are_not_found_problems,
        a_wrong_method_is_a_method_not_allowed_problem,
        openapi_document_is_3_1_and_lists_the_routes,
        cors_preflight_from_an_allowed_origin_is_answered,
        cors_preflight_from_another_origin_gets_no_grant,
        cors_simple_request_from_an_allowed_origin_is_granted,
    ]]
}

fn is_generated_id(id: &str) -> bool {
    (1..=128).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// `res` has the header `name` and its value passes `ok`.
fn expect_header(res: &Resp, name: &str, ok: impl Fn(&str) -> bool) -> Result<(), String> {
    ensure!(res.header(name).is_some_and(ok), "{name}: {:?}", res.header(name));
    Ok(())
}

fn health_reports_ok_after_reaching_the_database(c: &Client) -> Result<(), String> {
    let res = c.get("/v1/health")?;
    ensure_eq!(res.status, 200, "status");
    ensure!(
        res.header("content-type").is_some_and(|v| v.starts_with("application/json")),
        "content-type {:?}",
        res.header("content-type")
    );
    let body = res.json()?;
    ensure_eq!(body["status"].as_str(), Some("ok"), "status field");
    ensure_eq!(body["database"].as_str(), Some("ok"), "database field");
    ensure!(body["version"].as_str().is_some_and(|v| !v.is_empty()), "version missing: {body}");
    ensure_eq!(res.header("cache-control"), Some("no-store"), "cache-control");
    Ok(())
}

fn every_response_carries_a_request_id_and_nosniff(c: &Client) -> Result<(), String> {
    for path in ["/v1/health", "/v1/openapi.json", "/v1/does-not-exist", "/"] {
        let res = c.get(path)?;
        ensure!(
            res.header("x-request-id").is_some_and(is_generated_id),
            "{path}: X-Request-Id {:?}",
            res.header("x-request-id")
        );
        ensure_eq!(res.header("x-content-type-options"), Some("nosniff"), format!("{path}: nosniff"));
    }
    let a = c.get("/v1/health")?;
    let b = c.get("/v1/health")?;
    ensure!(a.header("x-request-id") != b.header("x-request-id"), "two requests got the same generated id");
    Ok(())
}

fn a_valid_caller_request_id_is_echoed(c: &Client) -> Result<(), String> {
    let id = "trace-2026.11_21-ABC";
    let res = c.get_with("/v1/health", &[("X-Request-Id", id)])?;
    ensure_eq!(res.header("x-request-id"), Some(id), "echoed id");
    let long = "a".repeat(128);
    let res = c.get_with("/v1/does-not-exist", &[("X-Request-Id", &long)])?;
    ensure_eq!(res.header("x-request-id"), Some(long.as_str()), "128-char id");
    let body = expect_problem(&res, 404, "not-found")?;
    ensure_eq!(body["request_id"].as_str(), Some(long.as_str()), "problem request_id");
    Ok(())
}

fn an_invalid_caller_request_id_is_replaced(c: &Client) -> Result<(), String> {
    let too_long = "b".repeat(129);
    for bad in ["has space", "semi;colon", "ünï", too_long.as_str()] {
        let res = c.get_with("/v1/health", &[("X-Request-Id", bad)])?;
        let got = res.header("x-request-id").unwrap_or_default();
        ensure!(got != bad && is_generated_id(got), "bad id {bad:?} came back as {got:?}");
    }
    Ok(())
}

fn unknown_routes_are_not_found_problems(c: &Client) -> Result<(), String> {
    for path in ["/v1/nothing-here", "/", "/v1", "/v1/health/extra"] {
        expect_problem(&c.get(path)?, 404, "not-found").map_err(|e| format!("{path}: {e}"))?;
    }
    Ok(())
}

fn unknown_api_versions_are_not_found_problems(c: &Client) -> Result<(), String> {
    let body = expect_problem(&c.get("/v2/health")?, 404, "not-found")?;
    let detail = body["detail"].as_str().unwrap_or_default();
    ensure!(detail.contains("v2"), "detail should name the version: {detail:?}");
    Ok(())
}

fn a_wrong_method_is_a_method_not_allowed_problem(c: &Client) -> Result<(), String> {
    let res = c.send("DELETE", "/v1/health", &[], None)?;
    expect_problem(&res, 405, "method-not-allowed")?;
    ensure!(res.header("allow").is_some_and(|a| a.contains("GET")), "Allow header: {:?}", res.header("allow"));
    Ok(())
}

fn openapi_document_is_3_1_and_lists_the_routes(c: &Client) -> Result<(), String> {
    let res = c.get("/v1/openapi.json")?;
    ensure_eq!(res.status, 200, "status");
    let doc = res.json()?;
    ensure!(doc["openapi"].as_str().is_some_and(|v| v.starts_with("3.1")), "openapi version {:?}", doc["openapi"]);
    for path in ["/v1/health", "/v1/openapi.json"] {
        ensure!(doc["paths"][path]["get"].is_object(), "document lacks GET {path}");
    }
    ensure!(doc["components"]["schemas"]["Problem"].is_object(), "document lacks the Problem schema");
    Ok(())
}

fn cors_preflight_from_an_allowed_origin_is_answered(c: &Client) -> Result<(), String> {
    let res = c.send(
        "OPTIONS",
        "/v1/health",
        &[
            ("Origin", TEST_ORIGIN),
            ("Access-Control-Request-Method", "GET"),
            ("Access-Control-Request-Headers", "authorization"),
        ],
        None,
    )?;
    ensure_eq!(res.status, 204, "preflight status");
    ensure_eq!(res.header("access-control-allow-origin"), Some(TEST_ORIGIN), "allow-origin");
    expect_header(&res, "access-control-allow-headers", |h| h.to_ascii_lowercase().contains("authorization"))?;
    expect_header(&res, "access-control-allow-methods", |h| h.contains("PATCH"))?;
    Ok(())
}

fn cors_preflight_from_another_origin_gets_no_grant(c: &Client) -> Result<(), String> {
    let res = c.send(
        "OPTIONS",
        "/v1/health",
        &[("Origin", "https://evil.example.test"), ("Access-Control-Request-Method", "GET")],
        None,
    )?;
    ensure!(
        res.header("access-control-allow-origin").is_none(),
        "granted {:?}",
        res.header("access-control-allow-origin")
    );
    Ok(())
}

fn cors_simple_request_from_an_allowed_origin_is_granted(c: &Client) -> Result<(), String> {
    let res = c.get_with("/v1/health", &[("Origin", TEST_ORIGIN)])?;
    ensure_eq!(res.status, 200, "status");
    ensure_eq!(res.header("access-control-allow-origin"), Some(TEST_ORIGIN), "allow-origin");
    expect_header(&res, "access-control-expose-headers", |h| h.contains("X-Request-Id"))?;
    Ok(())
}
