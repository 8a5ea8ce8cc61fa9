//! Rate-limit enforcement: the client address, the three policies, and the
//! `RateLimit-Policy` / `RateLimit` headers (draft-ietf-httpapi-ratelimit-headers).

use axum::extract::FromRequestParts;
use http::{request::Parts, HeaderMap, HeaderName, HeaderValue};

use super::middleware::LogContext;
use super::state::{AppState, Ctx};
use crate::error::ApiError;
use crate::ratelimit::{Decision, Quota};

pub const RATELIMIT: HeaderName = HeaderName::from_static("ratelimit");
pub const RATELIMIT_POLICY: HeaderName = HeaderName::from_static("ratelimit-policy");
const X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");

/// The client address as the platform saw it (Workers: `CF-Connecting-IP`; Spin:
/// `spin-client-addr`; native: the TCP peer). Hosts insert it into request extensions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlatformClientIp(pub String);

/// The address part of `ip:port` or `[ipv6]:port` (what Spin's `spin-client-addr` holds).
pub fn ip_of_socket_addr(s: &str) -> &str {
    if let Some(rest) = s.strip_prefix('[') {
        return rest.split(']').next().unwrap_or(rest);
    }
    match s.rsplit_once(':') {
        Some((ip, port)) if !ip.contains(':') && port.bytes().all(|b| b.is_ascii_digit()) => ip,
        _ => s,
    }
}

/// The client address used for per-IP limits: the platform's, or, only when configured
/// (`TRUST_FORWARDED_FOR=true`, behind a proxy you run), the last `X-Forwarded-For` entry.
pub fn client_ip(parts: &Parts, trust_forwarded_for: bool) -> String {
    if trust_forwarded_for {
        let last = parts
            .headers
            .get_all(&X_FORWARDED_FOR)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .rfind(|v| !v.is_empty());
        if let Some(ip) = last {
            return ip.to_owned();
        }
    }
    parts.extensions.get::<PlatformClientIp>().map_or_else(|| "unknown".to_owned(), |ip| ip.0.clone())
}

/// The key of a client address for per-IP limits: IPv4 as it is (an IPv4-mapped IPv6
/// address counts as its IPv4 address), IPv6 by its first `prefix` bits, since a /64 is
/// one subscriber's network and 2^64 addresses must not be 2^64 budgets.
pub fn ip_key(ip: &str, prefix: u8) -> String {
    use std::net::{IpAddr, Ipv6Addr};
    match ip.parse::<IpAddr>() {
        Ok(IpAddr::V6(v6)) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let mask = u128::MAX.checked_shl(128u32.saturating_sub(u32::from(prefix))).unwrap_or(0);
                format!("{}/{prefix}", Ipv6Addr::from(u128::from(v6) & mask))
            }
        },
        Ok(IpAddr::V4(v4)) => v4.to_string(),
        Err(_) => ip.to_owned(),
    }
}

/// The per-IP key of the request's client address under `policy`.
pub fn client_key(parts: &Parts, settings: &crate::settings::Settings, policy: &str) -> String {
    let ip = client_ip(parts, settings.trust_forwarded_for);
    format!("{policy}:{}", ip_key(&ip, settings.ipv6_prefix_len))
}

/// What the response's rate-limit headers report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Applied {
    pub policy: &'static str,
    pub quota: Quota,
    pub decision: Decision,
}

fn ceil_secs(ms: i64) -> i64 {
    ms.max(0).saturating_add(999) / 1000
}

/// Writes `RateLimit-Policy` and `RateLimit` for the applied policy.
pub fn write_headers(h: &mut HeaderMap, a: &Applied) {
    let policy = format!("\"{}\";q={};w={}", a.policy, a.quota.limit, ceil_secs(a.quota.window_ms));
    let state = format!("\"{}\";r={};t={}", a.policy, a.decision.remaining, ceil_secs(a.decision.reset_ms));
    if let (Ok(p), Ok(s)) = (HeaderValue::from_str(&policy), HeaderValue::from_str(&state)) {
        h.insert(RATELIMIT_POLICY, p);
        h.insert(RATELIMIT, s);
    }
}

/// How a policy behaves when its store cannot be reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnError {
    /// Serve the request and log the failure.
    FailOpen,
    /// Refuse with 503.
    FailClosed,
}

/// How a policy counts: exactly at the shared store on every request, or from budget the
/// instance leased (high-volume policies; see `ratelimit::lease`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Counting {
    Exact,
    Leased,
}

