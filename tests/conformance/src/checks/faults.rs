//! Faults on purpose (`FAULT_INJECTION=true` in the hosts' test configuration): a panic
//! is a 500 and the next request on the same isolate/instance succeeds; a database
//! failure at any statement of any mutating route is a 503 problem and leaves no trace.

use serde_json::{json, Value};

use super::expect_problem;
use super::projects::{add_member, create_project, create_task};
use crate::fixtures::{Account, PASSWORD};
use crate::{ensure, ensure_eq, Client, Entry, Resp};

pub fn checks() -> Vec<Entry> {
    crate::checks![Any => [
        a_panic_is_a_500_problem_and_the_next_request_succeeds,
        an_unknown_fault_is_a_400_problem,
        a_database_failure_at_any_statement_leaves_no_partial_write,
    ]]
}

fn a_panic_is_a_500_problem_and_the_next_request_succeeds(c: &Client) -> Result<(), String> {
    let user = c.register("panic")?;
    for round in 0..3 {
        let id = format!("panic-check-{round}-{}", crate::fixtures::now_secs());
        let res = c.send(
            "GET",
            "/v1/me",
            &[("Authorization", &user.bearer()), ("X-Fault-Inject", "panic"), ("X-Request-Id", &id)],
            None,
        )?;
        ensure_eq!(res.status, 500, "status of a request whose handler panicked");
        if c.panic_body_from_host {
            // Spin: the panic aborts the instance and the host answers for it.
            ensure!(!res.text().contains("injected panic"), "the panic message reached the client");
        } else {
            let body = expect_problem(&res, 500, "internal")?;
            ensure_eq!(body["request_id"], json!(id), "request id of the panic's problem");
            ensure!(!res.text().contains("injected panic"), "the panic message reached the client");
        }
        // The next requests, on the same isolate/instance, work: state is rebuilt.
        for _ in 0..3 {
            let res = c.authed("GET", "/v1/me", &user.bearer())?;
            ensure_eq!(res.status, 200, format!("the request after a panic: {}", res.text()));
            ensure_eq!(res.json()?["id"], json!(user.id), "the caller after a panic");
        }
        let res = c.post_json("/v1/projects", &json!({"name": "after a panic"}), Some(&user.bearer()))?;
        ensure_eq!(res.status, 201, "a write after a panic");
    }
    if !c.panic_body_from_host {
        // Without an id of the caller's, the host chooses one: the problem and its header
        // name it, and the test command finds the panic's log line under it (printed here).
        let res = c.send("GET", "/v1/me", &[("Authorization", &user.bearer()), ("X-Fault-Inject", "panic")], None)?;
        let body = expect_problem(&res, 500, "internal")?;
        let id = res.header("x-request-id").unwrap_or_default();
        ensure!(id.len() == 36, "a chosen request id is a UUID: {id:?}");
        ensure_eq!(body["request_id"], json!(id), "the problem names the request id of its header");
        println!("panic-without-request-id {id}");
    }
    Ok(())
}

fn an_unknown_fault_is_a_400_problem(c: &Client) -> Result<(), String> {
    for bad in ["explode", "fail-statement=0", "fail-statement=many"] {
        let res = c.get_with("/v1/health", &[("X-Fault-Inject", bad)])?;
        expect_problem(&res, 400, "malformed").map_err(|e| format!("X-Fault-Inject: {bad}: {e}"))?;
    }
    Ok(())
}

