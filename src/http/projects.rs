//! Routes of the Projects and Activity sections.

use axum::extract::Path;
use axum::response::Response;
use http::{HeaderMap, StatusCode};
use serde::Deserialize;
use utoipa::ToSchema;

use super::auth::Auth;
use super::conditional::{answer, created, if_match, if_none_match, resource, Idempotency};
use super::extract::{double_option, JsonBody};
use super::pagination::{Cursors, ListQuery, Page};
use crate::domain::event::Event;
use crate::domain::ids::ProjectId;
use crate::domain::project::{Project, ProjectDescription, ProjectName, ProjectPatch};
use crate::domain::{query_text, SEARCH_MAX};
use crate::error::{ApiError, Errors};
use crate::service::projects;

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
    pub fn validate(&self) -> Result<(ProjectName, Option<ProjectDescription>), ApiError> {
        let mut errs = Errors::default();
        let name = errs.check(ProjectName::parse("name", &self.name));
        let description = match &self.description {
            Some(d) => errs.check(ProjectDescription::parse("description", d)).map(Some),
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
        let name = self.name.as_deref().map(|n| errs.check(ProjectName::parse("name", n)));
        let description = self
            .description
            .as_ref()
            .map(|d| d.as_deref().map(|d| errs.check(ProjectDescription::parse("description", d))));
        errs.done()?;
        Ok(ProjectPatch {
            name: name.flatten(),
            description: description.map(Option::flatten),
            archived: self.archived,
        })
    }
}

/// Create a project; the caller becomes its owner.
#[utoipa::path(post, path = "/v1/projects", tag = "projects", operation_id = "createProject",
    security(("accessToken" = []), ("apiKey" = ["write"])),
    params(("Idempotency-Key" = Option<String>, Header, nullable = false, description = "1-255 chars; a retry with the same key and body replays the first response")),
    request_body = CreateProjectRequest,
    responses(
        (status = 201, description = "Created", body = Project,
            headers(("Location" = String, description = "URL of the project"), ("ETag" = String, description = "Version tag"))),
        (status = 409, description = "Same Idempotency-Key still in flight", body = super::Problem),
        (status = 422, description = "Invalid fields, or Idempotency-Key reused with another body", body = super::Problem),
    ))]
pub async fn create_project(
    a: Auth,
    Idempotency(key): Idempotency,
    JsonBody(req): JsonBody<CreateProjectRequest>,
) -> Result<Response, ApiError> {
    let (name, description) = req.validate()?;
    let c = projects::create(&a.ctx.ports, &a.caller, name, description, key.as_ref(), |p| {
        created(format!("/v1/projects/{}", p.id), Some(p.etag()), p)
    })
    .await?;
    Ok(answer(c))
}

/// The caller's projects, newest first.
#[utoipa::path(get, path = "/v1/projects", tag = "projects", operation_id = "listProjects",
    security(("accessToken" = []), ("apiKey" = ["read"])),
    params(
        ("q" = Option<String>, Query, description = "Substring of the name (case-insensitive for ASCII)"),
        ("archived" = Option<bool>, Query, description = "Only archived (`true`) or only active (`false`) projects; both when absent"),
    ),
    responses((status = 200, description = "One page", body = Page<Project>, headers(("Link" = String, description = "rel=\"next\" when there is a next page")))))]
pub async fn list_projects(a: Auth, uri: http::Uri) -> Result<Response, ApiError> {
    let q = ListQuery::parse(&uri, &["q", "archived"])?;
    let archived = match q.param("archived") {
        None => None,
        Some("true") => Some(true),
        Some("false") => Some(false),
        Some(_) => return Err(ApiError::field("archived", "invalid", "must be true or false")),
    };
    let search = match q.param("q").map(|s| query_text("q", s, 0, SEARCH_MAX)).transpose() {
        Ok(search) => search.filter(|s| !s.is_empty()),
        Err(e) => return Err(ApiError::Validation(vec![e])),
    };
    let cursors = Cursors::new(a.ctx.cursors(), "projects");
    let after = cursors.after(&q)?;
    let after_id = after.as_ref().map(|p| p.id.as_str());
    let (data, more) = projects::list(&a.ctx.ports, &a.caller, search, archived, after_id, q.limit).await?;
    Ok(cursors.page_by_id(&uri, data, more, |p| p.id.to_string()))
}

