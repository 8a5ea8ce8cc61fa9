//! The authenticated caller: who it is and how it proved it. Use cases take a [`Caller`];
//! the HTTP layer only parses the header and asks `service::auth` for one.

use crate::domain::ids::{ApiKeyId, SessionId, UserId};

/// How the caller authenticated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credential {
    /// An access token of a login session.
    Session { sid: SessionId },
    /// An API key; `write` keys may also read.
    ApiKey { key_id: ApiKeyId, write: bool },
}

/// An authenticated caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub user_id: UserId,
    pub credential: Credential,
}

impl Caller {
    /// The principal for rate limits and idempotency keys: the user, or the key.
    pub fn principal(&self) -> String {
        match &self.credential {
            Credential::Session { .. } => format!("user:{}", self.user_id),
            Credential::ApiKey { key_id, .. } => format!("key:{key_id}"),
        }
    }

    /// What kind of principal this is, for metrics: `user` or `key`.
    pub fn kind(&self) -> &'static str {
        match &self.credential {
            Credential::Session { .. } => "user",
            Credential::ApiKey { .. } => "key",
        }
    }

    /// The login session, when the caller used an access token.
    pub fn session(&self) -> Option<&SessionId> {
        match &self.credential {
            Credential::Session { sid } => Some(sid),
            Credential::ApiKey { .. } => None,
        }
    }

    /// Whether the credential allows changes (access tokens and `write` keys).
    pub fn may_write(&self) -> bool {
        match &self.credential {
            Credential::Session { .. } => true,
            Credential::ApiKey { write, .. } => *write,
        }
    }
}
