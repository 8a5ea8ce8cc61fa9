//! Projects, the tenant boundary, and their event log. Each call is one store round trip.

use super::create::{created, Created, Creation};
use crate::auth::Caller;
use crate::clock::Timestamp;
use crate::domain::event::Event;
use crate::domain::ids::ProjectId;
use crate::domain::project::{self, Project, ProjectDescription, ProjectName, ProjectPatch, Role};
use crate::domain::Expect;
use crate::error::ApiError;
use crate::ports::Ports;
use crate::sql::idempotency::{Key, Stored};
use crate::sql::{self, events, projects as q};

/// The project as `caller` sees it.
///
/// # Errors
/// 404 when it does not exist or the caller is not a member.
pub async fn get(ports: &Ports, caller: &Caller, id: &ProjectId) -> Result<Project, ApiError> {
    let rows = ports.store.query(q::get(id, &caller.user_id)).await?;
    rows.first().map(q::decode).transpose()?.ok_or_else(project::project_not_found)
}

/// One page of the caller's projects, newest first, and whether more follow.
///
/// # Errors
/// Store failures.
pub async fn list(
    ports: &Ports,
    caller: &Caller,
    search: Option<&str>,
    archived: Option<bool>,
    after: Option<&str>,
    limit: usize,
) -> Result<(Vec<Project>, bool), ApiError> {
    let rows = ports.store.query(q::list(&caller.user_id, search, archived, after, limit)).await?;
    sql::page(&rows, limit, q::decode)
}

/// Creates a project with the caller as owner; `respond` shapes the 201.
///
/// # Errors
/// 422 for a reused key, store failures.
pub async fn create(
    ports: &Ports,
    caller: &Caller,
    name: ProjectName,
    description: Option<ProjectDescription>,
    idempotency: Option<&Key>,
    respond: impl FnOnce(&Project) -> Stored,
) -> Result<Created, ApiError> {
    let now = Timestamp(ports.clock.now_ms());
    let project = Project {
        id: ProjectId::new(super::new_id(ports)?),
        name,
        description,
        archived: false,
        role: Role::Owner,
        created_at: now,
        updated_at: now,
        version: 1,
    };
    let event = super::new_event(ports)?;
    let stored = respond(&project);
    let c = Creation {
        event: &event,
        state: None,
        writes: q::create(&project, &caller.user_id, &event, idempotency),
        idempotency: idempotency.map(|k| (k, &stored)),
    };
    created(ports, c, stored.clone(), |_| Ok(())).await
}

/// Applies a patch (admin).
///
/// # Errors
/// 404, 403 below admin, 412 stale `If-Match`.
pub async fn update(
    ports: &Ports,
    caller: &Caller,
    id: &ProjectId,
    patch: ProjectPatch,
    expect: Expect,
) -> Result<Project, ApiError> {
    let event = super::new_event(ports)?;
    let now = ports.clock.now_ms();
    let mut stmts = vec![q::get(id, &caller.user_id)];
    stmts.extend(q::update(id, &caller.user_id, &patch, &expect, now, &event));
    let results = ports.store.batch(stmts).await?;
    let current = sql::rows(&results, 0).first().map(q::decode).transpose()?.ok_or_else(project::project_not_found)?;
    if let Some(row) = sql::rows(&results, q::UPDATE_INDEX.saturating_add(1)).first() {
        return Ok(Project { role: current.role, ..q::decode(row)? });
    }
    project::explain_update(&current, &patch, &expect)?;
    Ok(current)
}

/// Deletes a project with its members, tasks and events (owner).
///
/// # Errors
/// 404, 403 below owner, 412 stale `If-Match`.
pub async fn delete(ports: &Ports, caller: &Caller, id: &ProjectId, expect: Expect) -> Result<(), ApiError> {
    let mut stmts = vec![q::get(id, &caller.user_id)];
    stmts.extend(q::delete(id, &caller.user_id, &expect));
    let results = ports.store.batch(stmts).await?;
    if sql::landed(&results, q::DELETE_INDEX.saturating_add(1)) {
        return Ok(());
    }
    let current = sql::rows(&results, 0).first().map(q::decode).transpose()?;
    Err(project::explain_delete(current.as_ref(), &expect))
}

/// One page of the project's events, newest first, and whether more follow.
///
/// # Errors
/// 404 for non-members.
pub async fn events(
    ports: &Ports,
    caller: &Caller,
    id: &ProjectId,
    before_seq: Option<i64>,
    limit: usize,
) -> Result<(Vec<Event>, bool), ApiError> {
    let rows = member_read(ports, caller, id, events::list(id, before_seq, limit)).await?;
    sql::page(&rows, limit, events::decode)
}

/// Runs a read of a project's data in one round trip with the caller's membership check.
///
/// # Errors
/// 404 for non-members.
pub async fn member_read(
    ports: &Ports,
    caller: &Caller,
    id: &ProjectId,
    read: crate::store::Statement,
) -> Result<Vec<crate::store::Row>, ApiError> {
    let mut all = ports.store.query_many(vec![q::role(id, &caller.user_id), read]).await?;
    let rows = all.pop().unwrap_or_default();
    project::require(q::decode_role(&all.pop().unwrap_or_default())?, Role::Viewer)?;
    Ok(rows)
}
