//! The OpenID Connect relying party, on the `openidconnect` crate (its own HTTP client
//! left out: calls go through the host's [`HttpClient`] port). Per provider, the
//! discovery document and key set are cached for [`METADATA_TTL_MS`] by the instance and
//! in the host's shared cache (Spin's key-value store, for instances that live one
//! request); an ID token whose `kid` is not in the cached set makes one key-set refresh.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreIdToken, CoreJsonWebKeySet, CoreJwsSigningAlgorithm, CoreProviderMetadata,
};
use openidconnect::{
    AsyncHttpClient, AuthorizationCode, ClaimsVerificationError, ClientId, ClientSecret, CsrfToken, HttpRequest,
    HttpResponse, IssuerUrl, Nonce, OAuth2TokenResponse, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, Scope,
    SignatureVerificationError, TokenResponse,
};

use super::config::ProviderConfig;
use crate::ports::{HttpClient, HttpError, Ports};

/// How long an instance keeps a provider's discovery document and key set.
pub const METADATA_TTL_MS: i64 = 60 * 60 * 1000;

/// The signature algorithms an ID token may use: asymmetric only, chosen here and never
/// by the token's header (no `none`, no HMAC, so a public key can never be a MAC key).
const ALLOWED_ALGS: [CoreJwsSigningAlgorithm; 9] = [
    CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
    CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha384,
    CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha512,
    CoreJwsSigningAlgorithm::RsaSsaPssSha256,
    CoreJwsSigningAlgorithm::RsaSsaPssSha384,
    CoreJwsSigningAlgorithm::RsaSsaPssSha512,
    CoreJwsSigningAlgorithm::EcdsaP256Sha256,
    CoreJwsSigningAlgorithm::EcdsaP384Sha384,
    CoreJwsSigningAlgorithm::EdDsa,
];

/// Why a sign-in with the provider failed. The variants are what the app is told (as the
/// `error` of its redirect) and the log line's `refusal`; none carries a token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OidcError {
    /// Discovery, the key set or the token endpoint could not be reached or answered
    /// nonsense (`temporarily_unavailable`).
    Unavailable(String),
    /// The token endpoint refused the code (`invalid_grant`: reused, expired, wrong PKCE
    /// verifier) or the client (`invalid_client`).
    TokenRefused(String),
    /// The ID token failed a check (`invalid_id_token`): signature, algorithm, issuer,
    /// audience, authorized party, expiry, issue time or nonce.
    InvalidIdToken(String),
    /// The ID token has no usable email, which an account needs (`email_missing`).
    EmailMissing,
}

impl OidcError {
    /// The `error` value the app's redirect carries.
    pub fn code(&self) -> &'static str {
        match self {
            OidcError::Unavailable(_) => "temporarily_unavailable",
            OidcError::TokenRefused(_) => "invalid_grant",
            OidcError::InvalidIdToken(_) => "invalid_id_token",
            OidcError::EmailMissing => "email_missing",
        }
    }

    /// The reason, for the log (never a token or a secret).
    pub fn reason(&self) -> String {
        match self {
            OidcError::Unavailable(r) | OidcError::TokenRefused(r) | OidcError::InvalidIdToken(r) => r.clone(),
            OidcError::EmailMissing => "the ID token carries no email".to_owned(),
        }
    }
}

/// What a verified ID token says about the person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claims {
    pub issuer: String,
    pub subject: String,
    pub email: String,
    pub email_verified: bool,
    /// The `name` claim, or the email's local part.
    pub name: String,
}

/// The host's HTTP client as openidconnect's.
struct Outbound<'a>(&'a dyn HttpClient);

impl<'c> AsyncHttpClient<'c> for Outbound<'_> {
    type Error = HttpError;
    type Future = Pin<Box<dyn Future<Output = Result<HttpResponse, HttpError>> + Send + 'c>>;

    fn call(&'c self, request: HttpRequest) -> Self::Future {
        self.0.send(request)
    }
}

