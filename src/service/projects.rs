//! Projects and members, the tenant boundary. Every read of tenant data joins the
//! caller's membership: a project the caller does not belong to does not exist for it.

use serde::Serialize;
use serde_json::json;
use utoipa::ToSchema;

use super::events::{self, Guard};
use crate::domain::project::Role;
use crate::http::extract::AuthUser;
use crate::http::ApiError;
use crate::ids::uuid_v7;
use crate::ports::Ports;
use crate::store::{Row, Statement, StoreError, Value};

/// A project as its caller sees it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Project {
    pub id: String,
    #[schema(example = "Website relaunch")]
    pub name: String,
    pub description: Option<String>,
    pub archived: bool,
    /// The caller's role in this project.
    pub role: Role,
    pub created_at: String,
    pub updated_at: String,
    #[serde(skip)]
    pub version: i64,
}

impl Project {
    /// Changes with the project and with the caller's role (part of the representation).
    pub fn etag(&self) -> String {
        format!("\"p{}.{}\"", self.version, self.role.as_str())
    }
}

/// A member of a project.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Member {
    pub user_id: String,
    pub email: String,
    pub name: String,
    pub role: Role,
    pub joined_at: String,
}

fn internal(e: impl std::fmt::Display) -> ApiError {
    ApiError::Internal(e.to_string())
}

fn fmt_time(ms: i64) -> String {
    crate::clock::format_rfc3339_ms(ms)
}

fn not_found() -> ApiError {
    ApiError::NotFound("no such project".to_owned())
}

const PROJECT_COLUMNS: &str = "p.id, p.name, p.description, p.archived, m.role, p.created_at, p.updated_at, p.version";

fn project_from_row(r: &Row) -> Result<Project, ApiError> {
    Ok(Project {
        id: r.text(0)?,
        name: r.text(1)?,
        description: r.opt_text(2)?,
        archived: r.bool(3)?,
        role: Role::parse_db(&r.text(4)?).ok_or_else(|| internal("unknown role in members"))?,
        created_at: fmt_time(r.int(5)?),
        updated_at: fmt_time(r.int(6)?),
        version: r.int(7)?,
    })
}

/// The project as `caller` sees it, or 404 when the caller is not a member.
///
/// # Errors
/// `NotFound`.
pub async fn get(ports: &Ports, caller: &AuthUser, project_id: &str) -> Result<Project, ApiError> {
    let rows = ports
        .store
        .query(Statement::new(
            format!(
                "SELECT {PROJECT_COLUMNS} FROM projects p \
                 JOIN members m ON m.project_id = p.id AND m.user_id = ?2 WHERE p.id = ?1"
            ),
            vec![project_id.into(), caller.user_id.clone().into()],
        ))
        .await?;
    rows.first().map(project_from_row).transpose()?.ok_or_else(not_found)
}

/// The caller's role in a project, or 404; `min` below the role is 403.
///
/// # Errors
/// `NotFound` for non-members, `Forbidden` when the role is too low.
pub async fn require_role(ports: &Ports, caller: &AuthUser, project_id: &str, min: Role) -> Result<Role, ApiError> {
    let rows = ports
        .store
        .query(Statement::new(
            "SELECT role FROM members WHERE project_id = ?1 AND user_id = ?2",
            vec![project_id.into(), caller.user_id.clone().into()],
        ))
        .await?;
    let role = rows
        .first()
        .map(|r| r.text(0))
        .transpose()?
        .and_then(|r| Role::parse_db(&r))
        .ok_or_else(not_found)?;
    if role < min {
        return Err(ApiError::Forbidden(format!(
            "this needs the {} role in the project",
            min.as_str()
        )));
    }
    Ok(role)
}

