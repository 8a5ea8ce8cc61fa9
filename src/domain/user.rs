//! Accounts: email, password, display name, and API keys.

use serde::Serialize;
use utoipa::ToSchema;

use super::ids::{ApiKeyId, UserId};
use super::text_value;
use crate::clock::Timestamp;
use crate::error::FieldError;

/// An email address as given, plus its case-insensitive comparison form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email {
    display: String,
    normalized: String,
}

impl Email {
    /// Longest address accepted.
    pub const MAX: usize = 254;

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
        if s.chars().count() > Self::MAX || s.chars().any(|c| c.is_whitespace() || c.is_control()) {
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
        Ok(Email { display: s.to_owned(), normalized: s.to_lowercase() })
    }

    /// The address as the user wrote it.
    pub fn display(&self) -> &str {
        &self.display
    }

    /// The form emails are compared in (lower case).
    pub fn normalized(&self) -> &str {
        &self.normalized
    }

    /// The comparison form of any text given as an email, valid or not (login looks up
    /// whatever it was given, so that every refusal costs the same).
    pub fn normalize_any(s: &str) -> String {
        Email::parse("email", s).map_or_else(|_| s.trim().to_lowercase(), |e| e.normalized)
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
    pub const MIN: usize = 10;
    pub const MAX: usize = 128;

    /// # Errors
    /// `too_short`/`too_long`.
    pub fn parse(field: &str, s: &str) -> Result<Password, FieldError> {
        let n = s.chars().count();
        if n < Self::MIN {
            return Err(FieldError::new(field, "too_short", "must be at least 10 characters"));
        }
        if n > Self::MAX {
            return Err(FieldError::new(field, "too_long", "must be at most 128 characters"));
        }
        Ok(Password(s.to_owned()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

text_value!(
    /// A person's display name: one line of 1–100 characters.
    DisplayName, 1, 100, Line
);

text_value!(
    /// The name of an API key: one line of 1–100 characters.
    ApiKeyName, 1, 100, Line
);

/// What an API key may do: `read` (GET only) and/or `write` (everything else too).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKeyScopes(Vec<String>);

impl ApiKeyScopes {
    pub const ALL: [&'static str; 2] = ["read", "write"];

    /// A non-empty set of `read`, `write` (each at most once), sorted.
    ///
    /// # Errors
    /// One field error per unknown or repeated scope, or `required` when empty.
    pub fn parse(field: &str, scopes: &[String]) -> Result<Self, Vec<FieldError>> {
        let mut errors = Vec::new();
        if scopes.is_empty() {
            errors.push(FieldError::new(field, "required", "needs at least one of `read`, `write`"));
        }
        let mut out: Vec<String> = Vec::new();
        for (i, s) in scopes.iter().enumerate() {
            if !Self::ALL.contains(&s.as_str()) {
                errors.push(FieldError::new(format!("{field}[{i}]"), "invalid", "must be `read` or `write`"));
            } else if out.contains(s) {
                errors.push(FieldError::new(format!("{field}[{i}]"), "duplicate", "names a scope already listed"));
            } else {
                out.push(s.clone());
            }
        }
        out.sort();
        if errors.is_empty() {
            Ok(Self(out))
        } else {
            Err(errors)
        }
    }

    /// The stored form: comma-separated.
    pub fn stored(s: &str) -> Self {
        Self(s.split(',').filter(|s| !s.is_empty()).map(str::to_owned).collect())
    }

    pub fn joined(&self) -> String {
        self.0.join(",")
    }

    pub fn can_write(&self) -> bool {
        self.0.iter().any(|s| s == "write")
    }

    pub fn as_slice(&self) -> &[String] {
        &self.0
    }
}

/// A user as the API shows it: never a hash.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct User {
    #[schema(value_type = String, example = "0192f5e2-8c1a-7b3e-9a4f-0c2d9e8b7a61")]
    pub id: UserId,
    #[schema(example = "ada@example.com")]
    pub email: String,
    #[schema(value_type = String, example = "Ada Lovelace")]
    pub name: DisplayName,
    #[schema(value_type = String, format = DateTime, example = "2026-11-21T10:00:00.000Z")]
    pub created_at: Timestamp,
}

/// An API key as listed: never its secret.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ApiKey {
    #[schema(value_type = String)]
    pub id: ApiKeyId,
    #[schema(value_type = String)]
    pub name: ApiKeyName,
    /// `read` (GET only) and/or `write` (implies read).
    #[schema(value_type = Vec<String>, example = json!(["read"]))]
    #[serde(serialize_with = "scopes")]
    pub scopes: ApiKeyScopes,
    /// The first characters of the key, to recognise it.
    #[schema(example = "tm_Zx81Qa")]
    pub prefix: String,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    #[schema(value_type = Option<String>, format = DateTime, required = true)]
    pub expires_at: Option<Timestamp>,
}

fn scopes<S: serde::Serializer>(s: &ApiKeyScopes, ser: S) -> Result<S::Ok, S::Error> {
    s.0.serialize(ser)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_compare_case_insensitively_and_reject_junk() {
        let e = Email::parse("email", " Ada@Example.COM ").unwrap();
        assert_eq!((e.display(), e.normalized()), ("Ada@Example.COM", "ada@example.com"));
        for bad in ["", "ada", "ada@", "@example.com", "ada@example", "a da@example.com", "ada@.com", "ada@ex..com"] {
            assert!(Email::parse("email", bad).is_err(), "{bad:?}");
        }
        assert_eq!(Email::normalize_any(" Not An Email "), "not an email");
    }

    #[test]
    fn passwords_are_10_to_128_characters_counted_as_characters() {
        assert!(Password::parse("p", "123456789").is_err());
        assert!(Password::parse("p", "1234567890").is_ok());
        assert!(Password::parse("p", &"é".repeat(128)).is_ok());
        assert!(Password::parse("p", &"a".repeat(129)).is_err());
        assert_eq!(format!("{:?}", Password::parse("p", "supersecret!").unwrap()), "Password([REDACTED])");
    }

    #[test]
    fn scopes_are_unique_sorted_and_checked() {
        let s = ApiKeyScopes::parse("scopes", &["write".into(), "read".into()]).unwrap();
        assert_eq!(s.joined(), "read,write");
        assert!(s.can_write());
        let dup = ApiKeyScopes::parse("scopes", &["write".into(), "read".into(), "write".into()]).unwrap_err();
        assert_eq!((dup[0].field.as_str(), dup[0].code.as_str()), ("scopes[2]", "duplicate"));
        assert_eq!(ApiKeyScopes::parse("scopes", &[]).unwrap_err()[0].code, "required");
        assert_eq!(ApiKeyScopes::parse("scopes", &["admin".into()]).unwrap_err()[0].field, "scopes[0]");
        assert!(!ApiKeyScopes::stored("read").can_write());
    }
}
