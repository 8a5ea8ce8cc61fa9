//! The OpenAPI document cannot drift: every documented operation is routed, no route is
//! added outside the documented table, and the committed `openapi.json` is current
//! (regenerate it with `UPDATE_OPENAPI=1 cargo test -p taskapi-native --test it openapi`).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::body::Body;
use http::{Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::Value;
use taskapi_native::SqliteStore;
use tower::ServiceExt;

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn app() -> axum::Router {
    crate::common::app(Arc::new(SqliteStore::in_memory().unwrap()))
}

fn call(app: &axum::Router, method: &str, path: &str) -> (StatusCode, Vec<u8>) {
    let req = Request::builder().method(method).uri(path).body(Body::empty()).unwrap();
    let res = futures_executor::block_on(app.clone().oneshot(req)).unwrap();
    let status = res.status();
    (status, futures_executor::block_on(res.into_body().collect()).unwrap().to_bytes().to_vec())
}

fn document(app: &axum::Router) -> Value {
    let (status, body) = call(app, "GET", "/v1/openapi.json");
    assert_eq!(status, StatusCode::OK);
    serde_json::from_slice(&body).unwrap()
}

#[test]
fn every_documented_operation_is_routed() {
    let app = app();
    let doc = document(&app);
    let paths = doc["paths"].as_object().unwrap();
    let mut checked = 0;
    for (path, item) in paths {
        let concrete = path
            .replace("{id}", "00000000-0000-7000-8000-000000000000")
            .replace("{user_id}", "00000000-0000-7000-8000-000000000001")
            .replace("{provider}", "no-such-provider");
        assert!(!concrete.contains('{'), "unfilled parameter in {path}");
        for method in item.as_object().unwrap().keys() {
            let (status, body) = call(&app, &method.to_uppercase(), &concrete);
            let text = String::from_utf8_lossy(&body);
            assert_ne!(status, StatusCode::METHOD_NOT_ALLOWED, "{method} {path} is documented but not routed");
            assert!(
                !(status == StatusCode::NOT_FOUND && text.contains("no resource at this path")),
                "{method} {path} is documented but falls through to the 404 fallback"
            );
            checked += 1;
        }
    }
    assert!(checked >= 25, "only {checked} operations documented");
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let p = entry.unwrap().path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|e| e == "rs") {
            out.push(p);
        }
    }
}

#[test]
fn no_route_is_added_outside_the_documented_table() {
    // Routes reach the router only through `routes!(...)` in `router_and_doc`, which feeds
    // the document too; plain axum routing is allowed for the /docs page's assets only.
    let mut files = Vec::new();
    rust_files(&repo_root().join("src"), &mut files);
    let mut offending = Vec::new();
    for f in files {
        for (n, line) in std::fs::read_to_string(&f).unwrap().lines().enumerate() {
            let l = line.trim();
            let routes = [".route(", ".nest(", ".merge(", ".route_service(", ".nest_service("];
            if routes.iter().any(|r| l.contains(r)) && !l.starts_with(".route(\"/docs") && !l.starts_with("//") {
                offending.push(format!("{}:{}: {l}", f.display(), n + 1));
            }
        }
    }
    assert!(offending.is_empty(), "routes outside routes!(…): {offending:#?}");
}

#[test]
fn the_committed_snapshot_is_current() {
    let doc = document(&app());
    let rendered = serde_json::to_string_pretty(&doc).unwrap() + "\n";
    let snapshot = repo_root().join("openapi.json");
    if std::env::var_os("UPDATE_OPENAPI").is_some() {
        std::fs::write(&snapshot, &rendered).unwrap();
    }
    let committed = std::fs::read_to_string(&snapshot).unwrap_or_default();
    assert!(
        committed == rendered,
        "openapi.json is stale; regenerate it with `UPDATE_OPENAPI=1 cargo test -p taskapi-native --test it openapi`"
    );
}

#[test]
fn the_document_describes_problems_security_and_examples() {
    let doc = document(&app());
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    let problem_type = &doc["components"]["schemas"]["ProblemType"];
    assert!(problem_type.get("enum").is_none(), "a problem type is any URI, not a closed enum");
    assert_eq!(problem_type["format"], "uri");
    assert_eq!(problem_type["examples"].as_array().unwrap().len(), 15, "one type per problem class");
    let schemes = doc["components"]["securitySchemes"].as_object().unwrap();
    assert!(schemes.contains_key("accessToken") && schemes.contains_key("apiKey"));
    let create = &doc["paths"]["/v1/projects/{id}/tasks"]["post"];
    for code in ["201", "401", "403", "404", "409", "413", "415", "422", "429", "500", "503"] {
        assert!(create["responses"].get(code).is_some(), "createTask lacks {code}");
    }
    assert!(doc.to_string().contains("\"example\""), "no examples");
}

#[test]
fn lists_refer_to_their_items_and_public_routes_say_so() {
    let doc = document(&app());
    let schemas = doc["components"]["schemas"].as_object().unwrap();
    let pages: Vec<_> = schemas.keys().filter(|k| k.starts_with("Page_")).collect();
    assert_eq!(pages.len(), 5, "{pages:?}");
    for name in pages {
        let page = &schemas[name];
        let item = name.trim_start_matches("Page_");
        assert_eq!(page["properties"]["data"]["items"]["$ref"], format!("#/components/schemas/{item}"), "{name}");
        assert!(schemas.contains_key(item), "{item} is a component");
        assert_eq!(page["required"], serde_json::json!(["data", "next_cursor"]), "{name}");
    }
    for (path, method) in [
        ("/v1/health", "get"),
        ("/v1/openapi.json", "get"),
        ("/docs", "get"),
        ("/v1/auth/register", "post"),
        ("/v1/auth/login", "post"),
        ("/v1/auth/refresh", "post"),
    ] {
        let op = &doc["paths"][path][method];
        assert_eq!(op["security"], serde_json::json!([]), "{method} {path} is public");
        let limited = path.starts_with("/v1/auth/");
        assert_eq!(op["responses"].get("429").is_some(), limited, "{method} {path}: 429 only where limited");
    }
}
