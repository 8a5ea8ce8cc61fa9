//! What the hosts under test are configured with, and what the checks need to know of
//! it: fixed test signing keys (test fixtures, not secrets), users, token crafting.

use std::sync::atomic::{AtomicU64, Ordering};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use ed25519_compact::{KeyPair, Seed};
use hmac::{Hmac, Mac};
use serde_json::{json, Value};

use crate::{Client, Resp};

/// Test seeds (base64url of 32 bytes). `current` signs, `previous` is still accepted,
/// `retired` was rotated out and must be refused.
pub const CURRENT_KID: &str = "test-current";
pub const CURRENT_SEED: &str = "ptpgV3FWygTocbN6BpOrOtQcUXaW2Vzef-Zuf0U3rqo";
pub const PREVIOUS_KID: &str = "test-previous";
pub const PREVIOUS_SEED: &str = "4ctxkU6DmiggF_9VB1QDhetBwk1o20Lmd5ugsgxddgA";
pub const RETIRED_KID: &str = "test-retired";
pub const RETIRED_SEED: &str = "esHk8zDGXP3lzDab4sCXp9-6QEPLIm_6MlMMkZQAxZ4";
pub const ISSUER: &str = "taskapi";
pub const AUDIENCE: &str = "taskapi";

pub fn keypair(seed: &str) -> KeyPair {
    let bytes = URL_SAFE_NO_PAD.decode(seed).unwrap_or_default();
    let mut arr = [0u8; 32];
    for (a, b) in arr.iter_mut().zip(bytes) {
        *a = b;
    }
    KeyPair::from_seed(Seed::new(arr))
}

/// The configuration every host under test gets (upper-case names; Spin lower-cases them).
pub fn host_config() -> Vec<(&'static str, String)> {
    let previous_pk = URL_SAFE_NO_PAD.encode(keypair(PREVIOUS_SEED).pk.as_ref());
    vec![
        ("ENVIRONMENT", "development".to_owned()),
        ("CORS_ALLOWED_ORIGINS", crate::TEST_ORIGIN.to_owned()),
        ("JWT_SIGNING_KEY", format!("{CURRENT_KID}:{CURRENT_SEED}")),
        ("JWT_PREVIOUS_KEYS", format!("{PREVIOUS_KID}:{previous_pk}")),
        // The main suite registers and logs in many users from one address; its limits
        // are raised (but enforced, so the limiter runs on every request).
        ("RATE_LIMIT_AUTH_IP", "100000/60".to_owned()),
        ("RATE_LIMIT_LOGIN_FAILURES", "100000/60".to_owned()),
        ("RATE_LIMIT_PRINCIPAL", "100000/60".to_owned()),
        ("RATE_LIMIT_AUTH_FAILURES", "100000/60".to_owned()),
        // X-Fault-Inject (panics, failing statements) for the fault checks.
        ("FAULT_INJECTION", "true".to_owned()),
    ]
}

/// The test OpenID provider as the hosts know it (tests/oidc/provider.mjs is started with
/// the same client id and secret, and each host's callback as a redirect URI).
pub const OIDC_PROVIDER: &str = "test";
pub const OIDC_CLIENT_ID: &str = "taskapi-test";
/// A test fixture, not a secret.
pub const OIDC_CLIENT_SECRET: &str = "conformance-client-secret";
/// The app URIs a sign-in may come back to. Nothing listens there: the checks read the
/// redirect's `Location` instead of following it.
pub const OIDC_APP_URI: &str = "http://127.0.0.1:9/app/signed-in";
pub const OIDC_LINK_URI: &str = "http://127.0.0.1:9/app/settings?tab=identities";
/// The provider's password of every user.
pub const OIDC_PASSWORD: &str = "provider-password";

/// The provider settings of a host at `public_base_url` signing in with `issuer`.
pub fn oidc_config(issuer: &str, public_base_url: &str) -> Vec<(&'static str, String)> {
    let providers = json!([{
        "id": OIDC_PROVIDER,
        "name": "Test provider",
        "issuer": issuer,
        "client_id": OIDC_CLIENT_ID,
        "redirect_uris": [OIDC_APP_URI, OIDC_LINK_URI],
    }]);
    vec![
        ("OIDC_PROVIDERS", providers.to_string()),
        ("OIDC_CLIENT_SECRETS", json!({ OIDC_PROVIDER: OIDC_CLIENT_SECRET }).to_string()),
        ("PUBLIC_BASE_URL", public_base_url.to_owned()),
    ]
}

