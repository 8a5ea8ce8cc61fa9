//! Task statements: the row and its decoding, and the guarded batches of create, update
//! and delete. The list query is in `task_list`.

use serde_json::json;

use super::events::{written, NewEvent, Source};
use super::idempotency::Key;
use super::{constants, precondition, Params};
use crate::clock::{Date, Timestamp};
use crate::domain::ids::{EventId, ProjectId, TaskId, UserId};
use crate::domain::project::Role;
use crate::domain::task::{Labels, Priority, Status, Task, TaskDescription, TaskPatch, TaskState, TaskTitle};
use crate::domain::Expect;
use crate::error::{internal, ApiError};
use crate::store::{Row, Statement};

/// The task columns, qualified by `t`, in [`decode`] order.
pub const COLUMNS: &str = "t.id, t.project_id, t.title, t.description, t.status, t.priority, t.assignee_id, \
     t.due_date, t.labels, t.created_by, t.created_at, t.updated_at, t.completed_at, t.version";

/// The same columns for `RETURNING`, which cannot qualify them.
const RETURNING: &str = "id, project_id, title, description, status, priority, assignee_id, \
     due_date, labels, created_by, created_at, updated_at, completed_at, version";

/// The task's entity tag as SQL (see `Task::etag`).
const ETAG: &str = "'\"t' || t.version || '\"'";

/// # Errors
/// A row of another shape.
pub fn decode(r: &Row) -> Result<Task, ApiError> {
    Ok(Task {
        id: TaskId::new(r.text(0)?),
        project_id: ProjectId::new(r.text(1)?),
        title: TaskTitle::stored(r.text(2)?),
        description: TaskDescription::stored(r.text(3)?),
        status: Status::parse_db(&r.text(4)?).ok_or_else(|| internal("bad status in tasks"))?,
        priority: Priority::parse_db(&r.text(5)?).ok_or_else(|| internal("bad priority in tasks"))?,
        assignee_id: r.opt_text(6)?.map(UserId::new),
        due_date: r.opt_text(7)?.as_deref().and_then(Date::parse),
        labels: Labels::stored(&r.text(8)?),
        created_by: UserId::new(r.text(9)?),
        created_at: Timestamp(r.int(10)?),
        updated_at: Timestamp(r.int(11)?),
        completed_at: r.opt_int(12)?.map(Timestamp),
        version: r.int(13)?,
    })
}

fn role(r: &Row, idx: usize) -> Result<Option<Role>, ApiError> {
    Ok(r.opt_text(idx)?.as_deref().and_then(Role::parse_db))
}

/// The task as `me` sees it (404 when not a member of its project), with the role, the
/// archived flag and whether `assignee` (if any) is a member: `?1` task, `?2` me, `?3`.
pub fn state(task: &TaskId, me: &UserId, assignee: Option<&UserId>) -> Statement {
    Statement::new(
        format!(
            "SELECT {COLUMNS}, m.role, p.archived, \
             (?3 IS NULL OR EXISTS (SELECT 1 FROM members a WHERE a.project_id = t.project_id AND a.user_id = ?3)) \
             FROM tasks t JOIN members m ON m.project_id = t.project_id AND m.user_id = ?2 \
             JOIN projects p ON p.id = t.project_id WHERE t.id = ?1"
        ),
        vec![task.into(), me.into(), assignee.into()],
    )
}

/// # Errors
/// A row of another shape.
pub fn decode_state(r: &Row) -> Result<TaskState, ApiError> {
    Ok(TaskState {
        task: decode(r)?,
        role: role(r, 14)?.ok_or_else(|| internal("bad role in members"))?,
        archived: r.bool(15)?,
        assignee_is_member: r.bool(16)?,
    })
}

/// What a creation's rules look at: the caller's role in the project (if a member),
/// whether it is archived, whether the assignee is a member.
pub fn create_state(project: &ProjectId, me: &UserId, assignee: Option<&UserId>) -> Statement {
    Statement::new(
        "SELECT (SELECT role FROM members WHERE project_id = ?1 AND user_id = ?2), \
         coalesce((SELECT archived FROM projects WHERE id = ?1), 0), \
         (?3 IS NULL OR EXISTS (SELECT 1 FROM members WHERE project_id = ?1 AND user_id = ?3))",
        vec![project.into(), me.into(), assignee.into()],
    )
}

