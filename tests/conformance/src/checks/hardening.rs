//! What an outside review and a black-box run of the contract found, each as a check
//! that would fail without its fix: malformed bodies judged whole, event times in commit
//! order, rules checked inside the write, idempotent creations that record only what
//! landed, API keys that need the password and die with the sessions, challenges on 401.

use serde_json::{json, Value};

use super::expect_problem;
use super::projects::{add_member, create_project, create_task};
use crate::fixtures::{Account, PASSWORD};
use crate::{ensure, ensure_eq, Client, Entry, Resp};

pub fn checks() -> Vec<Entry> {
    crate::checks![Any => [
        a_truncated_json_body_is_malformed_not_invalid,
        concurrent_writes_log_events_with_times_in_commit_order,
        role_changes_are_checked_in_the_write_that_makes_them,
        an_idempotent_creation_that_was_refused_records_nothing,
        creating_an_api_key_needs_the_current_password,
        logout_all_and_password_changes_delete_api_keys_unless_kept,
        a_deleted_key_is_refused_by_the_next_request,
        every_401_carries_a_bearer_challenge,
    ]]
}

fn a_truncated_json_body_is_malformed_not_invalid(c: &Client) -> Result<(), String> {
    let o = c.register("Truncated")?;
    let p = create_project(c, &o, "Truncated")?;
    for body in ["[1,", "{\"title\": \"x\",", "[{\"title\": 3}", "{\"labels\": [\"a\""] {
        let res = c.send(
            "POST",
            &format!("/v1/projects/{p}/tasks"),
            &[("Authorization", &o.bearer()), ("Content-Type", "application/json")],
            Some(body.as_bytes()),
        )?;
        expect_problem(&res, 400, "malformed").map_err(|e| format!("{body}: {e}"))?;
    }
    Ok(())
}

fn concurrent_writes_log_events_with_times_in_commit_order(c: &Client) -> Result<(), String> {
    let o = c.register("EventOrder")?;
    let p = create_project(c, &o, "Event order")?;
    let statuses: Vec<u16> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..16)
            .map(|i| {
                let (c, o, p) = (&c, &o, &p);
                s.spawn(move || create_task(c, &o.bearer(), p, &json!({"title": format!("t{i}")})).map(|r| r.status))
            })
            .collect();
        handles.into_iter().map(|h| h.join().map_err(|_| "thread".to_owned()).and_then(|r| r).unwrap_or(0)).collect()
    });
    ensure!(statuses.iter().all(|s| *s == 201), "concurrent creates: {statuses:?}");
    let res = c.authed("GET", &format!("/v1/projects/{p}/events?limit=100"), &o.bearer())?;
    let events = res.json()?["data"].as_array().cloned().unwrap_or_default();
    ensure_eq!(events.len(), 17, "16 task events and the project's");
    // Newest first by commit order: each time is at most the one before it in the list.
    let times: Vec<&str> = events.iter().filter_map(|e| e["created_at"].as_str()).collect();
    for pair in times.windows(2) {
        ensure!(pair[0] >= pair[1], "an event committed later carries an earlier time: {times:?}");
    }
    Ok(())
}

/// The role of `user` in `project` as its owner sees it.
fn role_of(c: &Client, o: &Account, project: &str, user: &str) -> Result<String, String> {
    let res = c.authed("GET", &format!("/v1/projects/{project}/members?limit=100"), &o.bearer())?;
    let members = res.json()?["data"].as_array().cloned().unwrap_or_default();
    Ok(members.iter().find(|m| m["user_id"] == json!(user)).map_or_else(String::new, |m| m["role"].to_string()))
}

