//! Browser sessions in cookies: with `"session": "cookie"`, the refresh token travels in
//! the `__Host-refresh` cookie (HttpOnly, Secure, SameSite=Strict, Path=/) instead of the
//! response body, out of reach of the page's scripts.

/// The cookie's name; the `__Host-` prefix makes browsers insist on `Secure`, `Path=/`
/// and no `Domain` (RFC 6265bis 4.1.3.2).
pub const REFRESH_COOKIE: &str = "__Host-refresh";

/// The `Set-Cookie` value carrying a refresh token for `max_age_secs`.
pub fn set_refresh(token: &str, max_age_secs: i64) -> String {
    format!("{REFRESH_COOKIE}={token}; Max-Age={}; Path=/; Secure; HttpOnly; SameSite=Strict", max_age_secs.max(0))
}

/// The `Set-Cookie` value that removes the cookie.
pub fn clear_refresh() -> String {
    format!("{REFRESH_COOKIE}=; Max-Age=0; Path=/; Secure; HttpOnly; SameSite=Strict")
}

/// The refresh token in a request's `Cookie` header(s), if any.
pub fn refresh_from<'a>(cookie_headers: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    cookie_headers
        .flat_map(|h| h.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(name, _)| *name == REFRESH_COOKIE)
        .map(|(_, v)| v.trim_matches('"'))
        .filter(|v| !v.is_empty())
}

/// How the session of a sign-in is handed to the client.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum SessionMode {
    /// The refresh token in the response body.
    Token,
    /// The refresh token in the `__Host-refresh` cookie (HttpOnly), not in the body.
    Cookie,
}

impl SessionMode {
    pub fn as_str(self) -> &'static str {
        match self {
            SessionMode::Token => "token",
            SessionMode::Cookie => "cookie",
        }
    }

    /// The stored form back.
    pub fn parse(s: &str) -> Option<SessionMode> {
        match s {
            "token" => Some(SessionMode::Token),
            "cookie" => Some(SessionMode::Cookie),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cookie_is_host_only_http_only_strict_and_found_among_others() {
        let c = set_refresh("rt_abc", 604_800);
        assert_eq!(c, "__Host-refresh=rt_abc; Max-Age=604800; Path=/; Secure; HttpOnly; SameSite=Strict");
        assert!(clear_refresh().contains("Max-Age=0"));
        let headers = ["theme=dark; __Host-refresh=rt_xyz", "other=1"];
        assert_eq!(refresh_from(headers.iter().copied()), Some("rt_xyz"));
        assert_eq!(refresh_from(["refresh=rt_no; x__Host-refresh=rt_no"].iter().copied()), None);
        assert_eq!(refresh_from(["__Host-refresh="].iter().copied()), None);
    }
}
