//! Routes of the Tasks section.

use axum::extract::Path;
use axum::response::Response;
use http::{HeaderMap, StatusCode};
use serde::Deserialize;
use utoipa::ToSchema;

use super::conditional::{created, finish, if_match, resource, Idempotency, Start};
use super::extract::{AuthUser, JsonBody};
use super::pagination::{page_response, ListQuery, Page, Position};
use super::projects::double_option;
use super::{ApiError, AppState, Ctx, FieldError};
use crate::domain::task::{parse_description, parse_due_date, parse_labels, parse_title, Priority, Status};
use crate::domain::Errors;
use crate::service::tasks::{self, After, AssigneeFilter, Filters, NewTask, Scope, Sort, Task, TaskPatch};

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateTaskRequest {
    /// 1–200 characters.
    #[schema(example = "Write the launch post")]
    pub title: String,
    /// At most 10000 characters.
    pub description: Option<String>,
    /// Default `todo`.
    #[schema(example = "todo")]
    pub status: Option<String>,
    /// `low`, `medium` (default), `high`, `urgent`.
    #[schema(example = "high")]
    pub priority: Option<String>,
    /// A member of the project.
    pub assignee_id: Option<String>,
    /// `YYYY-MM-DD`.
    #[schema(example = "2026-12-01")]
    pub due_date: Option<String>,
    /// At most 20, each 1–32 characters.
    #[schema(example = json!(["launch", "blog"]))]
    pub labels: Option<Vec<String>>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateTaskRequest {
    pub title: Option<String>,
    pub description: Option<String>,
    /// Moves follow the status machine; others are 409 `invalid-status-transition`.
    pub status: Option<String>,
    pub priority: Option<String>,
    /// `null` unassigns.
    #[serde(default, deserialize_with = "double_option")]
    pub assignee_id: Option<Option<String>>,
    /// `null` clears.
    #[serde(default, deserialize_with = "double_option")]
    pub due_date: Option<Option<String>>,
    pub labels: Option<Vec<String>>,
}

impl CreateTaskRequest {
    /// The contract's field rules with the defaults (`todo`, `medium`) applied.
    ///
    /// # Errors
    /// `Validation` with every failing field.
    pub fn validate(&self) -> Result<NewTask, ApiError> {
        let mut errs = Errors::default();
        let title = errs.check(parse_title("title", &self.title));
        let description = errs.check(parse_description(
            "description",
            self.description.as_deref().unwrap_or_default(),
        ));
        let status = self
            .status
            .as_deref()
            .map_or(Some(Status::Todo), |s| errs.check(Status::parse("status", s)));
        let priority = self
            .priority
            .as_deref()
            .map_or(Some(Priority::Medium), |s| errs.check(Priority::parse("priority", s)));
        let due_date = match self.due_date.as_deref() {
            Some(d) => errs.check(parse_due_date("due_date", d)).map(Some),
            None => Some(None),
        };
        let labels = match parse_labels("labels", self.labels.as_deref().unwrap_or_default()) {
            Ok(l) => Some(l),
            Err(e) => {
                errs.0.extend(e);
                None
            }
        };
        let new = (|| {
            Some(NewTask {
                title: title?,
                description: description?,
                status: status?,
                priority: priority?,
                assignee_id: self.assignee_id.clone(),
                due_date: due_date?,
                labels: labels?,
            })
        })();
        errs.finish(new)
    }
}

impl UpdateTaskRequest {
    /// The fields' rules. Whether a status move is allowed depends on the task's
    /// current status: [`Status::transition`].
    ///
    /// # Errors
    /// `Validation` with every failing field.
    pub fn validate(&self) -> Result<TaskPatch, ApiError> {
        let mut errs = Errors::default();
        let mut patch = TaskPatch::default();
        if let Some(t) = &self.title {
            patch.title = errs.check(parse_title("title", t));
        }
        if let Some(d) = &self.description {
            patch.description = errs.check(parse_description("description", d));
        }
        if let Some(s) = &self.status {
            patch.status = errs.check(Status::parse("status", s));
        }
        if let Some(p) = &self.priority {
            patch.priority = errs.check(Priority::parse("priority", p));
        }
        patch.assignee_id = self.assignee_id.clone();
        if let Some(d) = &self.due_date {
            patch.due_date = match d {
                None => Some(None),
                Some(d) => errs.check(parse_due_date("due_date", d)).map(Some),
            };
        }
        if let Some(l) = &self.labels {
            match parse_labels("labels", l) {
                Ok(l) => patch.labels = Some(l),
                Err(e) => errs.0.extend(e),
            }
        }
        if !errs.0.is_empty() {
            return Err(ApiError::Validation(errs.0));
        }
        Ok(patch)
    }
}

/// Create a task in a project (member).
#[utoipa::path(post, path = "/v1/projects/{id}/tasks", tag = "tasks", operation_id = "createTask",
    security(("accessToken" = []), ("apiKey" = ["write"])),
    params(("id" = String, Path, description = "Project id"), ("Idempotency-Key" = Option<String>, Header, description = "1-255 chars")),
    request_body = CreateTaskRequest,
    responses(
        (status = 201, description = "Created", body = Task,
            headers(("Location" = String, description = "URL of the task"), ("ETag" = String, description = "Version tag"))),
        (status = 403, description = "Role below member", body = crate::http::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such project, or not a member", body = crate::http::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Archived project, or Idempotency-Key in flight", body = crate::http::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields; assignee not a member; key reused", body = crate::http::Problem, content_type = "application/problem+json"),
    ))]
