//! Sign-in with OpenID Connect providers: the operator's configuration and the relying
//! party (discovery, authorization URL with PKCE, code exchange, ID-token checks). The
//! flow's state and the account rules live in `service::oidc`.

pub mod config;
pub mod provider;

pub use config::{ProviderConfig, PROVIDER_ID_MAX, PROVIDER_ID_PATTERN};
pub use provider::{Binding, Claims, OidcError, Providers};

/// Prefix of this API's own one-time sign-in codes (`POST /v1/auth/oidc/token`).
pub const CODE_PREFIX: &str = "oc_";

/// How long an authorization request (its `state`) may take to come back: 10 minutes.
pub const STATE_TTL_MS: i64 = 10 * 60 * 1000;

/// How long the app has to exchange the API's one-time code: 60 seconds.
pub const CODE_TTL_MS: i64 = 60 * 1000;
