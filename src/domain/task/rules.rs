//! The rules of a task change as pure functions of the current state: the status
//! machine × fields × role × precondition of a PATCH, creation and deletion. The SQL of
//! each write carries the same rules as guards; these explain a refusal and are tested
//! without a database.

use super::{Labels, Priority, Status, Task, TaskDescription, TaskTitle, Transition};
use crate::clock::Date;
use crate::domain::ids::UserId;
use crate::domain::project::Role;
use crate::domain::Expect;
use crate::error::ApiError;

/// Fields a PATCH may change; `None` leaves a field alone, `Some(None)` clears it.
#[derive(Debug, Default, Clone)]
pub struct TaskPatch {
    pub title: Option<TaskTitle>,
    pub description: Option<TaskDescription>,
    pub status: Option<Status>,
    pub priority: Option<Priority>,
    pub assignee_id: Option<Option<UserId>>,
    pub due_date: Option<Option<Date>>,
    pub labels: Option<Labels>,
}

impl TaskPatch {
    /// Whether a field other than the status would change.
    pub fn changes_fields(&self, t: &Task) -> bool {
        self.title.as_ref().is_some_and(|v| *v != t.title)
            || self.description.as_ref().is_some_and(|v| *v != t.description)
            || self.priority.is_some_and(|v| v != t.priority)
            || self.assignee_id.as_ref().is_some_and(|v| *v != t.assignee_id)
            || self.due_date.is_some_and(|v| v != t.due_date)
            || self.labels.as_ref().is_some_and(|v| *v != t.labels)
    }
}

/// A task with what a change depends on: the caller's role in its project, whether the
/// project is archived, and whether a patch's assignee is a member.
#[derive(Debug, Clone)]
pub struct TaskState {
    pub task: Task,
    pub role: Role,
    pub archived: bool,
    pub assignee_is_member: bool,
}

pub fn task_not_found() -> ApiError {
    ApiError::NotFound("no such task".to_owned())
}

pub fn archived() -> ApiError {
    ApiError::Conflict("the project is archived; unarchive it to change its tasks".to_owned())
}

pub fn assignee_not_member() -> ApiError {
    ApiError::field("assignee_id", "not_a_member", "the assignee must be a member of the project")
}

fn stale() -> ApiError {
    ApiError::PreconditionFailed("the task has changed since that ETag".to_owned())
}

/// Whether a new task may be created in a project where the caller has `role`.
///
/// # Errors
/// 404 non-member, 403 below member, 409 archived, 422 non-member assignee.
pub fn check_create(role: Option<Role>, archived: bool, assignee_is_member: bool) -> Result<(), ApiError> {
    let role = role.ok_or_else(crate::domain::project::project_not_found)?;
    if role < Role::Member {
        return Err(ApiError::Forbidden("creating tasks needs the member role".to_owned()));
    }
    if archived {
        return Err(self::archived());
    }
    if !assignee_is_member {
        return Err(assignee_not_member());
    }
    Ok(())
}

/// What a PATCH does to the task in `s`: `Ok(true)` when it changes something,
/// `Ok(false)` when it changes nothing (the answer is the task as it is).
///
/// # Errors
/// 403 below member or reopening without admin, 412 stale `If-Match`, 409 forbidden
/// move or archived project, 422 non-member assignee.
pub fn plan_update(s: &TaskState, patch: &TaskPatch, expect: &Expect) -> Result<bool, ApiError> {
    if s.role < Role::Member {
        return Err(ApiError::Forbidden("editing tasks needs the member role".to_owned()));
    }
    if !expect.matches(&s.task.etag()) {
        return Err(stale());
    }
    let moves = match patch.status.map(|to| (to, s.task.status.transition(to))) {
        None | Some((_, Transition::NoOp)) => false,
        Some((_, Transition::Allowed)) => true,
        Some((_, Transition::ReopenAdminOnly)) if s.role >= Role::Admin => true,
        Some((_, Transition::ReopenAdminOnly)) => {
            return Err(ApiError::Forbidden("reopening a finished task needs the admin role".to_owned()))
        }
        Some((to, Transition::Forbidden)) => {
            return Err(ApiError::InvalidStatusTransition(format!(
                "a task cannot move from {} to {}",
                s.task.status.as_str(),
                to.as_str()
            )))
        }
    };
    if !moves && !patch.changes_fields(&s.task) {
        return Ok(false);
    }
    if s.archived {
        return Err(archived());
    }
    if !s.assignee_is_member {
        return Err(assignee_not_member());
    }
    Ok(true)
}