/// # Errors
/// A row of another shape.
pub fn decode_create_state(r: &Row) -> Result<(Option<Role>, bool, bool), ApiError> {
    Ok((role(r, 0)?, r.bool(1)?, r.bool(2)?))
}

/// The creation of `task` (planned in full): the anchor event with every rule, the row,
/// its labels. The anchor is statement 0.
pub fn create(task: &Task, event: &EventId, idem: Option<&Key>) -> Vec<Statement> {
    let mut p = Params::default();
    let project = p.add(&task.project_id);
    let me = p.add(&task.created_by);
    let assignee = p.add(task.assignee_id.as_ref());
    let subject = p.add(&task.id);
    let data = p.add(
        json!({"title": task.title, "status": task.status, "priority": task.priority, "assignee_id": task.assignee_id})
            .to_string(),
    );
    let held = idem.map(|k| format!(" AND {}", k.held(&mut p, event))).unwrap_or_default();
    let guard = format!(
        "p.id = {project} AND p.archived = 0 AND m.role IN {} \
         AND ({assignee} IS NULL OR EXISTS (SELECT 1 FROM members a WHERE a.project_id = p.id AND a.user_id = {assignee})){held}",
        constants(Role::Member.and_above().map(Role::as_str))
    );
    let from = format!("FROM projects p JOIN members m ON m.project_id = p.id AND m.user_id = {me}");
    let anchor = NewEvent::new(event, "task.created", &task.created_by, task.created_at.ms())
        .insert(p, &Source { project: "p.id", subject: &subject, data: &data, from: Some(&from), guard: &guard });
    let insert = Statement::new(
        "INSERT INTO tasks (id, project_id, title, description, status, priority, priority_rank, assignee_id, \
         due_date, labels, created_by, created_at, updated_at, completed_at, version) \
         SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?12, ?13, 1 \
         WHERE EXISTS (SELECT 1 FROM events WHERE id = ?14)",
        vec![
            (&task.id).into(),
            (&task.project_id).into(),
            task.title.as_str().into(),
            task.description.as_str().into(),
            task.status.as_str().into(),
            task.priority.as_str().into(),
            task.priority.rank().into(),
            task.assignee_id.as_ref().into(),
            task.due_date.map(|d| d.to_string()).into(),
            task.labels.to_json().into(),
            (&task.created_by).into(),
            task.created_at.ms().into(),
            task.completed_at.map(Timestamp::ms).into(),
            event.into(),
        ],
    );
    let mut stmts = vec![anchor, insert];
    if !task.labels.is_empty() {
        stmts.push(Statement::new(
            "INSERT INTO task_labels (project_id, label, task_id) SELECT ?1, value, ?2 FROM json_each(?3) \
             WHERE EXISTS (SELECT 1 FROM events WHERE id = ?4)",
            vec![(&task.project_id).into(), (&task.id).into(), task.labels.to_json().into(), event.into()],
        ));
    }
    stmts
}

/// A PATCH to apply.
#[derive(Debug, Clone)]
pub struct Update<'a> {
    pub task: &'a TaskId,
    pub me: &'a UserId,
    pub patch: &'a TaskPatch,
    pub expect: &'a Expect,
    pub now: i64,
    /// The anchor of a status change (`task.status_changed`).
    pub status_event: &'a EventId,
    /// The anchor of any other change (`task.updated`).
    pub change_event: &'a EventId,
}