struct Cached {
    metadata: CoreProviderMetadata,
    fetched_at: i64,
}

/// What the shared cache keeps of a provider (the key set apart: the metadata's own
/// serialization leaves it out).
#[derive(serde::Serialize, serde::Deserialize)]
struct Shared {
    issuer: String,
    fetched_at: i64,
    metadata: CoreProviderMetadata,
    keys: CoreJsonWebKeySet,
}

fn shared_key(p: &ProviderConfig) -> String {
    format!("oidc-metadata:{}", p.id)
}

/// The configured providers and what the instance has learnt about them.
pub struct Providers {
    configs: Vec<ProviderConfig>,
    cache: Mutex<HashMap<String, Arc<Cached>>>,
}

fn now_utc(ms: i64) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp_millis(ms).unwrap_or_default()
}

impl Providers {
    pub fn new(configs: Vec<ProviderConfig>) -> Self {
        Self { configs, cache: Mutex::new(HashMap::new()) }
    }

    pub fn all(&self) -> &[ProviderConfig] {
        &self.configs
    }

    pub fn get(&self, id: &str) -> Option<&ProviderConfig> {
        self.configs.iter().find(|p| p.id == id)
    }

    /// The provider's discovery document and key set: from this instance's memory, else
    /// from the host's shared cache, else fetched (two calls) and kept in both.
    async fn metadata(&self, ports: &Ports, p: &ProviderConfig) -> Result<Arc<Cached>, OidcError> {
        let now = ports.clock.now_ms();
        let fresh = |c: &Cached| now.saturating_sub(c.fetched_at) < METADATA_TTL_MS && c.fetched_at <= now;
        let cached = self.cache.lock().ok().and_then(|c| c.get(&p.id).cloned());
        if let Some(c) = cached.filter(|c| fresh(c)) {
            return Ok(c);
        }
        let key = shared_key(p);
        let shared = ports.cache.get(&key).await.and_then(|bytes| serde_json::from_slice::<Shared>(&bytes).ok());
        if let Some(s) = shared.filter(|s| s.issuer == p.issuer) {
            let c = Cached { metadata: s.metadata.set_jwks(s.keys), fetched_at: s.fetched_at };
            if fresh(&c) {
                return Ok(self.keep_local(p, c));
            }
        }
        let issuer = IssuerUrl::new(p.issuer.clone()).map_err(|e| OidcError::Unavailable(format!("issuer: {e}")))?;
        let metadata = CoreProviderMetadata::discover_async(issuer, &Outbound(ports.http.as_ref()))
            .await
            .map_err(|e| OidcError::Unavailable(format!("discovery of {}: {}", p.issuer, error_chain(&e))))?;
        Ok(self.keep(ports, p, metadata, now).await)
    }

    fn keep_local(&self, p: &ProviderConfig, cached: Cached) -> Arc<Cached> {
        let fresh = Arc::new(cached);
        if let Ok(mut c) = self.cache.lock() {
            c.insert(p.id.clone(), fresh.clone());
        }
        fresh
    }

    async fn keep(&self, ports: &Ports, p: &ProviderConfig, metadata: CoreProviderMetadata, now: i64) -> Arc<Cached> {
        let shared = Shared {
            issuer: p.issuer.clone(),
            fetched_at: now,
            keys: metadata.jwks().clone(),
            metadata: metadata.clone(),
        };
        if let Ok(bytes) = serde_json::to_vec(&shared) {
            ports.cache.put(&shared_key(p), bytes).await;
        }
        self.keep_local(p, Cached { metadata, fetched_at: now })
    }

    /// The provider's key set fetched again (an ID token named a key the cached set lacks).
    async fn refresh_keys(&self, ports: &Ports, p: &ProviderConfig, old: &Cached) -> Result<Arc<Cached>, OidcError> {
        let keys = CoreJsonWebKeySet::fetch_async(old.metadata.jwks_uri(), &Outbound(ports.http.as_ref()))
            .await
            .map_err(|e| OidcError::Unavailable(format!("key set of {}: {}", p.issuer, error_chain(&e))))?;
        Ok(self.keep(ports, p, old.metadata.clone().set_jwks(keys), ports.clock.now_ms()).await)
    }

