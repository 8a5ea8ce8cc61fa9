//! Password hashing: Argon2id in PHC string format, parameters from configuration
//! (default: the OWASP Password Storage Cheat Sheet's m=19 MiB, t=2, p=1).

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};

use crate::ports::Random;

/// Argon2id cost parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HashParams {
    pub memory_kib: u32,
    pub iterations: u32,
    pub parallelism: u32,
}

impl HashParams {
    pub const OWASP: HashParams = HashParams { memory_kib: 19_456, iterations: 2, parallelism: 1 };

    fn argon2(self) -> Result<Argon2<'static>, String> {
        let params =
            Params::new(self.memory_kib, self.iterations, self.parallelism, None).map_err(|e| e.to_string())?;
        Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
    }

    /// Checks the parameters are ones Argon2 accepts.
    ///
    /// # Errors
    /// The reason they are not.
    pub fn validate(self) -> Result<(), String> {
        self.argon2().map(|_| ())
    }
}

/// Hashes `password` with a fresh 128-bit salt.
///
/// # Errors
/// When randomness or hashing fails.
pub fn hash(password: &str, params: HashParams, random: &dyn Random) -> Result<String, String> {
    let mut salt = [0u8; 16];
    random.fill(&mut salt).map_err(|e| e.to_string())?;
    let salt = SaltString::encode_b64(&salt).map_err(|e| e.to_string())?;
    params.argon2()?.hash_password(password.as_bytes(), &salt).map(|h| h.to_string()).map_err(|e| e.to_string())
}

/// The result of checking a password against a stored hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Wrong,
    Correct,
    /// Correct, and the hash was made with other parameters: store a new one.
    CorrectNeedsRehash,
}

/// Verifies `password` against a PHC string, with the parameters stored in it.
pub fn verify(password: &str, phc: &str, current: HashParams) -> Verdict {
    let Ok(parsed) = PasswordHash::new(phc) else {
        return Verdict::Wrong;
    };
    if Argon2::default().verify_password(password.as_bytes(), &parsed).is_err() {
        return Verdict::Wrong;
    }
    let same = parsed.algorithm.as_str() == "argon2id"
        && parsed.version == Some(0x13)
        && Params::try_from(&parsed).is_ok_and(|p| {
            p.m_cost() == current.memory_kib && p.t_cost() == current.iterations && p.p_cost() == current.parallelism
        });
    if same {
        Verdict::Correct
    } else {
        Verdict::CorrectNeedsRehash
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ports::test_random::Counting;

    const FAST: HashParams = HashParams { memory_kib: 64, iterations: 1, parallelism: 1 };

    #[test]
    fn hashes_are_phc_argon2id_salted_and_verify() {
        let rng = Counting::from(1);
        let a = hash("correct horse battery", FAST, &rng).unwrap();
        let b = hash("correct horse battery", FAST, &rng).unwrap();
        assert!(a.starts_with("$argon2id$v=19$m=64,t=1,p=1$"), "{a}");
        assert_ne!(a, b, "salts differ");
        assert_eq!(verify("correct horse battery", &a, FAST), Verdict::Correct);
        assert_eq!(verify("correct horse batterY", &a, FAST), Verdict::Wrong);
        assert_eq!(verify("x", "not a phc string", FAST), Verdict::Wrong);
    }

    #[test]
    fn changed_parameters_ask_for_a_rehash() {
        let rng = Counting::from(1);
        let old = hash("correct horse battery", FAST, &rng).unwrap();
        let newer = HashParams { memory_kib: 128, ..FAST };
        assert_eq!(verify("correct horse battery", &old, newer), Verdict::CorrectNeedsRehash);
        assert_eq!(verify("wrong password!!", &old, newer), Verdict::Wrong);
    }

    #[test]
    fn owasp_defaults_are_valid_argon2_parameters() {
        assert!(HashParams::OWASP.validate().is_ok());
        assert!(HashParams { memory_kib: 1, iterations: 0, parallelism: 1 }.validate().is_err());
    }
}
