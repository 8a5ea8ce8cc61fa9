//! Access tokens: EdDSA (Ed25519) JWTs via jwt-compact, with explicit checks of `alg`,
//! `kid`, `exp`, `nbf`, `iat`, `iss`, `aud` and the token-use claim.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Duration, Utc};
use jwt_compact::{alg::Ed25519, AlgorithmExt, Claims, Header, TimeOptions, UntrustedToken};
use serde::{Deserialize, Serialize};

use super::keys::{SigningKey, VerifyingKey};

/// The value of [`AccessClaims::token_use`] in access tokens; refresh tokens are opaque
/// and never JWTs, and anything else carrying another value is refused.
pub const ACCESS_TOKEN_USE: &str = "access";

/// Longest token accepted before any parsing.
const MAX_TOKEN_LEN: usize = 4096;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessClaims {
    pub sub: String,
    pub sid: String,
    pub iss: String,
    pub aud: String,
    pub token_use: String,
}

/// How access tokens are signed and checked.
#[derive(Debug, Clone)]
pub struct JwtConfig {
    pub signing: SigningKey,
    /// Keys whose tokens are still accepted after a rotation.
    pub previous: Vec<VerifyingKey>,
    pub issuer: String,
    pub audience: String,
    pub leeway_secs: i64,
    pub access_ttl_secs: i64,
}

/// The claims of tokens whose signature and claims were checked by this isolate or
/// instance, by SHA-256 of the token. A client sends the same access token for up to its
/// lifetime; checking an Ed25519 signature costs about 0.2 ms of CPU inside wasm, a
/// lookup a few microseconds. The time checks (exp, nbf, iat) run again on every use.
/// The application state owns one, built with the configuration that checks the tokens
/// (keys, issuer, audience never change for its lifetime), and it is bounded.
#[derive(Debug, Default, Clone)]
pub struct VerifiedTokens(Arc<Mutex<HashMap<[u8; 32], Claims<AccessClaims>>>>);

/// Entries kept before the cache starts over (each is well under 1 KiB).
const VERIFIED_CAPACITY: usize = 4096;

impl VerifiedTokens {
    fn get(&self, digest: &[u8; 32]) -> Option<Claims<AccessClaims>> {
        self.0.lock().ok()?.get(digest).cloned()
    }

    fn insert(&self, digest: [u8; 32], claims: Claims<AccessClaims>) {
        if let Ok(mut map) = self.0.lock() {
            if map.len() >= VERIFIED_CAPACITY {
                map.clear();
            }
            map.insert(digest, claims);
        }
    }
}

/// Why a token was refused. Every variant answers the same 401; the variant goes to tests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenError {
    Malformed,
    Algorithm,
    UnknownKey,
    Signature,
    Expired,
    NotYetValid,
    IssuedInFuture,
    Issuer,
    Audience,
    TokenUse,
}

fn to_datetime(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).unwrap_or(DateTime::UNIX_EPOCH)
}

impl JwtConfig {
    fn time_options(&self, now_ms: i64) -> TimeOptions<impl Fn() -> DateTime<Utc>> {
        let now = to_datetime(now_ms);
        TimeOptions::new(Duration::seconds(self.leeway_secs), move || now)
    }

    /// Signs an access token for `user_id` in session `sid`.
    ///
    /// # Errors
    /// Only if serialization fails, which would be a bug.
    pub fn issue(&self, user_id: &str, sid: &str, now_ms: i64) -> Result<String, String> {
        let now = to_datetime(now_ms);
        let claims = Claims::new(AccessClaims {
            sub: user_id.to_owned(),
            sid: sid.to_owned(),
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
            token_use: ACCESS_TOKEN_USE.to_owned(),
        })
        .set_duration_and_issuance(&self.time_options(now_ms), Duration::seconds(self.access_ttl_secs))
        .set_not_before(now);
        let header = Header::empty().with_key_id(self.signing.kid.clone()).with_token_type("JWT");
        Ed25519.token(&header, &claims, &self.signing.pair.sk).map_err(|e| e.to_string())
    }