/// The rules of a PATCH as SQL over `t` (task), `m` (caller's membership), `p` (project);
/// the same rules as `domain::task::plan_update`.
fn update_rules(p: &mut Params, u: &Update<'_>) -> (String, String) {
    let me = p.add(u.me);
    let id = p.add(u.task);
    let from = format!(
        "FROM tasks t JOIN members m ON m.project_id = t.project_id AND m.user_id = {me} \
         JOIN projects p ON p.id = t.project_id"
    );
    let etag = precondition(p, u.expect, ETAG);
    let transition = match u.patch.status {
        Some(to) => format!(
            "(t.status = {} OR t.status IN {} OR (m.role IN {} AND t.status IN {}))",
            p.add(to.as_str()),
            constants(to.reachable_from(Role::Member).map(Status::as_str)),
            constants(Role::Admin.and_above().map(Role::as_str)),
            constants(to.reachable_from(Role::Admin).map(Status::as_str)),
        ),
        None => "1".to_owned(),
    };
    let assignee = match &u.patch.assignee_id {
        Some(Some(a)) => {
            format!("EXISTS (SELECT 1 FROM members a WHERE a.project_id = t.project_id AND a.user_id = {})", p.add(a))
        }
        _ => "1".to_owned(),
    };
    let guard = format!(
        "t.id = {id} AND m.role IN {} AND p.archived = 0 AND {etag} AND {transition} AND {assignee}",
        constants(Role::Member.and_above().map(Role::as_str))
    );
    (from, guard)
}

/// The fields of a patch other than the status: (name, stored value, old value as JSON).
fn patched_fields(patch: &TaskPatch) -> Vec<(&'static str, crate::store::Value, &'static str, bool)> {
    let mut f = Vec::new();
    if let Some(v) = &patch.assignee_id {
        f.push(("assignee_id", v.as_ref().into(), "t.assignee_id", false));
    }
    if let Some(v) = &patch.description {
        f.push(("description", v.as_str().into(), "t.description", false));
    }
    if let Some(v) = &patch.due_date {
        f.push(("due_date", v.map(|d| d.to_string()).into(), "t.due_date", false));
    }
    if let Some(v) = &patch.labels {
        f.push(("labels", v.to_json().into(), "t.labels", true));
    }
    if let Some(v) = patch.priority {
        f.push(("priority", v.as_str().into(), "t.priority", false));
    }
    if let Some(v) = &patch.title {
        f.push(("title", v.as_str().into(), "t.title", false));
    }
    f
}

/// A PATCH as one batch: the status event (if the patch names a status), the change
/// event (if it names other fields), the UPDATE returning the task, and the labels. Each
/// event lands only when its part changes something and every rule holds; the UPDATE
/// only when an event landed. Returns the statements and the UPDATE's index.
pub fn update(u: &Update<'_>) -> (Vec<Statement>, usize) {
    let mut stmts = Vec::new();
    if let Some(to) = u.patch.status {
        let mut p = Params::default();
        let (from, guard) = update_rules(&mut p, u);
        let to = p.add(to.as_str());
        let data = format!("json_object('status', json_object('from', t.status, 'to', {to}))");
        let guard = format!("{guard} AND t.status != {to}");
        stmts.push(NewEvent::new(u.status_event, "task.status_changed", u.me, u.now).insert(
            p,
            &Source { project: "t.project_id", subject: "t.id", data: &data, from: Some(&from), guard: &guard },
        ));
    }
    // The other fields, with `{field: {from, to}}` for those that change.
    if !patched_fields(u.patch).is_empty() {
        let mut p = Params::default();
        let (from, guard) = update_rules(&mut p, u);
        let mut pairs = Vec::new();
        let mut removals = Vec::new();
        let mut changed = Vec::new();
        for (name, value, old, is_json) in patched_fields(u.patch) {
            let v = p.add(value);
            let (old_json, new_json) =
                if is_json { (format!("json({old})"), format!("json({v})")) } else { (old.to_owned(), v.clone()) };
            pairs.push(format!("'{name}', json_object('from', {old_json}, 'to', {new_json})"));
            removals.push(format!("CASE WHEN {old} IS NOT {v} THEN '$.unchanged' ELSE '$.{name}' END"));
            changed.push(format!("{old} IS NOT {v}"));
        }
        let data = format!("json_remove(json_object({}), {})", pairs.join(", "), removals.join(", "));
        let guard = format!("{guard} AND ({})", changed.join(" OR "));
        stmts.push(NewEvent::new(u.change_event, "task.updated", u.me, u.now).insert(
            p,
            &Source { project: "t.project_id", subject: "t.id", data: &data, from: Some(&from), guard: &guard },
        ));
    }
    // The row.
    let update_index = stmts.len();
    let mut p = Params::default();
    let mut sets: Vec<String> =
        patched_fields(u.patch).into_iter().map(|(name, value, _, _)| format!("{name} = {}", p.add(value))).collect();
    if let Some(pr) = u.patch.priority {
        sets.push(format!("priority_rank = {}", p.add(pr.rank())));
    }
    let now = p.add(u.now);
    if let Some(to) = u.patch.status {
        let to_p = p.add(to.as_str());
        match to {
            Status::Done => {
                sets.push(format!("completed_at = CASE WHEN status = {to_p} THEN completed_at ELSE {now} END"))
            }
            Status::Todo => {
                sets.push(format!("completed_at = CASE WHEN status = {to_p} THEN completed_at ELSE NULL END"))
            }
            _ => {}
        }
        sets.push(format!("status = {to_p}"));
    }
    sets.push(format!("updated_at = {now}"));
    sets.push("version = version + 1".to_owned());
    let id = p.add(u.task);
    let (e1, e2) = (p.add(u.status_event), p.add(u.change_event));
    stmts.push(Statement::new(
        format!(
            "UPDATE tasks SET {} WHERE id = {id} AND EXISTS (SELECT 1 FROM events WHERE id IN ({e1}, {e2})) RETURNING {RETURNING}",
            sets.join(", ")
        ),
        p.into_values(),
    ));
    if let Some(labels) = &u.patch.labels {
        let anchored = "EXISTS (SELECT 1 FROM events WHERE id IN (?2, ?3))";
        stmts.push(Statement::new(
            format!("DELETE FROM task_labels WHERE task_id = ?1 AND {anchored}"),
            vec![u.task.into(), u.status_event.into(), u.change_event.into()],
        ));
        stmts.push(Statement::new(
            format!(
                "INSERT INTO task_labels (project_id, label, task_id) SELECT t.project_id, j.value, t.id \
                 FROM tasks t, json_each(?4) j WHERE t.id = ?1 AND {anchored}"
            ),
            vec![u.task.into(), u.status_event.into(), u.change_event.into(), labels.to_json().into()],
        ));
    }
    (stmts, update_index)
}

