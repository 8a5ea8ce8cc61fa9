//! Projects and memberships: roles and their order, and the rules of who may change
//! what, as pure functions of the current state (the SQL of each write carries the same
//! rules as guards; these explain a refusal and are tested without a database).

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::ids::{ProjectId, UserId};
use super::{text_value, Expect};
use crate::clock::Timestamp;
use crate::error::{ApiError, FieldError};

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
    pub const ALL: [Role; 4] = [Role::Viewer, Role::Member, Role::Admin, Role::Owner];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Member => "member",
            Role::Admin => "admin",
            Role::Owner => "owner",
        }
    }

    pub fn parse_db(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }

    /// # Errors
    /// `invalid` naming the allowed values.
    pub fn parse(field: &str, s: &str) -> Result<Role, FieldError> {
        Role::parse_db(s)
            .ok_or_else(|| FieldError::new(field, "invalid", "must be one of viewer, member, admin, owner"))
    }

    /// This role and every role above it, for SQL `IN (...)` guards.
    pub fn and_above(self) -> impl Iterator<Item = Role> {
        Role::ALL.into_iter().filter(move |r| *r >= self)
    }
}

text_value!(
    /// A project's name: one line of 1–100 characters.
    ProjectName, 1, 100, Line
);
text_value!(
    /// A project's description: free text of at most 2000 characters.
    ProjectDescription, 0, 2000, Multiline
);

/// A project as its caller sees it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Project {
    #[schema(value_type = String)]
    pub id: ProjectId,
    #[schema(value_type = String, example = "Website relaunch")]
    pub name: ProjectName,
    #[schema(value_type = Option<String>, required = true)]
    pub description: Option<ProjectDescription>,
    pub archived: bool,
    /// The caller's role in this project.
    pub role: Role,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: Timestamp,
    #[serde(skip)]
    pub version: i64,
}

impl Project {
    /// Changes with the project and with the caller's role (part of the representation).
    pub fn etag(&self) -> String {
        format!("\"p{}.{}\"", self.version, self.role.as_str())
    }
}

/// A member of a project.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Member {
    #[schema(value_type = String)]
    pub user_id: UserId,
    pub email: String,
    #[schema(value_type = String)]
    pub name: super::user::DisplayName,
    pub role: Role,
    #[schema(value_type = String, format = DateTime)]
    pub joined_at: Timestamp,
}

pub fn project_not_found() -> ApiError {
    ApiError::NotFound("no such project".to_owned())
}

pub fn member_not_found() -> ApiError {
    ApiError::NotFound("no such member".to_owned())
}

/// The caller's role, or 404 for a non-member and 403 below `min`.
///
/// # Errors
/// `NotFound`, `Forbidden`.
pub fn require(role: Option<Role>, min: Role) -> Result<Role, ApiError> {
    let role = role.ok_or_else(project_not_found)?;
    if role < min {
        return Err(ApiError::Forbidden(format!("this needs the {} role in the project", min.as_str())));
    }
    Ok(role)
}

/// Fields a PATCH may change; `None` leaves a field alone.
#[derive(Debug, Default, Clone)]
pub struct ProjectPatch {
    pub name: Option<ProjectName>,
    pub description: Option<Option<ProjectDescription>>,
    pub archived: Option<bool>,
}

impl ProjectPatch {
    /// Whether applying the patch to `p` changes anything.
    pub fn changes(&self, p: &Project) -> bool {
        self.name.as_ref().is_some_and(|n| *n != p.name)
            || self.description.as_ref().is_some_and(|d| *d != p.description)
            || self.archived.is_some_and(|a| a != p.archived)
    }
}

/// Why a project PATCH that did not land was refused; `Ok` when it had nothing to change.
///
/// # Errors
/// 403 below admin, 412 stale `If-Match`.
pub fn explain_update(current: &Project, patch: &ProjectPatch, expect: &Expect) -> Result<(), ApiError> {
    require(Some(current.role), Role::Admin)?;
    if !expect.matches(&current.etag()) {
        return Err(ApiError::PreconditionFailed("the project has changed since that ETag".to_owned()));
    }
    if patch.changes(current) {
        return Err(ApiError::Internal("project update refused by its guard without a reason".to_owned()));
    }
    Ok(())
}

/// Why a project DELETE that did not land was refused.
///
/// # Errors
/// 404 non-member, 403 below owner, 412 stale `If-Match`.
pub fn explain_delete(current: Option<&Project>, expect: &Expect) -> ApiError {
    let Some(current) = current else {
        return project_not_found();
    };
    if current.role < Role::Owner {
        return ApiError::Forbidden("only an owner can delete the project".to_owned());
    }
    if !expect.matches(&current.etag()) {
        return ApiError::PreconditionFailed("the project has changed since that ETag".to_owned());
    }
    ApiError::Internal("project delete refused by its guard without a reason".to_owned())
}

fn last_owner() -> ApiError {
    ApiError::Conflict("a project must keep at least one owner".to_owned())
}

/// What the database says about a membership change: the caller's role, the target's
/// role (if a member), and how many owners the project has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Membership {
    pub caller: Option<Role>,
    pub target: Option<Role>,
    pub owners: i64,
}

