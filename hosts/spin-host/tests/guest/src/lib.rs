//! Test component for `spin-test-host`.
//!
//! Every route answers JSON; the integration test in `../roundtrip.rs`
//! asserts on the bodies.

use http_body_util::BodyExt;
use serde_json::{json, Value as Json};
use spin_sdk::http::{IntoResponse, Request, StatusCode};
use spin_sdk::http_service;
use spin_sdk::key_value::Store;
use spin_sdk::sqlite::{Connection, Error as SqlError, Value};

type Resp = (StatusCode, spin_sdk::http::Json<Json>);

fn ok(v: Json) -> Resp {
    (StatusCode::OK, spin_sdk::http::Json(v))
}

fn err(status: StatusCode, v: Json) -> Resp {
    (status, spin_sdk::http::Json(v))
}

fn sql_err(e: SqlError) -> anyhow::Error {
    anyhow::anyhow!("sqlite: {e:?}")
}

/// The WIT name of a `spin:sqlite` error.
fn sql_error_json(e: &SqlError) -> Json {
    match e {
        SqlError::NoSuchDatabase => json!("no-such-database"),
        SqlError::AccessDenied => json!("access-denied"),
        SqlError::InvalidConnection => json!("invalid-connection"),
        SqlError::DatabaseFull => json!("database-full"),
        SqlError::Io(m) => json!({"io": m}),
    }
}

fn value_json(v: &Value) -> Json {
    match v {
        Value::Integer(i) => json!({"integer": i}),
        Value::Real(f) => json!({"real": f}),
        Value::Text(s) => json!({"text": s}),
        Value::Blob(b) => json!({"blob": b}),
        Value::Null => json!("null"),
    }
}

/// Reads a whole HTTP body.
async fn read_all<B: BodyExt>(body: B) -> anyhow::Result<bytes::Bytes>
where
    B::Error: std::fmt::Debug,
{
    Ok(body.collect().await.map_err(|e| anyhow::anyhow!("{e:?}"))?.to_bytes())
}

/// Runs a statement and collects all its rows (checking the completion future).
async fn exec(db: &Connection, sql: &str, params: Vec<Value>) -> Result<(Vec<String>, Vec<Vec<Value>>), SqlError> {
    let qr = db.execute(sql, params).await?;
    let cols = qr.columns().to_vec();
    let rows = qr.collect().await?;
    Ok((cols, rows.into_iter().map(|r| r.values).collect()))
}

/// [`exec`] with the error as an `anyhow` error.
async fn run(db: &Connection, sql: &str, params: Vec<Value>) -> anyhow::Result<(Vec<String>, Vec<Vec<Value>>)> {
    exec(db, sql, params).await.map_err(sql_err)
}

async fn sqlite_roundtrip() -> anyhow::Result<Json> {
    let db = Connection::open_default().await.map_err(sql_err)?;
    run(
        &db,
        "CREATE TABLE IF NOT EXISTS vals (id INTEGER PRIMARY KEY, i INTEGER, r REAL, s TEXT, b BLOB, n TEXT)",
        vec![],
    )
    .await?;
    run(&db, "DELETE FROM vals", vec![]).await?;

    run(&db, "BEGIN", vec![]).await?;
    run(
        &db,
        "INSERT INTO vals (i, r, s, b, n) VALUES (?, ?, ?, ?, ?)",
        vec![
            Value::Integer(i64::MAX),
            Value::Real(3.25),
            Value::Text("héllo ✓".into()),
            Value::Blob(vec![0, 1, 2, 255]),
            Value::Null,
        ],
    )
    .await?;
    let changes = db.changes().await;
    let rowid1 = db.last_insert_rowid().await;
    run(
        &db,
        "INSERT INTO vals (i, r, s, b, n) VALUES (?, ?, ?, ?, ?)",
        vec![
            Value::Integer(-7),
            Value::Real(-0.5),
            Value::Text(String::new()),
            Value::Blob(vec![]),
            Value::Text("x".into()),
        ],
    )
    .await?;
    let rowid2 = db.last_insert_rowid().await;
    run(&db, "COMMIT", vec![]).await?;

    let (cols, rows) = run(&db, "SELECT id, i, r, s, b, n FROM vals ORDER BY id", vec![]).await?;

    // ROLLBACK must leave nothing behind.
    run(&db, "BEGIN", vec![]).await?;
    run(&db, "INSERT INTO vals (i) VALUES (42)", vec![]).await?;
    let (_, inside) = run(&db, "SELECT COUNT(*) FROM vals", vec![]).await?;
    run(&db, "ROLLBACK", vec![]).await?;
    let (_, after) = run(&db, "SELECT COUNT(*) FROM vals", vec![]).await?;

    // Parameters come back with the same type.
    let (_, echo) = run(
        &db,
        "SELECT ?, ?, ?, ?, ?",
        vec![Value::Integer(1), Value::Real(1.5), Value::Text("t".into()), Value::Blob(vec![9]), Value::Null],
    )
    .await?;

    Ok(json!({
        "columns": cols,
        "rows": rows.iter().map(|r| r.iter().map(value_json).collect::<Vec<_>>()).collect::<Vec<_>>(),
        "changes": changes,
        "rowids": [rowid1, rowid2],
        "count_inside_tx": value_json(&inside[0][0]),
        "count_after_rollback": value_json(&after[0][0]),
        "echo": echo[0].iter().map(value_json).collect::<Vec<_>>(),
    }))
}

