//! Projects, members, roles, tenant isolation, the event log, and the authorization
//! matrix of every project and task route.

use serde_json::{json, Value};

use super::{expect_problem, refused};
use crate::fixtures::{Account, PASSWORD};
use crate::{ensure, ensure_eq, Client, Entry, Resp};

pub fn checks() -> Vec<Entry> {
    crate::checks![Any => [
        project_create_answers_201_with_location_etag_and_owner_role,
        project_requests_are_validated_and_mass_assignment_refused,
        project_lists_show_only_the_callers_projects_with_filters_and_pages,
        project_etags_give_304_and_stale_if_match_gives_412_without_change,
        non_members_get_404_on_every_project_route,
        members_are_added_by_email_with_roles_guarded,
        a_project_always_keeps_an_owner,
        removing_a_member_unassigns_its_tasks,
        deleting_a_project_deletes_its_tasks_and_events,
        every_change_is_in_the_event_log_newest_first,
        authorization_matrix_of_every_project_and_task_route,
    ]]
}

/// Creates a project owned by `owner`; returns its id.
pub fn create_project(c: &Client, owner: &Account, name: &str) -> Result<String, String> {
    let res = c.post_json("/v1/projects", &json!({"name": name}), Some(&owner.bearer()))?;
    ensure_eq!(res.status, 201, "create project");
    Ok(res.json()?["id"].as_str().unwrap_or_default().to_owned())
}

/// Adds `who` to the project with `role`, as `by`.
pub fn add_member(c: &Client, by: &Account, project: &str, who: &Account, role: &str) -> Result<(), String> {
    let res = c.post_json(
        &format!("/v1/projects/{project}/members"),
        &json!({"email": who.email, "role": role}),
        Some(&by.bearer()),
    )?;
    ensure_eq!(res.status, 201, format!("add {role}: {}", res.text()));
    Ok(())
}

/// Registers an owner and a second user, creates the owner's project `name` and adds the
/// second user with `role`; returns (owner, member, project id).
fn project_with_member(
    c: &Client,
    owner_tag: &str,
    member_tag: &str,
    name: &str,
    role: &str,
) -> Result<(Account, Account, String), String> {
    let owner = c.register(owner_tag)?;
    let member = c.register(member_tag)?;
    let project = create_project(c, &owner, name)?;
    add_member(c, &owner, &project, &member, role)?;
    Ok((owner, member, project))
}

pub fn create_task(c: &Client, by: &str, project: &str, body: &Value) -> Result<Resp, String> {
    c.post_json(&format!("/v1/projects/{project}/tasks"), body, Some(by))
}

/// Creating a task with `body` is refused as invalid (422); returns the problem body.
pub fn invalid_task(c: &Client, by: &str, project: &str, body: &Value) -> Result<Value, String> {
    expect_problem(&create_task(c, by, project, body)?, 422, "validation")
}

fn ids(res: &Resp) -> Result<Vec<String>, String> {
    Ok(res.json()?["data"]
        .as_array()
        .map(|a| a.iter().filter_map(|p| p["id"].as_str().map(str::to_owned)).collect())
        .unwrap_or_default())
}

fn project_create_answers_201_with_location_etag_and_owner_role(c: &Client) -> Result<(), String> {
    let o = c.register("ProjOwner")?;
    let res = c.post_json("/v1/projects", &json!({"name": "Launch", "description": "Q4"}), Some(&o.bearer()))?;
    ensure_eq!(res.status, 201, "status");
    let body = res.json()?;
    let id = body["id"].as_str().unwrap_or_default();
    ensure_eq!(res.header("location"), Some(format!("/v1/projects/{id}").as_str()), "Location");
    ensure!(res.header("etag").is_some_and(|e| e.starts_with('"')), "ETag {:?}", res.header("etag"));
    ensure_eq!(body["role"].as_str(), Some("owner"), "role");
    ensure_eq!(body["archived"].as_bool(), Some(false), "archived");
    ensure_eq!(body["description"].as_str(), Some("Q4"), "description");
    let got = c.authed("GET", &format!("/v1/projects/{id}"), &o.bearer())?;
    ensure_eq!(got.status, 200, "get");
    ensure_eq!(got.header("etag"), res.header("etag"), "same ETag on GET");
    ensure_eq!(got.json()?["name"].as_str(), Some("Launch"), "name");
    Ok(())
}