/// Creates a project with the caller as owner; `extra` joins the same atomic batch.
///
/// # Errors
/// Store failures.
pub async fn create(
    ports: &Ports,
    caller: &AuthUser,
    name: String,
    description: Option<String>,
    extra: impl FnOnce(&Project) -> Vec<Statement>,
) -> Result<Project, ApiError> {
    let now = ports.clock.now_ms();
    let id = uuid_v7(ports.clock.as_ref(), ports.random.as_ref()).map_err(internal)?;
    let project = Project {
        id: id.clone(),
        name: name.clone(),
        description: description.clone(),
        archived: false,
        role: Role::Owner,
        created_at: fmt_time(now),
        updated_at: fmt_time(now),
        version: 1,
    };
    let (_, event) = events::insert(
        ports,
        Guard::Always,
        &id,
        "project.created",
        &caller.user_id,
        &id,
        &json!({"name": name, "description": description}),
        now,
    )?;
    let mut stmts = vec![
        Statement::new(
            "INSERT INTO projects (id, name, description, archived, version, created_by, created_at, updated_at) \
             VALUES (?1, ?2, ?3, 0, 1, ?4, ?5, ?5)",
            vec![
                id.clone().into(),
                name.into(),
                description.into(),
                caller.user_id.clone().into(),
                now.into(),
            ],
        ),
        Statement::new(
            "INSERT INTO members (project_id, user_id, role, joined_at) VALUES (?1, ?2, 'owner', ?3)",
            vec![id.into(), caller.user_id.clone().into(), now.into()],
        ),
        event,
    ];
    stmts.extend(extra(&project));
    ports.store.batch(stmts).await?;
    Ok(project)
}

/// The caller's projects after a key-set position (`?1` user, `?2` after id, `?3`
/// archived, `?4` search term, `?5` limit).
pub fn list_sql() -> String {
    format!(
        "SELECT {PROJECT_COLUMNS} FROM members m JOIN projects p ON p.id = m.project_id \
         WHERE m.user_id = ?1 AND (?2 IS NULL OR m.project_id < ?2) \
         AND (?3 IS NULL OR p.archived = ?3) \
         AND (?4 IS NULL OR instr(lower(p.name), ?4) > 0) \
         ORDER BY m.project_id DESC LIMIT ?5"
    )
}

/// A project's members after a user id (`?1` project, `?2` after, `?3` limit).
pub fn members_sql() -> String {
    format!(
        "SELECT {MEMBER_COLUMNS} FROM members m JOIN users u ON u.id = m.user_id \
         WHERE m.project_id = ?1 AND (?2 IS NULL OR m.user_id > ?2) ORDER BY m.user_id LIMIT ?3"
    )
}

/// A project's events before a sequence number (`?1` project, `?2` before, `?3` limit).
pub fn events_sql() -> String {
    format!(
        "{} WHERE project_id = ?1 AND (?2 IS NULL OR seq < ?2) ORDER BY seq DESC LIMIT ?3",
        events::SELECT
    )
}

/// One page of the caller's projects, newest first.
///
/// # Errors
/// Store failures.
pub async fn list(
    ports: &Ports,
    caller: &AuthUser,
    q: Option<&str>,
    archived: Option<bool>,
    after: Option<&str>,
    limit: usize,
) -> Result<(Vec<Project>, bool), ApiError> {
    let pattern = q.map(super::search_term);
    let rows = ports
        .store
        .query(Statement::new(
            list_sql(),
            vec![
                caller.user_id.clone().into(),
                after.map(str::to_owned).into(),
                archived.map(i64::from).into(),
                pattern.into(),
                super::fetch_limit(limit),
            ],
        ))
        .await?;
    super::page(&rows, limit, project_from_row)
}

/// Fields a PATCH may change; `None` leaves a field alone.
#[derive(Debug, Default, Clone)]
pub struct ProjectPatch {
    pub name: Option<String>,
    pub description: Option<Option<String>>,
    pub archived: Option<bool>,
}