    fn key_for(&self, kid: &str) -> Option<ed25519_compact::PublicKey> {
        if kid == self.signing.kid {
            return Some(self.signing.pair.pk);
        }
        self.previous.iter().find(|k| k.kid == kid).map(|k| k.key)
    }

    /// Verifies an access token and returns its claims: the signature once per token and
    /// instance (then from [`VerifiedTokens`]), the time claims on every call.
    ///
    /// # Errors
    /// A [`TokenError`] saying which check failed.
    pub fn verify(&self, verified: &VerifiedTokens, token: &str, now_ms: i64) -> Result<AccessClaims, TokenError> {
        self.verify_as(verified, token, now_ms, false).unwrap_or(Err(TokenError::Malformed))
    }

    /// [`JwtConfig::verify`], but with `cached_only` a token this instance has not
    /// checked before is not checked now: `None` (a client address that is refused fresh
    /// work may still use the tokens it used before).
    pub fn verify_as(
        &self,
        verified: &VerifiedTokens,
        token: &str,
        now_ms: i64,
        cached_only: bool,
    ) -> Option<Result<AccessClaims, TokenError>> {
        if token.len() > MAX_TOKEN_LEN {
            return Some(Err(TokenError::Malformed));
        }
        use sha2::Digest;
        let digest: [u8; 32] = sha2::Sha256::digest(token.as_bytes()).into();
        let claims = match verified.get(&digest) {
            Some(claims) => claims,
            None if cached_only => return None,
            None => match self.verify_signature_and_issuer(token) {
                Ok(claims) => {
                    verified.insert(digest, claims.clone());
                    claims
                }
                Err(e) => return Some(Err(e)),
            },
        };
        Some(self.check_times(&claims, now_ms).map(|()| claims.custom))
    }

    /// Everything about a token that does not depend on the time.
    fn verify_signature_and_issuer(&self, token: &str) -> Result<Claims<AccessClaims>, TokenError> {
        let untrusted = UntrustedToken::new(token).map_err(|_| TokenError::Malformed)?;
        if untrusted.algorithm() != "EdDSA" {
            return Err(TokenError::Algorithm);
        }
        let kid = untrusted.header().key_id.as_deref().ok_or(TokenError::UnknownKey)?;
        let key = self.key_for(kid).ok_or(TokenError::UnknownKey)?;
        let token = Ed25519.validator::<AccessClaims>(&key).validate(&untrusted).map_err(|_| TokenError::Signature)?;
        let claims = token.claims();
        let c = &claims.custom;
        if c.iss != self.issuer {
            return Err(TokenError::Issuer);
        }
        if c.aud != self.audience {
            return Err(TokenError::Audience);
        }
        if c.token_use != ACCESS_TOKEN_USE {
            return Err(TokenError::TokenUse);
        }
        Ok(claims.clone())
    }

