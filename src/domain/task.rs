//! Tasks: status machine, priorities, labels, due dates.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::clock::Date;
use crate::http::FieldError;

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
    pub const ALL: [Status; 5] = [
        Status::Todo,
        Status::InProgress,
        Status::InReview,
        Status::Done,
        Status::Cancelled,
    ];

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
            FieldError::new(
                field,
                "invalid",
                "must be one of todo, in_progress, in_review, done, cancelled",
            )
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

/// # Errors
/// 1–200 characters.
pub fn parse_title(field: &str, s: &str) -> Result<String, FieldError> {
    super::text(field, super::trim_line(s), 1, 200, false)
}

/// # Errors
/// At most 10000 characters.
pub fn parse_description(field: &str, s: &str) -> Result<String, FieldError> {
    super::text(field, s, 0, 10_000, true)
}

/// # Errors
/// Not `YYYY-MM-DD` or not a real date.
pub fn parse_due_date(field: &str, s: &str) -> Result<Date, FieldError> {
    Date::parse(s).ok_or_else(|| FieldError::new(field, "invalid_date", "must be a date as YYYY-MM-DD"))
}

/// At most 20 labels of 1–32 characters; duplicates are dropped, order kept.
///
/// # Errors
/// One field error per bad label, or for the count.
pub fn parse_labels(field: &str, labels: &[String]) -> Result<Vec<String>, Vec<FieldError>> {
    let mut errors = Vec::new();
    let mut out: Vec<String> = Vec::new();
    if labels.len() > 20 {
        errors.push(FieldError::new(field, "too_many", "at most 20 labels"));
        return Err(errors);
    }
    for (i, l) in labels.iter().enumerate() {
        match super::text(&format!("{field}[{i}]"), super::trim_line(l), 1, 32, false) {
            Ok(l) if !out.contains(&l) => out.push(l),
            Ok(_) => {}
            Err(e) => errors.push(e),
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
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
    }

    #[test]
    fn labels_are_bounded_and_deduplicated() {
        let ok = parse_labels("labels", &["a".into(), "b".into(), "a".into()]).unwrap();
        assert_eq!(ok, vec!["a", "b"]);
        assert!(parse_labels("labels", &vec!["x".to_owned(); 21]).is_err());
        let errs = parse_labels("labels", &["ok".into(), "".into(), "y".repeat(33)]).unwrap_err();
        assert_eq!(
            errs.iter().map(|e| e.field.as_str()).collect::<Vec<_>>(),
            vec!["labels[1]", "labels[2]"]
        );
    }
}
