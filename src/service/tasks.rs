//! Tasks: creation, the status machine, conditional updates, deletion, and lists with
//! filters, sorts and keyset pagination, each served by an index.

use serde::Serialize;
use serde_json::{json, Value as Json};
use utoipa::ToSchema;

use super::events::{self, Guard};
use crate::clock::Date;
use crate::domain::project::Role;
use crate::domain::task::{Priority, Status, Transition};
use crate::http::extract::AuthUser;
use crate::http::{ApiError, FieldError};
use crate::ids::uuid_v7;
use crate::ports::Ports;
use crate::store::{Row, Statement, Value};

/// A task.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Task {
    pub id: String,
    pub project_id: String,
    #[schema(example = "Write the launch post")]
    pub title: String,
    pub description: String,
    pub status: Status,
    pub priority: Priority,
    pub assignee_id: Option<String>,
    /// `YYYY-MM-DD`.
    #[schema(example = "2026-12-01")]
    pub due_date: Option<String>,
    pub labels: Vec<String>,
    pub created_by: String,
    pub created_at: String,
    pub updated_at: String,
    pub completed_at: Option<String>,
    #[serde(skip)]
    pub version: i64,
}

impl Task {
    pub fn etag(&self) -> String {
        format!("\"t{}\"", self.version)
    }
}

fn internal(e: impl std::fmt::Display) -> ApiError {
    ApiError::Internal(e.to_string())
}

fn fmt_time(ms: i64) -> String {
    crate::clock::format_rfc3339_ms(ms)
}

fn not_found() -> ApiError {
    ApiError::NotFound("no such task".to_owned())
}

const TASK_COLUMNS: &str = "t.id, t.project_id, t.title, t.description, t.status, t.priority, t.assignee_id, \
     t.due_date, t.labels, t.created_by, t.created_at, t.updated_at, t.completed_at, t.version";

fn task_from_row(r: &Row) -> Result<Task, ApiError> {
    Ok(Task {
        id: r.text(0)?,
        project_id: r.text(1)?,
        title: r.text(2)?,
        description: r.text(3)?,
        status: Status::parse_db(&r.text(4)?).ok_or_else(|| internal("bad status in tasks"))?,
        priority: Priority::parse_db(&r.text(5)?).ok_or_else(|| internal("bad priority in tasks"))?,
        assignee_id: r.opt_text(6)?,
        due_date: r.opt_text(7)?,
        labels: serde_json::from_str(&r.text(8)?).unwrap_or_default(),
        created_by: r.text(9)?,
        created_at: fmt_time(r.int(10)?),
        updated_at: fmt_time(r.int(11)?),
        completed_at: r.opt_int(12)?.map(fmt_time),
        version: r.int(13)?,
    })
}

/// A task with the caller's role in its project and whether the project is archived.
pub struct Seen {
    pub task: Task,
    pub role: Role,
    pub archived: bool,
}

/// The task as `caller` sees it: 404 unless the caller is a member of its project.
///
/// # Errors
/// `NotFound`.
pub async fn get(ports: &Ports, caller: &AuthUser, task_id: &str) -> Result<Seen, ApiError> {
    let rows = ports
        .store
        .query(Statement::new(
            format!(
                "SELECT {TASK_COLUMNS}, m.role, p.archived FROM tasks t \
                 JOIN members m ON m.project_id = t.project_id AND m.user_id = ?2 \
                 JOIN projects p ON p.id = t.project_id WHERE t.id = ?1"
            ),
            vec![task_id.into(), caller.user_id.clone().into()],
        ))
        .await?;
    let row = rows.first().ok_or_else(not_found)?;
    Ok(Seen {
        task: task_from_row(row)?,
        role: Role::parse_db(&row.text(14)?).ok_or_else(|| internal("bad role"))?,
        archived: row.bool(15)?,
    })
}

/// A validated new task.
#[derive(Debug, Clone)]
pub struct NewTask {
    pub title: String,
    pub description: String,
    pub status: Status,
    pub priority: Priority,
    pub assignee_id: Option<String>,
    pub due_date: Option<Date>,
    pub labels: Vec<String>,
}

fn archived() -> ApiError {
    ApiError::Conflict("the project is archived; unarchive it to change its tasks".to_owned())
}

