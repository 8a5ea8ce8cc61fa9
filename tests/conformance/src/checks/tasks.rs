//! Tasks: fields and limits, the status machine, conditional requests, idempotent
//! creation, and every filter and sort of the lists with keyset pagination.

use serde_json::{json, Value};

use super::projects::{add_member, create_project, create_task, invalid_task};
use super::{expect_problem, refused};
use crate::fixtures::Account;
use crate::{ensure, ensure_eq, Client, Entry, Resp};

pub fn checks() -> Vec<Entry> {
    crate::checks![Any => [
        task_create_answers_201_with_defaults_location_and_etag,
        task_fields_are_validated_with_every_error_reported,
        the_status_machine_is_enforced,
        reopening_needs_an_admin_and_clears_completed_at,
        task_etags_give_304_and_stale_if_match_gives_412_without_change,
        idempotent_creation_replays_without_a_second_write,
        task_lists_filter_by_every_parameter,
        task_lists_sort_by_every_key_both_ways_across_pages,
        task_list_cursors_are_checked,
        task_list_parameters_are_bounded_as_documented,
        malformed_preconditions_are_refused_not_ignored,
        my_tasks_spans_projects_and_respects_membership,
        archived_projects_refuse_task_changes,
    ]]
}

fn id_of(res: &Resp) -> Result<String, String> {
    Ok(res.json()?["id"].as_str().unwrap_or_default().to_owned())
}

fn ids(res: &Resp) -> Result<Vec<String>, String> {
    ensure_eq!(res.status, 200, format!("list: {}", res.text()));
    Ok(res.json()?["data"]
        .as_array()
        .map(|a| a.iter().filter_map(|p| p["id"].as_str().map(str::to_owned)).collect())
        .unwrap_or_default())
}

fn setup(c: &Client, tag: &str) -> Result<(Account, String), String> {
    let o = c.register(tag)?;
    let p = create_project(c, &o, tag)?;
    Ok((o, p))
}

fn patch(c: &Client, who: &Account, task: &str, body: Value) -> Result<Resp, String> {
    c.json("PATCH", &format!("/v1/tasks/{task}"), &body, Some(&who.bearer()))
}

/// A PATCH of the task at `path` by `who`, conditional on `if_match`.
fn patch_if_match(c: &Client, who: &Account, path: &str, if_match: &str, body: &Value) -> Result<Resp, String> {
    let b = body.to_string();
    c.send(
        "PATCH",
        path,
        &[("Authorization", &who.bearer()), ("Content-Type", "application/json"), ("If-Match", if_match)],
        Some(b.as_bytes()),
    )
}

/// A task titled "v1" in a new owner's new project: (owner, the task's path, its ETag).
fn task_with_etag(c: &Client, tag: &str) -> Result<(Account, String, String), String> {
    let (o, p) = setup(c, tag)?;
    let created = create_task(c, &o.bearer(), &p, &json!({"title": "v1"}))?;
    let etag = created.header("etag").ok_or("ETag")?.to_owned();
    Ok((o, format!("/v1/tasks/{}", id_of(&created)?), etag))
}