/// Whether the caller may delete the task in `s`.
///
/// # Errors
/// 403 neither admin nor creator, 412 stale `If-Match`, 409 archived project.
pub fn check_delete(s: &TaskState, caller: &UserId, expect: &Expect) -> Result<(), ApiError> {
    let own = s.task.created_by == *caller && s.role >= Role::Member;
    if s.role < Role::Admin && !own {
        return Err(ApiError::Forbidden("deleting this task needs the admin role or being its creator".to_owned()));
    }
    if !expect.matches(&s.task.etag()) {
        return Err(stale());
    }
    if s.archived {
        return Err(archived());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::Timestamp;
    use crate::domain::ids::{ProjectId, TaskId};
    use crate::domain::task::{Labels, Priority, TaskDescription, TaskTitle};
    use Status::*;

    fn state(status: Status, role: Role) -> TaskState {
        TaskState {
            task: Task {
                id: TaskId::new("t"),
                project_id: ProjectId::new("p"),
                title: TaskTitle::stored("Plan".into()),
                description: TaskDescription::stored(String::new()),
                status,
                priority: Priority::Medium,
                assignee_id: None,
                due_date: None,
                labels: Labels::default(),
                created_by: UserId::new("u"),
                created_at: Timestamp(0),
                updated_at: Timestamp(0),
                completed_at: None,
                version: 3,
            },
            role,
            archived: false,
            assignee_is_member: true,
        }
    }

    fn to(status: Status) -> TaskPatch {
        TaskPatch { status: Some(status), ..TaskPatch::default() }
    }

    #[test]
    fn an_update_is_planned_from_status_role_fields_and_precondition() {
        let any = Expect::Any;
        assert_eq!(plan_update(&state(Todo, Role::Member), &to(InProgress), &any), Ok(true));
        assert_eq!(plan_update(&state(Todo, Role::Member), &to(Todo), &any), Ok(false));
        assert!(matches!(
            plan_update(&state(Done, Role::Member), &to(InProgress), &any),
            Err(ApiError::InvalidStatusTransition(_))
        ));
        assert!(matches!(plan_update(&state(Done, Role::Member), &to(Todo), &any), Err(ApiError::Forbidden(_))));
        assert_eq!(plan_update(&state(Done, Role::Admin), &to(Todo), &any), Ok(true));
        assert!(matches!(plan_update(&state(Todo, Role::Viewer), &to(Todo), &any), Err(ApiError::Forbidden(_))));
        let stale = Expect::parse(Some("\"t2\""));
        assert!(matches!(
            plan_update(&state(Todo, Role::Member), &to(InProgress), &stale),
            Err(ApiError::PreconditionFailed(_))
        ));
        assert_eq!(plan_update(&state(Todo, Role::Member), &to(InProgress), &Expect::parse(Some("\"t3\""))), Ok(true));
        let mut archived = state(Todo, Role::Owner);
        archived.archived = true;
        assert!(matches!(plan_update(&archived, &to(InProgress), &any), Err(ApiError::Conflict(_))));
        assert_eq!(plan_update(&archived, &to(Todo), &any), Ok(false), "a no-op passes even when archived");
        let retitle = TaskPatch { title: Some(TaskTitle::stored("Plan".into())), ..TaskPatch::default() };
        assert_eq!(plan_update(&state(Todo, Role::Member), &retitle, &any), Ok(false));
        let mut outsider = state(Todo, Role::Member);
        outsider.assignee_is_member = false;
        let assign = TaskPatch { assignee_id: Some(Some(UserId::new("x"))), ..TaskPatch::default() };
        assert!(matches!(plan_update(&outsider, &assign, &any), Err(ApiError::Validation(_))));
    }

    #[test]
    fn creators_and_admins_delete_tasks() {
        let me = UserId::new("u");
        assert_eq!(check_delete(&state(Todo, Role::Member), &me, &Expect::Any), Ok(()));
        assert!(matches!(
            check_delete(&state(Todo, Role::Member), &UserId::new("v"), &Expect::Any),
            Err(ApiError::Forbidden(_))
        ));
        assert_eq!(check_delete(&state(Todo, Role::Admin), &UserId::new("v"), &Expect::Any), Ok(()));
        assert!(matches!(check_delete(&state(Todo, Role::Viewer), &me, &Expect::Any), Err(ApiError::Forbidden(_))));
    }
}