fn assignee_not_member() -> ApiError {
    ApiError::Validation(vec![FieldError::new(
        "assignee_id",
        "not_a_member",
        "the assignee must be a member of the project",
    )])
}

const ASSIGNEE_IS_MEMBER: &str =
    "(?A IS NULL OR EXISTS (SELECT 1 FROM members WHERE project_id = ?P AND user_id = ?A))";

fn labels_insert(project_id: &str, task_id: &str, labels: &[String], anchor_event: &str) -> Statement {
    Statement::new(
        "INSERT INTO task_labels (project_id, label, task_id) SELECT ?1, value, ?2 FROM json_each(?3) \
         WHERE EXISTS (SELECT 1 FROM events WHERE id = ?4)",
        vec![
            project_id.into(),
            task_id.into(),
            Json::from(labels.to_vec()).to_string().into(),
            anchor_event.into(),
        ],
    )
}

/// Creates a task (member). `extra` joins the same atomic batch.
///
/// # Errors
/// 404/403 by membership, 409 for an archived project, 422 for a non-member assignee.
pub async fn create(
    ports: &Ports,
    caller: &AuthUser,
    project_id: &str,
    new: NewTask,
    extra: impl FnOnce(&Task) -> Vec<Statement>,
) -> Result<Task, ApiError> {
    let project = super::projects::get(ports, caller, project_id).await?;
    if project.role < Role::Member {
        return Err(ApiError::Forbidden("creating tasks needs the member role".to_owned()));
    }
    if project.archived {
        return Err(archived());
    }
    let now = ports.clock.now_ms();
    let id = uuid_v7(ports.clock.as_ref(), ports.random.as_ref()).map_err(internal)?;
    let completed_at = (new.status == Status::Done).then_some(now);
    let task = Task {
        id: id.clone(),
        project_id: project_id.to_owned(),
        title: new.title,
        description: new.description,
        status: new.status,
        priority: new.priority,
        assignee_id: new.assignee_id,
        due_date: new.due_date.map(|d| d.to_string()),
        labels: new.labels,
        created_by: caller.user_id.clone(),
        created_at: fmt_time(now),
        updated_at: fmt_time(now),
        completed_at: completed_at.map(fmt_time),
        version: 1,
    };
    let (event_id, event) = events::insert(
        ports,
        Guard::PreviousChangedOneRow,
        project_id,
        "task.created",
        &caller.user_id,
        &id,
        &json!({"title": task.title, "status": task.status, "priority": task.priority, "assignee_id": task.assignee_id}),
        now,
    )?;
    let sql = format!(
        "INSERT INTO tasks (id, project_id, title, description, status, priority, priority_rank, assignee_id, \
         due_date, labels, created_by, created_at, updated_at, completed_at, version) \
         SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?12, ?13, 1 WHERE {} RETURNING 1",
        ASSIGNEE_IS_MEMBER.replace("?A", "?8").replace("?P", "?2")
    );
    let mut stmts = vec![
        Statement::new(
            sql,
            vec![
                id.clone().into(),
                project_id.into(),
                task.title.clone().into(),
                task.description.clone().into(),
                task.status.as_str().into(),
                task.priority.as_str().into(),
                task.priority.rank().into(),
                task.assignee_id.clone().into(),
                task.due_date.clone().into(),
                Json::from(task.labels.clone()).to_string().into(),
                caller.user_id.clone().into(),
                now.into(),
                completed_at.into(),
            ],
        ),
        event,
    ];
    if !task.labels.is_empty() {
        stmts.push(labels_insert(project_id, &id, &task.labels, &event_id));
    }
    stmts.extend(extra(&task));
    let results = ports.store.batch(stmts).await?;
    if super::landed(&results) {
        Ok(task)
    } else {
        Err(assignee_not_member())
    }
}

/// Fields a PATCH may change; `None` leaves a field alone, `Some(None)` clears it.
#[derive(Debug, Default, Clone)]
pub struct TaskPatch {
    pub title: Option<String>,
    pub description: Option<String>,
    pub status: Option<Status>,
    pub priority: Option<Priority>,
    pub assignee_id: Option<Option<String>>,
    pub due_date: Option<Option<Date>>,
    pub labels: Option<Vec<String>>,
}