fn task_create_answers_201_with_defaults_location_and_etag(c: &Client) -> Result<(), String> {
    let (o, p) = setup(c, "TaskNew")?;
    let res = create_task(c, &o.bearer(), &p, &json!({"title": "  Plan  "}))?;
    ensure_eq!(res.status, 201, "status");
    let t = res.json()?;
    let id = t["id"].as_str().unwrap_or_default();
    ensure_eq!(res.header("location"), Some(format!("/v1/tasks/{id}").as_str()), "Location");
    ensure!(res.header("etag").is_some(), "ETag");
    ensure_eq!(t["title"].as_str(), Some("Plan"), "trimmed title");
    ensure_eq!(t["status"].as_str(), Some("todo"), "default status");
    ensure_eq!(t["priority"].as_str(), Some("medium"), "default priority");
    ensure_eq!(t["description"].as_str(), Some(""), "default description");
    ensure_eq!(t["labels"], json!([]), "labels");
    ensure!(t["assignee_id"].is_null() && t["due_date"].is_null() && t["completed_at"].is_null(), "nulls {t}");
    ensure_eq!(t["created_by"].as_str(), Some(o.id.as_str()), "created_by");
    ensure_eq!(t["project_id"].as_str(), Some(p.as_str()), "project_id");
    let full = create_task(
        c,
        &o.bearer(),
        &p,
        &json!({"title": "Full", "description": "d\nmore", "status": "in_progress", "priority": "urgent",
                "assignee_id": o.id, "due_date": "2026-12-24", "labels": ["a", "b", "a"]}),
    )?;
    ensure_eq!(full.status, 201, "full create");
    let t = full.json()?;
    ensure_eq!(t["labels"], json!(["a", "b"]), "deduplicated labels");
    ensure_eq!(t["due_date"].as_str(), Some("2026-12-24"), "due_date");
    ensure_eq!(t["assignee_id"].as_str(), Some(o.id.as_str()), "assignee");
    let got = c.authed("GET", &format!("/v1/tasks/{}", t["id"].as_str().unwrap_or_default()), &o.bearer())?.json()?;
    ensure_eq!(got, t, "GET returns what POST returned");
    Ok(())
}

fn task_fields_are_validated_with_every_error_reported(c: &Client) -> Result<(), String> {
    let (o, p) = setup(c, "TaskVal")?;
    let body = invalid_task(
        c,
        &o.bearer(),
        &p,
        &json!({"title": "", "status": "doing", "priority": "asap", "due_date": "2026-02-30",
                "labels": ["ok", "", "x".repeat(33)], "description": "d".repeat(10_001)}),
    )?;
    let fields: Vec<&str> =
        body["errors"].as_array().map(|a| a.iter().filter_map(|e| e["field"].as_str()).collect()).unwrap_or_default();
    for f in ["title", "status", "priority", "due_date", "labels[1]", "labels[2]", "description"] {
        ensure!(fields.contains(&f), "no error for {f}: {fields:?}");
    }
    let too_many: Vec<String> = (0..21).map(|i| format!("l{i}")).collect();
    invalid_task(c, &o.bearer(), &p, &json!({"title": "t", "labels": too_many}))?;
    invalid_task(c, &o.bearer(), &p, &json!({"title": "t".repeat(201)}))?;
    let body = invalid_task(c, &o.bearer(), &p, &json!({"title": "t", "created_by": "x"}))?;
    ensure_eq!(body["errors"][0]["code"].as_str(), Some("unknown_field"), "mass assignment");
    let stranger = c.register("TaskValStranger")?;
    let body = invalid_task(c, &o.bearer(), &p, &json!({"title": "t", "assignee_id": stranger.id}))?;
    ensure_eq!(body["errors"][0]["field"].as_str(), Some("assignee_id"), "assignee");
    ensure_eq!(
        c.authed("GET", &format!("/v1/projects/{p}/tasks"), &o.bearer())?.json()?["data"],
        json!([]),
        "nothing stored"
    );
    Ok(())
}

fn the_status_machine_is_enforced(c: &Client) -> Result<(), String> {
    let (o, p) = setup(c, "Machine")?;
    let t = id_of(&create_task(c, &o.bearer(), &p, &json!({"title": "m"}))?)?;
    let body = expect_problem(&patch(c, &o, &t, json!({"status": "done"}))?, 409, "invalid-status-transition")?;
    ensure!(body["detail"].as_str().is_some_and(|d| d.contains("todo") && d.contains("done")), "detail names both");
    expect_problem(&patch(c, &o, &t, json!({"status": "in_review"}))?, 409, "invalid-status-transition")?;
    for step in ["in_progress", "in_review", "in_progress", "in_review", "done"] {
        let res = patch(c, &o, &t, json!({"status": step}))?;
        ensure_eq!(res.status, 200, format!("-> {step}: {}", res.text()));
    }
    let done = c.authed("GET", &format!("/v1/tasks/{t}"), &o.bearer())?;
    let body = done.json()?;
    ensure_eq!(body["status"].as_str(), Some("done"), "status");
    ensure!(body["completed_at"].as_str().is_some(), "completed_at set on done");
    for bad in ["in_progress", "in_review", "cancelled"] {
        expect_problem(&patch(c, &o, &t, json!({"status": bad}))?, 409, "invalid-status-transition")
            .map_err(|e| format!("done -> {bad}: {e}"))?;
    }
    let etag = done.header("etag").unwrap_or_default().to_owned();
    let same = patch(c, &o, &t, json!({"status": "done"}))?;
    ensure_eq!(same.status, 200, "same status is a no-op");
    ensure_eq!(same.header("etag"), Some(etag.as_str()), "a no-op does not bump the version");
    let t2 = id_of(&create_task(c, &o.bearer(), &p, &json!({"title": "c"}))?)?;
    ensure_eq!(patch(c, &o, &t2, json!({"status": "cancelled"}))?.status, 200, "todo -> cancelled");
    expect_problem(&patch(c, &o, &t2, json!({"status": "in_progress"}))?, 409, "invalid-status-transition")?;
    Ok(())
}