    /// Where to send the browser: the provider's authorization endpoint with `state`, the
    /// binding's `nonce` and the PKCE S256 challenge of its verifier.
    ///
    /// # Errors
    /// `Unavailable` when discovery fails.
    pub async fn authorization_url(
        &self,
        ports: &Ports,
        p: &ProviderConfig,
        state: &str,
        binding: Binding<'_>,
    ) -> Result<String, OidcError> {
        let cached = self.metadata(ports, p).await?;
        let client = client(p, &cached.metadata)?;
        let verifier = PkceCodeVerifier::new(binding.code_verifier.to_owned());
        let challenge = PkceCodeChallenge::from_code_verifier_sha256(&verifier);
        let (state, nonce) = (state.to_owned(), binding.nonce.to_owned());
        let mut request = client
            .authorize_url(
                CoreAuthenticationFlow::AuthorizationCode,
                move || CsrfToken::new(state),
                move || Nonce::new(nonce),
            )
            .set_pkce_challenge(challenge);
        for s in p.scopes.iter().filter(|s| *s != "openid") {
            request = request.add_scope(Scope::new(s.clone()));
        }
        Ok(request.url().0.to_string())
    }

    /// Exchanges the provider's code (with the binding's PKCE verifier) and verifies the ID
    /// token it returns (its `nonce` must be the binding's): one call to the token
    /// endpoint, plus one to the key set when the token names an unknown key.
    ///
    /// # Errors
    /// `TokenRefused`, `InvalidIdToken`, `EmailMissing`, or `Unavailable`.
    pub async fn exchange(
        &self,
        ports: &Ports,
        p: &ProviderConfig,
        code: &str,
        binding: Binding<'_>,
    ) -> Result<Claims, OidcError> {
        let cached = self.metadata(ports, p).await?;
        let http = Outbound(ports.http.as_ref());
        let response = client(p, &cached.metadata)?
            .exchange_code(AuthorizationCode::new(code.to_owned()))
            .map_err(|e| OidcError::Unavailable(format!("token endpoint: {e}")))?
            .set_pkce_verifier(PkceCodeVerifier::new(binding.code_verifier.to_owned()))
            .request_async(&http)
            .await
            .map_err(|e| match e {
                openidconnect::RequestTokenError::ServerResponse(r) => {
                    OidcError::TokenRefused(format!("token endpoint answered `{}`", r.error()))
                }
                other => OidcError::Unavailable(format!("token endpoint: {}", error_chain(&other))),
            })?;
        // The access token is not used: the ID token says who signed in.
        let _ = response.access_token();
        let id_token = response
            .id_token()
            .ok_or_else(|| OidcError::InvalidIdToken("the token response has no id_token".to_owned()))?;
        let leeway_ms = ports.settings.jwt.leeway_secs.saturating_mul(1000);
        let now = ports.clock.now_ms();
        let verify =
            |metadata: &CoreProviderMetadata| verify_claims(p, metadata, id_token, binding.nonce, now, leeway_ms);
        let claims = match verify(&cached.metadata) {
            Err(ClaimsVerificationError::SignatureVerification(SignatureVerificationError::NoMatchingKey)) => {
                let refreshed = self.refresh_keys(ports, p, &cached).await?;
                verify(&refreshed.metadata)
            }
            other => other,
        }
        .map_err(|e| OidcError::InvalidIdToken(error_chain(&e)))?;
        if claims.email.is_empty() {
            return Err(OidcError::EmailMissing);
        }
        Ok(claims)
    }
}