fn stale() -> ApiError {
    ApiError::PreconditionFailed("the task has changed since that ETag".to_owned())
}

/// Applies a patch (member), enforcing the status machine.
///
/// # Errors
/// 409 `invalid-status-transition`, 403 reopen by a non-admin, 412 stale `If-Match`,
/// 422 non-member assignee, 409 archived project.
pub async fn update(
    ports: &Ports,
    caller: &AuthUser,
    task_id: &str,
    patch: TaskPatch,
    if_match: Option<&str>,
) -> Result<Task, ApiError> {
    for _ in 0..3 {
        let Seen {
            task: cur,
            role,
            archived: is_archived,
        } = get(ports, caller, task_id).await?;
        if role < Role::Member {
            return Err(ApiError::Forbidden("editing tasks needs the member role".to_owned()));
        }
        if let Some(tag) = if_match {
            if !super::etag_matches(tag, &cur.etag()) {
                return Err(stale());
            }
        }
        let now = ports.clock.now_ms();
        let mut next = cur.clone();
        let mut changed = serde_json::Map::new();
        let mut status_change = None;
        if let Some(to) = patch.status {
            match cur.status.transition(to) {
                Transition::NoOp => {}
                Transition::Allowed => status_change = Some(to),
                Transition::ReopenAdminOnly if role >= Role::Admin => status_change = Some(to),
                Transition::ReopenAdminOnly => {
                    return Err(ApiError::Forbidden(
                        "reopening a finished task needs the admin role".to_owned(),
                    ))
                }
                Transition::Forbidden => {
                    return Err(ApiError::InvalidStatusTransition(format!(
                        "a task cannot move from {} to {}",
                        cur.status.as_str(),
                        to.as_str()
                    )))
                }
            }
        }
        if let Some(to) = status_change {
            next.status = to;
            if to == Status::Done {
                next.completed_at = Some(fmt_time(now));
            } else if to == Status::Todo {
                next.completed_at = None;
            }
        }
        macro_rules! apply {
            ($field:ident, $value:expr) => {
                if let Some(v) = $value {
                    if next.$field != v {
                        changed.insert(stringify!($field).into(), json!({"from": next.$field, "to": v}));
                        next.$field = v;
                    }
                }
            };
        }
        apply!(title, patch.title.clone());
        apply!(description, patch.description.clone());
        apply!(priority, patch.priority);
        apply!(assignee_id, patch.assignee_id.clone());
        apply!(due_date, patch.due_date.map(|d| d.map(|d| d.to_string())));
        apply!(labels, patch.labels.clone());
        if status_change.is_none() && changed.is_empty() {
            return Ok(cur);
        }
        if is_archived {
            return Err(archived());
        }
        // completed_at: set on done, cleared on reopen, otherwise kept as stored.
        let keep_completed = !matches!(status_change, Some(Status::Done | Status::Todo));
        let completed_ms = (status_change == Some(Status::Done)).then_some(now);
        let mut stmts = vec![Statement::new(
            format!(
                "UPDATE tasks SET title = ?1, description = ?2, status = ?3, priority = ?4, priority_rank = ?5, \
                 assignee_id = ?6, due_date = ?7, labels = ?8, updated_at = ?9, \
                 completed_at = CASE WHEN ?10 THEN completed_at ELSE ?11 END, version = version + 1 \
                 WHERE id = ?12 AND version = ?13 AND {} RETURNING 1",
                ASSIGNEE_IS_MEMBER.replace("?A", "?6").replace("?P", "?14")
            ),
            vec![
                next.title.clone().into(),
                next.description.clone().into(),
                next.status.as_str().into(),
                next.priority.as_str().into(),
                next.priority.rank().into(),
                next.assignee_id.clone().into(),
                next.due_date.clone().into(),
                Json::from(next.labels.clone()).to_string().into(),
                now.into(),
                keep_completed.into(),
                completed_ms.into(),
                task_id.into(),
                cur.version.into(),
                cur.project_id.clone().into(),
            ],
        )];
        let mut anchor = None;
        if let Some(to) = status_change {
            let (id, ev) = events::insert(
                ports,
                Guard::PreviousChangedOneRow,
                &cur.project_id,
                "task.status_changed",
                &caller.user_id,
                task_id,
                &json!({"status": {"from": cur.status, "to": to}}),
                now,
            )?;
            stmts.push(ev);
            anchor = Some(id);
        }
        if !changed.is_empty() {
            let (id, mut ev) = events::insert(
                ports,
                Guard::PreviousChangedOneRow,
                &cur.project_id,
                "task.updated",
                &caller.user_id,
                task_id,
                &Json::Object(changed.clone()),
                now,
            )?;
            if let Some(first) = &anchor {
                // Chained on the first event rather than on changes().
                ev = Statement::new(
                    "INSERT INTO events (id, project_id, type, actor_id, subject_id, data, created_at) \
                     SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7 WHERE EXISTS (SELECT 1 FROM events WHERE id = ?8)",
                    {
                        let mut p = ev.params;
                        p.push(first.clone().into());
                        p
                    },
                );
            }
            stmts.push(ev);
            anchor.get_or_insert(id);
        }
        let anchor = anchor.unwrap_or_default();
        if changed.contains_key("labels") {
            stmts.push(Statement::new(
                "DELETE FROM task_labels WHERE task_id = ?1 AND EXISTS (SELECT 1 FROM events WHERE id = ?2)",
                vec![task_id.into(), anchor.clone().into()],
            ));
            stmts.push(labels_insert(&cur.project_id, task_id, &next.labels, &anchor));
        }
        let results = ports.store.batch(stmts).await?;
        if super::landed(&results) {
            next.updated_at = fmt_time(now);
            next.version = cur.version.saturating_add(1);
            return Ok(next);
        }
        // Lost a race, or the assignee is not (or no longer) a member.
        if let Some(Some(assignee)) = &patch.assignee_id {
            let rows = ports
                .store
                .query(Statement::new(
                    "SELECT 1 FROM members WHERE project_id = ?1 AND user_id = ?2",
                    vec![cur.project_id.clone().into(), assignee.clone().into()],
                ))
                .await?;
            if rows.is_empty() {
                return Err(assignee_not_member());
            }
        }
        if if_match.is_some() {
            return Err(stale());
        }
    }
    Err(ApiError::Conflict(
        "the task is being changed concurrently; retry".to_owned(),
    ))
}

