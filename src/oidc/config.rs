//! The operator's OpenID providers: `OIDC_PROVIDERS` (JSON, a plain variable), their
//! client secrets in `OIDC_CLIENT_SECRETS` (JSON object by provider id, a secret), and
//! `PUBLIC_BASE_URL`, from which each provider's callback URL is built.

use std::fmt;

use serde::Deserialize;

use crate::settings::SettingsError;

/// One configured provider.
#[derive(Clone, PartialEq, Eq)]
pub struct ProviderConfig {
    /// The path segment naming it (`google`): 1–32 of `a-z 0-9 -`.
    pub id: String,
    /// Shown to people (`Google`).
    pub name: String,
    /// The issuer identifier; discovery is `{issuer}/.well-known/openid-configuration`.
    pub issuer: String,
    pub client_id: String,
    pub client_secret: String,
    /// Requested scopes; always includes `openid`.
    pub scopes: Vec<String>,
    /// The app URIs a sign-in may return to, compared exactly.
    pub redirect_uris: Vec<String>,
    /// This API's callback registered at the provider: `{PUBLIC_BASE_URL}/v1/auth/oidc/{id}/callback`.
    pub callback_url: String,
}

impl fmt::Debug for ProviderConfig {
    // The client secret never reaches a log line or an error message.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProviderConfig")
            .field("id", &self.id)
            .field("issuer", &self.issuer)
            .field("client_id", &self.client_id)
            .field("client_secret", &"[redacted]")
            .field("scopes", &self.scopes)
            .field("redirect_uris", &self.redirect_uris)
            .finish()
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawProvider {
    id: String,
    name: String,
    issuer: String,
    client_id: String,
    #[serde(default)]
    scopes: Option<Vec<String>>,
    redirect_uris: Vec<String>,
}

/// Whether `host` is a loopback name or address, where plain `http` is allowed (local
/// development and tests); everything else must use `https`.
fn loopback(host: &str) -> bool {
    host == "localhost" || host.starts_with("127.") || host == "[::1]"
}

/// Checks an absolute `http(s)` URL: https (or http on loopback), a host, no fragment,
/// no user info. Returns it unchanged.
///
/// # Errors
/// Why it is not acceptable, naming `what`.
pub fn check_url(what: &str, url: &str) -> Result<(), SettingsError> {
    let bad = |why: &str| Err(SettingsError(format!("{what} `{url}` {why}")));
    let Some((scheme, rest)) = url.split_once("://") else { return bad("is not an absolute URL") };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host = if authority.starts_with('[') {
        authority.split_inclusive(']').next().unwrap_or_default()
    } else {
        authority.rsplit_once(':').map_or(authority, |(h, _)| h)
    };
    if authority.is_empty() || host.is_empty() {
        return bad("has no host");
    }
    if authority.contains('@') {
        return bad("must not carry user information");
    }
    if url.contains('#') {
        return bad("must not have a fragment");
    }
    if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return bad("must not contain spaces or control characters");
    }
    match scheme {
        "https" => Ok(()),
        "http" if loopback(host) => Ok(()),
        _ => bad("must use https (http only on a loopback host)"),
    }
}

/// Longest provider id.
pub const PROVIDER_ID_MAX: usize = 32;
/// What a provider id may be (the configuration refuses others).
pub const PROVIDER_ID_PATTERN: &str = "^[a-z0-9-]{1,32}$";

