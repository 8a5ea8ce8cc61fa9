//! Membership statements: the list, the state a change looks at, and the guarded batches
//! of add, role change and removal. The rules are those of `domain::project`.

use super::events::{written, NewEvent, Source};
use super::idempotency::Key;
use super::{json_bool, Params};
use crate::clock::Timestamp;
use crate::domain::ids::{EventId, ProjectId, UserId};
use crate::domain::project::{Member, Membership, Role};
use crate::domain::user::{DisplayName, Email};
use crate::error::{internal, ApiError};
use crate::store::{Row, Statement, Value};

const COLUMNS: &str = "m.user_id, u.email, u.name, m.role, m.joined_at";

/// # Errors
/// A row of another shape.
pub fn decode(r: &Row) -> Result<Member, ApiError> {
    decode_at(r, 0)?.ok_or_else(|| internal("member row without a member"))
}

fn decode_at(r: &Row, at: usize) -> Result<Option<Member>, ApiError> {
    let col = |i: usize| at.saturating_add(i);
    let Some(user_id) = r.opt_text(col(0))? else {
        return Ok(None);
    };
    Ok(Some(Member {
        user_id: UserId::new(user_id),
        email: r.text(col(1))?,
        name: DisplayName::stored(r.text(col(2))?),
        role: Role::parse_db(&r.text(col(3))?).ok_or_else(|| internal("unknown role in members"))?,
        joined_at: Timestamp(r.int(col(4))?),
    }))
}

/// A project's members after a user id (`?1` project, `?2` after, `?3` limit).
pub fn list_sql() -> String {
    format!(
        "SELECT {COLUMNS} FROM members m JOIN users u ON u.id = m.user_id \
         WHERE m.project_id = ?1 AND (?2 IS NULL OR m.user_id > ?2) ORDER BY m.user_id LIMIT ?3"
    )
}

pub fn list(project: &ProjectId, after: Option<&str>, limit: usize) -> Statement {
    Statement::new(list_sql(), vec![project.into(), after.map(str::to_owned).into(), super::fetch_limit(limit)])
}

const ADMINS: &str = "('admin', 'owner')";
const OWNERS: &str = "(SELECT count(*) FROM members WHERE project_id = ?1 AND role = 'owner')";

/// SQL condition: the project `pid` has more than one owner.
fn more_than_one_owner(pid: &str) -> String {
    format!("(SELECT count(*) FROM members o WHERE o.project_id = {pid} AND o.role = 'owner') > 1")
}

/// What a change of `target`'s membership looks at: the caller's role, the target member
/// (if any) and the number of owners. `?1` project, `?2` me, `?3` target.
pub fn state(project: &ProjectId, me: &UserId, target: &UserId) -> Statement {
    Statement::new(
        format!(
            "SELECT (SELECT role FROM members WHERE project_id = ?1 AND user_id = ?2), {COLUMNS}, {OWNERS} \
             FROM (SELECT 1) LEFT JOIN members m ON m.project_id = ?1 AND m.user_id = ?3 \
             LEFT JOIN users u ON u.id = m.user_id"
        ),
        vec![project.into(), me.into(), target.into()],
    )
}

/// The membership facts and the target member of a [`state`] row.
///
/// # Errors
/// A row of another shape.
pub fn decode_state(r: &Row) -> Result<(Membership, Option<Member>), ApiError> {
    let target = decode_at(r, 1)?;
    Ok((
        Membership {
            caller: r.opt_text(0)?.as_deref().and_then(Role::parse_db),
            target: target.as_ref().map(|m| m.role),
            owners: r.int(6)?,
        },
        target,
    ))
}

/// What adding the account with `email` looks at: the caller's role, the account (id,
/// email, name), and its role if already a member. `?1` project, `?2` me, `?3` email.
pub fn add_state(project: &ProjectId, me: &UserId, email: &Email) -> Statement {
    Statement::new(
        "SELECT (SELECT role FROM members WHERE project_id = ?1 AND user_id = ?2), u.id, u.email, u.name, \
         (SELECT role FROM members WHERE project_id = ?1 AND user_id = u.id) \
         FROM (SELECT 1) LEFT JOIN users u ON u.email_normalized = ?3",
        vec![project.into(), me.into(), email.normalized().into()],
    )
}

/// The account found by an [`add_state`] row: (id, email, name), if any.
pub type Account = (UserId, String, DisplayName);

/// # Errors
/// A row of another shape.
pub fn decode_add_state(r: &Row) -> Result<(Membership, Option<Account>), ApiError> {
    let account = match r.opt_text(1)? {
        Some(id) => Some((UserId::new(id), r.text(2)?, DisplayName::stored(r.text(3)?))),
        None => None,
    };
    Ok((
        Membership {
            caller: r.opt_text(0)?.as_deref().and_then(Role::parse_db),
            target: r.opt_text(4)?.as_deref().and_then(Role::parse_db),
            owners: 0,
        },
        account,
    ))
}

/// A change of membership: in which project, by whom, when, anchored by which event.
#[derive(Debug, Clone, Copy)]
pub struct Change<'a> {
    pub project: &'a ProjectId,
    pub me: &'a UserId,
    pub now: i64,
    pub event: &'a EventId,
}