pub async fn create_task(
    Ctx(state): Ctx,
    user: AuthUser,
    Path(project_id): Path<String>,
    idem: Idempotency,
    JsonBody(req): JsonBody<CreateTaskRequest>,
) -> Result<Response, ApiError> {
    let new = req.validate()?;
    let reservation = match idem.start(&state).await? {
        Start::Replay(res) => return Ok(res),
        Start::Proceed(r) => r,
    };
    let mut stored = None;
    let result = tasks::create(&state.ports, &user, &project_id, new, |t| {
        let s = created(format!("/v1/tasks/{}", t.id), Some(t.etag()), t);
        let stmts = reservation.as_ref().map(|r| vec![r.complete(&s)]).unwrap_or_default();
        stored = Some(s);
        stmts
    })
    .await;
    let result = result.and_then(|_| stored.ok_or_else(|| ApiError::Internal("no response built".into())));
    finish(&state, reservation, result).await
}

const TASK_FILTERS: &[&str] = &[
    "status",
    "assignee",
    "priority",
    "label",
    "due_before",
    "due_after",
    "q",
    "sort",
];

fn parse_filters(q: &ListQuery, caller_id: &str) -> Result<(Filters, Sort), ApiError> {
    let mut errs: Vec<FieldError> = Vec::new();
    let mut f = Filters::default();
    if let Some(s) = q.param("status") {
        for part in s.split(',').filter(|_| !s.is_empty()) {
            match Status::parse("status", part) {
                Ok(st) => f.statuses.push(st),
                Err(e) => errs.push(e),
            }
        }
    }
    if let Some(p) = q.param("priority") {
        for part in p.split(',').filter(|_| !p.is_empty()) {
            match Priority::parse("priority", part) {
                Ok(pr) => f.priorities.push(pr),
                Err(e) => errs.push(e),
            }
        }
    }
    f.assignee = match q.param("assignee") {
        None | Some("") => None,
        Some("me") => Some(AssigneeFilter::User(caller_id.to_owned())),
        Some("none") => Some(AssigneeFilter::Nobody),
        Some(id) => Some(AssigneeFilter::User(id.to_owned())),
    };
    f.label = q.param("label").filter(|l| !l.is_empty()).map(str::to_owned);
    for (name, slot) in [("due_before", &mut f.due_before), ("due_after", &mut f.due_after)] {
        if let Some(d) = q.param(name) {
            match parse_due_date(name, d) {
                Ok(d) => *slot = Some(d),
                Err(e) => errs.push(e),
            }
        }
    }
    f.q = q.param("q").filter(|s| !s.is_empty()).map(str::to_owned);
    if f.q.as_ref().is_some_and(|s| s.chars().count() > 200) {
        errs.push(FieldError::new("q", "too_long", "must be at most 200 characters"));
    }
    let sort = match q.param("sort") {
        None => Sort::DEFAULT,
        Some(s) => match Sort::parse(s) {
            Ok(s) => s,
            Err(e) => {
                errs.push(e);
                Sort::DEFAULT
            }
        },
    };
    if errs.is_empty() {
        Ok((f, sort))
    } else {
        Err(ApiError::Validation(errs))
    }
}