fn reopening_needs_an_admin_and_clears_completed_at(c: &Client) -> Result<(), String> {
    let (o, p) = setup(c, "Reopen")?;
    let m = c.register("ReopenMember")?;
    add_member(c, &o, &p, &m, "member")?;
    let t = id_of(&create_task(c, &m.bearer(), &p, &json!({"title": "r", "status": "in_progress"}))?)?;
    ensure_eq!(patch(c, &m, &t, json!({"status": "done"}))?.status, 200, "member finishes");
    expect_problem(&patch(c, &m, &t, json!({"status": "todo"}))?, 403, "forbidden")?;
    let res = patch(c, &o, &t, json!({"status": "todo"}))?;
    ensure_eq!(res.status, 200, "owner reopens");
    let body = res.json()?;
    ensure_eq!(body["status"].as_str(), Some("todo"), "reopened");
    ensure!(body["completed_at"].is_null(), "completed_at cleared: {body}");
    Ok(())
}

fn task_etags_give_304_and_stale_if_match_gives_412_without_change(c: &Client) -> Result<(), String> {
    let (o, path, etag) = task_with_etag(c, "TaskEtag")?;
    let res = c.send("GET", &path, &[("Authorization", &o.bearer()), ("If-None-Match", &etag)], None)?;
    ensure_eq!(res.status, 304, "304");
    let ok = patch_if_match(c, &o, &path, &etag, &json!({"title": "v2"}))?;
    ensure_eq!(ok.status, 200, "current ETag");
    let next = ok.header("etag").ok_or("ETag")?.to_owned();
    ensure!(next != etag, "ETag changes");
    expect_problem(&patch_if_match(c, &o, &path, &etag, &json!({"title": "lost"}))?, 412, "precondition-failed")?;
    let now = c.authed("GET", &path, &o.bearer())?;
    ensure_eq!(now.json()?["title"].as_str(), Some("v2"), "stale PATCH changed nothing");
    ensure_eq!(now.header("etag"), Some(next.as_str()), "version unchanged");
    let del = c.send("DELETE", &path, &[("Authorization", &o.bearer()), ("If-Match", &etag)], None)?;
    expect_problem(&del, 412, "precondition-failed")?;
    let del = c.send("DELETE", &path, &[("Authorization", &o.bearer()), ("If-Match", &next)], None)?;
    ensure_eq!(del.status, 204, "delete with the current ETag");
    Ok(())
}