/// Whether `m.caller` may add someone with `role`: admins add, only owners add owners.
///
/// # Errors
/// 404 non-member, 403 role too low, 422 no such account, 409 already a member.
pub fn check_add(m: Membership, role: Role, account_exists: bool) -> Result<(), ApiError> {
    let mine = require(m.caller, Role::Admin)?;
    if role == Role::Owner && mine < Role::Owner {
        return Err(ApiError::Forbidden("only an owner can add owners".to_owned()));
    }
    if !account_exists {
        return Err(ApiError::field("email", "unknown_user", "no account has this email"));
    }
    if m.target.is_some() {
        return Err(ApiError::Conflict("this user is already a member".to_owned()));
    }
    Ok(())
}

/// Whether `m.caller` may change the target's role to `to`; `Ok(false)` when it already
/// has it (nothing to do).
///
/// # Errors
/// 404, 403 (owners' roles and promotion to owner need an owner), 409 last owner.
pub fn check_role_change(m: Membership, to: Role) -> Result<bool, ApiError> {
    let mine = require(m.caller, Role::Admin)?;
    let target = m.target.ok_or_else(member_not_found)?;
    if (target == Role::Owner || to == Role::Owner) && mine < Role::Owner {
        return Err(ApiError::Forbidden("only an owner can change owners or make owners".to_owned()));
    }
    if target == to {
        return Ok(false);
    }
    if target == Role::Owner && m.owners <= 1 {
        return Err(last_owner());
    }
    Ok(true)
}

/// Whether `m.caller` may remove the target (`leaving`: the caller itself, always allowed
/// but for the last owner).
///
/// # Errors
/// 404, 403 (removing others needs admin, owners need an owner), 409 last owner.
pub fn check_removal(m: Membership, leaving: bool) -> Result<(), ApiError> {
    let mine = m.caller.ok_or_else(project_not_found)?;
    let target = m.target.ok_or_else(member_not_found)?;
    if !leaving {
        if mine < Role::Admin {
            return Err(ApiError::Forbidden("removing others needs the admin role".to_owned()));
        }
        if target == Role::Owner && mine < Role::Owner {
            return Err(ApiError::Forbidden("only an owner can remove an owner".to_owned()));
        }
    }
    if target == Role::Owner && m.owners <= 1 {
        return Err(last_owner());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use Role::*;

    fn m(caller: Option<Role>, target: Option<Role>, owners: i64) -> Membership {
        Membership { caller, target, owners }
    }

    #[test]
    fn roles_are_ordered_viewer_to_owner() {
        assert!(Viewer < Member && Member < Admin && Admin < Owner);
        assert_eq!(Role::parse("role", "admin"), Ok(Admin));
        assert!(Role::parse("role", "root").is_err());
        assert_eq!(Admin.and_above().collect::<Vec<_>>(), vec![Admin, Owner]);
    }

    #[test]
    fn only_owners_touch_owners_and_a_project_keeps_one() {
        assert_eq!(check_role_change(m(Some(Admin), Some(Member), 1), Viewer), Ok(true));
        assert_eq!(check_role_change(m(Some(Admin), Some(Member), 1), Member), Ok(false));
        assert!(matches!(check_role_change(m(Some(Admin), Some(Member), 1), Owner), Err(ApiError::Forbidden(_))));
        assert!(matches!(check_role_change(m(Some(Admin), Some(Owner), 2), Admin), Err(ApiError::Forbidden(_))));
        assert!(matches!(check_role_change(m(Some(Owner), Some(Owner), 1), Admin), Err(ApiError::Conflict(_))));
        assert_eq!(check_role_change(m(Some(Owner), Some(Owner), 2), Admin), Ok(true));
        assert!(matches!(check_role_change(m(Some(Member), Some(Viewer), 1), Admin), Err(ApiError::Forbidden(_))));
        assert!(matches!(check_role_change(m(None, Some(Viewer), 1), Admin), Err(ApiError::NotFound(_))));
        assert!(matches!(check_role_change(m(Some(Owner), None, 1), Admin), Err(ApiError::NotFound(_))));
    }

    #[test]
    fn anyone_may_leave_but_the_last_owner() {
        assert_eq!(check_removal(m(Some(Viewer), Some(Viewer), 1), true), Ok(()));
        assert!(matches!(check_removal(m(Some(Viewer), Some(Member), 1), false), Err(ApiError::Forbidden(_))));
        assert!(matches!(check_removal(m(Some(Admin), Some(Owner), 2), false), Err(ApiError::Forbidden(_))));
        assert!(matches!(check_removal(m(Some(Owner), Some(Owner), 1), true), Err(ApiError::Conflict(_))));
        assert_eq!(check_removal(m(Some(Owner), Some(Owner), 2), false), Ok(()));
    }

    #[test]
    fn admins_add_members_and_owners_add_owners() {
        assert_eq!(check_add(m(Some(Admin), None, 1), Member, true), Ok(()));
        assert!(matches!(check_add(m(Some(Admin), None, 1), Owner, true), Err(ApiError::Forbidden(_))));
        assert!(matches!(check_add(m(Some(Owner), None, 1), Owner, false), Err(ApiError::Validation(_))));
        assert!(matches!(check_add(m(Some(Owner), Some(Viewer), 1), Viewer, true), Err(ApiError::Conflict(_))));
        assert!(matches!(check_add(m(Some(Member), None, 1), Viewer, true), Err(ApiError::Forbidden(_))));
    }
}
