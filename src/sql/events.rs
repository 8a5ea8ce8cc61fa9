//! The event log's statements: the anchor insert every change writes, and the list.

use serde_json::Value as Json;

use super::Params;
use crate::clock::Timestamp;
use crate::domain::event::Event;
use crate::domain::ids::{EventId, ProjectId, UserId};
use crate::error::ApiError;
use crate::store::{Row, Statement};

/// An event to write: the anchor of a change.
#[derive(Debug, Clone)]
pub struct NewEvent<'a> {
    pub id: &'a EventId,
    pub kind: &'static str,
    pub actor: &'a UserId,
    pub now: i64,
}

/// Where an event's values come from: SQL expressions over the rows of `from`.
#[derive(Debug, Clone)]
pub struct Source<'a> {
    /// The project id (an expression, e.g. `t.project_id`, or a placeholder).
    pub project: &'a str,
    /// The subject id expression.
    pub subject: &'a str,
    /// The `data` expression (JSON text).
    pub data: &'a str,
    /// `FROM …` (joins included), or `None` for a single row of values.
    pub from: Option<&'a str>,
    /// The guard: every rule of the change.
    pub guard: &'a str,
}

impl<'a> NewEvent<'a> {
    pub fn new(id: &'a EventId, kind: &'static str, actor: &'a UserId, now: i64) -> Self {
        Self { id, kind, actor, now }
    }
}

/// The time of an event of `project`: now, or the time of the project's latest event if
/// that is later, so that the log's times never run backwards in commit order (a request
/// reads the clock before it waits for the write lock).
pub fn time(project: &str, now: &str) -> String {
    format!(
        "max({now}, coalesce((SELECT created_at FROM events WHERE project_id = {project} ORDER BY seq DESC LIMIT 1), 0))"
    )
}

impl NewEvent<'_> {
    /// `INSERT INTO events … SELECT … FROM <from> WHERE <guard> RETURNING 1`: the anchor.
    /// Placeholders of `source` are numbered in `params`, which this continues.
    pub fn insert(&self, mut params: Params, source: &Source<'_>) -> Statement {
        let id = params.add(self.id);
        let kind = params.add(self.kind);
        let actor = params.add(self.actor);
        let now = params.add(self.now);
        let at = time(source.project, &now);
        let sql = format!(
            "INSERT INTO events (id, project_id, type, actor_id, subject_id, data, created_at) \
             SELECT {id}, {}, {kind}, {actor}, {}, {}, {at} {} WHERE {} RETURNING 1",
            source.project,
            source.subject,
            source.data,
            source.from.unwrap_or_default(),
            source.guard
        );
        Statement::new(sql, params.into_values())
    }
}

/// SQL condition: the event `param` was written (by this batch's anchor).
pub fn written(param: &str) -> String {
    format!("EXISTS (SELECT 1 FROM events WHERE id = {param})")
}

const SELECT: &str = "SELECT id, type, actor_id, subject_id, data, created_at, seq FROM events";

/// A project's events before a sequence number (`?1` project, `?2` before, `?3` limit).
pub fn list_sql() -> String {
    format!("{SELECT} WHERE project_id = ?1 AND (?2 IS NULL OR seq < ?2) ORDER BY seq DESC LIMIT ?3")
}

pub fn list(project: &ProjectId, before_seq: Option<i64>, limit: usize) -> Statement {
    Statement::new(list_sql(), vec![project.into(), before_seq.into(), super::fetch_limit(limit)])
}

/// # Errors
/// A row of another shape.
pub fn decode(r: &Row) -> Result<Event, ApiError> {
    Ok(Event {
        id: EventId::new(r.text(0)?),
        kind: r.text(1)?,
        actor_id: r.opt_text(2)?.map(UserId::new),
        subject_id: r.opt_text(3)?,
        data: serde_json::from_str(&r.text(4)?).unwrap_or(Json::Null),
        created_at: Timestamp(r.int(5)?),
        seq: r.int(6)?,
    })
}
