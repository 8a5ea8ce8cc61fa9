//! Routes of the Tasks section.

use axum::extract::Path;
use axum::response::Response;
use http::{HeaderMap, StatusCode};
use serde::Deserialize;
use utoipa::ToSchema;

use super::auth::Auth;
use super::conditional::{answer, created, if_match, if_none_match, resource, Idempotency};
use super::extract::{double_option, JsonBody};
use super::openapi::nullable_ref;
use super::pagination::{Cursors, ListQuery, Page};
use crate::domain::ids::{is_id_shaped, ProjectId, TaskId, UserId};
use crate::domain::task::{
    parse_due_date, Label, Labels, NewTask, Priority, Status, Task, TaskDescription, TaskPatch, TaskTitle,
};
use crate::domain::{query_text, SEARCH_MAX};
use crate::error::{ApiError, Errors, FieldError};
use crate::service::tasks;
use crate::sql::task_list::{After, AssigneeFilter, Filters, Scope, Sort, SortKey};

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateTaskRequest {
    /// 1–200 characters.
    #[schema(example = "Write the launch post")]
    pub title: String,
    /// At most 10000 characters.
    pub description: Option<String>,
    /// Default `todo`.
    #[schema(schema_with = create_status)]
    pub status: Option<String>,
    /// `low`, `medium` (default), `high`, `urgent`.
    #[schema(schema_with = create_priority)]
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
    #[schema(schema_with = update_status)]
    pub status: Option<String>,
    #[schema(schema_with = update_priority)]
    pub priority: Option<String>,
    /// `null` unassigns.
    #[serde(default, deserialize_with = "double_option")]
    pub assignee_id: Option<Option<String>>,
    /// `null` clears.
    #[serde(default, deserialize_with = "double_option")]
    pub due_date: Option<Option<String>>,
    pub labels: Option<Vec<String>>,
}

// The request fields that name a `Status` or a `Priority` (or are `null`): the text is
// parsed by the handler, so that a bad value is a field error like any other.
type FieldSchema = utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>;
fn create_status() -> FieldSchema {
    nullable_ref::<Status>(Some("Default `todo`."), Some("todo"))
}
fn create_priority() -> FieldSchema {
    nullable_ref::<Priority>(Some("`low`, `medium` (default), `high`, `urgent`."), Some("high"))
}
fn update_status() -> FieldSchema {
    nullable_ref::<Status>(Some("Moves follow the status machine; others are 409 `invalid-status-transition`."), None)
}
fn update_priority() -> FieldSchema {
    nullable_ref::<Priority>(None, None)
}

