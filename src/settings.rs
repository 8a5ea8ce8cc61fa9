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
    /// Access-token signing and verification.
    pub jwt: crate::auth::jwt::JwtConfig,
    /// Lifetime of a refresh token (each rotation issues a new one with this lifetime).
    pub refresh_ttl_secs: i64,
    /// Argon2id parameters for new password hashes.
    pub password_hash: crate::auth::password::HashParams,
    /// Rate limits; `None` when `RATE_LIMITS_ENABLED=false`.
    pub rate_limits: Option<RateLimits>,
    /// Take the client address from the last `X-Forwarded-For` entry (behind a trusted proxy).
    pub trust_forwarded_for: bool,
    /// Per-IP limits key an IPv6 client by this prefix (a /64 is one subscriber's network).
    pub ipv6_prefix_len: u8,
    /// A login session ends this long after it began, however often it is refreshed.
    pub session_max_lifetime_secs: i64,
    /// Honour the `X-Fault-Inject` request header (a panic, or a failing Nth statement),
    /// for the reliability tests. Refused in production.
    pub fault_injection: bool,
    /// The OpenID providers people may sign in with (none by default).
    pub oidc_providers: Vec<crate::oidc::ProviderConfig>,
}

/// The three rate-limit policies of the contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimits {
    /// Per client IP on register, login and refresh.
    pub auth_ip: crate::ratelimit::Quota,
    /// Per account on failed logins, whatever the IP.
    pub login_failures: crate::ratelimit::Quota,
    /// Per principal (user or API key) on everything else.
    pub principal: crate::ratelimit::Quota,
    /// Per client IP on failed authentications (a bad token or key).
    pub auth_failures: crate::ratelimit::Quota,
}

