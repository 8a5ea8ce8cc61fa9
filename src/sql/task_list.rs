//! The task list query: membership join, filters, keyset position and the index that
//! serves each sort, so cost does not grow with the page number or the project's size.

use serde_json::{json, Value as Json};

use super::Params;
use crate::clock::Date;
use crate::domain::ids::{ProjectId, UserId};
use crate::domain::task::{Priority, Status, Task};
use crate::error::{ApiError, FieldError};
use crate::store::{Row, Statement, Value};

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
    pub const DEFAULT: Sort = Sort { key: SortKey::CreatedAt, descending: true };
    /// Every sort, each key ascending then descending (the order the document lists them).
    pub const ALL: [Sort; 8] = [
        Sort { key: SortKey::CreatedAt, descending: false },
        Sort { key: SortKey::CreatedAt, descending: true },
        Sort { key: SortKey::UpdatedAt, descending: false },
        Sort { key: SortKey::UpdatedAt, descending: true },
        Sort { key: SortKey::DueDate, descending: false },
        Sort { key: SortKey::DueDate, descending: true },
        Sort { key: SortKey::Priority, descending: false },
        Sort { key: SortKey::Priority, descending: true },
    ];

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
    pub fn key_of(self, t: &Task) -> Json {
        match self.key {
            SortKey::CreatedAt => json!(t.created_at.ms()),
            SortKey::UpdatedAt => json!(t.updated_at.ms()),
            SortKey::DueDate => json!(t.due_date.map(|d| d.to_string())),
            SortKey::Priority => json!(t.priority.rank()),
        }
    }
}

/// Who a list is filtered to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AssigneeFilter {
    User(UserId),
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
    Project(ProjectId),
    AssignedTo(UserId),
}

/// The SELECT of a task list: membership join, filters, keyset and the sort's index.
/// Public so a test can `EXPLAIN QUERY PLAN` every combination.
pub fn statement(
    caller_id: &UserId,
    scope: &Scope,
    filters: &Filters,
    sort: Sort,
    after: Option<&After>,
    limit: usize,
) -> Statement {
    let mut params = Params::default();
    let me = params.add(caller_id);
    let mut wheres: Vec<String> = Vec::new();
    let index = match scope {
        Scope::Project(pid) => {
            let p = params.add(pid);
            wheres.push(format!("t.project_id = {p}"));
            // A single-status or single-assignee filter in creation order has its own index.
            match (&filters.assignee, filters.statuses.as_slice(), sort.key) {
                (_, [_], SortKey::CreatedAt) => "tasks_by_status",
                (Some(_), _, SortKey::CreatedAt) => "tasks_by_assignee",
                _ => sort.index(),
            }
        }
        Scope::AssignedTo(uid) => {
            let u = params.add(uid);
            wheres.push(format!("t.assignee_id = {u}"));
            "tasks_assigned_to"
        }
    };
    if !filters.statuses.is_empty() {
        let list: Vec<String> = filters.statuses.iter().map(|s| params.add(s.as_str())).collect();
        wheres.push(format!("t.status IN ({})", list.join(", ")));
    }
    match &filters.assignee {
        Some(AssigneeFilter::User(id)) => {
            let a = params.add(id);
            wheres.push(format!("t.assignee_id = {a}"));
        }
        Some(AssigneeFilter::Nobody) => wheres.push("t.assignee_id IS NULL".to_owned()),
        None => {}
    }
    if !filters.priorities.is_empty() {
        let list: Vec<String> = filters.priorities.iter().map(|p| params.add(p.as_str())).collect();
        wheres.push(format!("t.priority IN ({})", list.join(", ")));
    }
    if let Some(label) = &filters.label {
        let l = params.add(label.clone());
        wheres.push(format!(
            "EXISTS (SELECT 1 FROM task_labels l WHERE l.project_id = t.project_id AND l.label = {l} AND l.task_id = t.id)"
        ));
    }
    if let Some(d) = filters.due_before {
        let v = params.add(d.to_string());
        wheres.push(format!("t.due_date < {v}"));
    }
    if let Some(d) = filters.due_after {
        let v = params.add(d.to_string());
        wheres.push(format!("t.due_date > {v}"));
    }
    if let Some(q) = &filters.q {
        let v = params.add(super::search_term(q));
        wheres.push(format!("(instr(lower(t.title), {v}) > 0 OR instr(lower(t.description), {v}) > 0)"));
    }
    let col = sort.column();
    let (cmp, dir) = if sort.descending { ("<", "DESC") } else { (">", "ASC") };
    if let Some(after) = after {
        let id = params.add(after.id.clone());
        let nullable = sort.key == SortKey::DueDate;
        let cond = match (&after.key, nullable, sort.descending) {
            // SQLite sorts NULL first ascending, last descending.
            (Json::Null, true, false) => format!("(({col} IS NULL AND t.id > {id}) OR {col} IS NOT NULL)"),
            (Json::Null, true, true) => format!("({col} IS NULL AND t.id < {id})"),
            (key, _, _) => {
                let k = params.add(json_to_value(key));
                let tail = if nullable && sort.descending { format!(" OR {col} IS NULL") } else { String::new() };
                format!("({col} {cmp} {k} OR ({col} = {k} AND t.id {cmp} {id}){tail})")
            }
        };
        wheres.push(cond);
    }
    let lim = params.add(super::fetch_limit(limit));
    let order = match scope {
        Scope::AssignedTo(_) => format!("t.created_at {dir}, t.id {dir}"),
        Scope::Project(_) => format!("{col} {dir}, t.id {dir}"),
    };
    let sql = format!(
        "SELECT {} FROM tasks t INDEXED BY {index} \
         JOIN members m ON m.project_id = t.project_id AND m.user_id = {me} \
         WHERE {} ORDER BY {order} LIMIT {lim}",
        super::tasks::COLUMNS,
        wheres.join(" AND ")
    );
    Statement::new(sql, params.into_values())
}

fn json_to_value(v: &Json) -> Value {
    match v {
        Json::Number(n) => n.as_i64().map_or(Value::Null, Value::Integer),
        Json::String(s) => Value::Text(s.clone()),
        _ => Value::Null,
    }
}

/// Decodes a page of tasks and the keyset position after its last item, if more follow.
///
/// # Errors
/// A row of another shape.
pub fn decode_page(rows: &[Row], sort: Sort, limit: usize) -> Result<(Vec<Task>, Option<After>), ApiError> {
    let (items, more) = super::page(rows, limit, super::tasks::decode)?;
    let after = items.last().filter(|_| more).map(|t| After { key: sort.key_of(t), id: t.id.as_str().to_owned() });
    Ok((items, after))
}