impl CreateTaskRequest {
    /// The contract's field rules with the defaults (`todo`, `medium`) applied.
    ///
    /// # Errors
    /// `Validation` with every failing field.
    pub fn validate(&self) -> Result<NewTask, ApiError> {
        let mut errs = Errors::default();
        let title = errs.check(TaskTitle::parse("title", &self.title));
        let description =
            errs.check(TaskDescription::parse("description", self.description.as_deref().unwrap_or_default()));
        let status = self.status.as_deref().map_or(Some(Status::Todo), |s| errs.check(Status::parse("status", s)));
        let priority =
            self.priority.as_deref().map_or(Some(Priority::Medium), |s| errs.check(Priority::parse("priority", s)));
        let due_date = match self.due_date.as_deref() {
            Some(d) => errs.check(parse_due_date("due_date", d)).map(Some),
            None => Some(None),
        };
        let labels =
            Labels::parse("labels", self.labels.as_deref().unwrap_or_default()).map_err(|e| errs.extend(e)).ok();
        let new = (|| {
            Some(NewTask {
                title: title?,
                description: description?,
                status: status?,
                priority: priority?,
                assignee_id: self.assignee_id.clone().map(UserId::new),
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
        let mut patch = TaskPatch {
            title: self.title.as_deref().and_then(|t| errs.check(TaskTitle::parse("title", t))),
            description: self.description.as_deref().and_then(|d| errs.check(TaskDescription::parse("description", d))),
            status: self.status.as_deref().and_then(|s| errs.check(Status::parse("status", s))),
            priority: self.priority.as_deref().and_then(|p| errs.check(Priority::parse("priority", p))),
            assignee_id: self.assignee_id.clone().map(|a| a.map(UserId::new)),
            ..TaskPatch::default()
        };
        if let Some(d) = &self.due_date {
            patch.due_date = match d {
                None => Some(None),
                Some(d) => errs.check(parse_due_date("due_date", d)).map(Some),
            };
        }
        if let Some(l) = &self.labels {
            patch.labels = Labels::parse("labels", l).map_err(|e| errs.extend(e)).ok();
        }
        errs.done()?;
        Ok(patch)
    }
}

/// Create a task in a project (member).
#[utoipa::path(post, path = "/v1/projects/{id}/tasks", tag = "tasks", operation_id = "createTask",
    security(("accessToken" = []), ("apiKey" = ["write"])),
    params(("id" = String, Path, description = "Project id"), ("Idempotency-Key" = Option<String>, Header, nullable = false, description = "1-255 chars")),
    request_body = CreateTaskRequest,
    responses(
        (status = 201, description = "Created", body = Task,
            headers(("Location" = String, description = "URL of the task"), ("ETag" = String, description = "Version tag"))),
        (status = 403, description = "Role below member", body = super::Problem),
        (status = 404, description = "No such project, or not a member", body = super::Problem),
        (status = 409, description = "Archived project, or Idempotency-Key in flight", body = super::Problem),
        (status = 422, description = "Invalid fields; assignee not a member; key reused", body = super::Problem),
    ))]
pub async fn create_task(
    a: Auth,
    Path(project): Path<ProjectId>,
    Idempotency(key): Idempotency,
    JsonBody(req): JsonBody<CreateTaskRequest>,
) -> Result<Response, ApiError> {
    let new = req.validate()?;
    let c = tasks::create(&a.ctx.ports, &a.caller, &project, new, key.as_ref(), |t| {
        created(format!("/v1/tasks/{}", t.id), Some(t.etag()), t)
    })
    .await?;
    Ok(answer(c))
}

const TASK_FILTERS: &[&str] = &["status", "assignee", "priority", "label", "due_before", "due_after", "q", "sort"];

/// Parses a comma list of values (at most `max` characters), recording each bad one.
fn comma_list<T>(
    q: &ListQuery,
    (name, max): (&str, usize),
    parse: impl Fn(&str, &str) -> Result<T, FieldError>,
    errs: &mut Errors,
) -> Vec<T> {
    match q.param(name).filter(|s| !s.is_empty()) {
        None => Vec::new(),
        Some(s) if s.len() > max => {
            errs.push(FieldError::new(name, "too_long", format!("must be at most {max} characters")));
            Vec::new()
        }
        Some(s) => s.split(',').filter_map(|part| errs.check(parse(name, part))).collect(),
    }
}

/// The `assignee` filter: `me`, `none` or a user id.
fn assignee_filter(value: Option<&str>, caller: &UserId) -> Result<Option<AssigneeFilter>, FieldError> {
    Ok(match value {
        None => None,
        Some("me") => Some(AssigneeFilter::User(caller.clone())),
        Some("none") => Some(AssigneeFilter::Nobody),
        Some(id) if is_id_shaped(id) => Some(AssigneeFilter::User(UserId::new(id))),
        Some(_) => return Err(FieldError::new("assignee", "invalid", "must be `me`, `none` or a user id")),
    })
}

fn parse_filters(q: &ListQuery, caller: &UserId) -> Result<(Filters, Sort), ApiError> {
    let mut errs = Errors::default();
    let mut f = Filters {
        statuses: comma_list(q, ("status", Status::LIST_MAX_LEN), Status::parse, &mut errs),
        priorities: comma_list(q, ("priority", Priority::LIST_MAX_LEN), Priority::parse, &mut errs),
        assignee: errs.check(assignee_filter(q.param("assignee"), caller)).flatten(),
        label: q
            .param("label")
            .and_then(|l| errs.check(query_text("label", l, Label::MIN, Label::MAX)))
            .map(str::to_owned),
        q: q.param("q")
            .and_then(|s| errs.check(query_text("q", s, 0, SEARCH_MAX)))
            .filter(|s| !s.is_empty())
            .map(str::to_owned),
        ..Filters::default()
    };
    for (name, slot) in [("due_before", &mut f.due_before), ("due_after", &mut f.due_after)] {
        *slot = q.param(name).and_then(|d| errs.check(parse_due_date(name, d)));
    }
    let sort = q.param("sort").map_or(Some(Sort::DEFAULT), |s| errs.check(Sort::parse(s))).unwrap_or(Sort::DEFAULT);
    errs.finish(Some((f, sort)))
}

/// One page of a task list: its cursors are bound to the list and the sort.
async fn task_page(
    a: &Auth,
    uri: &http::Uri,
    scope: Scope,
    list: String,
    q: &ListQuery,
    sort: Sort,
    filters: &Filters,
) -> Result<Response, ApiError> {
    let cursors = Cursors::new(a.ctx.cursors(), format!("{list}:{}", sort.name()));
    let after = cursors.after(q)?.map(|p| After { key: p.key, id: p.id });
    let (data, next) = tasks::list(&a.ctx.ports, &a.caller, &scope, filters, sort, after.as_ref(), q.limit).await?;
    Ok(cursors.page(uri, data, next.map(|n| (n.key, n.id))))
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
        ("cursor" = Option<String>, Query, description = "`next_cursor` of the previous page (only valid with the same sort)"),
    ),
    responses(
        (status = 200, description = "One page", body = Page<Task>, headers(("Link" = String, description = "rel=\"next\""))),
        (status = 404, description = "No such project, or not a member", body = super::Problem),
    ))]