fn role_changes_are_checked_in_the_write_that_makes_them(c: &Client) -> Result<(), String> {
    // An owner demotes admin A while A promotes member B, at once, round after round. A
    // promotion may only stand if it was made while A was still an admin: in the log it
    // comes before A's demotion.
    let o = c.register("RaceOwner")?;
    let a = c.register("RaceAdmin")?;
    let b = c.register("RaceMember")?;
    for round in 0..8 {
        let p = create_project(c, &o, &format!("Race {round}"))?;
        add_member(c, &o, &p, &a, "admin")?;
        add_member(c, &o, &p, &b, "member")?;
        let set_role = |by: &Account, who: &Account, role: &str| {
            c.json("PATCH", &format!("/v1/projects/{p}/members/{}", who.id), &json!({"role": role}), Some(&by.bearer()))
        };
        let (demote, promote) = std::thread::scope(|s| {
            let d = s.spawn(|| set_role(&o, &a, "viewer"));
            let pr = s.spawn(|| set_role(&a, &b, "admin"));
            (d.join(), pr.join())
        });
        let demote = demote.map_err(|_| "thread")??;
        let promote = promote.map_err(|_| "thread")??;
        ensure_eq!(demote.status, 200, "the owner's demotion");
        let res = c.authed("GET", &format!("/v1/projects/{p}/events?limit=100"), &o.bearer())?;
        let events = res.json()?["data"].as_array().cloned().unwrap_or_default();
        let at = |actor: &str, subject: &str| {
            events.iter().position(|e| {
                e["type"] == json!("member.role_changed")
                    && e["actor_id"] == json!(actor)
                    && e["subject_id"] == json!(subject)
            })
        };
        let (demotion, promotion) = (at(&o.id, &a.id), at(&a.id, &b.id));
        if promote.status == 200 {
            // Newest first: the promotion must be older, so further down the list.
            ensure!(
                matches!((demotion, promotion), (Some(d), Some(p)) if p > d),
                "round {round}: A's promotion stood but was made after A's demotion (events {events:?})"
            );
        } else {
            expect_problem(&promote, 403, "forbidden").map_err(|e| format!("round {round}: {e}"))?;
            ensure!(promotion.is_none(), "round {round}: a refused promotion was logged");
            ensure_eq!(role_of(c, &o, &p, &b.id)?, "\"member\"", format!("round {round}: B's role"));
        }
    }
    Ok(())
}

fn an_idempotent_creation_that_was_refused_records_nothing(c: &Client) -> Result<(), String> {
    let o = c.register("IdemRefused")?;
    let outsider = c.register("IdemOutsider")?;
    let p = create_project(c, &o, "Idempotent refusal")?;
    let key = format!("refused-{}", crate::fixtures::now_secs());
    let send = |body: &Value| {
        c.json_with("POST", &format!("/v1/projects/{p}/tasks"), body, Some(&o.bearer()), &[("Idempotency-Key", &key)])
    };
    let bad = json!({"title": "For an outsider", "assignee_id": outsider.id});
    for attempt in ["first", "retry"] {
        let res = send(&bad)?;
        let body = expect_problem(&res, 422, "validation").map_err(|e| format!("{attempt}: {e}"))?;
        ensure_eq!(body["errors"][0]["code"], json!("not_a_member"), format!("{attempt}: the refusal"));
    }
    let fixed = json!({"title": "For the owner", "assignee_id": o.id});
    let created = send(&fixed)?;
    ensure_eq!(created.status, 201, format!("the corrected request with the same key: {}", created.text()));
    let id = created.json()?["id"].clone();
    let replay = send(&fixed)?;
    ensure_eq!((replay.status, replay.json()?["id"].clone()), (201, id.clone()), "the replay of what landed");
    ensure_eq!(replay.header("idempotent-replayed"), Some("true"), "replayed");
    let task = c.authed("GET", &format!("/v1/tasks/{}", id.as_str().unwrap_or_default()), &o.bearer())?;
    ensure_eq!(task.status, 200, "the replayed id exists");
    Ok(())
}

fn create_key(c: &Client, a: &Account, password: Option<&str>) -> Result<Resp, String> {
    let mut body = json!({"name": "hardening", "scopes": ["read", "write"]});
    if let Some(p) = password {
        body["password"] = json!(p);
    }
    c.post_json("/v1/api-keys", &body, Some(&a.bearer()))
}

fn creating_an_api_key_needs_the_current_password(c: &Client) -> Result<(), String> {
    let a = c.register("KeyPassword")?;
    let missing = expect_problem(&create_key(c, &a, None)?, 422, "validation")?;
    ensure_eq!(missing["errors"][0]["field"], json!("password"), "the missing field");
    expect_problem(&create_key(c, &a, Some("not the password"))?, 403, "forbidden")?;
    let list = c.authed("GET", "/v1/api-keys", &a.bearer())?;
    ensure_eq!(list.json()?["data"], json!([]), "no key was made");
    ensure_eq!(create_key(c, &a, Some(PASSWORD))?.status, 201, "with the password");
    Ok(())
}

/// A key of `a` and whether it works.
fn key_of(c: &Client, a: &Account) -> Result<String, String> {
    let res = create_key(c, a, Some(&a.password))?;
    ensure_eq!(res.status, 201, "create key");
    Ok(format!("Bearer {}", res.json()?["key"].as_str().unwrap_or_default()))
}

fn works(c: &Client, key: &str) -> Result<bool, String> {
    Ok(c.authed("GET", "/v1/me", key)?.status == 200)
}