/// Applies a patch (admin). `if_match` is the client's ETag precondition.
///
/// # Errors
/// `PreconditionFailed` when stale, `NotFound`/`Forbidden` by membership.
pub async fn update(
    ports: &Ports,
    caller: &AuthUser,
    project_id: &str,
    patch: ProjectPatch,
    if_match: Option<&str>,
) -> Result<Project, ApiError> {
    for _ in 0..3 {
        let current = get(ports, caller, project_id).await?;
        if current.role < Role::Admin {
            return Err(ApiError::Forbidden(
                "this needs the admin role in the project".to_owned(),
            ));
        }
        if let Some(tag) = if_match {
            if !super::etag_matches(tag, &current.etag()) {
                return Err(ApiError::PreconditionFailed(
                    "the project has changed since that ETag".to_owned(),
                ));
            }
        }
        let mut changed = serde_json::Map::new();
        let name = patch.name.clone().unwrap_or_else(|| current.name.clone());
        if name != current.name {
            changed.insert("name".into(), json!({"from": current.name, "to": name}));
        }
        let description = patch.description.clone().unwrap_or_else(|| current.description.clone());
        if description != current.description {
            changed.insert(
                "description".into(),
                json!({"from": current.description, "to": description}),
            );
        }
        let archived = patch.archived.unwrap_or(current.archived);
        if archived != current.archived {
            changed.insert("archived".into(), json!({"from": current.archived, "to": archived}));
        }
        if changed.is_empty() {
            return Ok(current);
        }
        let now = ports.clock.now_ms();
        let (_, event) = events::insert(
            ports,
            Guard::PreviousChangedOneRow,
            project_id,
            "project.updated",
            &caller.user_id,
            project_id,
            &serde_json::Value::Object(changed),
            now,
        )?;
        let results = ports
            .store
            .batch(vec![
                Statement::new(
                    "UPDATE projects SET name = ?1, description = ?2, archived = ?3, updated_at = ?4, version = version + 1 \
                     WHERE id = ?5 AND version = ?6 RETURNING 1",
                    vec![
                        name.clone().into(),
                        description.clone().into(),
                        i64::from(archived).into(),
                        now.into(),
                        project_id.into(),
                        current.version.into(),
                    ],
                ),
                event,
            ])
            .await?;
        if super::landed(&results) {
            return Ok(Project {
                name,
                description,
                archived,
                updated_at: fmt_time(now),
                version: current.version.saturating_add(1),
                ..current
            });
        }
        if if_match.is_some() {
            return Err(ApiError::PreconditionFailed(
                "the project has changed since that ETag".to_owned(),
            ));
        }
    }
    Err(ApiError::Conflict(
        "the project is being changed concurrently; retry".to_owned(),
    ))
}

/// Deletes a project with its members, tasks and events (owner).
///
/// # Errors
/// `PreconditionFailed` when stale; `NotFound`/`Forbidden` by membership.
pub async fn delete(
    ports: &Ports,
    caller: &AuthUser,
    project_id: &str,
    if_match: Option<&str>,
) -> Result<(), ApiError> {
    let current = get(ports, caller, project_id).await?;
    if current.role < Role::Owner {
        return Err(ApiError::Forbidden("only an owner can delete the project".to_owned()));
    }
    if let Some(tag) = if_match {
        if !super::etag_matches(tag, &current.etag()) {
            return Err(ApiError::PreconditionFailed(
                "the project has changed since that ETag".to_owned(),
            ));
        }
    }
    let gone = "NOT EXISTS (SELECT 1 FROM projects WHERE id = ?1)";
    let p = || vec![Value::from(project_id)];
    let results = ports
        .store
        .batch(vec![
            Statement::new(
                "DELETE FROM projects WHERE id = ?1 AND version = ?2 RETURNING 1",
                vec![project_id.into(), current.version.into()],
            ),
            Statement::new(format!("DELETE FROM task_labels WHERE project_id = ?1 AND {gone}"), p()),
            Statement::new(format!("DELETE FROM tasks WHERE project_id = ?1 AND {gone}"), p()),
            Statement::new(format!("DELETE FROM events WHERE project_id = ?1 AND {gone}"), p()),
            Statement::new(format!("DELETE FROM members WHERE project_id = ?1 AND {gone}"), p()),
        ])
        .await?;
    if super::landed(&results) {
        Ok(())
    } else {
        Err(ApiError::PreconditionFailed(
            "the project changed while being deleted; retry".to_owned(),
        ))
    }
}

const MEMBER_COLUMNS: &str = "m.user_id, u.email, u.name, m.role, m.joined_at";

