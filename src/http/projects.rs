//! Routes of the Projects, members and Activity sections.

use axum::extract::Path;
use axum::response::Response;
use axum::Json;
use http::{HeaderMap, StatusCode};
use serde::{Deserialize, Deserializer};
use utoipa::ToSchema;

use super::conditional::{created, finish, if_match, resource, Idempotency, Start};
use super::extract::{AuthUser, JsonBody};
use super::pagination::{page_response, ListQuery, Page, Position};
use super::{ApiError, Ctx, FieldError};
use crate::domain::project::{parse_description, parse_name, Role};
use crate::domain::user::Email;
use crate::domain::Errors;
use crate::service::events::Event;
use crate::service::projects::{self, Member, Project, ProjectPatch};

/// An integer that may be written as a float with no fraction (`3.0`): JSON Schema calls
/// both integers, so the API accepts both.
pub fn integer<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    let v = Option::<serde_json::Number>::deserialize(d)?;
    match v {
        None => Ok(None),
        Some(n) => match (n.as_i64(), n.as_f64()) {
            (Some(i), _) => Ok(Some(i)),
            #[allow(clippy::cast_possible_truncation)]
            (None, Some(f)) if f.fract() == 0.0 && f.abs() < 9.0e15 => Ok(Some(f as i64)),
            _ => Err(serde::de::Error::custom(format!(
                "invalid type: number `{n}`, expected an integer"
            ))),
        },
    }
}

/// Distinguishes an absent field (`None`) from an explicit `null` (`Some(None)`).
pub fn double_option<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateProjectRequest {
    /// 1–100 characters.
    #[schema(example = "Website relaunch")]
    pub name: String,
    /// At most 2000 characters.
    pub description: Option<String>,
}

impl CreateProjectRequest {
    /// # Errors
    /// `Validation` with every failing field.
    pub fn validate(&self) -> Result<(String, Option<String>), ApiError> {
        let mut errs = Errors::default();
        let name = errs.check(parse_name("name", &self.name));
        let description = match &self.description {
            Some(d) => errs.check(parse_description("description", d)).map(Some),
            None => Some(None),
        };
        errs.finish(name.zip(description))
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateProjectRequest {
    pub name: Option<String>,
    /// `null` clears it.
    #[serde(default, deserialize_with = "double_option")]
    pub description: Option<Option<String>>,
    pub archived: Option<bool>,
}

impl UpdateProjectRequest {
    /// # Errors
    /// `Validation` with every failing field.
    pub fn validate(&self) -> Result<ProjectPatch, ApiError> {
        let mut errs = Errors::default();
        let name = self.name.as_deref().map(|n| errs.check(parse_name("name", n)));
        let description = self
            .description
            .as_ref()
            .map(|d| d.as_deref().map(|d| errs.check(parse_description("description", d))));
        if !errs.0.is_empty() {
            return Err(ApiError::Validation(errs.0));
        }
        Ok(ProjectPatch {
            name: name.flatten(),
            description: description.map(|d| d.flatten()),
            archived: self.archived,
        })
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddMemberRequest {
    #[schema(example = "grace@example.com")]
    pub email: String,
    #[schema(example = "member")]
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
    #[schema(example = "admin")]
    pub role: String,
}

impl UpdateMemberRequest {
    /// # Errors
    /// `Validation` when the role is not one of the four.
    pub fn validate(&self) -> Result<Role, ApiError> {
        let mut errs = Errors::default();
        let role = errs.check(Role::parse("role", &self.role));
        errs.finish(role)
    }
}

/// Create a project; the caller becomes its owner.
#[utoipa::path(post, path = "/v1/projects", tag = "projects", operation_id = "createProject",
    security(("accessToken" = []), ("apiKey" = ["write"])),
    params(("Idempotency-Key" = Option<String>, Header, description = "1-255 chars; a retry with the same key and body replays the first response")),
    request_body = CreateProjectRequest,
    responses(
        (status = 201, description = "Created", body = Project,
            headers(("Location" = String, description = "URL of the project"), ("ETag" = String, description = "Version tag"))),
        (status = 401, description = "Not authenticated", body = crate::http::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Same Idempotency-Key still in flight", body = crate::http::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields, or Idempotency-Key reused with another body", body = crate::http::Problem, content_type = "application/problem+json"),
    ))]
pub async fn create_project(
    Ctx(state): Ctx,
    user: AuthUser,
    idem: Idempotency,
    JsonBody(req): JsonBody<CreateProjectRequest>,
) -> Result<Response, ApiError> {
    let (name, description) = req.validate()?;
    let reservation = match idem.start(&state).await? {
        Start::Replay(res) => return Ok(res),
        Start::Proceed(r) => r,
    };
    let mut stored = None;
    let result = projects::create(&state.ports, &user, name, description, |p| {
        let s = created(format!("/v1/projects/{}", p.id), Some(p.etag()), p);
        let stmts = reservation.as_ref().map(|r| vec![r.complete(&s)]).unwrap_or_default();
        stored = Some(s);
        stmts
    })
    .await;
    let result = result.and_then(|_| stored.ok_or_else(|| ApiError::Internal("no response built".into())));
    finish(&state, reservation, result).await
}

const PROJECT_LIST: &str = "projects";

/// The caller's projects, newest first.
#[utoipa::path(get, path = "/v1/projects", tag = "projects", operation_id = "listProjects",
    security(("accessToken" = []), ("apiKey" = ["read"])),
    params(
        ("q" = Option<String>, Query, description = "Substring of the name (case-insensitive for ASCII)"),
        ("archived" = Option<bool>, Query, description = "Only archived (`true`) or only active (`false`) projects; both when absent"),
        ("limit" = Option<u32>, Query, description = "1–100, default 20"),
        ("cursor" = Option<String>, Query, description = "`next_cursor` of the previous page"),
    ),
    responses(
        (status = 200, description = "One page", body = Page<Project>, headers(("Link" = String, description = "rel=\"next\" when there is a next page"))),
        (status = 400, description = "Bad cursor", body = crate::http::Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not authenticated", body = crate::http::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Bad parameter", body = crate::http::Problem, content_type = "application/problem+json"),
    ))]