async fn sqlite_errors() -> anyhow::Result<Json> {
    let db = Connection::open_default().await.map_err(sql_err)?;
    run(&db, "CREATE TABLE IF NOT EXISTS users (id INTEGER PRIMARY KEY, email TEXT UNIQUE NOT NULL)", vec![]).await?;
    run(&db, "DELETE FROM users", vec![]).await?;
    run(&db, "INSERT INTO users (email) VALUES (?)", vec![Value::Text("a@example.com".into())]).await?;
    let dup = exec(&db, "INSERT INTO users (email) VALUES (?)", vec![Value::Text("a@example.com".into())]).await;
    let syntax = exec(&db, "SELEKT nonsense", vec![]).await;
    let other = Connection::open("no-such-label").await.err();
    let describe = |r: Result<_, SqlError>| match r {
        Ok(_) => json!("ok"),
        Err(e) => sql_error_json(&e),
    };
    Ok(json!({
        "duplicate": describe(dup),
        "syntax": describe(syntax),
        "other_label": other.as_ref().map(sql_error_json),
    }))
}

async fn hit(id: &str) -> anyhow::Result<Json> {
    let db = Connection::open_default().await.map_err(sql_err)?;
    run(&db, "CREATE TABLE IF NOT EXISTS hits (id INTEGER PRIMARY KEY AUTOINCREMENT, tag TEXT NOT NULL)", vec![])
        .await?;
    run(&db, "BEGIN IMMEDIATE", vec![]).await?;
    run(&db, "INSERT INTO hits (tag) VALUES (?)", vec![Value::Text(id.to_string())]).await?;
    let rowid = db.last_insert_rowid().await;
    run(&db, "COMMIT", vec![]).await?;
    let (_, rows) = run(&db, "SELECT tag FROM hits WHERE id = ?", vec![Value::Integer(rowid)]).await?;
    let store = Store::open_default().await.map_err(|e| anyhow::anyhow!("{e:?}"))?;
    store
        .set(format!("hit-{id}"), id.as_bytes())
        .await
        .map_err(|e| anyhow::anyhow!("{e:?}"))?;
    let back = store
        .get(format!("hit-{id}"))
        .await
        .map_err(|e| anyhow::anyhow!("{e:?}"))?;
    Ok(json!({
        "tag": value_json(&rows[0][0]),
        "kv": back.map(|b| String::from_utf8_lossy(&b).into_owned()),
    }))
}

/// Reads the table created by the host's `--sqlite-init` file.
async fn seeded() -> anyhow::Result<Json> {
    let db = Connection::open_default().await.map_err(sql_err)?;
    let (_, rows) = run(&db, "SELECT name FROM seeded ORDER BY id", vec![]).await?;
    Ok(json!(rows.iter().map(|r| value_json(&r[0])).collect::<Vec<_>>()))
}

async fn kv() -> anyhow::Result<Json> {
    let e = |e: spin_sdk::key_value::Error| anyhow::anyhow!("{e:?}");
    let store = Store::open_default().await.map_err(e)?;
    store.set("greeting", b"hello kv").await.map_err(e)?;
    store.set("bin", [0u8, 159, 146, 150]).await.map_err(e)?;
    store.set("greeting", b"hello kv 2").await.map_err(e)?;
    let got = store.get("greeting").await.map_err(e)?;
    let bin = store.get("bin").await.map_err(e)?;
    let exists = store.exists("greeting").await.map_err(e)?;
    let mut keys = store.get_keys().await.collect().await.map_err(e)?;
    keys.retain(|k| k == "greeting" || k == "bin" || k == "gone");
    keys.sort();
    store.set("gone", b"x").await.map_err(e)?;
    store.delete("gone").await.map_err(e)?;
    store.delete("never-existed").await.map_err(e)?;
    let gone = store.get("gone").await.map_err(e)?;
    let gone_exists = store.exists("gone").await.map_err(e)?;
    let other = Store::open("not-a-store").await.err().map(|e| match e {
        spin_sdk::key_value::Error::NoSuchStore => "no-such-store".to_string(),
        e => format!("{e:?}"),
    });
    Ok(json!({
        "greeting": got.map(|b| String::from_utf8_lossy(&b).into_owned()),
        "bin": bin,
        "exists": exists,
        "keys": keys,
        "gone": gone,
        "gone_exists": gone_exists,
        "other_store": other,
    }))
}

