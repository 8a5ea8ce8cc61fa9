//! Routes of project members and their roles.

use axum::extract::Path;
use axum::response::Response;
use axum::Json;
use http::StatusCode;
use serde::Deserialize;
use utoipa::ToSchema;

use super::auth::Auth;
use super::conditional::{answer, created, Idempotency};
use super::extract::JsonBody;
use super::pagination::{Cursors, ListQuery, Page};
use crate::domain::ids::{ProjectId, UserId};
use crate::domain::project::{Member, Role};
use crate::domain::user::Email;
use crate::error::{ApiError, Errors};
use crate::service::members;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddMemberRequest {
    #[schema(example = "grace@example.com")]
    pub email: String,
    // Example `member`, written by `openapi::finish_document`: utoipa cannot write an
    // example beside a reference.
    #[schema(value_type = Role)]
    pub role: String,
}

impl AddMemberRequest {
    /// # Errors
    /// `Validation` with every failing field.
    pub fn validate(&self) -> Result<(Email, Role), ApiError> {
        let mut errs = Errors::default();
        let email = errs.check(Email::parse("email", &self.email));
        let role = errs.check(Role::parse("role", &self.role));
        errs.finish(email.zip(role))
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateMemberRequest {
    // Example `admin`, written by `openapi::finish_document` (see `AddMemberRequest`).
    #[schema(value_type = Role)]
    pub role: String,
}

impl UpdateMemberRequest {
    /// # Errors
    /// `Validation` when the role is not one of the four.
    pub fn validate(&self) -> Result<Role, ApiError> {
        Ok(Role::parse("role", &self.role)?)
    }
}

/// The project's members.
#[utoipa::path(get, path = "/v1/projects/{id}/members", tag = "projects", operation_id = "listMembers",
    security(("accessToken" = []), ("apiKey" = ["read"])),
    params(("id" = String, Path, description = "Project id")),
    responses(
        (status = 200, description = "One page", body = Page<Member>),
        (status = 404, description = "No such project, or not a member", body = super::Problem),
    ))]
pub async fn list_members(a: Auth, Path(id): Path<ProjectId>, uri: http::Uri) -> Result<Response, ApiError> {
    let q = ListQuery::parse(&uri, &[])?;
    let cursors = Cursors::new(a.ctx.cursors(), format!("members:{id}"));
    let after = cursors.after(&q)?;
    let after_id = after.as_ref().map(|p| p.id.as_str());
    let (data, more) = members::list(&a.ctx.ports, &a.caller, &id, after_id, q.limit).await?;
    Ok(cursors.page_by_id(&uri, data, more, |m| m.user_id.to_string()))
}

/// Add a member by email (admin; only owners add owners).
#[utoipa::path(post, path = "/v1/projects/{id}/members", tag = "projects", operation_id = "addMember",
    security(("accessToken" = []), ("apiKey" = ["write"])),
    params(("id" = String, Path, description = "Project id"), ("Idempotency-Key" = Option<String>, Header, nullable = false, description = "1-255 chars")),
    request_body = AddMemberRequest,
    responses(
        (status = 201, description = "Added", body = Member, headers(("Location" = String, description = "URL of the membership"))),
        (status = 403, description = "Role too low", body = super::Problem),
        (status = 404, description = "No such project, or not a member", body = super::Problem),
        (status = 409, description = "Already a member", body = super::Problem),
        (status = 422, description = "Invalid fields, or no account with this email", body = super::Problem),
    ))]
pub async fn add_member(
    a: Auth,
    Path(id): Path<ProjectId>,
    Idempotency(key): Idempotency,
    JsonBody(req): JsonBody<AddMemberRequest>,
) -> Result<Response, ApiError> {
    let (email, role) = req.validate()?;
    let c = members::add(&a.ctx.ports, &a.caller, &id, &email, role, key.as_ref(), |m| {
        created(format!("/v1/projects/{id}/members/{}", m.user_id), None, m)
    })
    .await?;
    Ok(answer(c))
}

/// Change a member's role (admin; owners' roles need an owner; a project keeps an owner).
#[utoipa::path(patch, path = "/v1/projects/{id}/members/{user_id}", tag = "projects", operation_id = "updateMember",
    security(("accessToken" = []), ("apiKey" = ["write"])),
    params(("id" = String, Path, description = "Project id"), ("user_id" = String, Path, description = "Member's user id")),
    request_body = UpdateMemberRequest,
    responses(
        (status = 200, description = "Updated", body = Member),
        (status = 403, description = "Role too low", body = super::Problem),
        (status = 404, description = "No such project or member", body = super::Problem),
        (status = 409, description = "Would leave the project without an owner", body = super::Problem),
    ))]
pub async fn update_member(
    a: Auth,
    Path((id, user_id)): Path<(ProjectId, UserId)>,
    JsonBody(req): JsonBody<UpdateMemberRequest>,
) -> Result<Json<Member>, ApiError> {
    let role = req.validate()?;
    members::change_role(&a.ctx.ports, &a.caller, &id, &user_id, role).await.map(Json)
}

/// Remove a member (admin; owners need an owner); anyone may remove itself. The
/// member's tasks in the project are unassigned.
#[utoipa::path(delete, path = "/v1/projects/{id}/members/{user_id}", tag = "projects", operation_id = "removeMember",
    security(("accessToken" = []), ("apiKey" = ["write"])),
    params(("id" = String, Path, description = "Project id"), ("user_id" = String, Path, description = "Member's user id")),
    responses(
        (status = 204, description = "Removed"),
        (status = 403, description = "Role too low", body = super::Problem),
        (status = 404, description = "No such project or member", body = super::Problem),
        (status = 409, description = "The last owner cannot leave", body = super::Problem),
    ))]
pub async fn remove_member(a: Auth, Path((id, user_id)): Path<(ProjectId, UserId)>) -> Result<StatusCode, ApiError> {
    members::remove(&a.ctx.ports, &a.caller, &id, &user_id).await?;
    Ok(StatusCode::NO_CONTENT)
}