pub async fn list_projects(Ctx(state): Ctx, user: AuthUser, uri: http::Uri) -> Result<Response, ApiError> {
    let q = ListQuery::parse(&uri, &["q", "archived"])?;
    let archived = match q.param("archived") {
        None => None,
        Some("true") => Some(true),
        Some("false") => Some(false),
        Some(_) => {
            return Err(ApiError::Validation(vec![FieldError::new(
                "archived",
                "invalid",
                "must be true or false",
            )]))
        }
    };
    if q.param("q").is_some_and(|s| s.chars().count() > 200) {
        return Err(ApiError::Validation(vec![FieldError::new(
            "q",
            "too_long",
            "must be at most 200 characters",
        )]));
    }
    let codec = &state.ports.settings.cursor_codec;
    let after = q.cursor.as_deref().map(|c| codec.decode(c, PROJECT_LIST)).transpose()?;
    let (data, more) = projects::list(
        &state.ports,
        &user,
        q.param("q").filter(|s| !s.is_empty()),
        archived,
        after.as_ref().map(|p| p.id.as_str()),
        q.limit,
    )
    .await?;
    let next = match (more, data.last()) {
        (true, Some(last)) => Some(codec.encode(&Position {
            list: PROJECT_LIST.into(),
            key: serde_json::Value::Null,
            id: last.id.clone(),
        })),
        _ => None,
    };
    Ok(page_response(&uri, data, next))
}

/// A project the caller belongs to.
#[utoipa::path(get, path = "/v1/projects/{id}", tag = "projects", operation_id = "getProject",
    security(("accessToken" = []), ("apiKey" = ["read"])),
    params(("id" = String, Path, description = "Project id"), ("If-None-Match" = Option<String>, Header, description = "ETag; 304 when it still matches")),
    responses(
        (status = 200, description = "The project", body = Project, headers(("ETag" = String, description = "Version tag"))),
        (status = 304, description = "Not modified"),
        (status = 404, description = "No such project, or not a member", body = crate::http::Problem, content_type = "application/problem+json"),
    ))]
pub async fn get_project(
    Ctx(state): Ctx,
    user: AuthUser,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let p = projects::get(&state.ports, &user, &id).await?;
    Ok(resource(&headers, &p.etag(), &p))
}

