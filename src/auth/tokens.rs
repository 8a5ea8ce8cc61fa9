//! Opaque secrets: refresh tokens and API keys. Only their SHA-256 is stored; they carry
//! 256 random bits, so a fast hash is enough (no dictionary to attack).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use sha2::{Digest, Sha256};

use crate::ports::{Random, RandomError};

pub const REFRESH_PREFIX: &str = "rt_";
pub const API_KEY_PREFIX: &str = "tm_";
/// Characters after the prefix: base64url of 32 bytes, unpadded.
pub const SECRET_BODY_LEN: usize = 43;

/// The JSON Schema pattern of a secret with this prefix (what [`well_formed`] accepts).
pub fn pattern(prefix: &str) -> String {
    format!("^{prefix}[A-Za-z0-9_-]{{{SECRET_BODY_LEN}}}$")
}

/// A fresh secret: `prefix` + base64url(32 random bytes).
///
/// # Errors
/// When the random source fails.
pub fn generate(prefix: &str, random: &dyn Random) -> Result<String, RandomError> {
    let mut bytes = [0u8; 32];
    random.fill(&mut bytes)?;
    Ok(format!("{prefix}{}", URL_SAFE_NO_PAD.encode(bytes)))
}

/// The stored form of a secret: lowercase hex SHA-256.
pub fn digest(secret: &str) -> String {
    hex(&Sha256::digest(secret.as_bytes()))
}

/// Lowercase hex of bytes.
pub fn hex(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().saturating_mul(2));
    for b in bytes {
        out.push(char::from_digit(u32::from(b >> 4), 16).unwrap_or('0'));
        out.push(char::from_digit(u32::from(b & 0x0f), 16).unwrap_or('0'));
    }
    out
}

/// Whether `s` has the exact shape of a secret with this prefix (cheap pre-check
/// before touching the database).
pub fn well_formed(prefix: &str, s: &str) -> bool {
    s.strip_prefix(prefix).is_some_and(|rest| {
        rest.len() == SECRET_BODY_LEN && rest.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_is_sha256_hex() {
        assert_eq!(digest("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    }

    #[test]
    fn shape_check_accepts_generated_secrets_only() {
        let k = generate(API_KEY_PREFIX, &crate::ports::test_random::Constant(0xab)).unwrap();
        assert!(well_formed(API_KEY_PREFIX, &k));
        assert!(!well_formed(REFRESH_PREFIX, &k));
        assert!(!well_formed(API_KEY_PREFIX, "tm_short"));
    }
}
