//! The OpenAPI 3.1 document, generated from the handlers' and types' annotations.

use axum::response::IntoResponse;
use http::{header, HeaderValue};
use utoipa::OpenApi;

use super::state::Ctx;
use crate::domain::project::{ProjectDescription, ProjectName};
use crate::domain::task::{Label, Labels, TaskDescription, TaskTitle};
use crate::domain::user::{ApiKeyName, DisplayName, Email, Password};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Task API",
        description = "Task-management REST API served from WebAssembly on Cloudflare Workers and Spin. \
Errors are RFC 9457 problem documents (`application/problem+json`) whose `type` is \
`https://taskapi.dev/problems/{slug}` with one slug per class: validation (422), malformed (400), \
unauthenticated (401), forbidden (403), not-found (404), method-not-allowed (405), conflict (409), \
invalid-status-transition (409), precondition-failed (412), payload-too-large (413), \
unsupported-media-type (415), rate-limited (429), internal (500), unavailable (503). \
Every response carries `X-Request-Id` (the caller's if it is 1-128 chars of `[A-Za-z0-9._-]`, \
else a fresh one) and `X-Content-Type-Options: nosniff`. On hosts whose database has read \
replicas (Cloudflare D1), every response that reached the database also carries `X-D1-Bookmark`; \
send the latest one back on the next request to read at least what you wrote (read-your-writes). \
Without it, reads may come from a replica that lags by a few seconds; writes always go to the \
primary. Hosts with one database (Spin SQLite) never answer the header and accept it. Unknown paths and unknown API versions \
(anything outside `/v1`) are 404 problems.",
        license(name = "MIT OR Apache-2.0")
    ),
    servers((url = "/", description = "This host")),
    components(schemas(super::Problem, crate::error::FieldError)),
    modifiers(&SecuritySchemes),
    tags(
        (name = "operations", description = "Health and API description"),
        (name = "auth", description = "Accounts, sessions (JWT access tokens, rotating refresh tokens) and API keys"),
        (name = "projects", description = "Projects, members and roles (the tenant boundary), and the event log"),
        (name = "tasks", description = "Tasks with the status machine, filters, sorts and keyset pagination")
    )
)]
pub struct ApiDoc;

/// The two ways to authenticate, both as `Authorization: Bearer …`.
struct SecuritySchemes;

impl utoipa::Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "accessToken",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some("EdDSA-signed access token from register/login/refresh; 15 minutes by default."))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "apiKey",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("tm_<key>")
                    .description(Some(
                        "API key `tm_…` from POST /v1/api-keys. Scope `read` allows GET only; `write` allows \
                         everything else too. Keys can never manage keys, sessions or the password.",
                    ))
                    .build(),
            ),
        );
    }
}

/// The `X-D1-Bookmark` request header's shape (see `middleware::valid_bookmark`).
const BOOKMARK_PATTERN: &str = "^[0-9A-Fa-f]+(-[0-9A-Fa-f]+){0,7}$";