fn valid_id(id: &str) -> bool {
    (1..=PROVIDER_ID_MAX).contains(&id.len())
        && id.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// The providers of `providers_json` with their secrets from `secrets_json`.
///
/// # Errors
/// A setting that is malformed, a provider without its secret, or a secret of no provider.
pub fn parse(
    providers_json: Option<&str>,
    secrets_json: Option<&str>,
    public_base_url: Option<&str>,
) -> Result<Vec<ProviderConfig>, SettingsError> {
    let Some(json) = providers_json else {
        return Ok(Vec::new());
    };
    let raw: Vec<RawProvider> = serde_json::from_str(json).map_err(|e| {
        SettingsError(format!(
            "OIDC_PROVIDERS must be a JSON array of {{id, name, issuer, client_id, scopes?, redirect_uris}}: {e}"
        ))
    })?;
    if raw.is_empty() {
        return Ok(Vec::new());
    }
    // Only the parse error's position is reported: the text is a secret.
    let secrets: std::collections::BTreeMap<String, String> = match secrets_json {
        Some(s) => serde_json::from_str(s).map_err(|e| {
            SettingsError(format!(
                "OIDC_CLIENT_SECRETS must be a JSON object of client secrets by provider id (line {}, column {})",
                e.line(),
                e.column()
            ))
        })?,
        None => Default::default(),
    };
    let base = public_base_url.ok_or_else(|| {
        SettingsError("PUBLIC_BASE_URL is required with OIDC_PROVIDERS (the provider callbacks live under it)".into())
    })?;
    check_url("PUBLIC_BASE_URL", base)?;
    if base.contains('?') {
        return Err(SettingsError("PUBLIC_BASE_URL must not have a query".to_owned()));
    }
    let base = base.trim_end_matches('/');
    let mut out: Vec<ProviderConfig> = Vec::with_capacity(raw.len());
    for p in raw {
        if !valid_id(&p.id) {
            return Err(SettingsError(format!("OIDC_PROVIDERS: id `{}` must be 1–32 of a-z, 0-9 and -", p.id)));
        }
        if out.iter().any(|o| o.id == p.id) {
            return Err(SettingsError(format!("OIDC_PROVIDERS: id `{}` appears twice", p.id)));
        }
        let what = |field: &str| format!("OIDC_PROVIDERS[{}].{field}", p.id);
        if p.name.trim().is_empty() || p.name.chars().count() > 100 {
            return Err(SettingsError(format!("{} must be 1–100 characters", what("name"))));
        }
        check_url(&what("issuer"), &p.issuer)?;
        if p.issuer.contains('?') {
            return Err(SettingsError(format!("{} must not have a query", what("issuer"))));
        }
        if p.client_id.trim().is_empty() {
            return Err(SettingsError(format!("{} is empty", what("client_id"))));
        }
        if p.redirect_uris.is_empty() {
            return Err(SettingsError(format!("{} needs at least one app URI", what("redirect_uris"))));
        }
        for uri in &p.redirect_uris {
            check_url(&what("redirect_uris"), uri)?;
        }
        let mut scopes = p.scopes.unwrap_or_else(|| vec!["openid".into(), "email".into(), "profile".into()]);
        if scopes.iter().any(|s| s.is_empty() || !s.bytes().all(|b| b.is_ascii_graphic() && b != b'"' && b != b'\\')) {
            return Err(SettingsError(format!("{} must be scope tokens (RFC 6749 §3.3)", what("scopes"))));
        }
        if !scopes.iter().any(|s| s == "openid") {
            scopes.insert(0, "openid".to_owned());
        }
        let client_secret = secrets
            .get(&p.id)
            .filter(|s| !s.is_empty())
            .cloned()
            .ok_or_else(|| SettingsError(format!("OIDC_CLIENT_SECRETS has no secret for provider `{}`", p.id)))?;
        out.push(ProviderConfig {
            callback_url: format!("{base}/v1/auth/oidc/{}/callback", p.id),
            id: p.id,
            name: p.name,
            issuer: p.issuer.trim_end_matches('/').to_owned(),
            client_id: p.client_id,
            client_secret,
            scopes,
            redirect_uris: p.redirect_uris,
        });
    }
    if let Some(extra) = secrets.keys().find(|k| !out.iter().any(|p| &&p.id == k)) {
        return Err(SettingsError(format!("OIDC_CLIENT_SECRETS names `{extra}`, which OIDC_PROVIDERS does not")));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ONE: &str = r#"[{"id":"test","name":"Test","issuer":"http://127.0.0.1:9400","client_id":"c",
        "redirect_uris":["http://127.0.0.1:5173/signed-in"]}]"#;

    #[test]
    fn a_provider_gets_its_secret_default_scopes_and_callback() {
        let p = parse(Some(ONE), Some(r#"{"test":"s3cret"}"#), Some("http://127.0.0.1:8787/")).unwrap_or_default();
        assert_eq!(p.len(), 1);
        let p = &p[0];
        assert_eq!(p.client_secret, "s3cret");
        assert_eq!(p.scopes, ["openid", "email", "profile"]);
        assert_eq!(p.callback_url, "http://127.0.0.1:8787/v1/auth/oidc/test/callback");
        assert!(!format!("{p:?}").contains("s3cret"), "the secret stays out of Debug");
    }

    #[test]
    fn bad_configurations_are_refused_with_a_reason_that_never_shows_a_secret() {
        let base = Some("https://api.example.com");
        let secret = Some(r#"{"test":"s3cret"}"#);
        for (providers, secrets, base, expect) in [
            (ONE.to_owned(), None, base, "no secret for provider `test`"),
            (ONE.to_owned(), Some(r#"{"test":"s3cret","other":"x"}"#), base, "names `other`"),
            (ONE.to_owned(), Some("{not json s3cret"), base, "line 1"),
            (ONE.to_owned(), secret, None, "PUBLIC_BASE_URL is required"),
            (ONE.to_owned(), secret, Some("http://api.example.com"), "must use https"),
            (ONE.replace("127.0.0.1:9400", "idp.example.com"), secret, base, "issuer"),
            (ONE.replace("\"test\"", "\"Te st\""), secret, base, "must be 1–32"),
            (ONE.replace("signed-in", "signed-in#frag"), secret, base, "fragment"),
            (ONE.replace("http://127.0.0.1:5173", "javascript:alert(1)//"), secret, base, "absolute URL"),
        ] {
            let err = parse(Some(&providers), secrets, base).err().map(|e| e.0).unwrap_or_default();
            assert!(err.contains(expect), "{providers} / {base:?}: {err}");
            assert!(!err.contains("s3cret"), "{err}");
        }
    }

    #[test]
    fn no_providers_is_no_configuration() {
        assert_eq!(parse(None, None, None).map(|p| p.len()).ok(), Some(0));
        assert_eq!(parse(Some("[]"), None, None).map(|p| p.len()).ok(), Some(0));
    }
}