/// Runs `attempt` with the 1st, 2nd, … statement failing until it succeeds. Every failed
/// attempt must be a 503 problem after which `snapshot` reads exactly what it read before.
/// Returns how many statements were failed in turn (at least one).
fn no_partial_write(
    what: &str,
    snapshot: &dyn Fn() -> Result<Value, String>,
    attempt: &dyn Fn(&str) -> Result<Resp, String>,
) -> Result<u32, String> {
    let before = snapshot()?;
    for n in 1..=25u32 {
        let res = attempt(&format!("fail-statement={n}"))?;
        if res.status < 300 {
            ensure!(n > 1, "{what}: succeeded although its first statement failed");
            return Ok(n - 1);
        }
        expect_problem(&res, 503, "unavailable").map_err(|e| format!("{what}, statement {n} failing: {e}"))?;
        let after = snapshot()?;
        ensure!(after == before, "{what}: statement {n} failed and the data changed:\nbefore {before}\nafter  {after}");
    }
    Err(format!("{what}: still failing with the 25th statement failing"))
}

fn get_json(c: &Client, path: &str, user: &Account) -> Result<Value, String> {
    let res = c.authed("GET", path, &user.bearer())?;
    ensure_eq!(res.status, 200, format!("GET {path}: {}", res.text()));
    let body = res.json()?;
    Ok(json!({"etag": res.header("etag"), "body": body}))
}

fn send_json(
    c: &Client,
    method: &str,
    path: &str,
    user: &Account,
    extra: &[(&str, &str)],
    body: &Value,
) -> Result<Resp, String> {
    c.json_with(method, path, body, Some(&user.bearer()), extra)
}