/// Deletes a task (admin, or its creator with at least the member role).
///
/// # Errors
/// 404/403 by membership and authorship, 412 stale `If-Match`.
pub async fn delete(ports: &Ports, caller: &AuthUser, task_id: &str, if_match: Option<&str>) -> Result<(), ApiError> {
    let Seen {
        task,
        role,
        archived: is_archived,
    } = get(ports, caller, task_id).await?;
    let own = task.created_by == caller.user_id && role >= Role::Member;
    if role < Role::Admin && !own {
        return Err(ApiError::Forbidden(
            "deleting this task needs the admin role or being its creator".to_owned(),
        ));
    }
    if let Some(tag) = if_match {
        if !super::etag_matches(tag, &task.etag()) {
            return Err(stale());
        }
    }
    if is_archived {
        return Err(archived());
    }
    let now = ports.clock.now_ms();
    let (event_id, event) = events::insert(
        ports,
        Guard::PreviousChangedOneRow,
        &task.project_id,
        "task.deleted",
        &caller.user_id,
        task_id,
        &json!({"title": task.title}),
        now,
    )?;
    let results = ports
        .store
        .batch(vec![
            Statement::new(
                "DELETE FROM tasks WHERE id = ?1 AND version = ?2 RETURNING 1",
                vec![task_id.into(), task.version.into()],
            ),
            event,
            Statement::new(
                "DELETE FROM task_labels WHERE task_id = ?1 AND EXISTS (SELECT 1 FROM events WHERE id = ?2)",
                vec![task_id.into(), event_id.into()],
            ),
        ])
        .await?;
    if super::landed(&results) {
        Ok(())
    } else {
        Err(stale())
    }
}

/// The sort of a task list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortKey {
    CreatedAt,
    UpdatedAt,
    DueDate,
    Priority,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sort {
    pub key: SortKey,
    pub descending: bool,
}

impl Sort {
    pub const DEFAULT: Sort = Sort {
        key: SortKey::CreatedAt,
        descending: true,
    };

