//! Project statements: every read joins the caller's membership (a project the caller
//! does not belong to does not exist for it), and the guarded batches of create, update
//! and delete.

use serde_json::json;

use super::events::{NewEvent, Source};
use super::idempotency::Key;
use super::{constants, json_bool, precondition, Params};
use crate::clock::Timestamp;
use crate::domain::ids::{EventId, ProjectId, UserId};
use crate::domain::project::{Project, ProjectDescription, ProjectName, ProjectPatch, Role};
use crate::domain::Expect;
use crate::error::{internal, ApiError};
use crate::store::{Row, Statement};

/// Project columns with the caller's role (`m`), in [`decode`] order.
pub const COLUMNS: &str = "p.id, p.name, p.description, p.archived, m.role, p.created_at, p.updated_at, p.version";

/// The project's entity tag as SQL (see `Project::etag`).
const ETAG: &str = "'\"p' || p.version || '.' || m.role || '\"'";

/// # Errors
/// A row of another shape.
pub fn decode(r: &Row) -> Result<Project, ApiError> {
    Ok(Project {
        id: ProjectId::new(r.text(0)?),
        name: ProjectName::stored(r.text(1)?),
        description: r.opt_text(2)?.map(ProjectDescription::stored),
        archived: r.bool(3)?,
        role: Role::parse_db(&r.text(4)?).ok_or_else(|| internal("unknown role in members"))?,
        created_at: Timestamp(r.int(5)?),
        updated_at: Timestamp(r.int(6)?),
        version: r.int(7)?,
    })
}

/// The project as `me` sees it: `?1` project, `?2` me.
pub fn get(project: &ProjectId, me: &UserId) -> Statement {
    Statement::new(
        format!(
            "SELECT {COLUMNS} FROM projects p JOIN members m ON m.project_id = p.id AND m.user_id = ?2 WHERE p.id = ?1"
        ),
        vec![project.into(), me.into()],
    )
}

/// The caller's role in a project, if a member: `?1` project, `?2` me.
pub fn role(project: &ProjectId, me: &UserId) -> Statement {
    Statement::new("SELECT role FROM members WHERE project_id = ?1 AND user_id = ?2", vec![project.into(), me.into()])
}

/// The role in the first row of a [`role`] query.
///
/// # Errors
/// A row of another shape.
pub fn decode_role(rows: &[Row]) -> Result<Option<Role>, ApiError> {
    Ok(rows.first().map(|r| r.text(0)).transpose()?.and_then(|r| Role::parse_db(&r)))
}

/// The caller's projects after a key-set position (`?1` user, `?2` after id, `?3`
/// archived, `?4` search term, `?5` limit).
pub fn list_sql() -> String {
    format!(
        "SELECT {COLUMNS} FROM members m JOIN projects p ON p.id = m.project_id \
         WHERE m.user_id = ?1 AND (?2 IS NULL OR m.project_id < ?2) \
         AND (?3 IS NULL OR p.archived = ?3) \
         AND (?4 IS NULL OR instr(lower(p.name), ?4) > 0) \
         ORDER BY m.project_id DESC LIMIT ?5"
    )
}

pub fn list(me: &UserId, q: Option<&str>, archived: Option<bool>, after: Option<&str>, limit: usize) -> Statement {
    Statement::new(
        list_sql(),
        vec![
            me.into(),
            after.map(str::to_owned).into(),
            archived.map(i64::from).into(),
            q.map(super::search_term).into(),
            super::fetch_limit(limit),
        ],
    )
}

/// A new project with its owner and its first event: one unguarded batch.
pub fn create(project: &Project, owner: &UserId, event: &EventId, idem: Option<&Key>) -> Vec<Statement> {
    let data = json!({"name": project.name, "description": project.description});
    let mut p = Params::default();
    let pid = p.add(&project.id);
    let data = p.add(data.to_string());
    let guard = idem.map_or_else(|| "1".to_owned(), |k| k.held(&mut p, event));
    let anchor = NewEvent::new(event, "project.created", owner, project.created_at.ms())
        .insert(p, &Source { project: &pid, subject: &pid, data: &data, from: None, guard: &guard });
    vec![
        anchor,
        Statement::new(
            format!(
                "INSERT INTO projects (id, name, description, archived, version, created_by, created_at, updated_at) \
                 SELECT ?1, ?2, ?3, 0, 1, ?4, ?5, ?5 WHERE {}",
                super::events::written("?6")
            ),
            vec![
                (&project.id).into(),
                project.name.as_str().into(),
                project.description.as_ref().map(ProjectDescription::as_str).into(),
                owner.into(),
                project.created_at.ms().into(),
                event.into(),
            ],
        ),
        Statement::new(
            format!(
                "INSERT INTO members (project_id, user_id, role, joined_at) SELECT ?1, ?2, 'owner', ?3 WHERE {}",
                super::events::written("?4")
            ),
            vec![(&project.id).into(), owner.into(), project.created_at.ms().into(), event.into()],
        ),
    ]
}