fn a_database_failure_at_any_statement_leaves_no_partial_write(c: &Client) -> Result<(), String> {
    let owner = c.register("faultowner")?;
    let other = c.register("faultmember")?;
    let project = create_project(c, &owner, "Faults")?;
    let p = format!("/v1/projects/{project}");
    // Everything a project write can touch: the project, its members, tasks and events.
    let project_state = || -> Result<Value, String> {
        Ok(json!([
            get_json(c, &p, &owner)?,
            get_json(c, &format!("{p}/members"), &owner)?,
            get_json(c, &format!("{p}/tasks?limit=100"), &owner)?,
            get_json(c, &format!("{p}/events?limit=100"), &owner)?,
        ]))
    };
    let account_state = || -> Result<Value, String> {
        Ok(json!([
            get_json(c, "/v1/me", &owner)?,
            get_json(c, "/v1/projects?limit=100", &owner)?,
            get_json(c, "/v1/api-keys?limit=100", &owner)?,
        ]))
    };
    let mut tried = Vec::new();

    tried.push(no_partial_write("create project", &account_state, &|f| {
        send_json(c, "POST", "/v1/projects", &owner, &[("X-Fault-Inject", f)], &json!({"name": "New"}))
    })?);
    tried.push(no_partial_write("create task (with Idempotency-Key)", &project_state, &|f| {
        send_json(
            c,
            "POST",
            &format!("{p}/tasks"),
            &owner,
            &[("X-Fault-Inject", f), ("Idempotency-Key", "fault-key-1")],
            &json!({"title": "Faulty", "labels": ["a", "b"]}),
        )
    })?);
    // The key of the failed attempts was released: a plain retry creates exactly one task.
    let res = send_json(
        c,
        "POST",
        &format!("{p}/tasks"),
        &owner,
        &[("Idempotency-Key", "fault-key-1")],
        &json!({"title": "Faulty", "labels": ["a", "b"]}),
    )?;
    ensure!(res.status == 200 || res.status == 201, "retry after the faults: {}", res.text());
    let tasks = get_json(c, &format!("{p}/tasks?limit=100"), &owner)?;
    ensure_eq!(
        tasks["body"]["data"].as_array().map(Vec::len),
        Some(1),
        "tasks after failed attempts and one success with the same key"
    );
    let task = tasks["body"]["data"][0]["id"].as_str().unwrap_or_default().to_owned();
    let t = format!("/v1/tasks/{task}");

    tried.push(no_partial_write("update task (status, labels)", &project_state, &|f| {
        let etag = c.authed("GET", &t, &owner.bearer())?.header("etag").unwrap_or_default().to_owned();
        send_json(
            c,
            "PATCH",
            &t,
            &owner,
            &[("X-Fault-Inject", f), ("If-Match", &etag)],
            &json!({"status": "in_progress", "labels": ["c"], "title": "Faultless"}),
        )
    })?);
    tried.push(no_partial_write("update project", &project_state, &|f| {
        send_json(c, "PATCH", &p, &owner, &[("X-Fault-Inject", f)], &json!({"name": "Renamed", "description": "d"}))
    })?);
    tried.push(no_partial_write("add member", &project_state, &|f| {
        send_json(
            c,
            "POST",
            &format!("{p}/members"),
            &owner,
            &[("X-Fault-Inject", f)],
            &json!({"email": other.email, "role": "member"}),
        )
    })?);
    let member = format!("{p}/members/{}", other.id);
    // The member gets a task, so that removing it also unassigns.
    let res = create_task(c, &owner.bearer(), &project, &json!({"title": "theirs", "assignee_id": other.id}))?;
    ensure_eq!(res.status, 201, "task for the member");
    tried.push(no_partial_write("change a member's role", &project_state, &|f| {
        send_json(c, "PATCH", &member, &owner, &[("X-Fault-Inject", f)], &json!({"role": "admin"}))
    })?);
    tried.push(no_partial_write("remove a member (unassigning its tasks)", &project_state, &|f| {
        c.send("DELETE", &member, &[("Authorization", &owner.bearer()), ("X-Fault-Inject", f)], None)
    })?);
    tried.push(no_partial_write("delete task", &project_state, &|f| {
        c.send("DELETE", &t, &[("Authorization", &owner.bearer()), ("X-Fault-Inject", f)], None)
    })?);
    tried.push(no_partial_write("create API key", &account_state, &|f| {
        send_json(
            c,
            "POST",
            "/v1/api-keys",
            &owner,
            &[("X-Fault-Inject", f)],
            &json!({"password": PASSWORD, "name": "k", "scopes": ["read"]}),
        )
    })?);
    tried.push(no_partial_write("rename me", &account_state, &|f| {
        send_json(c, "PATCH", "/v1/me", &owner, &[("X-Fault-Inject", f)], &json!({"name": "Renamed"}))
    })?);
    // Deleting the project takes its members, tasks and events along, or nothing.
    add_member(c, &owner, &project, &other, "viewer")?;
    let res = create_task(c, &owner.bearer(), &project, &json!({"title": "doomed"}))?;
    ensure_eq!(res.status, 201, "task of the doomed project");
    let both = || -> Result<Value, String> { Ok(json!([project_state()?, account_state()?])) };
    tried.push(no_partial_write("delete project", &both, &|f| {
        c.send("DELETE", &p, &[("Authorization", &owner.bearer()), ("X-Fault-Inject", f)], None)
    })?);

    // Refresh: a failed rotation leaves the presented token valid (and not a reuse).
    let session = c.register("faultrefresh")?;
    let mut token = session.refresh.clone();
    let mut n = 1;
    loop {
        let res = c.send(
            "POST",
            "/v1/auth/refresh",
            &[("Content-Type", "application/json"), ("X-Fault-Inject", &format!("fail-statement={n}"))],
            Some(json!({"refresh_token": token}).to_string().as_bytes()),
        )?;
        if res.status == 200 {
            ensure!(n > 1, "refresh succeeded although its first statement failed");
            token = res.json()?["refresh_token"].as_str().unwrap_or_default().to_owned();
            break;
        }
        expect_problem(&res, 503, "unavailable").map_err(|e| format!("refresh, statement {n} failing: {e}"))?;
        n += 1;
        ensure!(n <= 25, "refresh still failing at statement 25");
    }
    let res = c.refresh(&token)?;
    ensure_eq!(res.status, 200, format!("the rotated token after {} failed attempts: {}", n - 1, res.text()));
    tried.push(n - 1);

    ensure!(tried.iter().all(|n| *n >= 1), "some route was never failed: {tried:?}");
    Ok(())
}
