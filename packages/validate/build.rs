//! Writes the TypeScript interfaces of the request bodies from the committed OpenAPI
//! document (itself generated from the server's request types and checked against them by
//! `adapters/native/tests/openapi.rs`), so the package's types are the server's.

use std::fmt::Write as _;
use std::path::PathBuf;

use serde_json::Value;

/// The request bodies the package validates, by their schema names.
const REQUESTS: &[&str] = &[
    "RegisterRequest",
    "LoginRequest",
    "RefreshRequest",
    "UpdateMeRequest",
    "ChangePasswordRequest",
    "CreateApiKeyRequest",
    "CreateProjectRequest",
    "UpdateProjectRequest",
    "AddMemberRequest",
    "UpdateMemberRequest",
    "CreateTaskRequest",
    "UpdateTaskRequest",
];

fn ts_type(doc: &Value, schema: &Value) -> String {
    // A named schema (`Status`, `Role`, …) by reference, and a choice such as
    // `oneOf: [$ref, {type: null}]`.
    if let Some(target) = schema.get("$ref").and_then(Value::as_str) {
        let named = target.strip_prefix('#').and_then(|pointer| doc.pointer(pointer));
        return named.map_or_else(|| "unknown".to_owned(), |s| ts_type(doc, s));
    }
    if let Some(choices) = schema.get("oneOf").or_else(|| schema.get("anyOf")).and_then(Value::as_array) {
        return choices.iter().map(|c| ts_type(doc, c)).collect::<Vec<_>>().join(" | ");
    }
    let types: Vec<&str> = match schema.get("type") {
        Some(Value::String(t)) => vec![t.as_str()],
        Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).collect(),
        _ => vec![],
    };
    let mut parts: Vec<String> = Vec::new();
    if let Some(values) = schema.get("enum").and_then(Value::as_array) {
        for v in values {
            parts.push(if v.is_null() { "null".to_owned() } else { v.to_string() });
        }
        return parts.join(" | ");
    }
    for t in types {
        parts.push(match t {
            "string" => "string".to_owned(),
            "integer" | "number" => "number".to_owned(),
            "boolean" => "boolean".to_owned(),
            "null" => "null".to_owned(),
            "array" => {
                let item = schema.get("items").map_or_else(|| "unknown".to_owned(), |i| ts_type(doc, i));
                if item.contains(' ') {
                    format!("Array<{item}>")
                } else {
                    format!("{item}[]")
                }
            }
            _ => "unknown".to_owned(),
        });
    }
    if parts.is_empty() {
        "unknown".to_owned()
    } else {
        parts.join(" | ")
    }
}

fn main() {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap_or_default());
    let doc_path = manifest.join("../../openapi.json");
    println!("cargo:rerun-if-changed={}", doc_path.display());
    let Some(doc) = std::fs::read_to_string(&doc_path).ok().and_then(|s| serde_json::from_str::<Value>(&s).ok()) else {
        println!("cargo:warning=cannot read {}", doc_path.display());
        std::process::exit(1);
    };
    let mut out = String::from("// Request bodies of the Task API (generated from openapi.json).\n");
    for name in REQUESTS {
        let Some(schema) = doc.pointer(&format!("/components/schemas/{name}")) else {
            println!("cargo:warning=openapi.json has no schema {name}");
            std::process::exit(1);
        };
        let required: Vec<&str> = schema
            .get("required")
            .and_then(Value::as_array)
            .map(|r| r.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let _ = writeln!(out, "export interface {name} {{");
        if let Some(props) = schema.get("properties").and_then(Value::as_object) {
            for (field, prop) in props {
                if let Some(d) = prop.get("description").and_then(Value::as_str) {
                    let _ = writeln!(out, "  /** {} */", d.replace("*/", "* /"));
                }
                let optional = if required.contains(&field.as_str()) { "" } else { "?" };
                let _ = writeln!(out, "  {field}{optional}: {};", ts_type(&doc, prop));
            }
        }
        out.push_str("}\n");
    }
    let out_dir = PathBuf::from(std::env::var("OUT_DIR").unwrap_or_default());
    if let Err(e) = std::fs::write(out_dir.join("requests.d.ts"), out) {
        println!("cargo:warning=cannot write requests.d.ts: {e}");
        std::process::exit(1);
    }
}