/// Edit a project (admin). `If-Match` makes it conditional.
#[utoipa::path(patch, path = "/v1/projects/{id}", tag = "projects", operation_id = "updateProject",
    security(("accessToken" = []), ("apiKey" = ["write"])),
    params(("id" = String, Path, description = "Project id"), ("If-Match" = Option<String>, Header, description = "ETag; 412 when stale")),
    request_body = UpdateProjectRequest,
    responses(
        (status = 200, description = "The updated project", body = Project, headers(("ETag" = String, description = "Version tag"))),
        (status = 403, description = "Role below admin", body = crate::http::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such project, or not a member", body = crate::http::Problem, content_type = "application/problem+json"),
        (status = 412, description = "Stale If-Match", body = crate::http::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields", body = crate::http::Problem, content_type = "application/problem+json"),
    ))]
pub async fn update_project(
    Ctx(state): Ctx,
    user: AuthUser,
    Path(id): Path<String>,
    headers: HeaderMap,
    JsonBody(req): JsonBody<UpdateProjectRequest>,
) -> Result<Response, ApiError> {
    let patch = req.validate()?;
    let p = projects::update(&state.ports, &user, &id, patch, if_match(&headers).as_deref()).await?;
    Ok(resource(&HeaderMap::new(), &p.etag(), &p))
}

/// Delete a project with its tasks and events (owner).
#[utoipa::path(delete, path = "/v1/projects/{id}", tag = "projects", operation_id = "deleteProject",
    security(("accessToken" = []), ("apiKey" = ["write"])),
    params(("id" = String, Path, description = "Project id"), ("If-Match" = Option<String>, Header, description = "ETag; 412 when stale")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 403, description = "Not an owner", body = crate::http::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such project, or not a member", body = crate::http::Problem, content_type = "application/problem+json"),
        (status = 412, description = "Stale If-Match", body = crate::http::Problem, content_type = "application/problem+json"),
    ))]
pub async fn delete_project(
    Ctx(state): Ctx,
    user: AuthUser,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<StatusCode, ApiError> {
    projects::delete(&state.ports, &user, &id, if_match(&headers).as_deref()).await?;
    Ok(StatusCode::NO_CONTENT)
}

const MEMBER_LIST: &str = "members";

/// The project's members.
#[utoipa::path(get, path = "/v1/projects/{id}/members", tag = "projects", operation_id = "listMembers",
    security(("accessToken" = []), ("apiKey" = ["read"])),
    params(("id" = String, Path, description = "Project id"),
        ("limit" = Option<u32>, Query, description = "1–100, default 20"),
        ("cursor" = Option<String>, Query, description = "`next_cursor` of the previous page")),
    responses(
        (status = 200, description = "One page", body = Page<Member>),
        (status = 404, description = "No such project, or not a member", body = crate::http::Problem, content_type = "application/problem+json"),
    ))]
pub async fn list_members(
    Ctx(state): Ctx,
    user: AuthUser,
    Path(id): Path<String>,
    uri: http::Uri,
) -> Result<Response, ApiError> {
    let q = ListQuery::parse(&uri, &[])?;
    let codec = &state.ports.settings.cursor_codec;
    let list = format!("{MEMBER_LIST}:{id}");
    let after = q.cursor.as_deref().map(|c| codec.decode(c, &list)).transpose()?;
    let (data, more) =
        projects::members(&state.ports, &user, &id, after.as_ref().map(|p| p.id.as_str()), q.limit).await?;
    let next = match (more, data.last()) {
        (true, Some(last)) => Some(codec.encode(&Position {
            list,
            key: serde_json::Value::Null,
            id: last.user_id.clone(),
        })),
        _ => None,
    };
    Ok(page_response(&uri, data, next))
}

/// Add a member by email (admin; only owners add owners).
#[utoipa::path(post, path = "/v1/projects/{id}/members", tag = "projects", operation_id = "addMember",
    security(("accessToken" = []), ("apiKey" = ["write"])),
    params(("id" = String, Path, description = "Project id"), ("Idempotency-Key" = Option<String>, Header, description = "1-255 chars")),
    request_body = AddMemberRequest,
    responses(
        (status = 201, description = "Added", body = Member, headers(("Location" = String, description = "URL of the membership"))),
        (status = 403, description = "Role too low", body = crate::http::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such project, or not a member", body = crate::http::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Already a member", body = crate::http::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields, or no account with this email", body = crate::http::Problem, content_type = "application/problem+json"),
    ))]
