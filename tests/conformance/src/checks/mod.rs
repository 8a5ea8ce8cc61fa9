//! The checks, grouped by area of the contract.

mod auth;
mod cookies;
mod faults;
mod hardening;
mod oidc;
mod operations;
pub mod projects;
mod ratelimit;
mod reliability;
mod replicas;
mod tasks;
pub mod tracing;

use crate::{Entry, Resp};

pub fn all() -> Vec<Entry> {
    let areas: [fn() -> Vec<Entry>; 12] = [
        operations::checks,
        auth::checks,
        projects::checks,
        tasks::checks,
        reliability::checks,
        replicas::checks,
        faults::checks,
        hardening::checks,
        tracing::checks,
        cookies::checks,
        oidc::checks,
        ratelimit::checks,
    ];
    areas.into_iter().flat_map(|checks| checks()).collect()
}

/// Asserts that `res` is an RFC 9457 problem of the given slug and status whose
/// `request_id` matches the `X-Request-Id` header; returns the body.
pub fn expect_problem(res: &Resp, status: u16, slug: &str) -> Result<serde_json::Value, String> {
    if res.status != status {
        return Err(format!("expected status {status}, got {}: {}", res.status, res.text()));
    }
    let ct = res.header("content-type").unwrap_or_default();
    if !ct.starts_with("application/problem+json") {
        return Err(format!("expected application/problem+json, got {ct:?}"));
    }
    let body = res.json()?;
    let ty = body["type"].as_str().unwrap_or_default();
    if !ty.ends_with(&format!("/problems/{slug}")) {
        return Err(format!("expected problem type …/problems/{slug}, got {ty:?}"));
    }
    if body["status"].as_u64() != Some(u64::from(status)) {
        return Err(format!("problem status field is {:?}", body["status"]));
    }
    for field in ["title", "detail", "request_id"] {
        if body[field].as_str().is_none_or(str::is_empty) {
            return Err(format!("problem lacks `{field}`: {body}"));
        }
    }
    if body["request_id"].as_str() != res.header("x-request-id") {
        return Err(format!(
            "problem request_id {:?} differs from X-Request-Id {:?}",
            body["request_id"],
            res.header("x-request-id")
        ));
    }
    Ok(body)
}

/// `method path` with the bearer credential `who` is refused with the problem `slug` and
/// `status`; returns the problem body.
pub fn refused(
    c: &crate::Client,
    method: &str,
    path: &str,
    who: &str,
    status: u16,
    slug: &str,
) -> Result<serde_json::Value, String> {
    expect_problem(&c.authed(method, path, who)?, status, slug).map_err(|e| format!("{method} {path}: {e}"))
}