    /// `exp` and `nbf` with the leeway, and `iat` not in the future.
    fn check_times(&self, claims: &Claims<AccessClaims>, now_ms: i64) -> Result<(), TokenError> {
        let opts = self.time_options(now_ms);
        claims.validate_expiration(&opts).map_err(|_| TokenError::Expired)?;
        claims.validate_maturity(&opts).map_err(|_| TokenError::NotYetValid)?;
        match claims.issued_at {
            Some(iat)
                if to_datetime(now_ms)
                    .checked_add_signed(Duration::seconds(self.leeway_secs))
                    .is_some_and(|limit| iat <= limit) =>
            {
                Ok(())
            }
            _ => Err(TokenError::IssuedInFuture),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine;

    fn cfg(seed: u8, kid: &str) -> JwtConfig {
        let key = SigningKey::parse("K", &format!("{kid}:{}", URL_SAFE_NO_PAD.encode([seed; 32]))).unwrap();
        JwtConfig {
            signing: key,
            previous: Vec::new(),
            issuer: "taskapi".into(),
            audience: "taskapi".into(),
            leeway_secs: 30,
            access_ttl_secs: 900,
        }
    }

    const NOW: i64 = 1_795_255_200_000;

    #[test]
    fn a_checked_token_is_remembered_but_its_times_are_checked_on_every_use() {
        let c = cfg(1, "k1");
        let cache = VerifiedTokens::default();
        let t = c.issue("u1", "s1", NOW).unwrap();
        assert!(c.verify(&cache, &t, NOW).is_ok());
        assert_eq!(cache.0.lock().unwrap().len(), 1);
        assert!(c.verify(&cache, &t, NOW + 1_000).is_ok());
        assert_eq!(cache.0.lock().unwrap().len(), 1, "the second use is a lookup");
        assert_eq!(c.verify(&cache, &t, NOW + 900_000 + 31_000), Err(TokenError::Expired));
        assert_eq!(c.verify(&cache, &t, NOW - 31_000), Err(TokenError::NotYetValid));
        // Refused tokens are not remembered; a copy of the cache is the same cache.
        let forged = format!("{}x", t);
        assert!(c.verify(&cache, &forged, NOW).is_err());
        assert_eq!(cache.0.lock().unwrap().len(), 1);
        assert_eq!(cache.clone().0.lock().unwrap().len(), 1);
    }

    #[test]
    fn a_fresh_token_verifies_and_carries_its_claims() {
        let c = cfg(1, "k1");
        let t = c.issue("u1", "s1", NOW).unwrap();
        let claims = c.verify(&VerifiedTokens::default(), &t, NOW + 1_000).unwrap();
        assert_eq!((claims.sub.as_str(), claims.sid.as_str()), ("u1", "s1"));
    }

    #[test]
    fn expiry_and_maturity_respect_the_leeway() {
        let c = cfg(1, "k1");
        let t = c.issue("u1", "s1", NOW).unwrap();
        assert!(c.verify(&VerifiedTokens::default(), &t, NOW + 900_000 + 29_000).is_ok());
        assert_eq!(c.verify(&VerifiedTokens::default(), &t, NOW + 900_000 + 31_000), Err(TokenError::Expired));
        assert!(c.verify(&VerifiedTokens::default(), &t, NOW - 29_000).is_ok());
        assert_eq!(c.verify(&VerifiedTokens::default(), &t, NOW - 31_000), Err(TokenError::NotYetValid));
    }

    #[test]
    fn rotation_accepts_the_previous_key_only_while_configured() {
        let old = cfg(1, "old");
        let token = old.issue("u1", "s1", NOW).unwrap();
        let mut new = cfg(2, "new");
        assert_eq!(new.verify(&VerifiedTokens::default(), &token, NOW), Err(TokenError::UnknownKey));
        new.previous.push(old.signing.verifying());
        assert!(new.verify(&VerifiedTokens::default(), &token, NOW).is_ok());
        // Same kid as a known key but signed by another key: the signature check fails.
        let impostor = cfg(3, "old").issue("u1", "s1", NOW).unwrap();
        assert_eq!(new.verify(&VerifiedTokens::default(), &impostor, NOW), Err(TokenError::Signature));
    }

    #[test]
    fn issuer_audience_and_use_are_checked() {
        let c = cfg(1, "k1");
        let mut other = c.clone();
        other.issuer = "someone-else".into();
        assert_eq!(
            c.verify(&VerifiedTokens::default(), &other.issue("u", "s", NOW).unwrap(), NOW),
            Err(TokenError::Issuer)
        );
        let mut other = c.clone();
        other.audience = "another-api".into();
        assert_eq!(
            c.verify(&VerifiedTokens::default(), &other.issue("u", "s", NOW).unwrap(), NOW),
            Err(TokenError::Audience)
        );
    }
}
