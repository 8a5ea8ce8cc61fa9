//! Signing keys: `kid:base64url(32-byte Ed25519 seed)` for the current key and
//! `kid:base64url(32-byte public key)` for previous keys still accepted (rotation).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use ed25519_compact::{KeyPair, PublicKey, Seed};

use crate::settings::SettingsError;

/// The current signing key. Its `Debug` never shows the secret half.
#[derive(Clone)]
pub struct SigningKey {
    pub kid: String,
    pub pair: KeyPair,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey").field("kid", &self.kid).finish_non_exhaustive()
    }
}

/// A key that verifies tokens (the current key's public half, or a previous key).
#[derive(Debug, Clone)]
pub struct VerifyingKey {
    pub kid: String,
    pub key: PublicKey,
}

fn split_kid<'a>(var: &str, s: &'a str) -> Result<(&'a str, &'a str), SettingsError> {
    let (kid, material) =
        s.split_once(':').ok_or_else(|| SettingsError(format!("{var} must look like `kid:base64url-key`")))?;
    if kid.is_empty() || kid.len() > 64 || !kid.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b)) {
        return Err(SettingsError(format!("{var}: the key id must be 1-64 chars of [A-Za-z0-9._-]")));
    }
    Ok((kid, material))
}

fn decode32(var: &str, material: &str) -> Result<[u8; 32], SettingsError> {
    let bytes = URL_SAFE_NO_PAD
        .decode(material.trim_end_matches('='))
        .map_err(|_| SettingsError(format!("{var}: the key is not base64url")))?;
    <[u8; 32]>::try_from(bytes.as_slice())
        .map_err(|_| SettingsError(format!("{var}: the key must be 32 bytes, got {}", bytes.len())))
}

impl SigningKey {
    /// Parses `kid:base64url(seed)`.
    ///
    /// # Errors
    /// A message naming `var` when the value is malformed.
    pub fn parse(var: &str, s: &str) -> Result<Self, SettingsError> {
        let (kid, material) = split_kid(var, s.trim())?;
        let seed = decode32(var, material)?;
        Ok(SigningKey { kid: kid.to_owned(), pair: KeyPair::from_seed(Seed::new(seed)) })
    }

    pub fn verifying(&self) -> VerifyingKey {
        VerifyingKey { kid: self.kid.clone(), key: self.pair.pk }
    }
}

impl VerifyingKey {
    /// Parses a comma-separated list of `kid:base64url(public key)`.
    ///
    /// # Errors
    /// A message naming `var` when an entry is malformed.
    pub fn parse_list(var: &str, s: &str) -> Result<Vec<Self>, SettingsError> {
        s.split(',')
            .map(str::trim)
            .filter(|e| !e.is_empty())
            .map(|entry| {
                let (kid, material) = split_kid(var, entry)?;
                let raw = decode32(var, material)?;
                let key = PublicKey::from_slice(&raw)
                    .map_err(|_| SettingsError(format!("{var}: `{kid}` is not an Ed25519 public key")))?;
                Ok(VerifyingKey { kid: kid.to_owned(), key })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_seed_and_rejects_malformed_keys() {
        let seed = URL_SAFE_NO_PAD.encode([7u8; 32]);
        let key = SigningKey::parse("K", &format!("k1:{seed}")).unwrap();
        assert_eq!(key.kid, "k1");
        assert!(!format!("{key:?}").contains(&seed));
        assert!(SigningKey::parse("K", &seed).is_err(), "no kid");
        assert!(SigningKey::parse("K", "k1:abc").is_err(), "too short");
        assert!(SigningKey::parse("K", "k 1:abc").is_err(), "bad kid");
        let pk = URL_SAFE_NO_PAD.encode(key.pair.pk.as_ref());
        let list = VerifyingKey::parse_list("P", &format!("old:{pk}, ")).unwrap();
        assert_eq!(list.len(), 1);
        assert!(VerifyingKey::parse_list("P", "old:!!").is_err());
    }
}