/// The callback a host at `public_base_url` registers at the provider.
pub fn oidc_callback(public_base_url: &str) -> String {
    format!("{}/v1/auth/oidc/{OIDC_PROVIDER}/callback", public_base_url.trim_end_matches('/'))
}

/// Limits of the host instance that runs the `ratelimit_` checks: small, with short
/// windows so that a reset can be waited for.
pub const LIMITED_AUTH_IP: (u32, u64) = (4, 3);
pub const LIMITED_LOGIN_FAILURES: (u32, u64) = (3, 6);
pub const LIMITED_PRINCIPAL: (u32, u64) = (5, 3);
pub const LIMITED_AUTH_FAILURES: (u32, u64) = (4, 3);

/// The configuration of the rate-limited instance.
pub fn limited_host_config() -> Vec<(&'static str, String)> {
    let mut c: Vec<(&'static str, String)> =
        host_config().into_iter().filter(|(k, _)| !k.starts_with("RATE_LIMIT")).collect();
    c.push(("RATE_LIMIT_AUTH_IP", format!("{}/{}", LIMITED_AUTH_IP.0, LIMITED_AUTH_IP.1)));
    c.push(("RATE_LIMIT_LOGIN_FAILURES", format!("{}/{}", LIMITED_LOGIN_FAILURES.0, LIMITED_LOGIN_FAILURES.1)));
    c.push(("RATE_LIMIT_PRINCIPAL", format!("{}/{}", LIMITED_PRINCIPAL.0, LIMITED_PRINCIPAL.1)));
    c.push(("RATE_LIMIT_AUTH_FAILURES", format!("{}/{}", LIMITED_AUTH_FAILURES.0, LIMITED_AUTH_FAILURES.1)));
    // Behind a proxy the client is the last X-Forwarded-For entry: lets the checks speak
    // from IPv6 addresses (requests without the header use the TCP peer, as before).
    c.push(("TRUST_FORWARDED_FOR", "true".to_owned()));
    c
}

pub fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// A JWT with the given header and claims, signed with Ed25519 by `seed`.
pub fn sign_eddsa(header: &Value, claims: &Value, seed: &str) -> String {
    let signing_input = format!("{}.{}", b64(header.to_string().as_bytes()), b64(claims.to_string().as_bytes()));
    let sig = keypair(seed).sk.sign(signing_input.as_bytes(), None);
    format!("{signing_input}.{}", b64(sig.as_ref()))
}

/// A JWT signed with HMAC-SHA256 under `key` (an algorithm-confusion attempt).
pub fn sign_hs256(header: &Value, claims: &Value, key: &[u8]) -> String {
    let signing_input = format!("{}.{}", b64(header.to_string().as_bytes()), b64(claims.to_string().as_bytes()));
    let mut mac = match Hmac::<sha2::Sha256>::new_from_slice(key) {
        Ok(m) => m,
        Err(_) => return signing_input,
    };
    mac.update(signing_input.as_bytes());
    format!("{signing_input}.{}", b64(&mac.finalize().into_bytes()))
}

pub fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(0))
        .unwrap_or(0)
}

/// Valid access-token claims for `sub`, to be varied by the attack checks.
pub fn claims(sub: &str) -> Value {
    let now = now_secs();
    json!({"sub": sub, "sid": "00000000-0000-7000-8000-000000000000", "iss": ISSUER, "aud": AUDIENCE,
           "token_use": "access", "iat": now, "nbf": now, "exp": now + 600})
}

pub fn header(kid: &str) -> Value {
    json!({"alg": "EdDSA", "typ": "JWT", "kid": kid})
}

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// A fresh, unique email for this run.
pub fn unique_email(tag: &str) -> String {
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let t = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
    format!("{tag}.{t:x}.{n}@example.test")
}

pub const PASSWORD: &str = "correct horse battery staple";

