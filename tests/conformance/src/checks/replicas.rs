//! Read replication (D1 Sessions): every response that touched the database carries
//! `X-D1-Bookmark`, and a request that sends it back reads at least that state. Hosts
//! with one database answer no bookmark and accept (and validate) the header all the same.

use serde_json::json;

use super::expect_problem;
use crate::{ensure, ensure_eq, Client, Entry, Resp};

pub fn checks() -> Vec<Entry> {
    crate::checks![
        D1Sessions => [d1_bookmarks_round_trip_and_give_read_your_writes],
        SingleDatabase => [a_single_database_host_never_answers_a_bookmark],
        Any => [a_malformed_bookmark_is_a_400_problem],
    ]
}

/// D1 bookmarks: hex groups separated by `-`, ordered by comparison.
fn bookmark(res: &Resp, what: &str) -> Result<String, String> {
    let b =
        res.header("x-d1-bookmark").ok_or_else(|| format!("{what}: no X-D1-Bookmark on a {} response", res.status))?;
    ensure!(
        !b.is_empty() && b.split('-').all(|g| !g.is_empty() && g.bytes().all(|c| c.is_ascii_hexdigit())),
        "{what}: X-D1-Bookmark {b:?} is not a D1 bookmark"
    );
    Ok(b.to_owned())
}

/// One database (Spin, native): no bookmark is handed out, and a sent one changes nothing.
fn a_single_database_host_never_answers_a_bookmark(c: &Client) -> Result<(), String> {
    let user = c.register("bookmark")?;
    let bearer = user.bearer();
    let res = c.authed("GET", "/v1/me", &bearer)?;
    ensure_eq!(res.status, 200, "GET /v1/me");
    ensure!(res.header("x-d1-bookmark").is_none(), "a host without replicas answered a bookmark");
    let res = c.send(
        "GET",
        "/v1/me",
        &[("Authorization", &bearer), ("X-D1-Bookmark", "00000000-00000001-00000000-00")],
        None,
    )?;
    ensure_eq!(res.status, 200, "GET /v1/me with a bookmark");
    Ok(())
}

fn d1_bookmarks_round_trip_and_give_read_your_writes(c: &Client) -> Result<(), String> {
    let user = c.register("bookmark")?;
    let bearer = user.bearer();
    // A read without a bookmark runs on any replica and still reports its position.
    let read = c.authed("GET", "/v1/me", &bearer)?;
    ensure_eq!(read.status, 200, "GET /v1/me");
    let b0 = bookmark(&read, "GET /v1/me")?;

    // A write starts at the primary; its bookmark is past every earlier one.
    let res = c.post_json("/v1/projects", &json!({"name": "Replicated"}), Some(&bearer))?;
    ensure_eq!(res.status, 201, "create project");
    let b1 = bookmark(&res, "POST /v1/projects")?;
    ensure!(b1 > b0, "the write's bookmark {b1:?} is not past the earlier read's {b0:?}");
    let project = res.json()?["id"].as_str().unwrap_or_default().to_owned();

    // Reading with the write's bookmark sees the write, and the position never goes back.
    let res =
        c.send("GET", &format!("/v1/projects/{project}"), &[("Authorization", &bearer), ("X-D1-Bookmark", &b1)], None)?;
    ensure_eq!(res.status, 200, "GET the new project with its bookmark");
    ensure_eq!(res.json()?["name"], json!("Replicated"), "project name read back");
    let b2 = bookmark(&res, "GET with a bookmark")?;
    ensure!(b2 >= b1, "a read anchored at {b1:?} answered an older bookmark {b2:?}");

    // A chain of write, then read with its bookmark: each read sees the previous write.
    let res = c.post_json(&format!("/v1/projects/{project}/tasks"), &json!({"title": "first"}), Some(&bearer))?;
    ensure_eq!(res.status, 201, "create task");
    let b3 = bookmark(&res, "POST task")?;
    ensure!(b3 > b2, "the task write's bookmark {b3:?} is not past {b2:?}");
    let task = res.json()?;
    let id = task["id"].as_str().unwrap_or_default().to_owned();
    let etag = res.header("etag").unwrap_or_default().to_owned();
    // A PATCH of the task, conditional on its first version, at `bookmark`.
    let patch_at = |bookmark: &str, body: &[u8]| {
        c.send(
            "PATCH",
            &format!("/v1/tasks/{id}"),
            &[
                ("Authorization", &bearer),
                ("Content-Type", "application/json"),
                ("If-Match", &etag),
                ("X-D1-Bookmark", bookmark),
            ],
            Some(body),
        )
    };
    let res = patch_at(&b3, br#"{"title":"second","status":"in_progress"}"#)?;
    ensure_eq!(res.status, 200, "PATCH task");
    let b4 = bookmark(&res, "PATCH task")?;
    ensure!(b4 > b3, "the PATCH's bookmark {b4:?} is not past {b3:?}");
    let res = c.send(
        "GET",
        &format!("/v1/projects/{project}/tasks?limit=10"),
        &[("Authorization", &bearer), ("X-D1-Bookmark", &b4)],
        None,
    )?;
    ensure_eq!(res.status, 200, "list tasks with the PATCH's bookmark");
    let items = res.json()?["data"].clone();
    ensure_eq!(items[0]["title"], json!("second"), "the listed task after the PATCH");
    ensure_eq!(items[0]["status"], json!("in_progress"), "the listed task's status after the PATCH");
    ensure!(bookmark(&res, "list")? >= b4, "the list answered a bookmark older than the PATCH's");

    // A failed write (412) leaves the position where it was.
    let res = patch_at(&b4, br#"{"title":"stale"}"#)?;
    ensure_eq!(res.status, 412, "PATCH with a stale ETag");
    if let Some(b5) = res.header("x-d1-bookmark") {
        ensure!(b5 >= b4.as_str(), "a refused write moved the bookmark back: {b5:?} < {b4:?}");
    }
    Ok(())
}

fn a_malformed_bookmark_is_a_400_problem(c: &Client) -> Result<(), String> {
    let user = c.register("badbookmark")?;
    for bad in ["not a bookmark", "zzzz-0000", "0000--0000", &"a".repeat(300), "0-1-2-3-4-5-6-7-8"] {
        let res = c.send("GET", "/v1/me", &[("Authorization", &user.bearer()), ("X-D1-Bookmark", bad)], None)?;
        expect_problem(&res, 400, "malformed").map_err(|e| format!("X-D1-Bookmark {bad:?}: {e}"))?;
        ensure!(res.header("x-d1-bookmark").is_none(), "a refused bookmark was answered with a bookmark");
    }
    // A write with a body and a bad bookmark is refused without touching the database,
    // and the connection stays usable for the next request.
    let before = c.authed("GET", "/v1/projects", &user.bearer())?;
    ensure_eq!(before.status, 200, "list projects");
    for _ in 0..3 {
        let res = c.send(
            "POST",
            "/v1/projects",
            &[("Authorization", &user.bearer()), ("Content-Type", "application/json"), ("X-D1-Bookmark", "true")],
            Some(br#"{"name":"Refused"}"#),
        )?;
        expect_problem(&res, 400, "malformed").map_err(|e| format!("POST with X-D1-Bookmark: true: {e}"))?;
        let res = c.authed("GET", "/v1/projects", &user.bearer())?;
        ensure_eq!(res.status, 200, "the request after a refused bookmark");
        ensure_eq!(res.json()?, before.json()?, "projects after refused creations");
    }
    Ok(())
}
