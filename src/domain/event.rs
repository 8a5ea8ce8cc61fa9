//! The project's event log: what happened, who did it, to what.

use serde::Serialize;
use serde_json::Value as Json;
use utoipa::ToSchema;

use super::ids::{EventId, UserId};
use crate::clock::Timestamp;

/// An event as the API shows it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Event {
    #[schema(value_type = String)]
    pub id: EventId,
    /// `project.created`, `project.updated`, `member.added`, `member.role_changed`,
    /// `member.removed`, `task.created`, `task.updated`, `task.status_changed`, `task.deleted`.
    #[serde(rename = "type")]
    #[schema(example = "task.status_changed")]
    pub kind: String,
    #[schema(value_type = Option<String>, required = true)]
    pub actor_id: Option<UserId>,
    #[schema(required = true)]
    pub subject_id: Option<String>,
    /// What changed; for updates `{field: {from, to}}`.
    #[schema(value_type = Object)]
    pub data: Json,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    /// Position in the log (orders events that share a millisecond).
    #[serde(skip)]
    pub seq: i64,
}