/// Index of the UPDATE (returning the project) in [`update`]'s batch.
pub const UPDATE_INDEX: usize = 1;

/// A PATCH as one batch: the anchor event (admin; `If-Match`; something changes), then
/// the UPDATE returning the row.
pub fn update(
    project: &ProjectId,
    me: &UserId,
    patch: &ProjectPatch,
    expect: &Expect,
    now: i64,
    event: &EventId,
) -> Vec<Statement> {
    let mut p = Params::default();
    let id = p.add(project);
    let me_p = p.add(me);
    let etag = precondition(&mut p, expect, ETAG);
    let mut pairs = Vec::new();
    let mut removals = Vec::new();
    let mut changed = Vec::new();
    let mut field = |name: &str, old: &str, old_json: String, new: String, new_json: String| {
        pairs.push(format!("'{name}', json_object('from', {old_json}, 'to', {new_json})"));
        removals.push(format!("CASE WHEN {old} IS NOT {new} THEN '$.unchanged' ELSE '$.{name}' END"));
        changed.push(format!("{old} IS NOT {new}"));
    };
    if let Some(a) = patch.archived {
        let v = p.add(i64::from(a));
        field(
            "archived",
            "p.archived",
            "json(CASE WHEN p.archived THEN 'true' ELSE 'false' END)".to_owned(),
            v,
            format!("json('{}')", json_bool(a)),
        );
    }
    if let Some(d) = &patch.description {
        let v = p.add(d.as_ref().map(ProjectDescription::as_str));
        field("description", "p.description", "p.description".to_owned(), v.clone(), v);
    }
    if let Some(n) = &patch.name {
        let v = p.add(n.as_str());
        field("name", "p.name", "p.name".to_owned(), v.clone(), v);
    }
    let data = if pairs.is_empty() {
        "'{}'".to_owned()
    } else {
        format!("json_remove(json_object({}), {})", pairs.join(", "), removals.join(", "))
    };
    let changed = if changed.is_empty() { "0".to_owned() } else { changed.join(" OR ") };
    let guard = format!(
        "p.id = {id} AND m.role IN {} AND {etag} AND ({changed})",
        constants(Role::Admin.and_above().map(Role::as_str))
    );
    let from = format!("FROM projects p JOIN members m ON m.project_id = p.id AND m.user_id = {me_p}");
    let anchor = NewEvent::new(event, "project.updated", me, now)
        .insert(p, &Source { project: "p.id", subject: "p.id", data: &data, from: Some(&from), guard: &guard });
    let mut p = Params::default();
    let mut sets = Vec::new();
    if let Some(n) = &patch.name {
        sets.push(format!("name = {}", p.add(n.as_str())));
    }
    if let Some(d) = &patch.description {
        sets.push(format!("description = {}", p.add(d.as_ref().map(ProjectDescription::as_str))));
    }
    if let Some(a) = patch.archived {
        sets.push(format!("archived = {}", p.add(i64::from(a))));
    }
    sets.push(format!("updated_at = {}", p.add(now)));
    sets.push("version = version + 1".to_owned());
    let id = p.add(project);
    let ev = p.add(event);
    // The role column is a stand-in for `decode`: the caller's role comes from the state.
    let update = Statement::new(
        format!(
            "UPDATE projects SET {} WHERE id = {id} AND {} \
             RETURNING id, name, description, archived, 'viewer', created_at, updated_at, version",
            sets.join(", "),
            super::events::written(&ev)
        ),
        p.into_values(),
    );
    vec![anchor, update]
}

/// Index of the DELETE (returning 1) in [`delete`]'s batch.
pub const DELETE_INDEX: usize = 0;

/// A DELETE as one batch: the project (owner; `If-Match`), then its labels, tasks,
/// events and members, each only once the project is gone.
pub fn delete(project: &ProjectId, me: &UserId, expect: &Expect) -> Vec<Statement> {
    let mut p = Params::default();
    let id = p.add(project);
    let me_p = p.add(me);
    let etag = precondition(&mut p, expect, ETAG);
    let first = Statement::new(
        format!(
            "DELETE FROM projects WHERE id = {id} AND EXISTS (SELECT 1 FROM projects p JOIN members m \
             ON m.project_id = p.id AND m.user_id = {me_p} WHERE p.id = {id} AND m.role = 'owner' AND {etag}) RETURNING 1"
        ),
        p.into_values(),
    );
    let gone = "NOT EXISTS (SELECT 1 FROM projects WHERE id = ?1)";
    let mut stmts = vec![first];
    for table in ["task_labels", "tasks", "events", "members"] {
        stmts.push(Statement::new(
            format!("DELETE FROM {table} WHERE project_id = ?1 AND {gone}"),
            vec![project.into()],
        ));
    }
    stmts
}