pub async fn list_tasks(a: Auth, Path(project): Path<ProjectId>, uri: http::Uri) -> Result<Response, ApiError> {
    let q = ListQuery::parse(&uri, TASK_FILTERS)?;
    let (filters, sort) = parse_filters(&q, &a.caller.user_id)?;
    let list = format!("tasks:{project}");
    task_page(&a, &uri, Scope::Project(project), list, &q, sort, &filters).await
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
    ),
    responses((status = 200, description = "One page", body = Page<Task>)))]
pub async fn list_my_tasks(a: Auth, uri: http::Uri) -> Result<Response, ApiError> {
    let q = ListQuery::parse(&uri, &["status", "priority", "label", "due_before", "due_after", "q", "sort"])?;
    let (filters, sort) = parse_filters(&q, &a.caller.user_id)?;
    if sort.key != SortKey::CreatedAt {
        return Err(ApiError::field("sort", "invalid", "must be created_at or -created_at"));
    }
    let me = a.caller.user_id.clone();
    task_page(&a, &uri, Scope::AssignedTo(me), "my-tasks".to_owned(), &q, sort, &filters).await
}

/// A task.
#[utoipa::path(get, path = "/v1/tasks/{id}", tag = "tasks", operation_id = "getTask",
    security(("accessToken" = []), ("apiKey" = ["read"])),
    params(("id" = String, Path, description = "Task id")),
    responses(
        (status = 200, description = "The task", body = Task),
        (status = 404, description = "No such task, or not a member of its project", body = super::Problem),
    ))]
pub async fn get_task(a: Auth, Path(id): Path<TaskId>, headers: HeaderMap) -> Result<Response, ApiError> {
    let inm = if_none_match(&headers)?;
    let t = tasks::get(&a.ctx.ports, &a.caller, &id).await?;
    Ok(resource(inm.as_ref(), &t.etag(), &t))
}

/// Edit a task (member). Status moves follow the status machine; reopening needs admin.
#[utoipa::path(patch, path = "/v1/tasks/{id}", tag = "tasks", operation_id = "updateTask",
    security(("accessToken" = []), ("apiKey" = ["write"])),
    params(("id" = String, Path, description = "Task id")),
    request_body = UpdateTaskRequest,
    responses(
        (status = 200, description = "The updated task", body = Task),
        (status = 403, description = "Role too low (or reopening without admin)", body = super::Problem),
        (status = 404, description = "No such task, or not a member", body = super::Problem),
        (status = 409, description = "invalid-status-transition, or archived project", body = super::Problem),
        (status = 422, description = "Invalid fields; assignee not a member", body = super::Problem),
    ))]
pub async fn update_task(
    a: Auth,
    Path(id): Path<TaskId>,
    headers: HeaderMap,
    JsonBody(req): JsonBody<UpdateTaskRequest>,
) -> Result<Response, ApiError> {
    let expect = if_match(&headers)?;
    let patch = req.validate()?;
    let t = tasks::update(&a.ctx.ports, &a.caller, &id, patch, expect).await?;
    Ok(resource(None, &t.etag(), &t))
}

/// Delete a task (admin, or its creator).
#[utoipa::path(delete, path = "/v1/tasks/{id}", tag = "tasks", operation_id = "deleteTask",
    security(("accessToken" = []), ("apiKey" = ["write"])),
    params(("id" = String, Path, description = "Task id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 403, description = "Neither admin nor creator", body = super::Problem),
        (status = 404, description = "No such task, or not a member", body = super::Problem),
        (status = 409, description = "Archived project", body = super::Problem),
    ))]
pub async fn delete_task(a: Auth, Path(id): Path<TaskId>, headers: HeaderMap) -> Result<StatusCode, ApiError> {
    tasks::delete(&a.ctx.ports, &a.caller, &id, if_match(&headers)?).await?;
    Ok(StatusCode::NO_CONTENT)
}