async fn list_response(
    state: &AppState,
    user: &AuthUser,
    uri: &http::Uri,
    scope: Scope,
    list: String,
    q: &ListQuery,
    (filters, sort): (&Filters, Sort),
) -> Result<Response, ApiError> {
    let codec = &state.ports.settings.cursor_codec;
    let list = format!("{list}:{}", sort.name());
    let after = q
        .cursor
        .as_deref()
        .map(|c| codec.decode(c, &list))
        .transpose()?
        .map(|p| After { key: p.key, id: p.id });
    let stmt = tasks::list_statement(&user.user_id, &scope, filters, sort, after.as_ref(), q.limit);
    let (data, last) = tasks::list(&state.ports, stmt, sort, q.limit).await?;
    let next = last.map(|a| {
        codec.encode(&Position {
            list,
            key: a.key,
            id: a.id,
        })
    });
    Ok(page_response(uri, data, next))
}

/// A project's tasks, filtered and sorted, with keyset pagination.
#[utoipa::path(get, path = "/v1/projects/{id}/tasks", tag = "tasks", operation_id = "listTasks",
    security(("accessToken" = []), ("apiKey" = ["read"])),
    params(
        ("id" = String, Path, description = "Project id"),
        ("status" = Option<String>, Query, description = "Comma list of statuses"),
        ("assignee" = Option<String>, Query, description = "A user id, `me` or `none`"),
        ("priority" = Option<String>, Query, description = "Comma list of priorities"),
        ("label" = Option<String>, Query, description = "Tasks carrying this label"),
        ("due_before" = Option<String>, Query, description = "Due strictly before this date (YYYY-MM-DD)"),
        ("due_after" = Option<String>, Query, description = "Due strictly after this date (YYYY-MM-DD)"),
        ("q" = Option<String>, Query, description = "Substring of title or description (case-insensitive for ASCII; `%` and `_` are literal)"),
        ("sort" = Option<String>, Query, description = "created_at, updated_at, due_date or priority; leading `-` for descending; default -created_at. Tasks without a due date come first ascending, last descending"),
        ("limit" = Option<u32>, Query, description = "1–100, default 20"),
        ("cursor" = Option<String>, Query, description = "`next_cursor` of the previous page (only valid with the same sort)"),
    ),
    responses(
        (status = 200, description = "One page", body = Page<Task>, headers(("Link" = String, description = "rel=\"next\""))),
        (status = 400, description = "Bad cursor", body = crate::http::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such project, or not a member", body = crate::http::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Bad filter", body = crate::http::Problem, content_type = "application/problem+json"),
    ))]
pub async fn list_tasks(
    Ctx(state): Ctx,
    user: AuthUser,
    Path(project_id): Path<String>,
    uri: http::Uri,
) -> Result<Response, ApiError> {
    let q = ListQuery::parse(&uri, TASK_FILTERS)?;
    let (filters, sort) = parse_filters(&q, &user.user_id)?;
    crate::service::projects::require_role(&state.ports, &user, &project_id, crate::domain::project::Role::Viewer)
        .await?;
    let list = format!("tasks:{project_id}");
    list_response(
        &state,
        &user,
        &uri,
        Scope::Project(project_id),
        list,
        &q,
        (&filters, sort),
    )
    .await
}

/// Tasks assigned to the caller across its projects, newest first (or `sort=created_at`).
#[utoipa::path(get, path = "/v1/me/tasks", tag = "tasks", operation_id = "listMyTasks",
    security(("accessToken" = []), ("apiKey" = ["read"])),
    params(
        ("status" = Option<String>, Query, description = "Comma list of statuses"),
        ("priority" = Option<String>, Query, description = "Comma list of priorities"),
        ("label" = Option<String>, Query, description = "Tasks carrying this label"),
        ("due_before" = Option<String>, Query, description = "YYYY-MM-DD"),
        ("due_after" = Option<String>, Query, description = "YYYY-MM-DD"),
        ("q" = Option<String>, Query, description = "Substring of title or description"),
        ("sort" = Option<String>, Query, description = "created_at or -created_at (default)"),
        ("limit" = Option<u32>, Query, description = "1–100, default 20"),
        ("cursor" = Option<String>, Query, description = "`next_cursor` of the previous page"),
    ),
    responses(
        (status = 200, description = "One page", body = Page<Task>),
        (status = 400, description = "Bad cursor", body = crate::http::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Bad filter", body = crate::http::Problem, content_type = "application/problem+json"),
    ))]