/// What ties the provider's answer to the request that asked for it: the ID token must
/// carry `nonce`, and the code is redeemed with the PKCE `code_verifier` (two secrets of
/// the same type, so they are named rather than positional).
#[derive(Clone, Copy)]
pub struct Binding<'a> {
    pub nonce: &'a str,
    pub code_verifier: &'a str,
}

/// The checks of an ID token (OpenID Connect Core 3.1.3.7) against the provider's
/// metadata and keys: an allow-listed asymmetric signature by a published key, `iss`,
/// `aud`, `azp`, `exp` (with the leeway), `iat` (at most the leeway ahead), `nonce`.
fn verify_claims(
    p: &ProviderConfig,
    metadata: &CoreProviderMetadata,
    id_token: &CoreIdToken,
    nonce: &str,
    now: i64,
    leeway_ms: i64,
) -> Result<Claims, ClaimsVerificationError> {
    let client = client(p, metadata).map_err(|e| ClaimsVerificationError::Other(e.reason()))?;
    // `exp` is compared with a clock set back by the leeway; `iat` may be at most the
    // leeway ahead.
    let latest_iat = now_utc(now.saturating_add(leeway_ms));
    let verifier = client
        .id_token_verifier()
        .set_allowed_algs(ALLOWED_ALGS)
        .set_time_fn(move || now_utc(now.saturating_sub(leeway_ms)))
        .set_issue_time_verifier_fn(move |iat| {
            if iat > latest_iat {
                Err(format!("issued in the future ({iat})"))
            } else {
                Ok(())
            }
        });
    let claims = id_token.claims(&verifier, &Nonce::new(nonce.to_owned()))?;
    // Several audiences need an authorized party, and an authorized party must be this
    // client (OpenID Connect Core 3.1.3.7, steps 4 and 5).
    let azp = claims.authorized_party().map(|a| a.as_str());
    if (claims.audiences().len() > 1 && azp.is_none()) || azp.is_some_and(|a| a != p.client_id) {
        return Err(ClaimsVerificationError::InvalidAudience(format!("authorized party {azp:?} is not this client")));
    }
    Ok(Claims {
        issuer: claims.issuer().as_str().to_owned(),
        subject: claims.subject().as_str().to_owned(),
        email: claims.email().map(|e| e.as_str().to_owned()).unwrap_or_default(),
        email_verified: claims.email_verified().unwrap_or(false),
        name: claims.name().and_then(|n| n.get(None)).map(|n| n.as_str().to_owned()).unwrap_or_default(),
    })
}

/// Parses and checks an ID token as the callback does, without any HTTP: the discovery
/// document and key set are given as JSON (benchmarks and tests).
///
/// # Errors
/// Why the JSON does not parse or the token fails a check.
pub fn verify_id_token(
    p: &ProviderConfig,
    discovery_json: &str,
    jwks_json: &str,
    id_token: &str,
    nonce: &str,
    now_ms: i64,
    leeway_ms: i64,
) -> Result<Claims, String> {
    let metadata: CoreProviderMetadata = serde_json::from_str(discovery_json).map_err(|e| e.to_string())?;
    let keys: CoreJsonWebKeySet = serde_json::from_str(jwks_json).map_err(|e| e.to_string())?;
    let token: CoreIdToken = id_token.parse().map_err(|e: serde_json::Error| e.to_string())?;
    verify_claims(p, &metadata.set_jwks(keys), &token, nonce, now_ms, leeway_ms).map_err(|e| error_chain(&e))
}

