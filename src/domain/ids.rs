//! Typed identifiers: a project id cannot be passed where a user id is expected. All are
//! opaque text (UUIDv7 when this API made them); an id a client names in a path is taken
//! as given, and one that matches nothing is simply not found.

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
