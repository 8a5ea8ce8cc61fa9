//! Projects and memberships: roles and their order.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::http::FieldError;

/// A member's role; each has everything of the ones below it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Viewer,
    Member,
    Admin,
    Owner,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Member => "member",
            Role::Admin => "admin",
            Role::Owner => "owner",
        }
    }

    pub fn parse_db(s: &str) -> Option<Role> {
        match s {
            "viewer" => Some(Role::Viewer),
            "member" => Some(Role::Member),
            "admin" => Some(Role::Admin),
            "owner" => Some(Role::Owner),
            _ => None,
        }
    }

    /// # Errors
    /// `invalid` naming the allowed values.
    pub fn parse(field: &str, s: &str) -> Result<Role, FieldError> {
        Role::parse_db(s)
            .ok_or_else(|| FieldError::new(field, "invalid", "must be one of viewer, member, admin, owner"))
    }
}

/// # Errors
/// As [`super::text`]: 1–100 characters.
pub fn parse_name(field: &str, s: &str) -> Result<String, FieldError> {
    super::text(field, super::trim_line(s), 1, 100, false)
}

/// # Errors
/// As [`super::text`]: at most 2000 characters.
pub fn parse_description(field: &str, s: &str) -> Result<String, FieldError> {
    super::text(field, s, 0, 2000, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_are_ordered_viewer_to_owner() {
        assert!(Role::Viewer < Role::Member && Role::Member < Role::Admin && Role::Admin < Role::Owner);
        assert_eq!(Role::parse("role", "admin"), Ok(Role::Admin));
        assert!(Role::parse("role", "root").is_err());
    }
}