/// A recorded sign-in to check with [`verify_id_token`] (benchmarks and tests): the provider
/// `https://idp.example.test` with client `bench-client`, its discovery document, its key set
/// (RSA 2048) and an RS256 ID token it issued at 1795255200 for one hour, with nonce `bench-nonce`.
#[cfg(any(test, feature = "recorded-sign-in"))]
pub fn recorded_sign_in() -> (ProviderConfig, String, String, String) {
    let recorded: serde_json::Value =
        serde_json::from_str(include_str!("testdata/id_token_rs256.json")).unwrap_or_default();
    let part = |name: &str| recorded.get(name).cloned().unwrap_or_default();
    let provider = ProviderConfig {
        id: "bench".into(),
        name: "Bench".into(),
        issuer: "https://idp.example.test".into(),
        client_id: "bench-client".into(),
        client_secret: "bench-secret".into(),
        scopes: vec!["openid".into()],
        redirect_uris: vec!["https://app.example/cb".into()],
        callback_url: "https://api.example/v1/auth/oidc/bench/callback".into(),
    };
    let id_token = part("id_token").as_str().unwrap_or_default().to_owned();
    (provider, part("discovery").to_string(), part("jwks").to_string(), id_token)
}

type Client = openidconnect::core::CoreClient<
    openidconnect::EndpointSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointMaybeSet,
    openidconnect::EndpointMaybeSet,
>;

fn client(p: &ProviderConfig, metadata: &CoreProviderMetadata) -> Result<Client, OidcError> {
    let redirect =
        RedirectUrl::new(p.callback_url.clone()).map_err(|e| OidcError::Unavailable(format!("callback URL: {e}")))?;
    Ok(CoreClient::from_provider_metadata(
        metadata.clone(),
        ClientId::new(p.client_id.clone()),
        Some(ClientSecret::new(p.client_secret.clone())),
    )
    .set_redirect_uri(redirect))
}

/// An error and its sources on one line.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// When the token of [`recorded_sign_in`] was issued.
    const ISSUED_MS: i64 = 1_795_255_200_000;

    #[test]
    fn a_good_id_token_gives_its_claims() {
        let (p, d, k, t) = recorded_sign_in();
        let claims = verify_id_token(&p, &d, &k, &t, "bench-nonce", ISSUED_MS + 1000, 30_000);
        let claims = claims.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(claims.subject, "bench-subject");
        assert_eq!((claims.email.as_str(), claims.email_verified), ("ada@example.test", true));
    }

    #[test]
    fn each_broken_check_refuses_the_token() {
        let (p, d, k, t) = recorded_sign_in();
        let hour = 3_600_000;
        let wrong_client = ProviderConfig { client_id: "another".into(), ..p.clone() };
        let wrong_issuer = r#""issuer":"https://other.example.test""#;
        // One character in the middle of the signature changed.
        let at = t.len() - 20;
        let flipped = if t.as_bytes()[at] == b'A' { "B" } else { "A" };
        let tampered = format!("{}{flipped}{}", &t[..at], &t[at + 1..]);
        let cases: [(&str, Result<Claims, String>); 6] = [
            ("nonce", verify_id_token(&p, &d, &k, &t, "other", ISSUED_MS, 30_000)),
            ("expired", verify_id_token(&p, &d, &k, &t, "bench-nonce", ISSUED_MS + hour + 31_000, 30_000)),
            ("not yet issued", verify_id_token(&p, &d, &k, &t, "bench-nonce", ISSUED_MS - 31_000, 30_000)),
            ("audience", verify_id_token(&wrong_client, &d, &k, &t, "bench-nonce", ISSUED_MS, 30_000)),
            (
                "issuer",
                verify_id_token(
                    &p,
                    &d.replace(r#""issuer":"https://idp.example.test""#, wrong_issuer),
                    &k,
                    &t,
                    "bench-nonce",
                    ISSUED_MS,
                    30_000,
                ),
            ),
            ("signature", verify_id_token(&p, &d, &k, &tampered, "bench-nonce", ISSUED_MS, 30_000)),
        ];
        for (what, result) in cases {
            assert!(result.is_err(), "{what}: accepted");
        }
        // Within the leeway on either side it still passes.
        assert!(verify_id_token(&p, &d, &k, &t, "bench-nonce", ISSUED_MS + hour + 29_000, 30_000).is_ok());
        assert!(verify_id_token(&p, &d, &k, &t, "bench-nonce", ISSUED_MS - 29_000, 30_000).is_ok());
    }
}