pub async fn list_my_tasks(Ctx(state): Ctx, user: AuthUser, uri: http::Uri) -> Result<Response, ApiError> {
    let q = ListQuery::parse(
        &uri,
        &["status", "priority", "label", "due_before", "due_after", "q", "sort"],
    )?;
    let (filters, sort) = parse_filters(&q, &user.user_id)?;
    if sort.key != tasks::SortKey::CreatedAt {
        return Err(ApiError::Validation(vec![FieldError::new(
            "sort",
            "invalid",
            "must be created_at or -created_at",
        )]));
    }
    let list = "my-tasks".to_owned();
    list_response(
        &state,
        &user,
        &uri,
        Scope::AssignedTo(user.user_id.clone()),
        list,
        &q,
        (&filters, sort),
    )
    .await
}

/// A task.
#[utoipa::path(get, path = "/v1/tasks/{id}", tag = "tasks", operation_id = "getTask",
    security(("accessToken" = []), ("apiKey" = ["read"])),
    params(("id" = String, Path, description = "Task id"), ("If-None-Match" = Option<String>, Header, description = "ETag; 304 when it still matches")),
    responses(
        (status = 200, description = "The task", body = Task, headers(("ETag" = String, description = "Version tag"))),
        (status = 304, description = "Not modified"),
        (status = 404, description = "No such task, or not a member of its project", body = crate::http::Problem, content_type = "application/problem+json"),
    ))]
pub async fn get_task(
    Ctx(state): Ctx,
    user: AuthUser,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let seen = tasks::get(&state.ports, &user, &id).await?;
    Ok(resource(&headers, &seen.task.etag(), &seen.task))
}

/// Edit a task (member). Status moves follow the status machine; reopening needs admin.
#[utoipa::path(patch, path = "/v1/tasks/{id}", tag = "tasks", operation_id = "updateTask",
    security(("accessToken" = []), ("apiKey" = ["write"])),
    params(("id" = String, Path, description = "Task id"), ("If-Match" = Option<String>, Header, description = "ETag; 412 when stale")),
    request_body = UpdateTaskRequest,
    responses(
        (status = 200, description = "The updated task", body = Task, headers(("ETag" = String, description = "Version tag"))),
        (status = 403, description = "Role too low (or reopening without admin)", body = crate::http::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such task, or not a member", body = crate::http::Problem, content_type = "application/problem+json"),
        (status = 409, description = "invalid-status-transition, or archived project", body = crate::http::Problem, content_type = "application/problem+json"),
        (status = 412, description = "Stale If-Match", body = crate::http::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields; assignee not a member", body = crate::http::Problem, content_type = "application/problem+json"),
    ))]
pub async fn update_task(
    Ctx(state): Ctx,
    user: AuthUser,
    Path(id): Path<String>,
    headers: HeaderMap,
    JsonBody(req): JsonBody<UpdateTaskRequest>,
) -> Result<Response, ApiError> {
    let patch = req.validate()?;
    let t = tasks::update(&state.ports, &user, &id, patch, if_match(&headers).as_deref()).await?;
    Ok(resource(&HeaderMap::new(), &t.etag(), &t))
}

/// Delete a task (admin, or its creator).
#[utoipa::path(delete, path = "/v1/tasks/{id}", tag = "tasks", operation_id = "deleteTask",
    security(("accessToken" = []), ("apiKey" = ["write"])),
    params(("id" = String, Path, description = "Task id"), ("If-Match" = Option<String>, Header, description = "ETag; 412 when stale")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 403, description = "Neither admin nor creator", body = crate::http::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such task, or not a member", body = crate::http::Problem, content_type = "application/problem+json"),
        (status = 412, description = "Stale If-Match", body = crate::http::Problem, content_type = "application/problem+json"),
    ))]
pub async fn delete_task(
    Ctx(state): Ctx,
    user: AuthUser,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<StatusCode, ApiError> {
    tasks::delete(&state.ports, &user, &id, if_match(&headers).as_deref()).await?;
    Ok(StatusCode::NO_CONTENT)
}