fn member_from_row(r: &Row) -> Result<Member, ApiError> {
    Ok(Member {
        user_id: r.text(0)?,
        email: r.text(1)?,
        name: r.text(2)?,
        role: Role::parse_db(&r.text(3)?).ok_or_else(|| internal("unknown role in members"))?,
        joined_at: fmt_time(r.int(4)?),
    })
}

/// One page of a project's members, by user id.
///
/// # Errors
/// `NotFound` for non-members.
pub async fn members(
    ports: &Ports,
    caller: &AuthUser,
    project_id: &str,
    after: Option<&str>,
    limit: usize,
) -> Result<(Vec<Member>, bool), ApiError> {
    require_role(ports, caller, project_id, Role::Viewer).await?;
    let rows = ports
        .store
        .query(Statement::new(
            members_sql(),
            vec![
                project_id.into(),
                after.map(str::to_owned).into(),
                super::fetch_limit(limit),
            ],
        ))
        .await?;
    super::page(&rows, limit, member_from_row)
}

async fn member(ports: &Ports, project_id: &str, user_id: &str) -> Result<Option<Member>, ApiError> {
    let rows = ports
        .store
        .query(Statement::new(
            format!(
                "SELECT {MEMBER_COLUMNS} FROM members m JOIN users u ON u.id = m.user_id \
                 WHERE m.project_id = ?1 AND m.user_id = ?2"
            ),
            vec![project_id.into(), user_id.into()],
        ))
        .await?;
    rows.first().map(member_from_row).transpose()
}

/// Adds the user with `email` (admin; only owners add owners).
///
/// # Errors
/// `Conflict` when already a member; `Validation` when no such user.
pub async fn add_member(
    ports: &Ports,
    caller: &AuthUser,
    project_id: &str,
    email_normalized: &str,
    role: Role,
    extra: impl FnOnce(&Member) -> Vec<Statement>,
) -> Result<Member, ApiError> {
    let mine = require_role(ports, caller, project_id, Role::Admin).await?;
    if role == Role::Owner && mine < Role::Owner {
        return Err(ApiError::Forbidden("only an owner can add owners".to_owned()));
    }
    let users = ports
        .store
        .query(Statement::new(
            "SELECT id, email, name FROM users WHERE email_normalized = ?1",
            vec![email_normalized.into()],
        ))
        .await?;
    let Some(user) = users.first() else {
        return Err(ApiError::Validation(vec![crate::http::FieldError::new(
            "email",
            "unknown_user",
            "no account has this email",
        )]));
    };
    let now = ports.clock.now_ms();
    let added = Member {
        user_id: user.text(0)?,
        email: user.text(1)?,
        name: user.text(2)?,
        role,
        joined_at: fmt_time(now),
    };
    let (_, event) = events::insert(
        ports,
        Guard::Always,
        project_id,
        "member.added",
        &caller.user_id,
        &added.user_id,
        &json!({"role": role}),
        now,
    )?;
    let mut stmts = vec![
        Statement::new(
            "INSERT INTO members (project_id, user_id, role, joined_at) VALUES (?1, ?2, ?3, ?4)",
            vec![
                project_id.into(),
                added.user_id.clone().into(),
                role.as_str().into(),
                now.into(),
            ],
        ),
        event,
    ];
    stmts.extend(extra(&added));
    match ports.store.batch(stmts).await {
        Ok(_) => Ok(added),
        Err(StoreError::Conflict(_)) => Err(ApiError::Conflict("this user is already a member".to_owned())),
        Err(e) => Err(e.into()),
    }
}

/// Removal and demotion keep at least one owner: the SQL guard is part of the write.
const KEEPS_AN_OWNER: &str =
    "(role != 'owner' OR (SELECT count(*) FROM members WHERE project_id = ?1 AND role = 'owner') > 1)";

fn last_owner() -> ApiError {
    ApiError::Conflict("a project must keep at least one owner".to_owned())
}

