//! Typed identifiers: a project id cannot be passed where a user id is expected. All are
//! opaque text (UUIDv7 when this API made them); an id a client names in a path is taken
//! as given, and one that matches nothing is simply not found.

/// Characters of an id this API issues (a UUID in its text form).
pub const ID_LEN: usize = 36;
/// The shape of an id this API issues, as the document states it for ids a client sends.
pub const ID_PATTERN: &str = "^[0-9a-fA-F-]{36}$";

/// Whether `s` has the shape of an id this API issues ([`ID_PATTERN`]).
pub fn is_id_shaped(s: &str) -> bool {
    s.len() == ID_LEN && s.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-')
}

macro_rules! id {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            pub fn new(s: impl Into<String>) -> Self {
                Self(s.into())
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

id!(
    /// An account.
    UserId
);
id!(
    /// A project (the tenant boundary).
    ProjectId
);
id!(
    /// A task.
    TaskId
);
id!(
    /// An API key (not its secret).
    ApiKeyId
);
id!(
    /// A login session.
    SessionId
);
id!(
    /// An event of a project's log.
    EventId
);
id!(
    /// An identity of an OpenID provider linked to an account.
    IdentityId
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_have_the_uuid_shape() {
        assert!(is_id_shaped("0192f5e2-8c1a-7b3e-9a4f-0c2d9e8b7a61"));
        assert!(is_id_shaped("0192F5E2-8C1A-7B3E-9A4F-0C2D9E8B7A61"));
        for bad in ["", "me", "0192f5e2-8c1a-7b3e-9a4f-0c2d9e8b7a6", "0192f5e2-8c1a-7b3e-9a4f-0c2d9e8b7a6g"] {
            assert!(!is_id_shaped(bad), "{bad}");
        }
    }
}