pub async fn add_member(
    Ctx(state): Ctx,
    user: AuthUser,
    Path(id): Path<String>,
    idem: Idempotency,
    JsonBody(req): JsonBody<AddMemberRequest>,
) -> Result<Response, ApiError> {
    let (email, role) = req.validate()?;
    let reservation = match idem.start(&state).await? {
        Start::Replay(res) => return Ok(res),
        Start::Proceed(r) => r,
    };
    let mut stored = None;
    let result = projects::add_member(&state.ports, &user, &id, &email.normalized, role, |m| {
        let s = created(format!("/v1/projects/{id}/members/{}", m.user_id), None, m);
        let stmts = reservation.as_ref().map(|r| vec![r.complete(&s)]).unwrap_or_default();
        stored = Some(s);
        stmts
    })
    .await;
    let result = result.and_then(|_| stored.ok_or_else(|| ApiError::Internal("no response built".into())));
    finish(&state, reservation, result).await
}

/// Change a member's role (admin; owners' roles need an owner; a project keeps an owner).
#[utoipa::path(patch, path = "/v1/projects/{id}/members/{user_id}", tag = "projects", operation_id = "updateMember",
    security(("accessToken" = []), ("apiKey" = ["write"])),
    params(("id" = String, Path, description = "Project id"), ("user_id" = String, Path, description = "Member's user id")),
    request_body = UpdateMemberRequest,
    responses(
        (status = 200, description = "Updated", body = Member),
        (status = 403, description = "Role too low", body = crate::http::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such project or member", body = crate::http::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Would leave the project without an owner", body = crate::http::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid role", body = crate::http::Problem, content_type = "application/problem+json"),
    ))]
pub async fn update_member(
    Ctx(state): Ctx,
    user: AuthUser,
    Path((id, user_id)): Path<(String, String)>,
    JsonBody(req): JsonBody<UpdateMemberRequest>,
) -> Result<Json<Member>, ApiError> {
    let role = req.validate()?;
    projects::change_role(&state.ports, &user, &id, &user_id, role)
        .await
        .map(Json)
}

/// Remove a member (admin; owners need an owner); anyone may remove itself. The
/// member's tasks in the project are unassigned.
#[utoipa::path(delete, path = "/v1/projects/{id}/members/{user_id}", tag = "projects", operation_id = "removeMember",
    security(("accessToken" = []), ("apiKey" = ["write"])),
    params(("id" = String, Path, description = "Project id"), ("user_id" = String, Path, description = "Member's user id")),
    responses(
        (status = 204, description = "Removed"),
        (status = 403, description = "Role too low", body = crate::http::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such project or member", body = crate::http::Problem, content_type = "application/problem+json"),
        (status = 409, description = "The last owner cannot leave", body = crate::http::Problem, content_type = "application/problem+json"),
    ))]
pub async fn remove_member(
    Ctx(state): Ctx,
    user: AuthUser,
    Path((id, user_id)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    projects::remove_member(&state.ports, &user, &id, &user_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The project's event log, newest first.
#[utoipa::path(get, path = "/v1/projects/{id}/events", tag = "projects", operation_id = "listEvents",
    security(("accessToken" = []), ("apiKey" = ["read"])),
    params(("id" = String, Path, description = "Project id"),
        ("limit" = Option<u32>, Query, description = "1–100, default 20"),
        ("cursor" = Option<String>, Query, description = "`next_cursor` of the previous page")),
    responses(
        (status = 200, description = "One page", body = Page<Event>),
        (status = 404, description = "No such project, or not a member", body = crate::http::Problem, content_type = "application/problem+json"),
    ))]
pub async fn list_events(
    Ctx(state): Ctx,
    user: AuthUser,
    Path(id): Path<String>,
    uri: http::Uri,
) -> Result<Response, ApiError> {
    let q = ListQuery::parse(&uri, &[])?;
    let codec = &state.ports.settings.cursor_codec;
    let list = format!("events:{id}");
    let after = q.cursor.as_deref().map(|c| codec.decode(c, &list)).transpose()?;
    let before = after.as_ref().and_then(|p| p.key.as_i64());
    let (data, more) = projects::events(&state.ports, &user, &id, before, q.limit).await?;
    let next = match (more, data.last()) {
        (true, Some(last)) => Some(codec.encode(&Position {
            list,
            key: serde_json::json!(last.seq),
            id: last.id.clone(),
        })),
        _ => None,
    };
    Ok(page_response(&uri, data, next))
}