/// Changes a member's role (admin; owners' roles and promotion to owner need an owner).
///
/// # Errors
/// `Conflict` for the last owner, `NotFound` for non-members.
pub async fn change_role(
    ports: &Ports,
    caller: &AuthUser,
    project_id: &str,
    user_id: &str,
    role: Role,
) -> Result<Member, ApiError> {
    let mine = require_role(ports, caller, project_id, Role::Admin).await?;
    let target = member(ports, project_id, user_id)
        .await?
        .ok_or_else(|| ApiError::NotFound("no such member".to_owned()))?;
    if (target.role == Role::Owner || role == Role::Owner) && mine < Role::Owner {
        return Err(ApiError::Forbidden(
            "only an owner can change owners or make owners".to_owned(),
        ));
    }
    if target.role == role {
        return Ok(target);
    }
    let now = ports.clock.now_ms();
    let (_, event) = events::insert(
        ports,
        Guard::PreviousChangedOneRow,
        project_id,
        "member.role_changed",
        &caller.user_id,
        user_id,
        &json!({"role": {"from": target.role, "to": role}}),
        now,
    )?;
    let results = ports
        .store
        .batch(vec![
            Statement::new(
                format!(
                    "UPDATE members SET role = ?3 WHERE project_id = ?1 AND user_id = ?2 AND role = ?4 AND {KEEPS_AN_OWNER} RETURNING 1"
                ),
                vec![project_id.into(), user_id.into(), role.as_str().into(), target.role.as_str().into()],
            ),
            event,
        ])
        .await?;
    if super::landed(&results) {
        return Ok(Member { role, ..target });
    }
    if target.role == Role::Owner {
        return Err(last_owner());
    }
    Err(ApiError::Conflict(
        "the membership changed concurrently; retry".to_owned(),
    ))
}

/// Removes a member (admin; owners need an owner; anyone may leave). The member's tasks
/// in the project are unassigned in the same atomic write.
///
/// # Errors
/// `Conflict` for the last owner, `NotFound` for non-members.
pub async fn remove_member(ports: &Ports, caller: &AuthUser, project_id: &str, user_id: &str) -> Result<(), ApiError> {
    let mine = require_role(ports, caller, project_id, Role::Viewer).await?;
    let target = member(ports, project_id, user_id)
        .await?
        .ok_or_else(|| ApiError::NotFound("no such member".to_owned()))?;
    let leaving = user_id == caller.user_id;
    if !leaving {
        if mine < Role::Admin {
            return Err(ApiError::Forbidden("removing others needs the admin role".to_owned()));
        }
        if target.role == Role::Owner && mine < Role::Owner {
            return Err(ApiError::Forbidden("only an owner can remove an owner".to_owned()));
        }
    }
    let now = ports.clock.now_ms();
    let (event_id, event) = events::insert(
        ports,
        Guard::PreviousChangedOneRow,
        project_id,
        "member.removed",
        &caller.user_id,
        user_id,
        &json!({"role": target.role, "left": leaving}),
        now,
    )?;
    let results = ports
        .store
        .batch(vec![
            Statement::new(
                format!("DELETE FROM members WHERE project_id = ?1 AND user_id = ?2 AND {KEEPS_AN_OWNER} RETURNING 1"),
                vec![project_id.into(), user_id.into()],
            ),
            event,
            Statement::new(
                "UPDATE tasks SET assignee_id = NULL, updated_at = ?3, version = version + 1 \
                 WHERE project_id = ?1 AND assignee_id = ?2 AND EXISTS (SELECT 1 FROM events WHERE id = ?4)",
                vec![project_id.into(), user_id.into(), now.into(), event_id.into()],
            ),
        ])
        .await?;
    if super::landed(&results) {
        return Ok(());
    }
    if target.role == Role::Owner {
        return Err(last_owner());
    }
    Err(ApiError::NotFound("no such member".to_owned()))
}

/// One page of the project's events, newest first.
///
/// # Errors
/// `NotFound` for non-members.
pub async fn events(
    ports: &Ports,
    caller: &AuthUser,
    project_id: &str,
    before_seq: Option<i64>,
    limit: usize,
) -> Result<(Vec<events::Event>, bool), ApiError> {
    require_role(ports, caller, project_id, Role::Viewer).await?;
    let rows = ports
        .store
        .query(Statement::new(
            events_sql(),
            vec![project_id.into(), before_seq.into(), super::fetch_limit(limit)],
        ))
        .await?;
    super::page(&rows, limit, events::from_row)
}