fn project_requests_are_validated_and_mass_assignment_refused(c: &Client) -> Result<(), String> {
    let o = c.register("ProjVal")?;
    for (bad, field) in [
        (json!({"name": ""}), "name"),
        (json!({"name": "x".repeat(101)}), "name"),
        (json!({"name": "ok", "description": "d".repeat(2001)}), "description"),
        (json!({"name": "ok", "owner_id": o.id}), "owner_id"),
        (json!({"name": "ok", "role": "owner"}), "role"),
        (json!({"name": 5}), "name"),
    ] {
        let res = c.post_json("/v1/projects", &bad, Some(&o.bearer()))?;
        let body = expect_problem(&res, 422, "validation").map_err(|e| format!("{bad}: {e}"))?;
        ensure_eq!(body["errors"][0]["field"].as_str(), Some(field), format!("{bad}"));
    }
    let list = c.authed("GET", "/v1/projects", &o.bearer())?;
    ensure_eq!(ids(&list)?.len(), 0, "nothing was created");
    expect_problem(&c.post_json("/v1/projects", &json!({"name": "x"}), None)?, 401, "unauthenticated")?;
    Ok(())
}

fn project_lists_show_only_the_callers_projects_with_filters_and_pages(c: &Client) -> Result<(), String> {
    let a = c.register("ListA")?;
    let b = c.register("ListB")?;
    let mut mine = Vec::new();
    for name in ["Alpha 100%", "Beta", "Gamma", "alpha_two"] {
        mine.push(create_project(c, &a, name)?);
    }
    let theirs = create_project(c, &b, "Alpha secret")?;
    let res = c.authed("GET", "/v1/projects?limit=3", &a.bearer())?;
    let page1 = ids(&res)?;
    ensure_eq!(page1, vec![mine[3].clone(), mine[2].clone(), mine[1].clone()], "newest first");
    let next = res.json()?["next_cursor"].as_str().ok_or("no cursor")?.to_owned();
    ensure!(res.header("link").is_some_and(|l| l.contains("rel=\"next\"")), "Link");
    let page2 = ids(&c.authed("GET", &format!("/v1/projects?limit=3&cursor={next}"), &a.bearer())?)?;
    ensure_eq!(page2, vec![mine[0].clone()], "page 2");
    ensure!(!page1.contains(&theirs) && !page2.contains(&theirs), "another tenant's project leaked");
    let q = ids(&c.authed("GET", "/v1/projects?q=alpha", &a.bearer())?)?;
    ensure_eq!(q, vec![mine[3].clone(), mine[0].clone()], "q is a case-insensitive substring");
    let pct = ids(&c.authed("GET", "/v1/projects?q=100%25", &a.bearer())?)?;
    ensure_eq!(pct, vec![mine[0].clone()], "% matches literally");
    let us = ids(&c.authed("GET", "/v1/projects?q=a_t", &a.bearer())?)?;
    ensure_eq!(us, vec![mine[3].clone()], "_ matches literally");
    let res = c.json("PATCH", &format!("/v1/projects/{}", mine[1]), &json!({"archived": true}), Some(&a.bearer()))?;
    ensure_eq!(res.status, 200, "archive");
    let archived = ids(&c.authed("GET", "/v1/projects?archived=true", &a.bearer())?)?;
    ensure_eq!(archived, vec![mine[1].clone()], "archived=true");
    let active = ids(&c.authed("GET", "/v1/projects?archived=false", &a.bearer())?)?;
    ensure!(!active.contains(&mine[1]) && active.len() == 3, "archived=false: {active:?}");
    refused(c, "GET", "/v1/projects?archived=maybe", &a.bearer(), 422, "validation")?;
    refused(c, "GET", "/v1/projects?cursor=nope", &a.bearer(), 400, "malformed")?;
    Ok(())
}