/// The WIT name of the `wasi:http` error codes the tests expect.
fn error_code_name(code: &spin_sdk::wasip3::http::types::ErrorCode) -> String {
    use spin_sdk::wasip3::http::types::ErrorCode as E;
    match code {
        E::HttpRequestDenied => "HTTP-request-denied".into(),
        E::TlsProtocolError => "TLS-protocol-error".into(),
        E::ConnectionRefused => "connection-refused".into(),
        E::ConnectionTimeout => "connection-timeout".into(),
        E::ConnectionReadTimeout => "connection-read-timeout".into(),
        other => format!("{other:?}"),
    }
}

/// Sends the request described by `spec` (`url`, `method`, `body`, optional
/// `first_byte_timeout_ms`) with `spin_sdk::http::send` and reports what
/// came back: status, the `x-reply` header and the body, or the error code.
async fn outbound(spec: &[u8]) -> anyhow::Result<Json> {
    let spec: Json = serde_json::from_slice(spec)?;
    let url = spec["url"].as_str().unwrap_or_default();
    let method = spec["method"].as_str().unwrap_or("GET");
    let body = spec["body"].as_str().unwrap_or_default().to_string();
    let mut builder = Request::<()>::builder()
        .method(method)
        .uri(url)
        .header("x-test", "from the guest");
    if let Some(ms) = spec["first_byte_timeout_ms"].as_u64() {
        let options = spin_sdk::wasip3::http::types::RequestOptions::new();
        options
            .set_first_byte_timeout(Some(ms * 1_000_000))
            .map_err(|e| anyhow::anyhow!("{e:?}"))?;
        builder = builder.extension(spin_sdk::wasip3::http_compat::RequestOptionsExtension(options));
    }
    let request = builder.body(http_body_util::Full::new(bytes::Bytes::from(body)))?;
    Ok(match spin_sdk::http::send(request).await {
        Ok(response) => {
            let status = response.status().as_u16();
            let reply = response
                .headers()
                .get("x-reply")
                .and_then(|v| v.to_str().ok())
                .map(str::to_string);
            let body = read_all(response.into_body()).await?;
            json!({"status": status, "x_reply": reply, "body": String::from_utf8_lossy(&body)})
        }
        Err(code) => json!({"error": error_code_name(&code)}),
    })
}

#[http_service]
async fn handle(req: Request) -> impl IntoResponse {
    let path = req.uri().path().to_string();
    let query = req.uri().query().unwrap_or("").to_string();
    let header = |name: &str| {
        req.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let client_addr = header("spin-client-addr");
    let full_url = header("spin-full-url");
    let path_info = header("spin-path-info");
    let method = req.method().to_string();

    let result: anyhow::Result<Resp> = async {
        Ok(match path.as_str() {
            "/sqlite" => ok(sqlite_roundtrip().await?),
            "/sqlite-errors" => ok(sqlite_errors().await?),
            "/kv" => ok(kv().await?),
            "/seeded" => ok(seeded().await?),
            "/hit" => ok(hit(&query).await?),
            "/var" => match spin_sdk::variables::get(&query).await {
                Ok(v) => ok(json!({"value": v})),
                Err(spin_sdk::variables::Error::Undefined(m)) => err(StatusCode::NOT_FOUND, json!({"undefined": m})),
                Err(e) => err(StatusCode::INTERNAL_SERVER_ERROR, json!({"error": format!("{e:?}")})),
            },
            "/echo" => {
                let body = read_all(req.into_body()).await?;
                ok(json!({
                    "method": method,
                    "client_addr": client_addr,
                    "full_url": full_url,
                    "path_info": path_info,
                    "query": query,
                    "body": String::from_utf8_lossy(&body),
                }))
            }
            "/outbound" => {
                let spec = read_all(req.into_body()).await?;
                ok(outbound(&spec).await?)
            }
            "/trap" => panic!("deliberate trap"),
            "/fail" => anyhow::bail!("deliberate handler error"),
            _ => err(StatusCode::NOT_FOUND, json!({"error": "no route", "path": path})),
        })
    }
    .await;
    println!("{}", json!({"path": path, "ok": result.is_ok()}));
    result
}
