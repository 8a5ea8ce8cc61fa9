//! Accounts: email, password, display name.

use super::text;
use crate::http::FieldError;

/// An email address as given, plus its case-insensitive comparison form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email {
    pub display: String,
    pub normalized: String,
}

impl Email {
    /// A deliberately simple check (one `@`, a dotted domain, no spaces, <= 254 chars):
    /// the only real proof of an address is mail that arrives.
    ///
    /// # Errors
    /// A field error on `field`.
    pub fn parse(field: &str, s: &str) -> Result<Email, FieldError> {
        let s = super::trim_line(s);
        let bad = || FieldError::new(field, "invalid_email", "must be an email address like name@example.com");
        if s.is_empty() {
            return Err(FieldError::new(field, "required", "is required"));
        }
        if s.chars().count() > 254 || s.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(bad());
        }
        let (local, domain) = s.rsplit_once('@').ok_or_else(bad)?;
        if local.is_empty()
            || local.chars().count() > 64
            || local.contains('@')
            || domain.chars().count() < 3
            || !domain.contains('.')
            || domain.starts_with('.')
            || domain.ends_with('.')
            || domain.contains("..")
        {
            return Err(bad());
        }
        Ok(Email {
            display: s.to_owned(),
            normalized: s.to_lowercase(),
        })
    }
}

/// A password of 10–128 characters. Never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(String);

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password([REDACTED])")
    }
}

impl Password {
    /// # Errors
    /// `too_short`/`too_long`.
    pub fn parse(field: &str, s: &str) -> Result<Password, FieldError> {
        let n = s.chars().count();
        if n < 10 {
            return Err(FieldError::new(field, "too_short", "must be at least 10 characters"));
        }
        if n > 128 {
            return Err(FieldError::new(field, "too_long", "must be at most 128 characters"));
        }
        Ok(Password(s.to_owned()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

/// A display name: 1–100 characters after trimming.
///
/// # Errors
/// As [`super::text`].
pub fn parse_name(field: &str, s: &str) -> Result<String, FieldError> {
    text(field, super::trim_line(s), 1, 100, false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_compare_case_insensitively_and_reject_junk() {
        let e = Email::parse("email", " Ada@Example.COM ").unwrap();
        assert_eq!(
            (e.display.as_str(), e.normalized.as_str()),
            ("Ada@Example.COM", "ada@example.com")
        );
        for bad in [
            "",
            "ada",
            "ada@",
            "@example.com",
            "ada@example",
            "a da@example.com",
            "ada@.com",
            "ada@ex..com",
        ] {
            assert!(Email::parse("email", bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn passwords_are_10_to_128_characters_counted_as_characters() {
        assert!(Password::parse("p", "123456789").is_err());
        assert!(Password::parse("p", "1234567890").is_ok());
        assert!(Password::parse("p", &"é".repeat(128)).is_ok());
        assert!(Password::parse("p", &"a".repeat(129)).is_err());
        assert_eq!(
            format!("{:?}", Password::parse("p", "supersecret!").unwrap()),
            "Password([REDACTED])"
        );
    }
}