/// Parses `LIMIT/SECONDS`, e.g. `300/60`.
fn quota(var: &str, value: Option<String>, default: (u32, i64)) -> Result<crate::ratelimit::Quota, SettingsError> {
    let Some(v) = value else {
        return Ok(crate::ratelimit::Quota { limit: default.0, window_ms: default.1.saturating_mul(1000) });
    };
    let parsed =
        v.split_once('/').and_then(|(l, w)| Some((l.trim().parse::<u32>().ok()?, w.trim().parse::<i64>().ok()?)));
    match parsed {
        Some((limit, secs)) if limit >= 1 && (1..=86_400).contains(&secs) => {
            Ok(crate::ratelimit::Quota { limit, window_ms: secs.saturating_mul(1000) })
        }
        _ => Err(SettingsError(format!("{var} must look like LIMIT/SECONDS (e.g. 300/60), got `{v}`"))),
    }
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
    pub const KEYS: &'static [&'static str] = &[
        "ENVIRONMENT",
        "CORS_ALLOWED_ORIGINS",
        "LOG_LEVEL",
        "JWT_SIGNING_KEY",
        "JWT_PREVIOUS_KEYS",
        "JWT_ISSUER",
        "JWT_AUDIENCE",
        "JWT_LEEWAY_SECONDS",
        "ACCESS_TOKEN_TTL_SECONDS",
        "REFRESH_TOKEN_TTL_SECONDS",
        "PASSWORD_HASH_MEMORY_KIB",
        "PASSWORD_HASH_ITERATIONS",
        "PASSWORD_HASH_PARALLELISM",
        "RATE_LIMITS_ENABLED",
        "RATE_LIMIT_AUTH_IP",
        "RATE_LIMIT_LOGIN_FAILURES",
        "RATE_LIMIT_PRINCIPAL",
        "RATE_LIMIT_AUTH_FAILURES",
        "TRUST_FORWARDED_FOR",
        "IPV6_PREFIX_LENGTH",
        "SESSION_MAX_LIFETIME_SECONDS",
        "FAULT_INJECTION",
        "OIDC_PROVIDERS",
        "OIDC_CLIENT_SECRETS",
        "PUBLIC_BASE_URL",
    ];

    /// Parses settings from a lookup of variable name to value.
    ///
    /// # Errors
    /// A [`SettingsError`] naming the first bad variable.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Settings, SettingsError> {
        let get = |k: &str| lookup(k).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
        let environment = get("ENVIRONMENT").unwrap_or_else(|| "production".to_owned());
        if environment != "production" && environment != "development" {
            return Err(SettingsError(format!(
                "ENVIRONMENT must be `production` or `development`, got `{environment}`"
            )));
        }
        let cors_allowed_origins = get("CORS_ALLOWED_ORIGINS")
            .map(|v| v.split(',').map(|o| o.trim().to_owned()).filter(|o| !o.is_empty()).collect())
            .unwrap_or_default();
        let log_level = match get("LOG_LEVEL").as_deref() {
            None | Some("info") => crate::ports::Level::Info,
            Some("debug") => crate::ports::Level::Debug,
            Some("warn") => crate::ports::Level::Warn,
            Some("error") => crate::ports::Level::Error,
            Some(other) => {
                return Err(SettingsError(format!("LOG_LEVEL must be one of debug, info, warn, error; got `{other}`")))
            }
        };
        let int = |k: &str, default: i64, min: i64, max: i64| -> Result<i64, SettingsError> {
            match get(k) {
                None => Ok(default),
                Some(v) => v
                    .parse::<i64>()
                    .ok()
                    .filter(|n| (min..=max).contains(n))
                    .ok_or_else(|| SettingsError(format!("{k} must be an integer in {min}..={max}, got `{v}`"))),
            }
        };
        let signing = get("JWT_SIGNING_KEY").ok_or_else(|| {
            SettingsError(
                "JWT_SIGNING_KEY is required: `kid:base64url(32-byte Ed25519 seed)` (scripts/dev.sh generates one into .dev.vars)"
                    .to_owned(),
            )
        })?;
        let signing = crate::auth::keys::SigningKey::parse("JWT_SIGNING_KEY", &signing)?;
        let previous = crate::auth::keys::VerifyingKey::parse_list(
            "JWT_PREVIOUS_KEYS",
            &get("JWT_PREVIOUS_KEYS").unwrap_or_default(),
        )?;
        if previous.iter().any(|k| k.kid == signing.kid) {
            return Err(SettingsError("JWT_PREVIOUS_KEYS must not reuse the kid of JWT_SIGNING_KEY".to_owned()));
        }
        let jwt = crate::auth::jwt::JwtConfig {
            signing,
            previous,
            issuer: get("JWT_ISSUER").unwrap_or_else(|| "taskapi".to_owned()),
            audience: get("JWT_AUDIENCE").unwrap_or_else(|| "taskapi".to_owned()),
            leeway_secs: int("JWT_LEEWAY_SECONDS", 30, 0, 300)?,
            access_ttl_secs: int("ACCESS_TOKEN_TTL_SECONDS", 900, 30, 86_400)?,
        };
        let refresh_ttl_secs = int("REFRESH_TOKEN_TTL_SECONDS", 7 * 86_400, 60, 90 * 86_400)?;
        let owasp = crate::auth::password::HashParams::OWASP;
        let to_u32 = |v: i64| u32::try_from(v).unwrap_or(u32::MAX);
        let password_hash = crate::auth::password::HashParams {
            memory_kib: to_u32(int("PASSWORD_HASH_MEMORY_KIB", i64::from(owasp.memory_kib), 8, 1_048_576)?),
            iterations: to_u32(int("PASSWORD_HASH_ITERATIONS", i64::from(owasp.iterations), 1, 100)?),
            parallelism: to_u32(int("PASSWORD_HASH_PARALLELISM", i64::from(owasp.parallelism), 1, 16)?),
        };
        password_hash
            .validate()
            .map_err(|e| SettingsError(format!("PASSWORD_HASH_* parameters are not valid Argon2id parameters: {e}")))?;
        if environment == "production" && password_hash.memory_kib < owasp.memory_kib {
            return Err(SettingsError(format!(
                "PASSWORD_HASH_MEMORY_KIB below the OWASP minimum of {} KiB is only allowed in development",
                owasp.memory_kib
            )));
        }
        let flag = |k: &str, default: bool| -> Result<bool, SettingsError> {
            match get(k).as_deref() {
                None => Ok(default),
                Some("true" | "1") => Ok(true),
                Some("false" | "0") => Ok(false),
                Some(v) => Err(SettingsError(format!("{k} must be true or false, got `{v}`"))),
            }
        };
        let rate_limits = if flag("RATE_LIMITS_ENABLED", true)? {
            Some(RateLimits {
                auth_ip: quota("RATE_LIMIT_AUTH_IP", get("RATE_LIMIT_AUTH_IP"), (10, 60))?,
                login_failures: quota("RATE_LIMIT_LOGIN_FAILURES", get("RATE_LIMIT_LOGIN_FAILURES"), (5, 900))?,
                principal: quota("RATE_LIMIT_PRINCIPAL", get("RATE_LIMIT_PRINCIPAL"), (300, 60))?,
                auth_failures: quota("RATE_LIMIT_AUTH_FAILURES", get("RATE_LIMIT_AUTH_FAILURES"), (20, 60))?,
            })
        } else {
            None
        };
        let trust_forwarded_for = flag("TRUST_FORWARDED_FOR", false)?;
        let ipv6_prefix_len = u8::try_from(int("IPV6_PREFIX_LENGTH", 64, 32, 128)?).unwrap_or(64);
        let session_max_lifetime_secs = int("SESSION_MAX_LIFETIME_SECONDS", 30 * 86_400, 60, 365 * 86_400)?;
        let fault_injection = flag("FAULT_INJECTION", false)?;
        if fault_injection && environment == "production" {
            return Err(SettingsError(
                "FAULT_INJECTION is a test facility and is refused when ENVIRONMENT=production".to_owned(),
            ));
        }
        let oidc_providers = crate::oidc::config::parse(
            get("OIDC_PROVIDERS").as_deref(),
            get("OIDC_CLIENT_SECRETS").as_deref(),
            get("PUBLIC_BASE_URL").as_deref(),
        )?;
        Ok(Settings {
            environment,
            cors_allowed_origins,
            log_level,
            jwt,
            refresh_ttl_secs,
            password_hash,
            rate_limits,
            trust_forwarded_for,
            ipv6_prefix_len,
            session_max_lifetime_secs,
            fault_injection,
            oidc_providers,
        })
    }

    /// The key that signs list cursors, derived from the signing key so that no extra
    /// secret is needed (and cursors die with a key rotation, like the tokens).
    pub fn cursor_key(&self) -> [u8; 32] {
        use sha2::Digest;
        let mut h = sha2::Sha256::new();
        h.update(b"taskapi cursor key v1");
        h.update(self.jwt.signing.pair.sk.seed().as_ref());
        h.finalize().into()
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

    const KEY: &str = "k1:BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc";

    fn with(pairs: &[(&str, &str)]) -> Result<Settings, SettingsError> {
        let map: HashMap<String, String> = pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        Settings::from_map(&map)
    }

    #[test]
    fn defaults_are_production_info_and_owasp_hashing() {
        let s = with(&[("JWT_SIGNING_KEY", KEY)]).unwrap();
        assert_eq!(s.environment, "production");
        assert_eq!(s.log_level, crate::ports::Level::Info);
        assert_eq!(s.jwt.access_ttl_secs, 900);
        assert_eq!(s.refresh_ttl_secs, 604_800);
        assert_eq!(s.session_max_lifetime_secs, 30 * 86_400);
        assert_eq!(s.ipv6_prefix_len, 64);
        assert_eq!(s.password_hash, crate::auth::password::HashParams::OWASP);
    }

    #[test]
    fn a_missing_or_malformed_signing_key_fails_clearly() {
        assert!(with(&[]).unwrap_err().0.contains("JWT_SIGNING_KEY is required"));
        assert!(with(&[("JWT_SIGNING_KEY", "k1:c2hvcnQ")]).unwrap_err().0.contains("32 bytes"));
    }

    #[test]
    fn bad_values_name_the_variable() {
        let err = with(&[("JWT_SIGNING_KEY", KEY), ("LOG_LEVEL", "loud")]).unwrap_err();
        assert!(err.0.contains("LOG_LEVEL"));
        let err = with(&[("JWT_SIGNING_KEY", KEY), ("ACCESS_TOKEN_TTL_SECONDS", "ten")]).unwrap_err();
        assert!(err.0.contains("ACCESS_TOKEN_TTL_SECONDS"));
    }

    #[test]
    fn fault_injection_is_off_by_default_and_refused_in_production() {
        assert!(!with(&[("JWT_SIGNING_KEY", KEY)]).unwrap().fault_injection);
        let on = [("JWT_SIGNING_KEY", KEY), ("FAULT_INJECTION", "true")];
        assert!(with(&on).unwrap_err().0.contains("FAULT_INJECTION"));
        let dev = [on[0], on[1], ("ENVIRONMENT", "development")];
        assert!(with(&dev).unwrap().fault_injection);
    }

    #[test]
    fn weak_password_hashing_is_refused_in_production() {
        let weak = [("JWT_SIGNING_KEY", KEY), ("PASSWORD_HASH_MEMORY_KIB", "64")];
        assert!(with(&weak).unwrap_err().0.contains("OWASP"));
        let dev = [weak[0], weak[1], ("ENVIRONMENT", "development")];
        assert!(with(&dev).is_ok());
    }

    #[test]
    fn rate_limits_default_to_the_contract_and_parse_limit_per_seconds() {
        let s = with(&[("JWT_SIGNING_KEY", KEY)]).unwrap();
        let r = s.rate_limits.unwrap();
        assert_eq!((r.auth_ip.limit, r.auth_ip.window_ms), (10, 60_000));
        assert_eq!((r.login_failures.limit, r.login_failures.window_ms), (5, 900_000));
        assert_eq!((r.principal.limit, r.principal.window_ms), (300, 60_000));
        let s = with(&[("JWT_SIGNING_KEY", KEY), ("RATE_LIMIT_PRINCIPAL", "1000/1")]).unwrap();
        assert_eq!(s.rate_limits.unwrap().principal.window_ms, 1000);
        assert!(with(&[("JWT_SIGNING_KEY", KEY), ("RATE_LIMIT_PRINCIPAL", "0/60")]).is_err());
        assert!(with(&[("JWT_SIGNING_KEY", KEY), ("RATE_LIMIT_AUTH_IP", "ten")]).is_err());
        assert!(with(&[("JWT_SIGNING_KEY", KEY), ("RATE_LIMITS_ENABLED", "false")]).unwrap().rate_limits.is_none());
    }

    #[test]
    fn secrets_do_not_print() {
        assert_eq!(format!("{:?}", Secret::new("hunter2hunter2")), "Secret([REDACTED])");
    }
}
