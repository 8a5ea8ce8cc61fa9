//! Tasks: the status machine, priorities, labels, due dates, and the rules of a change as
//! pure functions of the current state (the SQL of each write carries the same rules as
//! guards; these explain a refusal and are tested without a database).

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

mod rules;

pub use rules::{
    archived, assignee_not_member, check_create, check_delete, plan_update, task_not_found, TaskPatch, TaskState,
};

use super::ids::{ProjectId, TaskId, UserId};
use super::project::Role;
use super::text_value;
use crate::clock::{Date, Timestamp};
use crate::error::FieldError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Todo,
    InProgress,
    InReview,
    Done,
    Cancelled,
}

/// What a status change needs beyond being a member.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transition {
    /// Same status: nothing changes.
    NoOp,
    Allowed,
    /// `done`/`cancelled` back to `todo`: admins only.
    ReopenAdminOnly,
    Forbidden,
}

impl Status {
    pub const ALL: [Status; 5] = [Status::Todo, Status::InProgress, Status::InReview, Status::Done, Status::Cancelled];
    /// Longest `status` filter of a list (a comma list): every status once is 41 characters.
    pub const LIST_MAX_LEN: usize = 64;

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Todo => "todo",
            Status::InProgress => "in_progress",
            Status::InReview => "in_review",
            Status::Done => "done",
            Status::Cancelled => "cancelled",
        }
    }

    pub fn parse_db(s: &str) -> Option<Status> {
        Status::ALL.into_iter().find(|st| st.as_str() == s)
    }

    /// # Errors
    /// `invalid` naming the allowed values.
    pub fn parse(field: &str, s: &str) -> Result<Status, FieldError> {
        Status::parse_db(s).ok_or_else(|| {
            FieldError::new(field, "invalid", "must be one of todo, in_progress, in_review, done, cancelled")
        })
    }

    /// The contract's transition table.
    pub fn transition(self, to: Status) -> Transition {
        use Status::{Cancelled, Done, InProgress, InReview, Todo};
        if self == to {
            return Transition::NoOp;
        }
        match (self, to) {
            (Todo, InProgress | Cancelled)
            | (InProgress, Todo | InReview | Done | Cancelled)
            | (InReview, InProgress | Done | Cancelled) => Transition::Allowed,
            (Done | Cancelled, Todo) => Transition::ReopenAdminOnly,
            _ => Transition::Forbidden,
        }
    }

    /// The statuses a task may move to `self` from, for a caller with `role`.
    pub fn reachable_from(self, role: Role) -> impl Iterator<Item = Status> {
        Status::ALL.into_iter().filter(move |from| match from.transition(self) {
            Transition::Allowed => true,
            Transition::ReopenAdminOnly => role >= Role::Admin,
            Transition::NoOp | Transition::Forbidden => false,
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Priority {
    Low,
    Medium,
    High,
    Urgent,
}

impl Priority {
    pub const ALL: [Priority; 4] = [Priority::Low, Priority::Medium, Priority::High, Priority::Urgent];
    /// Longest `priority` filter of a list (a comma list): every priority once is 24 characters.
    pub const LIST_MAX_LEN: usize = 32;

    pub fn as_str(self) -> &'static str {
        match self {
            Priority::Low => "low",
            Priority::Medium => "medium",
            Priority::High => "high",
            Priority::Urgent => "urgent",
        }
    }

    /// Sort rank stored beside the name: low=0 … urgent=3.
    pub fn rank(self) -> i64 {
        match self {
            Priority::Low => 0,
            Priority::Medium => 1,
            Priority::High => 2,
            Priority::Urgent => 3,
        }
    }

    pub fn parse_db(s: &str) -> Option<Priority> {
        Priority::ALL.into_iter().find(|p| p.as_str() == s)
    }

    /// # Errors
    /// `invalid` naming the allowed values.
    pub fn parse(field: &str, s: &str) -> Result<Priority, FieldError> {
        Priority::parse_db(s)
            .ok_or_else(|| FieldError::new(field, "invalid", "must be one of low, medium, high, urgent"))
    }
}

text_value!(
    /// A task's title: one line of 1–200 characters.
    TaskTitle, 1, 200, Line
);
text_value!(
    /// A task's description: free text of at most 10000 characters.
    TaskDescription, 0, 10_000, Multiline
);
text_value!(
    /// One label: one line of 1–32 characters.
    Label, 1, 32, Line
);

/// A task's labels: at most 20, no duplicates, in the order given.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
#[serde(transparent)]
pub struct Labels(Vec<Label>);

impl Labels {
    /// Most labels on one task.
    pub const MAX_COUNT: usize = 20;

    /// Duplicates are dropped, order kept.
    ///
    /// # Errors
    /// One field error per bad label, or for the count.
    pub fn parse(field: &str, labels: &[String]) -> Result<Labels, Vec<FieldError>> {
        if labels.len() > Self::MAX_COUNT {
            return Err(vec![FieldError::new(field, "too_many", "at most 20 labels")]);
        }
        let mut errors = Vec::new();
        let mut out: Vec<Label> = Vec::new();
        for (i, l) in labels.iter().enumerate() {
            match Label::parse(&format!("{field}[{i}]"), l) {
                Ok(l) if !out.contains(&l) => out.push(l),
                Ok(_) => {}
                Err(e) => errors.push(e),
            }
        }
        if errors.is_empty() {
            Ok(Labels(out))
        } else {
            Err(errors)
        }
    }

    /// The stored form, a JSON array of strings, read back.
    pub fn stored(json: &str) -> Labels {
        let raw: Vec<String> = serde_json::from_str(json).unwrap_or_default();
        Labels(raw.into_iter().map(Label::stored).collect())
    }

    /// The stored form: a JSON array of strings.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| "[]".to_owned())
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// # Errors
/// Not `YYYY-MM-DD` or not a real date.
pub fn parse_due_date(field: &str, s: &str) -> Result<Date, FieldError> {
    Date::parse(s).ok_or_else(|| FieldError::new(field, "invalid_date", "must be a date as YYYY-MM-DD"))
}

/// A task.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Task {
    #[schema(value_type = String)]
    pub id: TaskId,
    #[schema(value_type = String)]
    pub project_id: ProjectId,
    #[schema(value_type = String, example = "Write the launch post")]
    pub title: TaskTitle,
    #[schema(value_type = String)]
    pub description: TaskDescription,
    pub status: Status,
    pub priority: Priority,
    #[schema(value_type = Option<String>, required = true)]
    pub assignee_id: Option<UserId>,
    /// `YYYY-MM-DD`.
    #[schema(value_type = Option<String>, format = Date, required = true, example = "2026-12-01")]
    pub due_date: Option<Date>,
    #[schema(value_type = Vec<String>)]
    pub labels: Labels,
    #[schema(value_type = String)]
    pub created_by: UserId,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: Timestamp,
    #[schema(value_type = Option<String>, format = DateTime, required = true)]
    pub completed_at: Option<Timestamp>,
    #[serde(skip)]
    pub version: i64,
}

impl Task {
    pub fn etag(&self) -> String {
        format!("\"t{}\"", self.version)
    }
}

/// A validated new task.
#[derive(Debug, Clone)]
pub struct NewTask {
    pub title: TaskTitle,
    pub description: TaskDescription,
    pub status: Status,
    pub priority: Priority,
    pub assignee_id: Option<UserId>,
    pub due_date: Option<Date>,
    pub labels: Labels,
}

#[cfg(test)]
mod tests {
    use super::*;
    use Status::*;

    #[test]
    fn the_transition_table_is_the_contracts() {
        let allowed = [
            (Todo, InProgress),
            (Todo, Cancelled),
            (InProgress, Todo),
            (InProgress, InReview),
            (InProgress, Done),
            (InProgress, Cancelled),
            (InReview, InProgress),
            (InReview, Done),
            (InReview, Cancelled),
        ];
        for from in Status::ALL {
            for to in Status::ALL {
                let t = from.transition(to);
                let expected = if from == to {
                    Transition::NoOp
                } else if allowed.contains(&(from, to)) {
                    Transition::Allowed
                } else if matches!(from, Done | Cancelled) && to == Todo {
                    Transition::ReopenAdminOnly
                } else {
                    Transition::Forbidden
                };
                assert_eq!(t, expected, "{from:?} -> {to:?}");
            }
        }
        assert_eq!(Done.transition(InProgress), Transition::Forbidden);
        assert_eq!(Todo.reachable_from(Role::Member).collect::<Vec<_>>(), vec![InProgress]);
        assert_eq!(Todo.reachable_from(Role::Admin).collect::<Vec<_>>(), vec![InProgress, Done, Cancelled]);
    }

    #[test]
    fn a_filter_naming_every_value_once_fits_its_bound() {
        let statuses: Vec<&str> = Status::ALL.iter().map(|s| s.as_str()).collect();
        assert!(statuses.join(",").len() <= Status::LIST_MAX_LEN);
        let priorities: Vec<&str> = Priority::ALL.iter().map(|p| p.as_str()).collect();
        assert!(priorities.join(",").len() <= Priority::LIST_MAX_LEN);
    }

    #[test]
    fn labels_are_bounded_and_deduplicated() {
        let ok = Labels::parse("labels", &["a".into(), " b ".into(), "a".into()]).unwrap();
        assert_eq!(ok.to_json(), r#"["a","b"]"#);
        assert_eq!(Labels::stored(&ok.to_json()), ok);
        assert!(Labels::parse("labels", &vec!["x".to_owned(); 21]).is_err());
        let errs = Labels::parse("labels", &["ok".into(), "".into(), "y".repeat(33)]).unwrap_err();
        assert_eq!(errs.iter().map(|e| e.field.as_str()).collect::<Vec<_>>(), vec!["labels[1]", "labels[2]"]);
    }
}