/// Index of the DELETE (with `RETURNING 1`) in [`delete`]'s batch.
pub const DELETE_INDEX: usize = 1;

/// A DELETE as one batch: the anchor event with every rule (admin, or the creator with
/// at least the member role; project not archived; `If-Match`), the row, its labels.
pub fn delete(task: &TaskId, me: &UserId, expect: &Expect, now: i64, event: &EventId) -> Vec<Statement> {
    let mut p = Params::default();
    let id = p.add(task);
    let me_p = p.add(me);
    let etag = precondition(&mut p, expect, ETAG);
    let from = format!(
        "FROM tasks t JOIN members m ON m.project_id = t.project_id AND m.user_id = {me_p} \
         JOIN projects p ON p.id = t.project_id"
    );
    let guard = format!(
        "t.id = {id} AND p.archived = 0 AND (m.role IN {} OR (m.role = 'member' AND t.created_by = {me_p})) AND {etag}",
        constants(Role::Admin.and_above().map(Role::as_str))
    );
    let data = "json_object('title', t.title)";
    let anchor = NewEvent::new(event, "task.deleted", me, now)
        .insert(p, &Source { project: "t.project_id", subject: "t.id", data, from: Some(&from), guard: &guard });
    vec![
        anchor,
        Statement::new(
            format!("DELETE FROM tasks WHERE id = ?1 AND {} RETURNING 1", written("?2")),
            vec![task.into(), event.into()],
        ),
        Statement::new(
            format!("DELETE FROM task_labels WHERE task_id = ?1 AND {}", written("?2")),
            vec![task.into(), event.into()],
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_returning_list_is_the_column_list() {
        assert_eq!(COLUMNS.replace("t.", ""), RETURNING);
    }

    #[test]
    fn the_sql_etag_is_the_entity_tag() {
        // '"t' || t.version || '"' for version 7 is "t7", as Task::etag writes it.
        assert_eq!(ETAG.replace("' || t.version || '", "7").trim_matches('\''), "\"t7\"");
    }
}