fn logout_all_and_password_changes_delete_api_keys_unless_kept(c: &Client) -> Result<(), String> {
    let a = c.register("KeyRevoke")?;
    let key = key_of(c, &a)?;
    ensure!(works(c, &key)?, "a new key works");
    let kept = c.post_json("/v1/auth/logout-all", &json!({"keep_api_keys": true}), Some(&a.bearer()))?;
    ensure_eq!(kept.status, 204, "logout-all keeping keys");
    ensure!(works(c, &key)?, "kept keys still work");
    let (access, _) = c.login(&a.email, PASSWORD)?;
    let gone = c.send("POST", "/v1/auth/logout-all", &[("Authorization", &format!("Bearer {access}"))], None)?;
    ensure_eq!(gone.status, 204, "logout-all without a body");
    ensure!(!works(c, &key)?, "a key survived logout-all");
    // The JSON `null` the document allows for the optional body means the same as none.
    let (access, _) = c.login(&a.email, PASSWORD)?;
    let again = Account { access, ..a.clone() };
    let key = key_of(c, &again)?;
    ensure_eq!(c.post_json("/v1/auth/logout-all", &json!(null), Some(&again.bearer()))?.status, 204, "null body");
    ensure!(!works(c, &key)?, "a key survived logout-all with a null body");
    // A password change deletes the keys too, unless kept.
    let (access, _) = c.login(&a.email, PASSWORD)?;
    let me = Account { access, ..a.clone() };
    let key = key_of(c, &me)?;
    let change = |from: &str, to: &str, keep: bool| {
        let body = json!({"current_password": from, "new_password": to, "keep_api_keys": keep});
        c.post_json("/v1/me/password", &body, Some(&me.bearer()))
    };
    ensure_eq!(change(PASSWORD, "a second long password", true)?.status, 204, "change keeping keys");
    ensure!(works(c, &key)?, "a kept key still works after the change");
    ensure_eq!(change("a second long password", "a third long password", false)?.status, 204, "change");
    ensure!(!works(c, &key)?, "a key survived a password change");
    Ok(())
}

fn a_deleted_key_is_refused_by_the_next_request(c: &Client) -> Result<(), String> {
    let a = c.register("KeyDeleted")?;
    let res = create_key(c, &a, Some(PASSWORD))?;
    let created = res.json()?;
    let key = format!("Bearer {}", created["key"].as_str().unwrap_or_default());
    ensure!(works(c, &key)?, "the key works (and the instance has seen it)");
    let deleted =
        c.authed("DELETE", &format!("/v1/api-keys/{}", created["id"].as_str().unwrap_or_default()), &a.bearer())?;
    ensure_eq!(deleted.status, 204, "delete");
    // A client reading at the deletion's position (hosts with replicas) sees it refused.
    let mut headers = vec![("Authorization", key.as_str())];
    let bookmark = deleted.header("x-d1-bookmark").map(str::to_owned);
    if let Some(b) = &bookmark {
        headers.push(("X-D1-Bookmark", b));
    }
    let read = c.send("GET", "/v1/me", &headers, None)?;
    expect_problem(&read, 401, "unauthenticated").map_err(|e| format!("a read with the deleted key: {e}"))?;
    let write = c.post_json("/v1/projects", &json!({"name": "by a deleted key"}), Some(&key))?;
    expect_problem(&write, 401, "unauthenticated").map_err(|e| format!("a write with the deleted key: {e}"))?;
    let projects = c.authed("GET", "/v1/projects", &a.bearer())?;
    ensure_eq!(projects.json()?["data"], json!([]), "the refused write left nothing");
    Ok(())
}

fn every_401_carries_a_bearer_challenge(c: &Client) -> Result<(), String> {
    let bare = "Bearer realm=\"taskapi\"";
    let res = c.get("/v1/me")?;
    expect_problem(&res, 401, "unauthenticated")?;
    ensure_eq!(res.header("www-authenticate"), Some(bare), "no credential");
    let bad_key = format!("Bearer tm_{}", "A".repeat(43));
    for token in ["Bearer not.a.jwt", bad_key.as_str()] {
        let res = c.authed("GET", "/v1/me", token)?;
        expect_problem(&res, 401, "unauthenticated")?;
        ensure_eq!(
            res.header("www-authenticate"),
            Some("Bearer realm=\"taskapi\", error=\"invalid_token\""),
            format!("a refused credential ({token})")
        );
    }
    let a = c.register("Challenge")?;
    let res = c.post_json("/v1/auth/login", &json!({"email": a.email, "password": "wrong password!"}), None)?;
    expect_problem(&res, 401, "unauthenticated")?;
    ensure_eq!(res.header("www-authenticate"), Some(bare), "a failed login");
    Ok(())
}
