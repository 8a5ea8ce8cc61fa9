//! Typed configuration, parsed once at start-up from the host's variables
//! (wrangler `[vars]` and secrets, Spin variables, process environment).

use std::collections::HashMap;
use std::fmt;

/// A secret string that never prints.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Self {
        Secret(s.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([REDACTED])")
    }
}

/// Parsed configuration. Build it with [`Settings::from_lookup`].
#[derive(Debug, Clone)]
pub struct Settings {
    /// `development` or `production`; production refuses dev-only conveniences.
    pub environment: String,
    /// Origins allowed by CORS (exact match); empty means no cross-origin access.
    pub cors_allowed_origins: Vec<String>,
    /// Lowest level written to the log.
    pub log_level: crate::ports::Level,
}

/// A configuration value is missing or malformed; the message names the variable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettingsError(pub String);

impl fmt::Display for SettingsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid configuration: {}", self.0)
    }
}

impl std::error::Error for SettingsError {}

impl Settings {
    /// Every variable the core reads. Hosts whose variable store needs names up front
    /// (Spin) fetch exactly these; Spin spells them in lower case.
    pub const KEYS: &'static [&'static str] = &["ENVIRONMENT", "CORS_ALLOWED_ORIGINS", "LOG_LEVEL"];

    /// Parses settings from a lookup of variable name to value.
    ///
    /// # Errors
    /// A [`SettingsError`] naming the first bad variable.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Settings, SettingsError> {
        let get = |k: &str| {
            lookup(k)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        let environment = get("ENVIRONMENT").unwrap_or_else(|| "production".to_owned());
        if environment != "production" && environment != "development" {
            return Err(SettingsError(format!(
                "ENVIRONMENT must be `production` or `development`, got `{environment}`"
            )));
        }
        let cors_allowed_origins = get("CORS_ALLOWED_ORIGINS")
            .map(|v| {
                v.split(',')
                    .map(|o| o.trim().to_owned())
                    .filter(|o| !o.is_empty())
                    .collect()
            })
            .unwrap_or_default();
        let log_level = match get("LOG_LEVEL").as_deref() {
            None | Some("info") => crate::ports::Level::Info,
            Some("debug") => crate::ports::Level::Debug,
            Some("warn") => crate::ports::Level::Warn,
            Some("error") => crate::ports::Level::Error,
            Some(other) => {
                return Err(SettingsError(format!(
                    "LOG_LEVEL must be one of debug, info, warn, error; got `{other}`"
                )))
            }
        };
        Ok(Settings {
            environment,
            cors_allowed_origins,
            log_level,
        })
    }

    /// Parses settings from a map (tests, hosts that collect variables first).
    ///
    /// # Errors
    /// As [`Settings::from_lookup`].
    pub fn from_map(map: &HashMap<String, String>) -> Result<Settings, SettingsError> {
        Self::from_lookup(|k| map.get(k).cloned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_production_and_info() {
        let s = Settings::from_lookup(|_| None);
        assert!(
            matches!(s, Ok(ref s) if s.environment == "production" && s.log_level == crate::ports::Level::Info)
        );
    }

    #[test]
    fn bad_values_name_the_variable() {
        let err = Settings::from_lookup(|k| (k == "LOG_LEVEL").then(|| "loud".to_owned())).err();
        assert!(err.is_some_and(|e| e.0.contains("LOG_LEVEL")));
    }

    #[test]
    fn secrets_do_not_print() {
        assert_eq!(
            format!("{:?}", Secret::new("hunter2hunter2")),
            "Secret([REDACTED])"
        );
    }
}
