//! Members of a project and their roles. Each call is one store round trip (two for an
//! idempotent add, whose recorded response needs the account before the write).

use super::create::{created, earlier, Created, Creation};
use crate::auth::Caller;
use crate::clock::Timestamp;
use crate::domain::ids::{ProjectId, UserId};
use crate::domain::project::{self, Member, Role};
use crate::domain::user::Email;
use crate::error::{internal, ApiError};
use crate::ports::Ports;
use crate::sql::idempotency::{self, Key, Stored};
use crate::sql::{self, members as q};

/// One page of a project's members, by user id, and whether more follow.
///
/// # Errors
/// 404 for non-members.
pub async fn list(
    ports: &Ports,
    caller: &Caller,
    id: &ProjectId,
    after: Option<&str>,
    limit: usize,
) -> Result<(Vec<Member>, bool), ApiError> {
    let rows = super::projects::member_read(ports, caller, id, q::list(id, after, limit)).await?;
    sql::page(&rows, limit, q::decode)
}

/// Adds the account with `email` (admin; only owners add owners); `respond` shapes the 201.
///
/// # Errors
/// 404, 403, 409 already a member, 422 no such account or reused key.
pub async fn add(
    ports: &Ports,
    caller: &Caller,
    id: &ProjectId,
    email: &Email,
    role: Role,
    idempotency: Option<&Key>,
    respond: impl FnOnce(&Member) -> Stored,
) -> Result<Created, ApiError> {
    let now = ports.clock.now_ms();
    let event = super::new_event(ports)?;
    let me = &caller.user_id;
    let planned = |account: Option<q::Account>| {
        account.map(|(user_id, email, name)| Member { user_id, email, name, role, joined_at: Timestamp(now) })
    };
    let explain = |state: Option<&crate::store::Row>| {
        let row = state.ok_or_else(|| internal("membership state missing"))?;
        let (m, account) = q::decode_add_state(row)?;
        project::check_add(m, role, account.is_some())
    };
    let change = q::Change { project: id, me, now, event: &event };
    let writes = q::add(&change, email, role, idempotency);
    let Some(key) = idempotency else {
        let c = Creation { event: &event, state: Some(q::add_state(id, me, email)), writes, idempotency: None };
        return match super::create::run(ports, c).await? {
            super::create::Outcome::Ran { landed: true, state, .. } => {
                let row = state.ok_or_else(|| internal("membership state missing"))?;
                let member = planned(q::decode_add_state(&row)?.1).ok_or_else(|| internal("added nobody"))?;
                Ok(Created::New(respond(&member)))
            }
            super::create::Outcome::Ran { state, .. } => {
                explain(state.as_ref())?;
                Err(internal("a member add was refused by its guard without a reason"))
            }
            super::create::Outcome::Replay(s) => Ok(Created::Replay(s)),
        };
    };
    // The recorded response names the account: read it (and any earlier use of the key)
    // first.
    let mut pre = ports.store.query_many(vec![q::add_state(id, me, email), key.read()]).await?;
    let entry = pre.pop().unwrap_or_default();
    if let Some(e) = entry.first().map(idempotency::decode).transpose()?.filter(|e| e.expires_at > now) {
        return earlier(e, key).map(Created::Replay);
    }
    let state = pre.pop().unwrap_or_default();
    let row = state.first().ok_or_else(|| internal("membership state missing"))?;
    explain(Some(row))?;
    let member = planned(q::decode_add_state(row)?.1).ok_or_else(|| internal("added nobody"))?;
    let stored = respond(&member);
    let c =
        Creation { event: &event, state: Some(q::add_state(id, me, email)), writes, idempotency: Some((key, &stored)) };
    created(ports, c, stored.clone(), explain).await
}

/// Runs a change of `target`'s membership in one batch after its state read; returns
/// the state (the membership facts and the member) and whether the write landed.
async fn change_member(
    ports: &Ports,
    caller: &Caller,
    id: &ProjectId,
    target: &UserId,
    writes: impl FnOnce(&q::Change<'_>) -> Vec<crate::store::Statement>,
) -> Result<(project::Membership, Option<Member>, bool), ApiError> {
    let event = super::new_event(ports)?;
    let change = q::Change { project: id, me: &caller.user_id, now: ports.clock.now_ms(), event: &event };
    let mut stmts = vec![q::state(id, &caller.user_id, target)];
    stmts.extend(writes(&change));
    let results = ports.store.batch(stmts).await?;
    let row = sql::rows(&results, 0).first().ok_or_else(|| internal("membership state missing"))?;
    let (m, member) = q::decode_state(row)?;
    // Both writes put their guarded row statement right after the anchor.
    Ok((m, member, sql::landed(&results, 2)))
}

/// Changes a member's role (admin; owners' roles and promotion to owner need an owner).
///
/// # Errors
/// 404, 403, 409 last owner.
pub async fn change_role(
    ports: &Ports,
    caller: &Caller,
    id: &ProjectId,
    target: &UserId,
    role: Role,
) -> Result<Member, ApiError> {
    let (m, member, landed) = change_member(ports, caller, id, target, |c| q::change_role(c, target, role)).await?;
    if landed {
        let member = member.ok_or_else(|| internal("changed nobody"))?;
        return Ok(Member { role, ..member });
    }
    if project::check_role_change(m, role)? {
        return Err(internal("a role change was refused by its guard without a reason"));
    }
    member.ok_or_else(project::member_not_found)
}

/// Removes a member (admin; owners need an owner); anyone may remove itself. Its tasks in
/// the project are unassigned in the same write.
///
/// # Errors
/// 404, 403, 409 last owner.
pub async fn remove(ports: &Ports, caller: &Caller, id: &ProjectId, target: &UserId) -> Result<(), ApiError> {
    let leaving = *target == caller.user_id;
    let (m, _, landed) = change_member(ports, caller, id, target, |c| q::remove(c, target, leaving)).await?;
    if landed {
        return Ok(());
    }
    project::check_removal(m, leaving)?;
    Err(internal("a member removal was refused by its guard without a reason"))
}