/// A project the caller belongs to.
#[utoipa::path(get, path = "/v1/projects/{id}", tag = "projects", operation_id = "getProject",
    security(("accessToken" = []), ("apiKey" = ["read"])),
    params(("id" = String, Path, description = "Project id")),
    responses(
        (status = 200, description = "The project", body = Project),
        (status = 404, description = "No such project, or not a member", body = super::Problem),
    ))]
pub async fn get_project(a: Auth, Path(id): Path<ProjectId>, headers: HeaderMap) -> Result<Response, ApiError> {
    let inm = if_none_match(&headers)?;
    let p = projects::get(&a.ctx.ports, &a.caller, &id).await?;
    Ok(resource(inm.as_ref(), &p.etag(), &p))
}

/// Edit a project (admin). `If-Match` makes it conditional.
#[utoipa::path(patch, path = "/v1/projects/{id}", tag = "projects", operation_id = "updateProject",
    security(("accessToken" = []), ("apiKey" = ["write"])),
    params(("id" = String, Path, description = "Project id")),
    request_body = UpdateProjectRequest,
    responses(
        (status = 200, description = "The updated project", body = Project),
        (status = 403, description = "Role below admin", body = super::Problem),
        (status = 404, description = "No such project, or not a member", body = super::Problem),
    ))]
pub async fn update_project(
    a: Auth,
    Path(id): Path<ProjectId>,
    headers: HeaderMap,
    JsonBody(req): JsonBody<UpdateProjectRequest>,
) -> Result<Response, ApiError> {
    let expect = if_match(&headers)?;
    let patch = req.validate()?;
    let p = projects::update(&a.ctx.ports, &a.caller, &id, patch, expect).await?;
    Ok(resource(None, &p.etag(), &p))
}

/// Delete a project with its tasks and events (owner).
#[utoipa::path(delete, path = "/v1/projects/{id}", tag = "projects", operation_id = "deleteProject",
    security(("accessToken" = []), ("apiKey" = ["write"])),
    params(("id" = String, Path, description = "Project id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 403, description = "Not an owner", body = super::Problem),
        (status = 404, description = "No such project, or not a member", body = super::Problem),
    ))]
pub async fn delete_project(a: Auth, Path(id): Path<ProjectId>, headers: HeaderMap) -> Result<StatusCode, ApiError> {
    projects::delete(&a.ctx.ports, &a.caller, &id, if_match(&headers)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The project's event log, newest first.
#[utoipa::path(get, path = "/v1/projects/{id}/events", tag = "projects", operation_id = "listEvents",
    security(("accessToken" = []), ("apiKey" = ["read"])),
    params(("id" = String, Path, description = "Project id")),
    responses(
        (status = 200, description = "One page", body = Page<Event>),
        (status = 404, description = "No such project, or not a member", body = super::Problem),
    ))]
pub async fn list_events(a: Auth, Path(id): Path<ProjectId>, uri: http::Uri) -> Result<Response, ApiError> {
    let q = ListQuery::parse(&uri, &[])?;
    let cursors = Cursors::new(a.ctx.cursors(), format!("events:{id}"));
    let before = cursors.after(&q)?.and_then(|p| p.key.as_i64());
    let (data, more) = projects::events(&a.ctx.ports, &a.caller, &id, before, q.limit).await?;
    let next = data.last().filter(|_| more).map(|last| (serde_json::json!(last.seq), last.id.to_string()));
    Ok(cursors.page(&uri, data, next))
}