/// A registered user with its first session.
#[derive(Debug, Clone)]
pub struct Account {
    pub id: String,
    pub email: String,
    pub password: String,
    pub access: String,
    pub refresh: String,
}

impl Account {
    pub fn bearer(&self) -> String {
        format!("Bearer {}", self.access)
    }
}

pub fn json_headers() -> [(&'static str, &'static str); 1] {
    [("Content-Type", "application/json")]
}

impl Client {
    /// POST a JSON body, optionally with a bearer token.
    ///
    /// # Errors
    /// Transport failures.
    pub fn post_json(&self, path: &str, body: &Value, bearer: Option<&str>) -> Result<Resp, String> {
        self.json("POST", path, body, bearer)
    }

    /// Sends a JSON body with any method.
    ///
    /// # Errors
    /// Transport failures.
    pub fn json(&self, method: &str, path: &str, body: &Value, bearer: Option<&str>) -> Result<Resp, String> {
        self.json_with(method, path, body, bearer, &[])
    }

    /// Sends a JSON body with any method and extra headers.
    ///
    /// # Errors
    /// Transport failures.
    pub fn json_with(
        &self,
        method: &str,
        path: &str,
        body: &Value,
        bearer: Option<&str>,
        extra: &[(&str, &str)],
    ) -> Result<Resp, String> {
        let b = body.to_string();
        let mut headers = vec![("Content-Type", "application/json")];
        if let Some(t) = bearer {
            headers.push(("Authorization", t));
        }
        headers.extend_from_slice(extra);
        self.send(method, path, &headers, Some(b.as_bytes()))
    }

    /// Sends a request with only a bearer token.
    ///
    /// # Errors
    /// Transport failures.
    pub fn authed(&self, method: &str, path: &str, bearer: &str) -> Result<Resp, String> {
        self.send(method, path, &[("Authorization", bearer)], None)
    }

    /// Registers a fresh account.
    ///
    /// # Errors
    /// When registration does not answer 201 with tokens.
    pub fn register(&self, tag: &str) -> Result<Account, String> {
        self.register_from(None, tag)
    }

    /// Registers a fresh account, from source address `from` when given (rate-limit checks
    /// keep each client's budget to itself).
    ///
    /// # Errors
    /// When registration does not answer 201 with tokens.
    pub fn register_from(&self, from: Option<std::net::Ipv4Addr>, tag: &str) -> Result<Account, String> {
        let email = unique_email(tag);
        let body = json!({"email": email, "password": PASSWORD, "name": format!("User {tag}")}).to_string();
        let res = match from {
            Some(ip) => self.send_from(
                ip,
                "POST",
                "/v1/auth/register",
                &[("Content-Type", "application/json")],
                Some(body.as_bytes()),
            )?,
            None => {
                self.send("POST", "/v1/auth/register", &[("Content-Type", "application/json")], Some(body.as_bytes()))?
            }
        };
        if res.status != 201 {
            return Err(format!("register: expected 201, got {}: {}", res.status, res.text()));
        }
        let body = res.json()?;
        Ok(Account {
            id: body["user"]["id"].as_str().unwrap_or_default().to_owned(),
            email,
            password: PASSWORD.to_owned(),
            access: body["access_token"].as_str().unwrap_or_default().to_owned(),
            refresh: body["refresh_token"].as_str().unwrap_or_default().to_owned(),
        })
    }

    /// Logs in and returns (access, refresh).
    ///
    /// # Errors
    /// When login does not answer 200.
    pub fn login(&self, email: &str, password: &str) -> Result<(String, String), String> {
        let res = self.post_json("/v1/auth/login", &json!({"email": email, "password": password}), None)?;
        if res.status != 200 {
            return Err(format!("login: expected 200, got {}: {}", res.status, res.text()));
        }
        let body = res.json()?;
        Ok((
            body["access_token"].as_str().unwrap_or_default().to_owned(),
            body["refresh_token"].as_str().unwrap_or_default().to_owned(),
        ))
    }

    /// Exchanges a refresh token; returns the response.
    ///
    /// # Errors
    /// Transport failures.
    pub fn refresh(&self, token: &str) -> Result<Resp, String> {
        self.post_json("/v1/auth/refresh", &json!({"refresh_token": token}), None)
    }
}
