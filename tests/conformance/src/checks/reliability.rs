//! Hostile input and concurrency: every malformed or oversized input is a 4xx problem
//! (never a 5xx), stored text round-trips byte for byte, and under 20 concurrent clients
//! no update is lost, no creation is duplicated and every accepted change has its event.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use super::projects::{create_project, create_task};
use super::refused;
use crate::{ensure, ensure_eq, Client, Entry, Resp};

pub fn checks() -> Vec<Entry> {
    crate::checks![Any => [
        hostile_bodies_get_4xx_problems_never_5xx,
        hostile_urls_and_headers_get_4xx_problems_never_5xx,
        stored_text_round_trips_byte_for_byte,
        concurrent_clients_lose_no_update_and_duplicate_no_creation,
    ]]
}

fn four_xx(res: &Resp, what: &str) -> Result<(), String> {
    ensure!((400..500).contains(&res.status), "{what}: expected a 4xx, got {}: {}", res.status, res.text());
    ensure!(
        res.header("content-type").is_some_and(|c| c.starts_with("application/problem+json")),
        "{what}: not a problem document: {:?}",
        res.header("content-type")
    );
    Ok(())
}

fn hostile_bodies_get_4xx_problems_never_5xx(c: &Client) -> Result<(), String> {
    let o = c.register("Hostile")?;
    let p = create_project(c, &o, "Hostile")?;
    let path = format!("/v1/projects/{p}/tasks");
    let auth = o.bearer();
    let send = |body: &[u8]| {
        c.send("POST", &path, &[("Authorization", &auth), ("Content-Type", "application/json")], Some(body))
    };
    let deep = format!("{{\"title\":{}1{}}}", "[".repeat(10_000), "]".repeat(10_000));
    let many: Vec<String> = (0..10_000).map(|i| format!("l{i}")).collect();
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("deep nesting", deep.into_bytes()),
        ("huge number", br#"{"title":"x","priority":123456789012345678901234567890123456789}"#.to_vec()),
        ("float overflow", br#"{"title":"x","due_date":1e400}"#.to_vec()),
        ("invalid UTF-8", b"{\"title\":\"\xff\xfe\"}".to_vec()),
        ("raw NUL in a string", b"{\"title\":\"a\x00b\"}".to_vec()),
        ("escaped NUL", br#"{"title":"a\u0000b"}"#.to_vec()),
        ("lone surrogate", br#"{"title":"\ud800"}"#.to_vec()),
        ("10,000 labels", json!({"title": "x", "labels": many}).to_string().into_bytes()),
        ("duplicate keys", br#"{"title":"a","title":"b"}"#.to_vec()),
        ("not an object", b"\"just a string\"".to_vec()),
        ("empty body", Vec::new()),
        ("trailing garbage", br#"{"title":"x"} {"title":"y"}"#.to_vec()),
    ];
    for (what, body) in &cases {
        four_xx(&send(body)?, what)?;
    }
    ensure_eq!(c.authed("GET", &path, &auth)?.json()?["data"], json!([]), "nothing was stored");
    Ok(())
}

fn hostile_urls_and_headers_get_4xx_problems_never_5xx(c: &Client) -> Result<(), String> {
    let o = c.register("HostileUrl")?;
    let p = create_project(c, &o, "HostileUrl")?;
    let auth = o.bearer();
    let long_q = "q".repeat(8000);
    let paths = [
        "/v1/tasks/..%2F..%2F..%2Fetc%2Fpasswd".to_owned(),
        "/v1/tasks/%00".to_owned(),
        "/v1/projects/'%20OR%20'1'%3D'1/tasks".to_owned(),
        format!("/v1/projects/{p}/tasks?q={long_q}"),
        format!("/v1/projects/{p}/tasks?limit=99999999999999999999999"),
        format!("/v1/projects/{p}/tasks?due_before=2026-02-30"),
        format!("/v1/projects/{p}/tasks?cursor={}", "A".repeat(4000)),
    ];
    for path in &paths {
        four_xx(&c.authed("GET", path, &auth)?, path)?;
    }
    let long_token = format!("Bearer {}", "x".repeat(6000));
    refused(c, "GET", "/v1/me", &long_token, 401, "unauthenticated")?;
    let res = c.send("GET", "/v1/health", &[("X-Request-Id", &"r".repeat(6000))], None)?;
    ensure!(res.status == 200 && res.header("x-request-id").is_some_and(|id| id.len() <= 128), "long request id");
    // SQL metacharacters and LIKE wildcards in q are plain text.
    for q in ["%27%20OR%201%3D1%20--", "%25", "_", "%5C", "%22%3B%20DROP%20TABLE%20tasks%3B%20--"] {
        let res = c.authed("GET", &format!("/v1/projects/{p}/tasks?q={q}"), &auth)?;
        ensure_eq!(res.status, 200, format!("q={q}"));
        ensure_eq!(res.json()?["data"], json!([]), format!("q={q} matched something"));
    }
    Ok(())
}

fn stored_text_round_trips_byte_for_byte(c: &Client) -> Result<(), String> {
    let o = c.register("RoundTrip")?;
    let p = create_project(c, &o, "RoundTrip")?;
    let title = "'; DROP TABLE tasks; -- \u{1F600} «ĉu» \\ \" % _ \u{2028}";
    let description = "line 1\nline 2\ttabbed\r\n\u{10FFFF} zero\u{200B}width — ✓";
    let labels = json!(["ünïcødé", "%_", "a'b", "日本語"]);
    let created =
        create_task(c, &o.bearer(), &p, &json!({"title": title, "description": description, "labels": labels}))?;
    ensure_eq!(created.status, 201, "create");
    let id = created.json()?["id"].as_str().unwrap_or_default().to_owned();
    let got = c.authed("GET", &format!("/v1/tasks/{id}"), &o.bearer())?.json()?;
    ensure_eq!(got["title"].as_str(), Some(title), "title");
    ensure_eq!(got["description"].as_str(), Some(description), "description");
    ensure_eq!(got["labels"], labels, "labels");
    let found = c.authed("GET", &format!("/v1/projects/{p}/tasks?label=%25_"), &o.bearer())?.json()?;
    ensure_eq!(found["data"][0]["id"].as_str(), Some(id.as_str()), "label with wildcard characters");
    let found = c.authed("GET", &format!("/v1/projects/{p}/tasks?q=DROP%20TABLE"), &o.bearer())?.json()?;
    ensure_eq!(found["data"][0]["id"].as_str(), Some(id.as_str()), "search finds the literal text");
    Ok(())
}

const CLIENTS: usize = 20;
const TASKS: usize = 5;
const RUN_FOR: Duration = Duration::from_secs(4);

#[derive(Default)]
struct Tally {
    /// Idempotency key → every task id a POST with it answered.
    creations: HashMap<String, Vec<String>>,
    /// Task id → descriptions accepted by PATCH (200), with the version each produced.
    accepted: HashMap<String, Vec<(u64, String)>>,
    errors: Vec<String>,
}

fn version_of(etag: Option<&str>) -> u64 {
    etag.and_then(|e| e.trim_matches('"').trim_start_matches('t').parse().ok()).unwrap_or(0)
}

fn concurrent_clients_lose_no_update_and_duplicate_no_creation(c: &Client) -> Result<(), String> {
    let o = c.register("Concurrency")?;
    let p = create_project(c, &o, "Concurrency")?;
    let mut tasks = Vec::new();
    for i in 0..TASKS {
        let res = create_task(c, &o.bearer(), &p, &json!({"title": format!("shared {i}")}))?;
        tasks.push(res.json()?["id"].as_str().unwrap_or_default().to_owned());
    }
    let tally = Mutex::new(Tally::default());
    let base = c.url("");
    let deadline = Instant::now() + RUN_FOR;
    std::thread::scope(|s| {
        for worker in 0..CLIENTS {
            let (tally, tasks, base, auth, p) = (&tally, &tasks, base.clone(), o.bearer(), p.clone());
            s.spawn(move || {
                let client = Client::new(&base);
                let mut n = 0usize;
                while Instant::now() < deadline && n < 200 {
                    n += 1;
                    if n.is_multiple_of(3) {
                        // A creation, retried with the same key and body.
                        let key = format!("w{worker}-n{n}");
                        let body = json!({"title": format!("created {key}")}).to_string();
                        for _ in 0..2 {
                            let res = client.send(
                                "POST",
                                &format!("/v1/projects/{p}/tasks"),
                                &[
                                    ("Authorization", &auth),
                                    ("Content-Type", "application/json"),
                                    ("Idempotency-Key", &key),
                                ],
                                Some(body.as_bytes()),
                            );
                            if let Ok(mut t) = tally.lock() {
                                match res {
                                    Ok(r) if r.status == 201 => {
                                        let id = r.json().ok().and_then(|v| v["id"].as_str().map(str::to_owned));
                                        t.creations.entry(key.clone()).or_default().extend(id);
                                    }
                                    // A retry racing the first attempt is told to wait.
                                    Ok(r) if r.status == 409 => {}
                                    Ok(r) => t.errors.push(format!("create: {} {}", r.status, r.text())),
                                    Err(e) => t.errors.push(e),
                                }
                            }
                        }
                    } else {
                        // Read-modify-write of a shared task with If-Match.
                        let task = &tasks[(worker + n) % TASKS];
                        let Ok(cur) = client.authed("GET", &format!("/v1/tasks/{task}"), &auth) else {
                            continue;
                        };
                        let etag = cur.header("etag").unwrap_or_default().to_owned();
                        let desc = format!("w{worker}-n{n}");
                        let body = json!({"description": desc}).to_string();
                        let res = client.send(
                            "PATCH",
                            &format!("/v1/tasks/{task}"),
                            &[("Authorization", &auth), ("Content-Type", "application/json"), ("If-Match", &etag)],
                            Some(body.as_bytes()),
                        );
                        if let Ok(mut t) = tally.lock() {
                            match res {
                                Ok(r) if r.status == 200 => {
                                    let v = version_of(r.header("etag"));
                                    t.accepted.entry(task.clone()).or_default().push((v, desc));
                                }
                                Ok(r) if r.status == 412 => {}
                                Ok(r) => t.errors.push(format!("patch: {} {}", r.status, r.text())),
                                Err(e) => t.errors.push(e),
                            }
                        }
                    }
                }
            });
        }
    });
    let tally = tally.into_inner().map_err(|_| "poisoned")?;
    ensure!(tally.errors.is_empty(), "unexpected answers: {:?}", &tally.errors[..tally.errors.len().min(5)]);
    // No duplicate creation: each key answered with one id, and exactly those tasks exist.
    let mut created: Vec<String> = Vec::new();
    for (key, ids) in &tally.creations {
        let first = ids.first().ok_or(format!("{key}: no id"))?;
        ensure!(ids.iter().all(|i| i == first), "{key} created several tasks: {ids:?}");
        created.push(first.clone());
    }
    let mut listed = Vec::new();
    let mut url = format!("/v1/projects/{p}/tasks?limit=100");
    loop {
        let res = c.authed("GET", &url, &o.bearer())?;
        let body = res.json()?;
        listed
            .extend(body["data"].as_array().into_iter().flatten().filter_map(|t| t["id"].as_str().map(str::to_owned)));
        match body["next_cursor"].as_str() {
            Some(cur) => url = format!("/v1/projects/{p}/tasks?limit=100&cursor={cur}"),
            None => break,
        }
    }
    ensure_eq!(listed.len(), TASKS + created.len(), "tasks in the project vs shared + distinct keys");
    // No lost update: each accepted PATCH has its event, in version order, and the final
    // version counts them all.
    let mut events: Vec<Value> = Vec::new();
    let mut url = format!("/v1/projects/{p}/events?limit=100");
    loop {
        let body = c.authed("GET", &url, &o.bearer())?.json()?;
        events.extend(body["data"].as_array().cloned().unwrap_or_default());
        match body["next_cursor"].as_str() {
            Some(cur) => url = format!("/v1/projects/{p}/events?limit=100&cursor={cur}"),
            None => break,
        }
    }
    events.reverse();
    let created_events = events.iter().filter(|e| e["type"] == "task.created").count();
    ensure_eq!(created_events, TASKS + created.len(), "one task.created event per task");
    let mut total_accepted = 0;
    for task in &tasks {
        let mut accepted = tally.accepted.get(task).cloned().unwrap_or_default();
        accepted.sort();
        total_accepted += accepted.len();
        let logged: Vec<String> = events
            .iter()
            .filter(|e| e["type"] == "task.updated" && e["subject_id"].as_str() == Some(task.as_str()))
            .filter_map(|e| e["data"]["description"]["to"].as_str().map(str::to_owned))
            .collect();
        let expected: Vec<String> = accepted.iter().map(|(_, d)| d.clone()).collect();
        ensure_eq!(logged, expected, format!("{task}: events vs accepted PATCHes in version order"));
        let versions: Vec<u64> = accepted.iter().map(|(v, _)| *v).collect();
        let contiguous: Vec<u64> = (2..2 + versions.len() as u64).collect();
        ensure_eq!(versions, contiguous, format!("{task}: versions of accepted PATCHes"));
        let last = c.authed("GET", &format!("/v1/tasks/{task}"), &o.bearer())?;
        ensure_eq!(version_of(last.header("etag")), 1 + accepted.len() as u64, format!("{task}: final version"));
    }
    ensure!(
        total_accepted > 0 && !created.is_empty(),
        "the run did too little: {total_accepted} patches, {} creations",
        created.len()
    );
    Ok(())
}