fn project_etags_give_304_and_stale_if_match_gives_412_without_change(c: &Client) -> Result<(), String> {
    let o = c.register("Etag")?;
    let id = create_project(c, &o, "Before")?;
    let path = format!("/v1/projects/{id}");
    let first = c.authed("GET", &path, &o.bearer())?;
    let etag = first.header("etag").ok_or("no ETag")?.to_owned();
    let res = c.send("GET", &path, &[("Authorization", &o.bearer()), ("If-None-Match", &etag)], None)?;
    ensure_eq!(res.status, 304, "If-None-Match");
    ensure!(res.body.is_empty(), "304 has no body");
    let body = json!({"name": "After"}).to_string();
    let headers =
        [("Authorization", o.bearer()), ("Content-Type", "application/json".into()), ("If-Match", etag.clone())];
    let h: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let res = c.send("PATCH", &path, &h, Some(body.as_bytes()))?;
    ensure_eq!(res.status, 200, "PATCH with the current ETag");
    let new_etag = res.header("etag").ok_or("no new ETag")?.to_owned();
    ensure!(new_etag != etag, "ETag changes with the project");
    let stale = json!({"name": "Lost update"}).to_string();
    let res = c.send("PATCH", &path, &h, Some(stale.as_bytes()))?;
    expect_problem(&res, 412, "precondition-failed")?;
    ensure_eq!(
        c.authed("GET", &path, &o.bearer())?.json()?["name"].as_str(),
        Some("After"),
        "unchanged by the stale PATCH"
    );
    let res = c.send("GET", &path, &[("Authorization", &o.bearer()), ("If-None-Match", &etag)], None)?;
    ensure_eq!(res.status, 200, "old ETag no longer matches");
    // An empty field value is an empty list of entity tags (or, where the platform drops an
    // empty header, no header): either way it matches nothing.
    let res = c.send("GET", &path, &[("Authorization", &o.bearer()), ("If-None-Match", "")], None)?;
    ensure_eq!(res.status, 200, "an empty If-None-Match matches no ETag");
    let del = [("Authorization", o.bearer()), ("If-Match", etag)];
    let h: Vec<(&str, &str)> = del.iter().map(|(k, v)| (*k, v.as_str())).collect();
    expect_problem(&c.send("DELETE", &path, &h, None)?, 412, "precondition-failed")?;
    ensure_eq!(c.authed("GET", &path, &o.bearer())?.status, 200, "still there");
    Ok(())
}