    /// # Errors
    /// A field error on `sort`.
    pub fn parse(s: &str) -> Result<Sort, FieldError> {
        let (descending, name) = s.strip_prefix('-').map_or((false, s), |n| (true, n));
        let key = match name {
            "created_at" => SortKey::CreatedAt,
            "updated_at" => SortKey::UpdatedAt,
            "due_date" => SortKey::DueDate,
            "priority" => SortKey::Priority,
            _ => {
                return Err(FieldError::new(
                    "sort",
                    "invalid",
                    "must be created_at, updated_at, due_date or priority, optionally prefixed by -",
                ))
            }
        };
        Ok(Sort { key, descending })
    }

    pub fn name(self) -> String {
        let n = match self.key {
            SortKey::CreatedAt => "created_at",
            SortKey::UpdatedAt => "updated_at",
            SortKey::DueDate => "due_date",
            SortKey::Priority => "priority",
        };
        if self.descending {
            format!("-{n}")
        } else {
            n.to_owned()
        }
    }

    fn column(self) -> &'static str {
        match self.key {
            SortKey::CreatedAt => "t.created_at",
            SortKey::UpdatedAt => "t.updated_at",
            SortKey::DueDate => "t.due_date",
            SortKey::Priority => "t.priority_rank",
        }
    }

    fn index(self) -> &'static str {
        match self.key {
            SortKey::CreatedAt => "tasks_by_created",
            SortKey::UpdatedAt => "tasks_by_updated",
            SortKey::DueDate => "tasks_by_due",
            SortKey::Priority => "tasks_by_priority",
        }
    }

    /// The sort value of a task, as stored in cursors.
    pub fn key_of(self, t: &Task, created_ms: i64, updated_ms: i64) -> Json {
        match self.key {
            SortKey::CreatedAt => json!(created_ms),
            SortKey::UpdatedAt => json!(updated_ms),
            SortKey::DueDate => json!(t.due_date),
            SortKey::Priority => json!(t.priority.rank()),
        }
    }
}

/// Who a list is filtered to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AssigneeFilter {
    User(String),
    Nobody,
}

/// Filters of a task list; every one optional.
#[derive(Debug, Clone, Default)]
pub struct Filters {
    pub statuses: Vec<Status>,
    pub assignee: Option<AssigneeFilter>,
    pub priorities: Vec<Priority>,
    pub label: Option<String>,
    pub due_before: Option<Date>,
    pub due_after: Option<Date>,
    pub q: Option<String>,
}

/// The last item of the previous page.
#[derive(Debug, Clone)]
pub struct After {
    pub key: Json,
    pub id: String,
}

/// Which tasks a list shows: one project's, or the caller's assigned ones.
#[derive(Debug, Clone)]
pub enum Scope {
    Project(String),
    AssignedTo(String),
}

fn push(params: &mut Vec<Value>, v: Value) -> String {
    params.push(v);
    format!("?{}", params.len())
}

