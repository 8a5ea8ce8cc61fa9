//! Tasks: creation, the status machine, conditional updates, deletion, and the lists.
//! Each call is one store round trip.

use super::create::{created, Created, Creation};
use crate::auth::Caller;
use crate::clock::Timestamp;
use crate::domain::ids::{ProjectId, TaskId};
use crate::domain::project::project_not_found;
use crate::domain::task::{self, NewTask, Status, Task, TaskPatch};
use crate::domain::Expect;
use crate::error::{internal, ApiError};
use crate::ports::Ports;
use crate::sql::idempotency::{Key, Stored};
use crate::sql::task_list::{self, After, Filters, Scope, Sort};
use crate::sql::{self, tasks as q};

/// The task as `caller` sees it.
///
/// # Errors
/// 404 when it does not exist or the caller is not a member of its project.
pub async fn get(ports: &Ports, caller: &Caller, id: &TaskId) -> Result<Task, ApiError> {
    let rows = ports.store.query(q::state(id, &caller.user_id, None)).await?;
    let row = rows.first().ok_or_else(task::task_not_found)?;
    Ok(q::decode_state(row)?.task)
}

/// Creates a task (member); `respond` shapes the 201 (recorded for an idempotent replay).
///
/// # Errors
/// 404/403 by membership, 409 archived project, 422 non-member assignee or reused key.
pub async fn create(
    ports: &Ports,
    caller: &Caller,
    project: &ProjectId,
    new: NewTask,
    idempotency: Option<&Key>,
    respond: impl FnOnce(&Task) -> Stored,
) -> Result<Created, ApiError> {
    let now = ports.clock.now_ms();
    let task = Task {
        id: TaskId::new(super::new_id(ports)?),
        project_id: project.clone(),
        title: new.title,
        description: new.description,
        status: new.status,
        priority: new.priority,
        assignee_id: new.assignee_id,
        due_date: new.due_date,
        labels: new.labels,
        created_by: caller.user_id.clone(),
        created_at: Timestamp(now),
        updated_at: Timestamp(now),
        completed_at: (new.status == Status::Done).then_some(Timestamp(now)),
        version: 1,
    };
    let event = super::new_event(ports)?;
    let stored = respond(&task);
    let c = Creation {
        event: &event,
        state: Some(q::create_state(project, &caller.user_id, task.assignee_id.as_ref())),
        writes: q::create(&task, &event, idempotency),
        idempotency: idempotency.map(|k| (k, &stored)),
    };
    created(ports, c, stored.clone(), |state| {
        let row = state.ok_or_else(|| internal("creation state missing"))?;
        let (role, archived, assignee_ok) = q::decode_create_state(row)?;
        task::check_create(role, archived, assignee_ok)
    })
    .await
}

/// Applies a patch (member), following the status machine.
///
/// # Errors
/// 404, 403 below member or reopening without admin, 409 forbidden move or archived
/// project, 412 stale `If-Match`, 422 non-member assignee.
pub async fn update(
    ports: &Ports,
    caller: &Caller,
    id: &TaskId,
    patch: TaskPatch,
    expect: Expect,
) -> Result<Task, ApiError> {
    let (status_event, change_event) = (super::new_event(ports)?, super::new_event(ports)?);
    let assignee = patch.assignee_id.clone().flatten();
    let update = q::Update {
        task: id,
        me: &caller.user_id,
        patch: &patch,
        expect: &expect,
        now: ports.clock.now_ms(),
        status_event: &status_event,
        change_event: &change_event,
    };
    let (writes, update_at) = q::update(&update);
    let mut stmts = vec![q::state(id, &caller.user_id, assignee.as_ref())];
    stmts.extend(writes);
    let results = ports.store.batch(stmts).await?;
    if let Some(row) = sql::rows(&results, update_at.saturating_add(1)).first() {
        return q::decode(row);
    }
    let row = sql::rows(&results, 0).first().ok_or_else(task::task_not_found)?;
    let state = q::decode_state(row)?;
    if task::plan_update(&state, &patch, &expect)? {
        return Err(internal("a task update was refused by its guard without a reason"));
    }
    Ok(state.task)
}

/// Deletes a task (admin, or its creator with at least the member role).
///
/// # Errors
/// 404, 403, 409 archived project, 412 stale `If-Match`.
pub async fn delete(ports: &Ports, caller: &Caller, id: &TaskId, expect: Expect) -> Result<(), ApiError> {
    let event = super::new_event(ports)?;
    let mut stmts = vec![q::state(id, &caller.user_id, None)];
    stmts.extend(q::delete(id, &caller.user_id, &expect, ports.clock.now_ms(), &event));
    let results = ports.store.batch(stmts).await?;
    if sql::landed(&results, q::DELETE_INDEX.saturating_add(1)) {
        return Ok(());
    }
    let row = sql::rows(&results, 0).first().ok_or_else(task::task_not_found)?;
    task::check_delete(&q::decode_state(row)?, &caller.user_id, &expect)?;
    Err(internal("a task delete was refused by its guard without a reason"))
}

/// One page of a task list, and the position after it when more follow.
///
/// # Errors
/// 404 for a project the caller does not belong to.
pub async fn list(
    ports: &Ports,
    caller: &Caller,
    scope: &Scope,
    filters: &Filters,
    sort: Sort,
    after: Option<&After>,
    limit: usize,
) -> Result<super::Page<Task, After>, ApiError> {
    let stmt = task_list::statement(&caller.user_id, scope, filters, sort, after, limit);
    let rows = match scope {
        Scope::Project(project) => {
            let mut all = ports.store.query_many(vec![sql::projects::role(project, &caller.user_id), stmt]).await?;
            let rows = all.pop().unwrap_or_default();
            if sql::projects::decode_role(&all.pop().unwrap_or_default())?.is_none() {
                return Err(project_not_found());
            }
            rows
        }
        Scope::AssignedTo(_) => ports.store.query(stmt).await?,
    };
    task_list::decode_page(&rows, sort, limit)
}