fn non_members_get_404_on_every_project_route(c: &Client) -> Result<(), String> {
    let o = c.register("Iso")?;
    let n = c.register("IsoOut")?;
    let p = create_project(c, &o, "Private")?;
    let t = create_task(c, &o.bearer(), &p, &json!({"title": "secret"}))?.json()?["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let nb = n.bearer();
    let cases: Vec<(&str, String, Option<Value>)> = vec![
        ("GET", format!("/v1/projects/{p}"), None),
        ("PATCH", format!("/v1/projects/{p}"), Some(json!({"name": "x"}))),
        ("DELETE", format!("/v1/projects/{p}"), None),
        ("GET", format!("/v1/projects/{p}/members"), None),
        ("POST", format!("/v1/projects/{p}/members"), Some(json!({"email": n.email, "role": "owner"}))),
        ("PATCH", format!("/v1/projects/{p}/members/{}", o.id), Some(json!({"role": "viewer"}))),
        ("DELETE", format!("/v1/projects/{p}/members/{}", o.id), None),
        ("GET", format!("/v1/projects/{p}/events"), None),
        ("GET", format!("/v1/projects/{p}/tasks"), None),
        ("POST", format!("/v1/projects/{p}/tasks"), Some(json!({"title": "x"}))),
        ("GET", format!("/v1/tasks/{t}"), None),
        ("PATCH", format!("/v1/tasks/{t}"), Some(json!({"title": "x"}))),
        ("DELETE", format!("/v1/tasks/{t}"), None),
        ("GET", "/v1/projects/00000000-0000-7000-8000-000000000000".to_owned(), None),
        ("GET", "/v1/tasks/..%2F..%2Fetc".to_owned(), None),
    ];
    for (m, path, body) in cases {
        let res = match body {
            Some(b) => c.json(m, &path, &b, Some(&nb))?,
            None => c.authed(m, &path, &nb)?,
        };
        expect_problem(&res, 404, "not-found").map_err(|e| format!("{m} {path}: {e}"))?;
    }
    ensure_eq!(
        c.authed("GET", &format!("/v1/tasks/{t}"), &o.bearer())?.json()?["title"].as_str(),
        Some("secret"),
        "untouched"
    );
    Ok(())
}

fn members_are_added_by_email_with_roles_guarded(c: &Client) -> Result<(), String> {
    let o = c.register("MemO")?;
    let a = c.register("MemA")?;
    let v = c.register("MemV")?;
    let x = c.register("MemX")?;
    let p = create_project(c, &o, "Team")?;
    let path = format!("/v1/projects/{p}/members");
    let res = c.post_json(&path, &json!({"email": a.email.to_uppercase(), "role": "admin"}), Some(&o.bearer()))?;
    ensure_eq!(res.status, 201, "add admin by email, any case");
    let m = res.json()?;
    ensure_eq!(m["user_id"].as_str(), Some(a.id.as_str()), "user_id");
    ensure_eq!(m["role"].as_str(), Some("admin"), "role");
    ensure!(m["joined_at"].as_str().is_some() && m["name"].as_str().is_some(), "fields {m}");
    expect_problem(
        &c.post_json(&path, &json!({"email": a.email, "role": "viewer"}), Some(&o.bearer()))?,
        409,
        "conflict",
    )?;
    let body = expect_problem(
        &c.post_json(&path, &json!({"email": "nobody@example.test", "role": "viewer"}), Some(&o.bearer()))?,
        422,
        "validation",
    )?;
    ensure_eq!(body["errors"][0]["field"].as_str(), Some("email"), "field");
    expect_problem(
        &c.post_json(&path, &json!({"email": v.email, "role": "god"}), Some(&o.bearer()))?,
        422,
        "validation",
    )?;
    add_member(c, &a, &p, &v, "viewer")?;
    expect_problem(
        &c.post_json(&path, &json!({"email": x.email, "role": "owner"}), Some(&a.bearer()))?,
        403,
        "forbidden",
    )?;
    expect_problem(
        &c.post_json(&path, &json!({"email": x.email, "role": "viewer"}), Some(&v.bearer()))?,
        403,
        "forbidden",
    )?;
    let list = c.authed("GET", &path, &v.bearer())?;
    ensure_eq!(list.status, 200, "viewer lists members");
    ensure_eq!(list.json()?["data"].as_array().map(Vec::len), Some(3), "three members");
    let mp = format!("{path}/{}", v.id);
    let res = c.json("PATCH", &mp, &json!({"role": "member"}), Some(&a.bearer()))?;
    ensure_eq!(res.status, 200, "admin promotes viewer");
    ensure_eq!(res.json()?["role"].as_str(), Some("member"), "new role");
    expect_problem(
        &c.json("PATCH", &format!("{path}/{}", o.id), &json!({"role": "viewer"}), Some(&a.bearer()))?,
        403,
        "forbidden",
    )?;
    expect_problem(&c.json("PATCH", &mp, &json!({"role": "owner"}), Some(&a.bearer()))?, 403, "forbidden")?;
    refused(c, "DELETE", &format!("{path}/{}", a.id), &v.bearer(), 403, "forbidden")?;
    ensure_eq!(c.authed("DELETE", &mp, &v.bearer())?.status, 204, "a member may leave");
    refused(c, "GET", &format!("/v1/projects/{p}"), &v.bearer(), 404, "not-found")?;
    Ok(())
}

fn a_project_always_keeps_an_owner(c: &Client) -> Result<(), String> {
    let o = c.register("Own1")?;
    let o2 = c.register("Own2")?;
    let p = create_project(c, &o, "Owned")?;
    let me = format!("/v1/projects/{p}/members/{}", o.id);
    expect_problem(&c.json("PATCH", &me, &json!({"role": "admin"}), Some(&o.bearer()))?, 409, "conflict")?;
    refused(c, "DELETE", &me, &o.bearer(), 409, "conflict")?;
    add_member(c, &o, &p, &o2, "owner")?;
    ensure_eq!(
        c.json("PATCH", &me, &json!({"role": "admin"}), Some(&o.bearer()))?.status,
        200,
        "demote with another owner"
    );
    let other = format!("/v1/projects/{p}/members/{}", o2.id);
    refused(c, "DELETE", &other, &o2.bearer(), 409, "conflict")?;
    let owners = c.authed("GET", &format!("/v1/projects/{p}/members"), &o2.bearer())?.json()?;
    let n = owners["data"].as_array().map(|a| a.iter().filter(|m| m["role"] == "owner").count()).unwrap_or(0);
    ensure_eq!(n, 1, "exactly one owner left");
    Ok(())
}

fn removing_a_member_unassigns_its_tasks(c: &Client) -> Result<(), String> {
    let (o, m, p) = project_with_member(c, "Unassign", "Unassigned", "Assign", "member")?;
    let t = create_task(c, &o.bearer(), &p, &json!({"title": "mine", "assignee_id": m.id}))?;
    ensure_eq!(t.status, 201, "create assigned");
    let tid = t.json()?["id"].as_str().unwrap_or_default().to_owned();
    ensure_eq!(c.authed("DELETE", &format!("/v1/projects/{p}/members/{}", m.id), &o.bearer())?.status, 204, "remove");
    let task = c.authed("GET", &format!("/v1/tasks/{tid}"), &o.bearer())?.json()?;
    ensure!(task["assignee_id"].is_null(), "still assigned: {task}");
    let events = c.authed("GET", &format!("/v1/projects/{p}/events"), &o.bearer())?.json()?;
    ensure_eq!(events["data"][0]["type"].as_str(), Some("member.removed"), "event");
    ensure_eq!(events["data"][0]["subject_id"].as_str(), Some(m.id.as_str()), "subject");
    let body = invalid_task(c, &o.bearer(), &p, &json!({"title": "x", "assignee_id": m.id}))?;
    ensure_eq!(body["errors"][0]["field"].as_str(), Some("assignee_id"), "assignee must be a member");
    Ok(())
}

fn deleting_a_project_deletes_its_tasks_and_events(c: &Client) -> Result<(), String> {
    let (o, a, p) = project_with_member(c, "Del", "DelAdmin", "Doomed", "admin")?;
    let t =
        create_task(c, &o.bearer(), &p, &json!({"title": "t"}))?.json()?["id"].as_str().unwrap_or_default().to_owned();
    refused(c, "DELETE", &format!("/v1/projects/{p}"), &a.bearer(), 403, "forbidden")?;
    ensure_eq!(c.authed("DELETE", &format!("/v1/projects/{p}"), &o.bearer())?.status, 204, "owner deletes");
    refused(c, "GET", &format!("/v1/projects/{p}"), &o.bearer(), 404, "not-found")?;
    refused(c, "GET", &format!("/v1/tasks/{t}"), &o.bearer(), 404, "not-found")?;
    refused(c, "GET", &format!("/v1/projects/{p}/events"), &o.bearer(), 404, "not-found")?;
    let mine = c.authed("GET", "/v1/me/tasks", &o.bearer())?;
    ensure!(!mine.text().contains(&t), "task survives in /v1/me/tasks");
    Ok(())
}

fn every_change_is_in_the_event_log_newest_first(c: &Client) -> Result<(), String> {
    let (o, m, p) = project_with_member(c, "Ev", "EvM", "Evented", "viewer")?;
    ensure_eq!(
        c.json("PATCH", &format!("/v1/projects/{p}/members/{}", m.id), &json!({"role": "member"}), Some(&o.bearer()))?
            .status,
        200,
        "role"
    );
    ensure_eq!(
        c.json("PATCH", &format!("/v1/projects/{p}"), &json!({"name": "Renamed"}), Some(&o.bearer()))?.status,
        200,
        "rename"
    );
    let t =
        create_task(c, &o.bearer(), &p, &json!({"title": "t"}))?.json()?["id"].as_str().unwrap_or_default().to_owned();
    let tp = format!("/v1/tasks/{t}");
    ensure_eq!(
        c.json("PATCH", &tp, &json!({"status": "in_progress", "title": "t2"}), Some(&o.bearer()))?.status,
        200,
        "patch"
    );
    ensure_eq!(c.authed("DELETE", &tp, &o.bearer())?.status, 204, "delete task");
    let res = c.authed("GET", &format!("/v1/projects/{p}/events?limit=100"), &m.bearer())?;
    ensure_eq!(res.status, 200, "events");
    let body = res.json()?;
    let types: Vec<&str> =
        body["data"].as_array().map(|a| a.iter().filter_map(|e| e["type"].as_str()).collect()).unwrap_or_default();
    ensure_eq!(
        types,
        vec![
            "task.deleted",
            "task.updated",
            "task.status_changed",
            "task.created",
            "project.updated",
            "member.role_changed",
            "member.added",
            "project.created"
        ],
        "event types newest first"
    );
    let status = &body["data"][2];
    ensure_eq!(status["data"]["status"], json!({"from": "todo", "to": "in_progress"}), "status event data");
    ensure_eq!(status["actor_id"].as_str(), Some(o.id.as_str()), "actor");
    ensure_eq!(status["subject_id"].as_str(), Some(t.as_str()), "subject");
    ensure_eq!(body["data"][1]["data"]["title"], json!({"from": "t", "to": "t2"}), "update event data");
    let page = c.authed("GET", &format!("/v1/projects/{p}/events?limit=3"), &m.bearer())?.json()?;
    let cursor = page["next_cursor"].as_str().ok_or("cursor")?;
    let next = c.authed("GET", &format!("/v1/projects/{p}/events?limit=3&cursor={cursor}"), &m.bearer())?.json()?;
    ensure_eq!(next["data"][0]["type"].as_str(), Some("task.created"), "page 2 continues");
    Ok(())
}

/// Who calls in the matrix.
struct Cast {
    non_member: Account,
    viewer: Account,
    member: Account,
    admin: Account,
    owner: Account,
    read_key: String,
    write_key: String,
}

fn key(c: &Client, a: &Account, scopes: &[&str]) -> Result<String, String> {
    let res = c.post_json(
        "/v1/api-keys",
        &json!({"password": PASSWORD, "name": "matrix", "scopes": scopes}),
        Some(&a.bearer()),
    )?;
    Ok(format!("Bearer {}", res.json()?["key"].as_str().unwrap_or_default()))
}

fn cast(c: &Client) -> Result<Cast, String> {
    let owner = c.register("MxOwner")?;
    Ok(Cast {
        non_member: c.register("MxNon")?,
        viewer: c.register("MxViewer")?,
        member: c.register("MxMember")?,
        admin: c.register("MxAdmin")?,
        read_key: key(c, &owner, &["read"])?,
        write_key: key(c, &owner, &["read", "write"])?,
        owner,
    })
}

fn staffed_project(c: &Client, cast: &Cast, name: &str) -> Result<String, String> {
    let p = create_project(c, &cast.owner, name)?;
    add_member(c, &cast.owner, &p, &cast.viewer, "viewer")?;
    add_member(c, &cast.owner, &p, &cast.member, "member")?;
    add_member(c, &cast.owner, &p, &cast.admin, "admin")?;
    Ok(p)
}

fn authorization_matrix_of_every_project_and_task_route(c: &Client) -> Result<(), String> {
    let cast = cast(c)?;
    let p = staffed_project(c, &cast, "Matrix")?;
    let callers: Vec<(&str, String)> = vec![
        ("non-member", cast.non_member.bearer()),
        ("viewer", cast.viewer.bearer()),
        ("member", cast.member.bearer()),
        ("admin", cast.admin.bearer()),
        ("owner", cast.owner.bearer()),
        ("read key", cast.read_key.clone()),
        ("write key", cast.write_key.clone()),
    ];
    let task_by_member = create_task(c, &cast.member.bearer(), &p, &json!({"title": "by member"}))?.json()?["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    // (route, expected per caller in the order above)
    type Row<'a> = (&'a str, [u16; 7]);
    let rows: Vec<Row> = vec![
        ("GET project", [404, 200, 200, 200, 200, 200, 200]),
        ("PATCH project", [404, 403, 403, 200, 200, 403, 200]),
        ("GET members", [404, 200, 200, 200, 200, 200, 200]),
        ("POST members", [404, 403, 403, 201, 201, 403, 201]),
        ("PATCH member", [404, 403, 403, 200, 200, 403, 200]),
        ("DELETE member", [404, 403, 403, 204, 204, 403, 204]),
        ("GET projects", [200, 200, 200, 200, 200, 200, 200]),
        ("POST projects", [201, 201, 201, 201, 201, 403, 201]),
        ("GET me/tasks", [200, 200, 200, 200, 200, 200, 200]),
        ("GET events", [404, 200, 200, 200, 200, 200, 200]),
        ("GET tasks", [404, 200, 200, 200, 200, 200, 200]),
        ("POST tasks", [404, 403, 201, 201, 201, 403, 201]),
        ("GET task", [404, 200, 200, 200, 200, 200, 200]),
        ("PATCH task", [404, 403, 200, 200, 200, 403, 200]),
        ("DELETE someone else's task", [404, 403, 403, 204, 204, 403, 204]),
        ("DELETE project", [404, 403, 403, 403, 204, 403, 204]),
    ];
    let mut failures = Vec::new();
    for (route, expected) in &rows {
        for ((who, bearer), want) in callers.iter().zip(expected.iter()) {
            let res = match *route {
                "GET project" => c.authed("GET", &format!("/v1/projects/{p}"), bearer)?,
                "PATCH project" => {
                    c.json("PATCH", &format!("/v1/projects/{p}"), &json!({"description": who}), Some(bearer))?
                }
                "GET members" => c.authed("GET", &format!("/v1/projects/{p}/members"), bearer)?,
                "POST members" => {
                    let fresh = c.register("MxFresh")?;
                    c.post_json(
                        &format!("/v1/projects/{p}/members"),
                        &json!({"email": fresh.email, "role": "viewer"}),
                        Some(bearer),
                    )?
                }
                "PATCH member" | "DELETE member" => {
                    let fresh = c.register("MxTarget")?;
                    add_member(c, &cast.owner, &p, &fresh, "viewer")?;
                    let path = format!("/v1/projects/{p}/members/{}", fresh.id);
                    if route.starts_with("PATCH") {
                        c.json("PATCH", &path, &json!({"role": "member"}), Some(bearer))?
                    } else {
                        c.authed("DELETE", &path, bearer)?
                    }
                }
                "GET projects" => {
                    let res = c.authed("GET", "/v1/projects", bearer)?;
                    let sees = res.text().contains(&p);
                    if sees == (*who == "non-member") {
                        failures.push(format!("GET projects as {who}: project listed = {sees}"));
                    }
                    res
                }
                "POST projects" => c.post_json("/v1/projects", &json!({"name": who}), Some(bearer))?,
                "GET me/tasks" => c.authed("GET", "/v1/me/tasks", bearer)?,
                "GET events" => c.authed("GET", &format!("/v1/projects/{p}/events"), bearer)?,
                "GET tasks" => c.authed("GET", &format!("/v1/projects/{p}/tasks"), bearer)?,
                "POST tasks" => create_task(c, bearer, &p, &json!({"title": who}))?,
                "GET task" => c.authed("GET", &format!("/v1/tasks/{task_by_member}"), bearer)?,
                "PATCH task" => {
                    c.json("PATCH", &format!("/v1/tasks/{task_by_member}"), &json!({"description": who}), Some(bearer))?
                }
                "DELETE someone else's task" => {
                    let t = create_task(c, &cast.owner.bearer(), &p, &json!({"title": "owner's"}))?.json()?["id"]
                        .as_str()
                        .unwrap_or_default()
                        .to_owned();
                    c.authed("DELETE", &format!("/v1/tasks/{t}"), bearer)?
                }
                _ => {
                    let doomed = staffed_project(c, &cast, "Doomed")?;
                    c.authed("DELETE", &format!("/v1/projects/{doomed}"), bearer)?
                }
            };
            if res.status != *want {
                failures.push(format!("{route} as {who}: expected {want}, got {}", res.status));
            }
        }
    }
    // A member deletes its own task; a viewer who created one before being demoted cannot.
    let own = create_task(c, &cast.member.bearer(), &p, &json!({"title": "own"}))?.json()?["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let res = c.authed("DELETE", &format!("/v1/tasks/{own}"), &cast.member.bearer())?;
    if res.status != 204 {
        failures.push(format!("member deletes own task: expected 204, got {}", res.status));
    }
    ensure!(failures.is_empty(), "{}", failures.join("; "));
    Ok(())
}