fn idempotent_creation_replays_without_a_second_write(c: &Client) -> Result<(), String> {
    let (o, p) = setup(c, "Idem")?;
    let other = c.register("IdemOther")?;
    add_member(c, &o, &p, &other, "member")?;
    let path = format!("/v1/projects/{p}/tasks");
    let post = |who: &Account, key: &str, body: &Value| -> Result<Resp, String> {
        let b = body.to_string();
        c.send(
            "POST",
            &path,
            &[("Authorization", &who.bearer()), ("Content-Type", "application/json"), ("Idempotency-Key", key)],
            Some(b.as_bytes()),
        )
    };
    let body = json!({"title": "once"});
    let first = post(&o, "key-1", &body)?;
    ensure_eq!(first.status, 201, "first");
    let again = post(&o, "key-1", &body)?;
    ensure_eq!(again.status, 201, "replay status");
    ensure_eq!(again.json()?, first.json()?, "replay body");
    ensure_eq!(again.header("location"), first.header("location"), "replay Location");
    ensure_eq!(again.header("etag"), first.header("etag"), "replay ETag");
    ensure_eq!(again.header("idempotent-replayed"), Some("true"), "marked as replay");
    expect_problem(&post(&o, "key-1", &json!({"title": "different"}))?, 422, "validation")?;
    let theirs = post(&other, "key-1", &body)?;
    ensure_eq!(theirs.status, 201, "keys are per principal");
    ensure!(theirs.json()?["id"] != first.json()?["id"], "another principal's key creates its own task");
    // A failed request does not burn its key.
    expect_problem(&post(&o, "key-2", &json!({"title": ""}))?, 422, "validation")?;
    ensure_eq!(post(&o, "key-2", &json!({"title": "fixed"}))?.status, 201, "corrected retry");
    let all = ids(&c.authed("GET", &format!("{path}?limit=100"), &o.bearer())?)?;
    ensure_eq!(all.len(), 3, "exactly three tasks: once, theirs, fixed");
    expect_problem(&post(&o, &"k".repeat(256), &body)?, 422, "validation")?;
    let proj = |key: &str| -> Result<Resp, String> {
        c.send(
            "POST",
            "/v1/projects",
            &[("Authorization", &o.bearer()), ("Content-Type", "application/json"), ("Idempotency-Key", key)],
            Some(br#"{"name":"Idem project"}"#),
        )
    };
    let a = proj("pk")?;
    let b = proj("pk")?;
    ensure_eq!((a.status, b.status), (201, 201), "project create replay");
    ensure_eq!(a.json()?["id"], b.json()?["id"], "same project");
    Ok(())
}

fn task_lists_filter_by_every_parameter(c: &Client) -> Result<(), String> {
    let (o, p) = setup(c, "Filters")?;
    let m = c.register("FiltersMember")?;
    add_member(c, &o, &p, &m, "member")?;
    let mk = |body: Value| -> Result<String, String> { id_of(&create_task(c, &o.bearer(), &p, &body)?) };
    let a = mk(
        json!({"title": "Alpha report", "status": "todo", "priority": "low", "labels": ["ops"], "due_date": "2026-01-10"}),
    )?;
    let b = mk(
        json!({"title": "Beta", "description": "50% done_ish", "status": "in_progress", "priority": "high", "assignee_id": o.id, "labels": ["ops", "web"], "due_date": "2026-02-10"}),
    )?;
    let cc = mk(
        json!({"title": "Gamma", "status": "in_progress", "priority": "urgent", "assignee_id": m.id, "labels": ["web"]}),
    )?;
    let base = format!("/v1/projects/{p}/tasks");
    let get = |q: &str| -> Result<Vec<String>, String> { ids(&c.authed("GET", &format!("{base}?{q}"), &o.bearer())?) };
    let cases: Vec<(&str, Vec<&String>)> = vec![
        ("status=in_progress", vec![&cc, &b]),
        ("status=todo,in_progress", vec![&cc, &b, &a]),
        ("assignee=me", vec![&b]),
        ("assignee=none", vec![&a]),
        ("priority=urgent,low", vec![&cc, &a]),
        ("label=ops", vec![&b, &a]),
        ("label=web&status=in_progress&assignee=none", vec![]),
        ("due_before=2026-02-01", vec![&a]),
        ("due_after=2026-01-10", vec![&b]),
        ("q=ALPHA", vec![&a]),
        ("q=50%25", vec![&b]),
        ("q=e_i", vec![&b]),
        ("q=a_p", vec![]),
    ];
    for (q, want) in cases {
        let got = get(q)?;
        let want: Vec<String> = want.into_iter().cloned().collect();
        ensure_eq!(got, want, q);
    }
    let with_member = ids(&c.authed("GET", &format!("{base}?assignee={}", m.id), &o.bearer())?)?;
    ensure_eq!(with_member, vec![cc.clone()], "assignee=<id>");
    for bad in ["status=doing", "priority=asap", "due_before=2026-13-01", "sort=title", "sort=-rank", "colour=red"] {
        refused(c, "GET", &format!("{base}?{bad}"), &o.bearer(), 422, "validation")
            .map_err(|e| format!("{bad}: {e}"))?;
    }
    Ok(())
}

fn task_lists_sort_by_every_key_both_ways_across_pages(c: &Client) -> Result<(), String> {
    let (o, p) = setup(c, "Sorts")?;
    let specs = [
        ("low", Some("2026-03-01")),
        ("urgent", None),
        ("medium", Some("2026-01-01")),
        ("high", Some("2026-03-01")),
        ("medium", None),
        ("low", Some("2026-02-01")),
    ];
    let mut created = Vec::new();
    for (i, (prio, due)) in specs.iter().enumerate() {
        let res =
            create_task(c, &o.bearer(), &p, &json!({"title": format!("s{i}"), "priority": prio, "due_date": due}))?;
        created.push(res.json()?);
        std::thread::sleep(std::time::Duration::from_millis(3));
    }
    // Touch two tasks so updated_at order differs from created_at order.
    for i in [2usize, 0] {
        let id = created[i]["id"].as_str().unwrap_or_default();
        ensure_eq!(
            c.json("PATCH", &format!("/v1/tasks/{id}"), &json!({"description": "touched"}), Some(&o.bearer()))?.status,
            200,
            "touch"
        );
        std::thread::sleep(std::time::Duration::from_millis(3));
    }
    let all = ids(&c.authed("GET", &format!("/v1/projects/{p}/tasks?limit=100&sort=created_at"), &o.bearer())?)?;
    let rank = |s: &str| ["low", "medium", "high", "urgent"].iter().position(|x| *x == s).unwrap_or(0);
    for sort in
        ["created_at", "-created_at", "updated_at", "-updated_at", "due_date", "-due_date", "priority", "-priority"]
    {
        // The full order in one page, checked against the values.
        let full = c.authed("GET", &format!("/v1/projects/{p}/tasks?limit=100&sort={sort}"), &o.bearer())?.json()?;
        let rows = full["data"].as_array().cloned().unwrap_or_default();
        ensure_eq!(rows.len(), 6, format!("{sort}: count"));
        let desc = sort.starts_with('-');
        for w in rows.windows(2) {
            let (x, y) = (&w[0], &w[1]);
            let ord = match sort.trim_start_matches('-') {
                "priority" => {
                    rank(x["priority"].as_str().unwrap_or("")).cmp(&rank(y["priority"].as_str().unwrap_or("")))
                }
                "due_date" => {
                    // null first ascending (SQLite order), compared as Option
                    x["due_date"].as_str().cmp(&y["due_date"].as_str())
                }
                key => x[key].as_str().cmp(&y[key].as_str()),
            };
            let ord = if desc { ord.reverse() } else { ord };
            let tie = ord == std::cmp::Ordering::Equal;
            let id_ord = x["id"].as_str().cmp(&y["id"].as_str());
            let id_ok = if desc { id_ord.is_gt() } else { id_ord.is_lt() };
            ensure!(ord.is_lt() || (tie && id_ok), "{sort}: {} before {}", x, y);
        }
        // The same order assembled from pages of 2 through cursors and Link headers.
        let mut paged = Vec::new();
        let mut url = format!("/v1/projects/{p}/tasks?limit=2&sort={sort}");
        for _ in 0..10 {
            let res = c.authed("GET", &url, &o.bearer())?;
            paged.extend(ids(&res)?);
            match res.header("link") {
                Some(link) => {
                    url = link.trim_start_matches('<').split('>').next().unwrap_or_default().to_owned();
                }
                None => break,
            }
        }
        let one_page: Vec<String> = rows.iter().filter_map(|r| r["id"].as_str().map(str::to_owned)).collect();
        ensure_eq!(paged, one_page, format!("{sort}: pages"));
    }
    ensure_eq!(all.len(), 6, "all");
    Ok(())
}

fn task_list_cursors_are_checked(c: &Client) -> Result<(), String> {
    let (o, p) = setup(c, "Cursors")?;
    for i in 0..3 {
        create_task(c, &o.bearer(), &p, &json!({"title": format!("c{i}")}))?;
    }
    let base = format!("/v1/projects/{p}/tasks");
    let res = c.authed("GET", &format!("{base}?limit=1"), &o.bearer())?;
    let cursor = res.json()?["next_cursor"].as_str().ok_or("cursor")?.to_owned();
    ensure_eq!(c.authed("GET", &format!("{base}?limit=1&cursor={cursor}"), &o.bearer())?.status, 200, "valid");
    refused(c, "GET", &format!("{base}?cursor=garbage"), &o.bearer(), 400, "malformed")?;
    refused(c, "GET", &format!("{base}?cursor={cursor}x"), &o.bearer(), 400, "malformed")?;
    refused(c, "GET", &format!("{base}?sort=priority&cursor={cursor}"), &o.bearer(), 400, "malformed")?;
    let other = create_project(c, &o, "Other")?;
    refused(c, "GET", &format!("/v1/projects/{other}/tasks?cursor={cursor}"), &o.bearer(), 400, "malformed")?;
    // The document's shape of a cursor: base64url, a dot, a 22-character tag; at most 512.
    let (payload, tag) = cursor.split_once('.').ok_or("cursor without a dot")?;
    let b64 = |s: &str| s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    ensure!(
        cursor.len() <= 512 && !payload.is_empty() && b64(payload) && tag.len() == 22 && b64(tag),
        "cursor shape: {cursor}"
    );
    refused(c, "GET", &format!("{base}?cursor={}{cursor}", "A".repeat(512)), &o.bearer(), 400, "malformed")?;
    Ok(())
}

/// Every bound the document states for a list's parameters is one the server applies.
fn task_list_parameters_are_bounded_as_documented(c: &Client) -> Result<(), String> {
    let (o, p) = setup(c, "ListBounds")?;
    let base = format!("/v1/projects/{p}/tasks");
    let cases = [
        ("q=a%01b".to_owned(), "q"),
        (format!("q={}", "q".repeat(201)), "q"),
        ("label=".to_owned(), "label"),
        ("label=a%0Ab".to_owned(), "label"),
        (format!("label={}", "l".repeat(33)), "label"),
        ("assignee=".to_owned(), "assignee"),
        ("assignee=bob".to_owned(), "assignee"),
        (format!("status={}", ["todo"; 17].join(",")), "status"),
        (format!("priority={}", ["low"; 9].join(",")), "priority"),
        ("due_before=2026-1-01".to_owned(), "due_before"),
    ];
    for (query, field) in cases {
        let body = refused(c, "GET", &format!("{base}?{query}"), &o.bearer(), 422, "validation")?;
        ensure_eq!(body["errors"][0]["field"].as_str(), Some(field), query);
    }
    for query in [
        "q=",
        "label=%20",
        "assignee=0192F5E2-8C1A-7B3E-9A4F-0C2D9E8B7A61",
        "status=todo,in_progress,in_review,done,cancelled",
        "priority=low,medium,high,urgent",
    ] {
        ensure_eq!(c.authed("GET", &format!("{base}?{query}"), &o.bearer())?.status, 200, query);
    }
    refused(c, "GET", "/v1/projects?q=a%7Fb", &o.bearer(), 422, "validation")?;
    Ok(())
}

/// `If-Match` / `If-None-Match` values that are not entity tags are refused (400), never
/// taken as "no precondition".
fn malformed_preconditions_are_refused_not_ignored(c: &Client) -> Result<(), String> {
    let (o, path, etag) = task_with_etag(c, "Preconditions")?;
    let body = json!({"title": "changed"});
    for bad in ["t1", "\"t1\", *", "\"a b\"", "\"a\" \"b\"", "\"x\", "] {
        expect_problem(&patch_if_match(c, &o, &path, bad, &body)?, 400, "malformed")
            .map_err(|e| format!("If-Match {:?}: {e}", bad.get(..40)))?;
        let get = c.send("GET", &path, &[("Authorization", &o.bearer()), ("If-None-Match", bad)], None)?;
        expect_problem(&get, 400, "malformed").map_err(|e| format!("If-None-Match {:?}: {e}", bad.get(..40)))?;
    }
    // A long list of well-formed tags is a precondition like any other: stale, so 412.
    let many = format!("{}\"x\"", "\"x\", ".repeat(250));
    expect_problem(&patch_if_match(c, &o, &path, &many, &body)?, 412, "precondition-failed")?;
    let now = c.authed("GET", &path, &o.bearer())?;
    ensure_eq!(now.json()?["title"].as_str(), Some("v1"), "a refused PATCH changed nothing");
    let list = format!("W/\"nope\", {etag}");
    let res = c.send("GET", &path, &[("Authorization", &o.bearer()), ("If-None-Match", &list)], None)?;
    ensure_eq!(res.status, 304, "a list of entity tags");
    ensure_eq!(res.header("etag"), Some(etag.as_str()), "the 304 carries the ETag");
    ensure_eq!(patch_if_match(c, &o, &path, "*", &body)?.status, 200, "If-Match: *");
    Ok(())
}

fn my_tasks_spans_projects_and_respects_membership(c: &Client) -> Result<(), String> {
    let o = c.register("MeTasksOwner")?;
    let m = c.register("MeTasks")?;
    let p1 = create_project(c, &o, "One")?;
    let p2 = create_project(c, &o, "Two")?;
    add_member(c, &o, &p1, &m, "member")?;
    add_member(c, &o, &p2, &m, "member")?;
    let t1 = id_of(&create_task(c, &o.bearer(), &p1, &json!({"title": "a", "assignee_id": m.id}))?)?;
    let t2 = id_of(&create_task(
        c,
        &o.bearer(),
        &p2,
        &json!({"title": "b", "assignee_id": m.id, "status": "in_progress"}),
    )?)?;
    create_task(c, &o.bearer(), &p2, &json!({"title": "not mine"}))?;
    ensure_eq!(
        ids(&c.authed("GET", "/v1/me/tasks", &m.bearer())?)?,
        vec![t2.clone(), t1.clone()],
        "both, newest first"
    );
    ensure_eq!(ids(&c.authed("GET", "/v1/me/tasks?status=todo", &m.bearer())?)?, vec![t1.clone()], "filtered");
    ensure_eq!(
        ids(&c.authed("GET", "/v1/me/tasks?sort=created_at&limit=1", &m.bearer())?)?,
        vec![t1],
        "ascending, paged"
    );
    refused(c, "GET", "/v1/me/tasks?sort=priority", &m.bearer(), 422, "validation")?;
    ensure_eq!(
        c.authed("DELETE", &format!("/v1/projects/{p1}/members/{}", m.id), &m.bearer())?.status,
        204,
        "leave p1"
    );
    ensure_eq!(ids(&c.authed("GET", "/v1/me/tasks", &m.bearer())?)?, vec![t2], "left project's tasks gone");
    Ok(())
}

fn archived_projects_refuse_task_changes(c: &Client) -> Result<(), String> {
    let (o, p) = setup(c, "Archived")?;
    let t = id_of(&create_task(c, &o.bearer(), &p, &json!({"title": "frozen"}))?)?;
    ensure_eq!(
        c.json("PATCH", &format!("/v1/projects/{p}"), &json!({"archived": true}), Some(&o.bearer()))?.status,
        200,
        "archive"
    );
    expect_problem(&create_task(c, &o.bearer(), &p, &json!({"title": "new"}))?, 409, "conflict")?;
    expect_problem(&patch(c, &o, &t, json!({"title": "changed"}))?, 409, "conflict")?;
    refused(c, "DELETE", &format!("/v1/tasks/{t}"), &o.bearer(), 409, "conflict")?;
    ensure_eq!(c.authed("GET", &format!("/v1/tasks/{t}"), &o.bearer())?.status, 200, "still readable");
    ensure_eq!(
        c.json("PATCH", &format!("/v1/projects/{p}"), &json!({"archived": false}), Some(&o.bearer()))?.status,
        200,
        "unarchive"
    );
    ensure_eq!(patch(c, &o, &t, json!({"title": "changed"}))?.status, 200, "writable again");
    Ok(())
}