/// Completes the generated document with what every operation shares: the problem
/// responses any route can give (401 on secured routes; 400/413/415/422 on routes with a
/// body; 429, 500, 503 everywhere), the enumeration of problem types, and the
/// `X-Request-Id` header. Done once, on the JSON form.
pub fn finish_document(doc: &utoipa::openapi::OpenApi) -> serde_json::Value {
    use serde_json::{json, Value};
    let mut v = serde_json::to_value(doc).unwrap_or(Value::Null);
    let types: Vec<String> = super::problem::PROBLEM_TYPES
        .iter()
        .map(|(slug, _, _)| format!("{}{slug}", super::problem::PROBLEM_TYPE_BASE))
        .collect();
    if let Some(schemas) = v.pointer_mut("/components/schemas").and_then(Value::as_object_mut) {
        schemas.insert(
            "ProblemType".into(),
            json!({"type": "string", "enum": types, "description": "One URI per class of error."}),
        );
        if let Some(t) = schemas.get_mut("Problem").and_then(|p| p.pointer_mut("/properties/type")) {
            *t = json!({"$ref": "#/components/schemas/ProblemType"});
        }
    }
    let problem = |description: &str| {
        json!({"description": description,
               "headers": {"X-Request-Id": {"$ref": "#/components/headers/X-Request-Id"}},
               "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}})
    };
    if let Some(components) = v.get_mut("components").and_then(Value::as_object_mut) {
        components.insert(
            "headers".into(),
            json!({
                "X-Request-Id": {"description": "The request id: the caller's if valid, else a fresh one", "schema": {"type": "string"}},
                "X-D1-Bookmark": {"description": "Hosts with read replicas (D1): the database position this response saw; send it back as the `X-D1-Bookmark` request header for read-your-writes", "schema": {"type": "string"}},
                "Retry-After": {"description": "Seconds to wait before retrying", "schema": {"type": "integer"}},
                "RateLimit-Policy": {"description": "draft-ietf-httpapi-ratelimit-headers policy, e.g. `\"principal\";q=300;w=60`", "schema": {"type": "string"}},
                "RateLimit": {"description": "draft-ietf-httpapi-ratelimit-headers state, e.g. `\"principal\";r=299;t=1`", "schema": {"type": "string"}},
                "WWW-Authenticate": {"description": "RFC 6750 challenge: `Bearer realm=\"taskapi\"`, with `error=\"invalid_token\"` when a token or key was presented and refused", "schema": {"type": "string"}}
            }),
        );
        let mut unauthenticated = problem("Missing, invalid, expired or revoked credentials");
        if let Some(h) = unauthenticated.get_mut("headers").and_then(Value::as_object_mut) {
            h.insert("WWW-Authenticate".into(), json!({"$ref": "#/components/headers/WWW-Authenticate"}));
        }
        let mut limited = problem("Rate limit exceeded");
        if let Some(h) = limited.get_mut("headers").and_then(Value::as_object_mut) {
            h.insert("Retry-After".into(), json!({"$ref": "#/components/headers/Retry-After"}));
            h.insert("RateLimit-Policy".into(), json!({"$ref": "#/components/headers/RateLimit-Policy"}));
            h.insert("RateLimit".into(), json!({"$ref": "#/components/headers/RateLimit"}));
        }
        components.insert(
            "parameters".into(),
            json!({"X-D1-Bookmark": {
                "name": "X-D1-Bookmark", "in": "header", "required": false,
                "description": "The latest `X-D1-Bookmark` this client received: the request then reads at least that \
                                database state (read-your-writes across replicas). Omit it to read from any replica. \
                                Anything but hex groups separated by `-` is a 400 problem.",
                "schema": {"type": "string", "pattern": BOOKMARK_PATTERN, "maxLength": 256}
            }}),
        );
        components.insert(
            "responses".into(),
            json!({
                "Malformed": problem("Malformed JSON, a bad cursor, or a malformed X-D1-Bookmark"),
                "Unauthenticated": unauthenticated,
                "PayloadTooLarge": problem("Body over 64 KiB"),
                "UnsupportedMediaType": problem("Body is not application/json"),
                "Validation": problem("Invalid fields or parameters"),
                "RateLimited": limited,
                "Internal": problem("Internal error (no internals in the body)"),
                "Unavailable": problem("A dependency (the database, the rate limiter) is unavailable"),
            }),
        );
    }
    constrain_fields(&mut v);
    let Some(paths) = v.get_mut("paths").and_then(Value::as_object_mut) else {
        return v;
    };
    paths.insert(
        "/docs".into(),
        json!({"get": {
            "tags": ["operations"],
            "operationId": "getDocs",
            "summary": "The API reference for people: Swagger UI rendering /v1/openapi.json, every asset served by this host",
            "responses": {"200": {"description": "HTML page", "content": {"text/html": {"schema": {"type": "string"}}}}}
        }}),
    );
    for item in paths.values_mut() {
        let Some(item) = item.as_object_mut() else { continue };
        for (method, op) in item.iter_mut() {
            if !matches!(method.as_str(), "get" | "post" | "patch" | "put" | "delete") {
                continue;
            }
            let secured = op.get("security").and_then(Value::as_array).is_some_and(|s| !s.is_empty());
            let has_body = op.get("requestBody").is_some();
            let has_query = op
                .get("parameters")
                .and_then(Value::as_array)
                .is_some_and(|ps| ps.iter().any(|p| p.get("in").and_then(Value::as_str) == Some("query")));
            if let Some(params) = op
                .as_object_mut()
                .map(|o| o.entry("parameters").or_insert_with(|| json!([])))
                .and_then(Value::as_array_mut)
            {
                params.push(json!({"$ref": "#/components/parameters/X-D1-Bookmark"}));
            }
            let Some(responses) = op.get_mut("responses").and_then(Value::as_object_mut) else {
                continue;
            };
            for (code, response) in responses.iter_mut() {
                if !code.starts_with('2') {
                    problem_content(response);
                    if code == "401" && response.get("$ref").is_none() {
                        let headers = response.as_object_mut().map(|r| r.entry("headers").or_insert_with(|| json!({})));
                        if let Some(h) = headers.and_then(Value::as_object_mut) {
                            h.insert(
                                "WWW-Authenticate".into(),
                                json!({"$ref": "#/components/headers/WWW-Authenticate"}),
                            );
                        }
                    }
                    continue;
                }
                if let Some(r) = response.as_object_mut() {
                    if let Some(h) = r.entry("headers").or_insert_with(|| json!({})).as_object_mut() {
                        h.insert("X-D1-Bookmark".into(), json!({"$ref": "#/components/headers/X-D1-Bookmark"}));
                    }
                }
            }
            let mut add = |code: &str, name: &str| {
                responses
                    .entry(code.to_owned())
                    .or_insert_with(|| json!({"$ref": format!("#/components/responses/{name}")}));
            };
            if secured {
                add("401", "Unauthenticated");
            }
            if has_body {
                add("400", "Malformed");
                add("413", "PayloadTooLarge");
                add("415", "UnsupportedMediaType");
                add("422", "Validation");
            }
            if has_query {
                add("400", "Malformed");
                add("422", "Validation");
            }
            add("400", "Malformed");
            add("429", "RateLimited");
            add("500", "Internal");
            add("503", "Unavailable");
        }
    }
    v
}

/// A problem response declared by a handler (`body = Problem`) is served as
/// `application/problem+json`.
fn problem_content(response: &mut serde_json::Value) {
    let Some(content) = response.get_mut("content").and_then(serde_json::Value::as_object_mut) else {
        return;
    };
    if let Some(json) = content.remove("application/json") {
        content.insert("application/problem+json".to_owned(), json);
    }
}

/// Writes the domain's validation rules into the request schemas and parameters, from
/// the same constants the parsers use, so the document promises exactly what is accepted.
fn constrain_fields(v: &mut serde_json::Value) {
    use crate::domain::patterns::{EMAIL, LINE, MULTILINE};
    use serde_json::{json, Value};
    // Each text value's limits come from its type, as its parser applies them.
    let text = |min: usize, max: usize, multiline: bool| {
        if multiline {
            json!({"pattern": MULTILINE, "maxLength": max})
        } else {
            json!({"pattern": LINE, "minLength": min, "maxLength": max})
        }
    };
    macro_rules! limits {
        ($t:ty) => {
            text(<$t>::MIN, <$t>::MAX, <$t>::MULTILINE)
        };
    }
    let name = limits!(DisplayName);
    let email = json!({"pattern": EMAIL, "maxLength": Email::MAX});
    let password = json!({"minLength": Password::MIN, "maxLength": Password::MAX});
    let role = json!({"enum": ["viewer", "member", "admin", "owner"]});
    let status = json!({"enum": ["todo", "in_progress", "in_review", "done", "cancelled"]});
    let priority = json!({"enum": ["low", "medium", "high", "urgent"]});
    let date = json!({"format": "date"});
    let mut label = limits!(Label);
    if let Some(o) = label.as_object_mut() {
        o.insert("type".into(), json!("string"));
    }
    let labels = json!({"maxItems": Labels::MAX_COUNT, "items": label});
    let scopes = json!({"minItems": 1, "items": {"type": "string", "enum": ["read", "write"]}});
    let rules: Vec<(&str, &str, Value)> = vec![
        ("RegisterRequest", "email", email.clone()),
        ("RegisterRequest", "name", name.clone()),
        ("RegisterRequest", "password", password.clone()),
        ("UpdateMeRequest", "name", name),
        ("ChangePasswordRequest", "new_password", password),
        ("CreateApiKeyRequest", "name", limits!(ApiKeyName)),
        ("CreateApiKeyRequest", "scopes", scopes),
        ("CreateProjectRequest", "name", limits!(ProjectName)),
        ("CreateProjectRequest", "description", limits!(ProjectDescription)),
        ("UpdateProjectRequest", "name", limits!(ProjectName)),
        ("UpdateProjectRequest", "description", limits!(ProjectDescription)),
        ("AddMemberRequest", "email", email),
        ("AddMemberRequest", "role", role.clone()),
        ("UpdateMemberRequest", "role", role),
        ("CreateTaskRequest", "title", limits!(TaskTitle)),
        ("CreateTaskRequest", "description", limits!(TaskDescription)),
        ("CreateTaskRequest", "status", status.clone()),
        ("CreateTaskRequest", "priority", priority.clone()),
        ("CreateTaskRequest", "due_date", date.clone()),
        ("CreateTaskRequest", "labels", labels.clone()),
        ("UpdateTaskRequest", "title", limits!(TaskTitle)),
        ("UpdateTaskRequest", "description", limits!(TaskDescription)),
        ("UpdateTaskRequest", "status", status),
        ("UpdateTaskRequest", "priority", priority),
        ("UpdateTaskRequest", "due_date", date.clone()),
        ("UpdateTaskRequest", "labels", labels),
        ("Task", "due_date", date),
    ];
    for (schema, field, rule) in rules {
        let Some(prop) =
            v.pointer_mut(&format!("/components/schemas/{schema}/properties/{field}")).and_then(Value::as_object_mut)
        else {
            continue;
        };
        let nullable = prop.get("type").and_then(Value::as_array).is_some_and(|t| t.iter().any(|x| x == "null"));
        if let Some(rule) = rule.as_object() {
            for (k, val) in rule {
                let mut val = val.clone();
                if k == "enum" && nullable {
                    if let Some(a) = val.as_array_mut() {
                        a.push(Value::Null);
                    }
                }
                prop.insert(k.clone(), val);
            }
        }
    }
    // Empty means no filter.
    let list = |values: &[&str]| format!("^(({0})(,({0}))*)?$", values.join("|"));
    let params: Vec<(&str, Value)> = vec![
        ("limit", json!({"type": "integer", "minimum": 1, "maximum": 100})),
        (
            "sort",
            json!({"type": "string", "enum": ["created_at", "-created_at", "updated_at", "-updated_at", "due_date", "-due_date", "priority", "-priority"]}),
        ),
        (
            "status",
            json!({"type": "string", "pattern": list(&["todo", "in_progress", "in_review", "done", "cancelled"])}),
        ),
        ("priority", json!({"type": "string", "pattern": list(&["low", "medium", "high", "urgent"])})),
        ("due_before", json!({"type": "string", "format": "date"})),
        ("due_after", json!({"type": "string", "format": "date"})),
        ("q", json!({"type": "string", "maxLength": 200})),
        ("Idempotency-Key", json!({"type": "string", "pattern": "^[\\x21-\\x7e]{1,255}$"})),
    ];
    let Some(paths) = v.get_mut("paths").and_then(Value::as_object_mut) else {
        return;
    };
    for item in paths.values_mut().filter_map(Value::as_object_mut) {
        for op in item.values_mut() {
            let mine = op.get("operationId").and_then(Value::as_str) == Some("listMyTasks");
            let Some(ps) = op.get_mut("parameters").and_then(Value::as_array_mut) else {
                continue;
            };
            for p in ps.iter_mut() {
                let name = p.get("name").and_then(Value::as_str).unwrap_or_default().to_owned();
                if let Some((_, schema)) = params.iter().find(|(n, _)| *n == name) {
                    p["schema"] = if mine && name == "sort" {
                        json!({"type": "string", "enum": ["created_at", "-created_at"]})
                    } else {
                        schema.clone()
                    };
                }
            }
        }
    }
}

/// The OpenAPI 3.1 document of this API.
#[utoipa::path(
    get,
    path = "/v1/openapi.json",
    tag = "operations",
    operation_id = "getOpenApi",
    responses((status = 200, description = "The OpenAPI 3.1 document", content_type = "application/json"))
)]
pub async fn openapi_json(ctx: Ctx) -> impl IntoResponse {
    let body = ctx.openapi_json();
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static("application/json")),
            (header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=300")),
        ],
        body,
    )
}