/// The SELECT of a task list: membership join, filters, keyset and the sort's index.
/// Public so a test can `EXPLAIN QUERY PLAN` every combination.
pub fn list_statement(
    caller_id: &str,
    scope: &Scope,
    filters: &Filters,
    sort: Sort,
    after: Option<&After>,
    limit: usize,
) -> Statement {
    let mut params: Vec<Value> = Vec::new();
    let me = push(&mut params, caller_id.into());
    let mut wheres: Vec<String> = Vec::new();
    let index = match scope {
        Scope::Project(pid) => {
            let p = push(&mut params, pid.clone().into());
            wheres.push(format!("t.project_id = {p}"));
            // A single-status or single-assignee filter in creation order has its own index.
            match (&filters.assignee, filters.statuses.as_slice(), sort.key) {
                (_, [_], SortKey::CreatedAt) => "tasks_by_status",
                (Some(_), _, SortKey::CreatedAt) => "tasks_by_assignee",
                _ => sort.index(),
            }
        }
        Scope::AssignedTo(uid) => {
            let u = push(&mut params, uid.clone().into());
            wheres.push(format!("t.assignee_id = {u}"));
            "tasks_assigned_to"
        }
    };
    if !filters.statuses.is_empty() {
        let list: Vec<String> = filters
            .statuses
            .iter()
            .map(|s| push(&mut params, s.as_str().into()))
            .collect();
        wheres.push(format!("t.status IN ({})", list.join(", ")));
    }
    match &filters.assignee {
        Some(AssigneeFilter::User(id)) => {
            let a = push(&mut params, id.clone().into());
            wheres.push(format!("t.assignee_id = {a}"));
        }
        Some(AssigneeFilter::Nobody) => wheres.push("t.assignee_id IS NULL".to_owned()),
        None => {}
    }
    if !filters.priorities.is_empty() {
        let list: Vec<String> = filters
            .priorities
            .iter()
            .map(|p| push(&mut params, p.as_str().into()))
            .collect();
        wheres.push(format!("t.priority IN ({})", list.join(", ")));
    }
    if let Some(label) = &filters.label {
        let l = push(&mut params, label.clone().into());
        wheres.push(format!(
            "EXISTS (SELECT 1 FROM task_labels l WHERE l.project_id = t.project_id AND l.label = {l} AND l.task_id = t.id)"
        ));
    }
    if let Some(d) = filters.due_before {
        let v = push(&mut params, d.to_string().into());
        wheres.push(format!("t.due_date < {v}"));
    }
    if let Some(d) = filters.due_after {
        let v = push(&mut params, d.to_string().into());
        wheres.push(format!("t.due_date > {v}"));
    }
    if let Some(q) = &filters.q {
        let v = push(&mut params, super::search_term(q).into());
        wheres.push(format!(
            "(instr(lower(t.title), {v}) > 0 OR instr(lower(t.description), {v}) > 0)"
        ));
    }
    let col = sort.column();
    let (cmp, dir) = if sort.descending { ("<", "DESC") } else { (">", "ASC") };
    if let Some(after) = after {
        let id = push(&mut params, after.id.clone().into());
        let nullable = sort.key == SortKey::DueDate;
        let cond = match (&after.key, nullable, sort.descending) {
            // SQLite sorts NULL first ascending, last descending.
            (Json::Null, true, false) => format!("(({col} IS NULL AND t.id > {id}) OR {col} IS NOT NULL)"),
            (Json::Null, true, true) => format!("({col} IS NULL AND t.id < {id})"),
            (key, _, _) => {
                let k = push(&mut params, json_to_value(key));
                let tail = if nullable && sort.descending {
                    format!(" OR {col} IS NULL")
                } else {
                    String::new()
                };
                format!("({col} {cmp} {k} OR ({col} = {k} AND t.id {cmp} {id}){tail})")
            }
        };
        wheres.push(cond);
    }
    let lim = push(&mut params, super::fetch_limit(limit));
    let order = match scope {
        Scope::AssignedTo(_) => format!("t.created_at {dir}, t.id {dir}"),
        Scope::Project(_) => format!("{col} {dir}, t.id {dir}"),
    };
    let sql = format!(
        "SELECT {TASK_COLUMNS} FROM tasks t INDEXED BY {index} \
         JOIN members m ON m.project_id = t.project_id AND m.user_id = {me} \
         WHERE {} ORDER BY {order} LIMIT {lim}",
        wheres.join(" AND ")
    );
    Statement::new(sql, params)
}

fn json_to_value(v: &Json) -> Value {
    match v {
        Json::Number(n) => n.as_i64().map_or(Value::Null, Value::Integer),
        Json::String(s) => Value::Text(s.clone()),
        _ => Value::Null,
    }
}

/// Runs a list query: the page, and the cursor key and id of its last item if more follow.
///
/// # Errors
/// Store failures.
pub async fn list(
    ports: &Ports,
    stmt: Statement,
    sort: Sort,
    limit: usize,
) -> Result<(Vec<Task>, Option<After>), ApiError> {
    let rows = ports.store.query(stmt).await?;
    let more = rows.len() > limit;
    let mut items = Vec::with_capacity(limit.min(rows.len()));
    let mut last = None;
    for r in rows.iter().take(limit) {
        let t = task_from_row(r)?;
        last = Some(After {
            key: sort.key_of(&t, r.int(10)?, r.int(11)?),
            id: t.id.clone(),
        });
        items.push(t);
    }
    Ok((items, if more { last } else { None }))
}