/// Applies one request to `key` under `quota`.
///
/// # Errors
/// `RateLimited` with a retry time, or `Unavailable` when failing closed.
pub async fn enforce(
    ctx: &Ctx,
    log: Option<&LogContext>,
    policy: &'static str,
    key: &str,
    quota: Quota,
    (counting, on_error): (Counting, OnError),
) -> Result<(), ApiError> {
    let now = ctx.ports.clock.now_ms();
    let limiter = &ctx.ports.limiter;
    let checked = match counting {
        Counting::Exact => limiter.check(key, quota, now, true).await,
        Counting::Leased => limiter.admit(key, quota, now).await,
    };
    match checked.map(|c| c.decision) {
        Ok(decision) => {
            if let Some(log) = log {
                log.set_rate_limit(Applied { policy, quota, decision });
            }
            if decision.allowed {
                Ok(())
            } else {
                Err(ApiError::RateLimited {
                    retry_after_secs: u64::try_from(ceil_secs(decision.retry_after_ms)).unwrap_or(1),
                })
            }
        }
        Err(e) => {
            if let Some(log) = log {
                log.set_limiter_error(&e.to_string());
            }
            match on_error {
                OnError::FailOpen => Ok(()),
                OnError::FailClosed => Err(ApiError::Unavailable(e.to_string())),
            }
        }
    }
}

/// The routes whose handlers take [`AuthIpLimit`]: the only unauthenticated routes that
/// are rate limited (every authenticated route is, per principal). The sign-in routes of
/// the OpenID providers share the budget: each sign-in spends three (authorize,
/// callback, token).
pub const AUTH_IP_PATHS: [&str; 6] = [
    "/v1/auth/register",
    "/v1/auth/login",
    "/v1/auth/refresh",
    "/v1/auth/oidc/{provider}/authorize",
    "/v1/auth/oidc/{provider}/callback",
    "/v1/auth/oidc/token",
];

/// The per-IP limit of register, login and refresh. Login fails closed (a broken limiter
/// must not open the door to password guessing); register and refresh fail open.
#[derive(Debug, Clone, Copy)]
pub struct AuthIpLimit;

impl FromRequestParts<AppState> for AuthIpLimit {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &AppState) -> Result<Self, Self::Rejection> {
        let ctx = Ctx::of(parts)?;
        let Some(limits) = ctx.ports.settings.rate_limits else {
            return Ok(AuthIpLimit);
        };
        let key = client_key(parts, &ctx.ports.settings, "auth-ip");
        let on_error = if parts.uri.path() == "/v1/auth/login" { OnError::FailClosed } else { OnError::FailOpen };
        let log = parts.extensions.get::<LogContext>().cloned();
        enforce(&ctx, log.as_ref(), "auth-ip", &key, limits.auth_ip, (Counting::Exact, on_error)).await?;
        Ok(AuthIpLimit)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(xff: Option<&str>, platform: Option<&str>) -> Parts {
        let mut req = http::Request::builder().uri("/");
        if let Some(x) = xff {
            req = req.header("x-forwarded-for", x);
        }
        let (mut parts, ()) = req.body(()).unwrap().into_parts();
        if let Some(p) = platform {
            parts.extensions.insert(PlatformClientIp(p.to_owned()));
        }
        parts
    }

    #[test]
    fn forwarded_for_is_ignored_unless_trusted() {
        let p = parts(Some("6.6.6.6, 10.0.0.1"), Some("203.0.113.7"));
        assert_eq!(client_ip(&p, false), "203.0.113.7");
        assert_eq!(client_ip(&p, true), "10.0.0.1");
        assert_eq!(client_ip(&parts(None, Some("203.0.113.7")), true), "203.0.113.7");
        assert_eq!(client_ip(&parts(None, None), false), "unknown");
    }

    #[test]
    fn ipv6_clients_are_keyed_by_their_prefix_and_ipv4_by_address() {
        assert_eq!(ip_key("2001:db8:1:2:aaaa::1", 64), "2001:db8:1:2::/64");
        assert_eq!(ip_key("2001:db8:1:2:ffff:ffff:ffff:ffff", 64), "2001:db8:1:2::/64");
        assert_ne!(ip_key("2001:db8:1:3::1", 64), ip_key("2001:db8:1:2::1", 64));
        assert_eq!(ip_key("2001:db8:1:2::1", 48), "2001:db8:1::/48");
        assert_eq!(ip_key("2001:db8::1", 128), "2001:db8::1/128");
        assert_eq!(ip_key("::ffff:203.0.113.7", 64), "203.0.113.7");
        assert_eq!(ip_key("203.0.113.7", 64), "203.0.113.7");
        assert_eq!(ip_key("unknown", 64), "unknown");
    }

    #[test]
    fn socket_addresses_lose_their_port() {
        assert_eq!(ip_of_socket_addr("127.0.0.2:5123"), "127.0.0.2");
        assert_eq!(ip_of_socket_addr("[::1]:80"), "::1");
        assert_eq!(ip_of_socket_addr("::1"), "::1");
        assert_eq!(ip_of_socket_addr("10.0.0.1"), "10.0.0.1");
    }

    #[test]
    fn headers_follow_the_draft_syntax() {
        let mut h = HeaderMap::new();
        let quota = Quota { limit: 300, window_ms: 60_000 };
        let decision = Decision { allowed: true, remaining: 299, reset_ms: 200, retry_after_ms: 0, tat: 0 };
        write_headers(&mut h, &Applied { policy: "principal", quota, decision });
        assert_eq!(h.get(RATELIMIT_POLICY).unwrap(), "\"principal\";q=300;w=60");
        assert_eq!(h.get(RATELIMIT).unwrap(), "\"principal\";r=299;t=1");
    }
}
