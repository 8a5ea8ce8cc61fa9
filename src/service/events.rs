//! The project's event log: every change writes its event in the same atomic batch.

use serde::Serialize;
use serde_json::Value as Json;
use utoipa::ToSchema;

use crate::http::ApiError;
use crate::ids::uuid_v7;
use crate::ports::Ports;
use crate::store::{Row, Statement};

/// When an event is written relative to the statement before it in the batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Guard {
    /// Always.
    Always,
    /// Only if the previous statement changed exactly one row (`changes() = 1`): the
    /// event then lands exactly when the guarded change did.
    PreviousChangedOneRow,
}

/// A new event's id and the statement that writes it.
///
/// # Errors
/// When no id can be generated.
#[allow(clippy::too_many_arguments)]
pub fn insert(
    ports: &Ports,
    guard: Guard,
    project_id: &str,
    kind: &str,
    actor_id: &str,
    subject_id: &str,
    data: &Json,
    now: i64,
) -> Result<(String, Statement), ApiError> {
    let id = uuid_v7(ports.clock.as_ref(), ports.random.as_ref()).map_err(|e| ApiError::Internal(e.to_string()))?;
    let sql = match guard {
        Guard::Always => {
            "INSERT INTO events (id, project_id, type, actor_id, subject_id, data, created_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"
        }
        Guard::PreviousChangedOneRow => {
            "INSERT INTO events (id, project_id, type, actor_id, subject_id, data, created_at) \
             SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7 WHERE changes() = 1"
        }
    };
    let stmt = Statement::new(
        sql,
        vec![
            id.clone().into(),
            project_id.into(),
            kind.into(),
            actor_id.into(),
            subject_id.into(),
            data.to_string().into(),
            now.into(),
        ],
    );
    Ok((id, stmt))
}

/// An event as the API shows it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Event {
    pub id: String,
    /// `project.created`, `project.updated`, `member.added`, `member.role_changed`,
    /// `member.removed`, `task.created`, `task.updated`, `task.status_changed`, `task.deleted`.
    #[serde(rename = "type")]
    #[schema(example = "task.status_changed")]
    pub kind: String,
    pub actor_id: Option<String>,
    pub subject_id: Option<String>,
    /// What changed; for updates `{field: {from, to}}`.
    #[schema(value_type = Object)]
    pub data: Json,
    pub created_at: String,
    #[serde(skip)]
    pub seq: i64,
}

pub const SELECT: &str = "SELECT id, type, actor_id, subject_id, data, created_at, seq FROM events";

pub fn from_row(r: &Row) -> Result<Event, ApiError> {
    Ok(Event {
        id: r.text(0)?,
        kind: r.text(1)?,
        actor_id: r.opt_text(2)?,
        subject_id: r.opt_text(3)?,
        data: serde_json::from_str(&r.text(4)?).unwrap_or(Json::Null),
        created_at: crate::clock::format_rfc3339_ms(r.int(5)?),
        seq: r.int(6)?,
    })
}