impl Change<'_> {
    /// The anchor, in `p` (the project's placeholder is the first), for `kind`.
    fn anchor(&self, p: Params, kind: &'static str, source: &Source<'_>) -> Statement {
        NewEvent::new(self.event, kind, self.me, self.now).insert(p, source)
    }

    /// The statements that follow an anchor: SQL whose last placeholder is the event.
    fn then(&self, sql: &str, mut params: Vec<Value>) -> Statement {
        params.push(self.event.into());
        let at = format!("?{}", params.len());
        Statement::new(format!("{sql} AND {}", written(&at)), params)
    }

    /// The placeholders of a change to `target`: project, me, target; and the rows the
    /// rules read: `t` the target's membership, `me` the caller's.
    fn target(&self, p: &mut Params, target: &UserId) -> (String, String, String) {
        let pid = p.add(self.project);
        let me = p.add(self.me);
        let target = p.add(target);
        let from = format!("FROM members t JOIN members me ON me.project_id = t.project_id AND me.user_id = {me}");
        (pid, from, format!("t.project_id = {{pid}} AND t.user_id = {target}"))
    }
}

/// Index of the member INSERT (returning the user id) in [`add`]'s batch.
pub const ADD_INDEX: usize = 1;

/// Adding the account with `email` as `role`: the anchor (admin, owners for owners, the
/// account exists and is not a member), then the row.
pub fn add(c: &Change<'_>, email: &Email, role: Role, idem: Option<&Key>) -> Vec<Statement> {
    let mut p = Params::default();
    let pid = p.add(c.project);
    let me_p = p.add(c.me);
    let email_p = p.add(email.normalized());
    let role_p = p.add(role.as_str());
    let data = format!("json_object('role', {role_p})");
    let held = idem.map(|k| format!(" AND {}", k.held(&mut p, c.event))).unwrap_or_default();
    let guard = format!(
        "u.email_normalized = {email_p} \
         AND EXISTS (SELECT 1 FROM members WHERE project_id = {pid} AND user_id = {me_p} AND role IN {ADMINS} \
         AND ({role_p} != 'owner' OR role = 'owner')) \
         AND NOT EXISTS (SELECT 1 FROM members WHERE project_id = {pid} AND user_id = u.id){held}"
    );
    let anchor = c.anchor(
        p,
        "member.added",
        &Source { project: &pid, subject: "u.id", data: &data, from: Some("FROM users u"), guard: &guard },
    );
    let params = vec![c.project.into(), role.as_str().into(), c.now.into(), email.normalized().into()];
    let insert = "INSERT INTO members (project_id, user_id, role, joined_at) SELECT ?1, u.id, ?2, ?3 FROM users u \
                  WHERE u.email_normalized = ?4";
    let mut row = c.then(insert, params);
    row.sql = format!("{} RETURNING user_id", row.sql).into();
    vec![anchor, row]
}

/// Changing `target`'s role: the anchor (admin; owners' roles and promotion to owner need
/// an owner; a project keeps an owner; the role differs), then the row.
pub fn change_role(c: &Change<'_>, target: &UserId, role: Role) -> Vec<Statement> {
    let mut p = Params::default();
    let (pid, from, is_target) = c.target(&mut p, target);
    let role_p = p.add(role.as_str());
    let data = format!("json_object('role', json_object('from', t.role, 'to', {role_p}))");
    let guard = format!(
        "{} AND me.role IN {ADMINS} AND t.role != {role_p} \
         AND ((t.role != 'owner' AND {role_p} != 'owner') OR me.role = 'owner') \
         AND (t.role != 'owner' OR {})",
        is_target.replace("{pid}", &pid),
        more_than_one_owner(&pid)
    );
    let anchor = c.anchor(
        p,
        "member.role_changed",
        &Source { project: &pid, subject: "t.user_id", data: &data, from: Some(&from), guard: &guard },
    );
    let params = vec![c.project.into(), target.into(), role.as_str().into()];
    let mut row = c.then("UPDATE members SET role = ?3 WHERE project_id = ?1 AND user_id = ?2", params);
    row.sql = format!("{} RETURNING 1", row.sql).into();
    vec![anchor, row]
}

/// Removing `target` (the caller itself when `leaving`): the anchor (anyone may leave;
/// removing others needs admin, owners an owner; a project keeps an owner), the row, and
/// the unassignment of its tasks in the project.
pub fn remove(c: &Change<'_>, target: &UserId, leaving: bool) -> Vec<Statement> {
    let mut p = Params::default();
    let (pid, from, is_target) = c.target(&mut p, target);
    let data = format!("json_object('left', json('{}'), 'role', t.role)", json_bool(leaving));
    let may = if leaving {
        "1".to_owned()
    } else {
        format!("me.role IN {ADMINS} AND (t.role != 'owner' OR me.role = 'owner')")
    };
    let guard = format!(
        "{} AND {may} AND (t.role != 'owner' OR {})",
        is_target.replace("{pid}", &pid),
        more_than_one_owner(&pid)
    );
    let anchor = c.anchor(
        p,
        "member.removed",
        &Source { project: &pid, subject: "t.user_id", data: &data, from: Some(&from), guard: &guard },
    );
    let mut row =
        c.then("DELETE FROM members WHERE project_id = ?1 AND user_id = ?2", vec![c.project.into(), target.into()]);
    row.sql = format!("{} RETURNING 1", row.sql).into();
    let unassign = c.then(
        "UPDATE tasks SET assignee_id = NULL, updated_at = ?3, version = version + 1 \
         WHERE project_id = ?1 AND assignee_id = ?2",
        vec![c.project.into(), target.into(), c.now.into()],
    );
    vec![anchor, row, unassign]
}

#[cfg(test)]
mod tests {
    use super::super::constants;
    use super::*;

    #[test]
    fn the_admin_list_is_the_roles_from_admin_up() {
        assert_eq!(ADMINS, constants(Role::Admin.and_above().map(Role::as_str)));
    }
}
