//! The OpenAPI 3.1 document, generated from the handlers' and types' annotations.

use axum::response::IntoResponse;
use http::{header, HeaderValue};
use utoipa::OpenApi;

use super::state::Ctx;

mod fields;
use fields::constrain_fields;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Task API",
        description = "Task-management REST API served from WebAssembly on Cloudflare Workers and Spin. \
Errors are RFC 9457 problem documents (`application/problem+json`) whose `type` is \
`https://taskapi.dev/problems/{slug}` with one slug per class: validation (422), malformed (400), \
unauthenticated (401), forbidden (403), not-found (404), method-not-allowed (405), conflict (409), \
account-exists (409), invalid-status-transition (409), precondition-failed (412), payload-too-large (413), \
unsupported-media-type (415), rate-limited (429), internal (500), unavailable (503). \
Every response carries `X-Request-Id` (the caller's if it is 1-128 chars of `[A-Za-z0-9._-]`, \
else a fresh one) and `X-Content-Type-Options: nosniff`. On hosts whose database has read \
replicas (Cloudflare D1), every response that reached the database also carries `X-D1-Bookmark`; \
send the latest one back on the next request to read at least what you wrote (read-your-writes). \
Without it, reads may come from a replica that lags by a few seconds; writes always go to the \
primary. Hosts with one database (Spin SQLite) never answer the header and accept it. Unknown paths and unknown API versions \
(anything outside `/v1`) are 404 problems.",
        license(name = "MIT OR Apache-2.0", identifier = "MIT OR Apache-2.0")
    ),
    servers((url = "/", description = "This host")),
    components(schemas(super::Problem, crate::error::FieldError)),
    modifiers(&SecuritySchemes),
    tags(
        (name = "operations", description = "Health and API description"),
        (name = "auth", description = "Accounts, sessions (JWT access tokens, rotating refresh tokens; for browsers, the refresh token in the `__Host-refresh` cookie with `\"session\": \"cookie\"`) and API keys"),
        (name = "oidc", description = "Sign-in with OpenID Connect providers (authorization code + PKCE), and the identities linked to an account"),
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
                    .description(Some(
                        "EdDSA-signed access token from register/login/refresh; 15 minutes by default. Issued and \
                         verified per RFC8725 (JWT BCP): EdDSA only, the algorithm checked explicitly, `kid`, `iss`, \
                         `aud`, `exp`/`nbf`/`iat` and `token_use` verified.",
                    ))
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

/// The schema of an optional request field that takes a named enum or `null`:
/// `oneOf: [$ref T, null]`, with the field's description and example beside it. (The
/// derive would put `null` first, the description inside the reference and drop the
/// example.)
pub fn nullable_ref<T: utoipa::ToSchema>(
    description: Option<&str>,
    example: Option<&str>,
) -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
    use utoipa::openapi::schema::{ObjectBuilder, OneOfBuilder, Ref, Type};
    // `example`, like every other example of the document (the derive's `example = …`).
    #[allow(deprecated)]
    let one_of = OneOfBuilder::new()
        .item(Ref::from_schema_name(T::name()))
        .item(ObjectBuilder::new().schema_type(Type::Null))
        .description(description)
        .example(example.map(serde_json::Value::from));
    one_of.into()
}

/// The `X-D1-Bookmark` request header's shape (see `middleware::valid_bookmark`).
const BOOKMARK_PATTERN: &str = "^[0-9A-Fa-f]+(-[0-9A-Fa-f]+){0,7}$";

/// The methods of a path item that are operations of this API.
fn is_operation(method: &str) -> bool {
    matches!(method, "get" | "post" | "patch" | "put" | "delete")
}

/// A `$ref` to a component header.
fn header_ref(name: &str) -> serde_json::Value {
    serde_json::json!({"$ref": format!("#/components/headers/{name}")})
}

/// Adds headers (by reference to the component headers) to a response object.
fn add_headers(response: &mut serde_json::Value, names: &[&str]) {
    let Some(r) = response.as_object_mut() else { return };
    if let Some(h) = r.entry("headers").or_insert_with(|| serde_json::json!({})).as_object_mut() {
        for name in names {
            h.insert((*name).to_owned(), header_ref(name));
        }
    }
}

/// The headers of an applied rate limit.
const RATE_LIMIT_HEADERS: [&str; 2] = ["RateLimit", "RateLimit-Policy"];

/// Completes the generated document with what every operation shares, which utoipa's
/// annotations cannot say once for all: the problem responses any route can give (401 on
/// secured routes; 400/413/415/422 on routes with a body or query; 429 on rate-limited
/// routes; 500, 503 everywhere), the response headers every response carries
/// (`X-Request-Id`, `X-D1-Bookmark`, the limiter's `RateLimit`), and the request fields'
/// and parameters' validation rules from the constants the parsers use. Done once, on
/// the JSON form.
pub fn finish_document(doc: &utoipa::openapi::OpenApi) -> serde_json::Value {
    use serde_json::{json, Value};
    let mut v = serde_json::to_value(doc).unwrap_or(Value::Null);
    let problem = |description: &str| {
        json!({"description": description,
               "headers": {"X-Request-Id": header_ref("X-Request-Id"), "traceresponse": header_ref("traceresponse")},
               "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}})
    };
    if let Some(components) = v.get_mut("components").and_then(Value::as_object_mut) {
        components.insert(
            "headers".into(),
            json!({
                "X-Request-Id": {"description": "The request id: the caller's if valid, else a fresh one", "schema": {"type": "string"}},
                "traceresponse": {"description": "W3C Trace Context response header: `00-{trace id}-{this request's span id}-{flags}`; the trace id is the caller's `traceparent` one when it sent a valid one", "schema": {"type": "string", "pattern": "^00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$"}},
                "X-D1-Bookmark": {"description": "Hosts with read replicas (D1): the database position this response saw; send it back as the `X-D1-Bookmark` request header for read-your-writes", "schema": {"type": "string"}},
                "Retry-After": {"description": "Seconds to wait before retrying", "schema": {"type": "integer"}},
                "RateLimit-Policy": {"description": "draft-ietf-httpapi-ratelimit-headers policy, e.g. `\"principal\";q=300;w=60`", "schema": {"type": "string"}},
                "RateLimit": {"description": "draft-ietf-httpapi-ratelimit-headers state, e.g. `\"principal\";r=299;t=1`", "schema": {"type": "string"}},
                "WWW-Authenticate": {"description": "RFC 6750 challenge: `Bearer realm=\"taskapi\"`, with `error=\"invalid_token\"` when a token or key was presented and refused", "schema": {"type": "string"}}
            }),
        );
        let mut unauthenticated = problem("Missing, invalid, expired or revoked credentials");
        add_headers(&mut unauthenticated, &["WWW-Authenticate"]);
        let mut limited = problem("Rate limit exceeded");
        add_headers(&mut limited, &["Retry-After", "RateLimit-Policy", "RateLimit"]);
        // Refusals that can come after the limiter on a limited route carry its headers.
        let after_limiter = |description: &str| {
            let mut p = problem(description);
            add_headers(&mut p, &RATE_LIMIT_HEADERS);
            p
        };
        components.insert(
            "parameters".into(),
            json!({"traceparent": {
                "name": "traceparent", "in": "header", "required": false,
                "description": "W3C Trace Context: the request continues this trace (its id is in the log line, the \
                                `traceresponse` header and the `traceparent` of outbound calls); a malformed one is \
                                ignored and a new trace started.",
                "schema": {"type": "string"}
            },
            "X-D1-Bookmark": {
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
                "Malformed": after_limiter("Malformed JSON, a bad cursor, or a malformed X-D1-Bookmark"),
                "Unauthenticated": unauthenticated,
                "PayloadTooLarge": problem("Body over 64 KiB"),
                "UnsupportedMediaType": after_limiter("Body is not application/json"),
                "Validation": after_limiter("Invalid fields or parameters"),
                "RateLimited": limited,
                "Internal": problem("Internal error (no internals in the body)"),
                "Unavailable": problem("A dependency (the database, the rate limiter) is unavailable"),
            }),
        );
    }
    declare_versions(&mut v);
    declare_pages(&mut v);
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
            "security": [],
            "responses": {"200": {"description": "HTML page", "content": {"text/html": {"schema": {"type": "string"}}}}}
        }}),
    );
    for (path, item) in paths.iter_mut() {
        let Some(item) = item.as_object_mut() else { continue };
        for (method, op) in item.iter_mut() {
            if !is_operation(method) {
                continue;
            }
            let secured = op.get("security").and_then(Value::as_array).is_some_and(|s| !s.is_empty());
            // Every authenticated route is limited per principal; of the others, only the
            // routes that take `AuthIpLimit` (health, the document and /docs never are).
            let limited = secured || super::limits::AUTH_IP_PATHS.contains(&path.as_str());
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
                params.push(json!({"$ref": "#/components/parameters/traceparent"}));
            }
            let Some(responses) = op.get_mut("responses").and_then(Value::as_object_mut) else {
                continue;
            };
            for (code, response) in responses.iter_mut() {
                if response.get("$ref").is_some() {
                    continue;
                }
                add_headers(response, &["X-Request-Id", "traceresponse"]);
                bound_headers(response);
                if code.starts_with('2') {
                    add_headers(response, &["X-D1-Bookmark"]);
                } else {
                    problem_content(response);
                }
                if code == "401" {
                    add_headers(response, &["WWW-Authenticate"]);
                }
                // A secured route's 401 and any 413 are answered before the caller is
                // known, so before any limiter.
                let before_limiter = code == "413" || (code == "401" && secured);
                if limited && !before_limiter && matches!(code.chars().next(), Some('2' | '3' | '4')) {
                    add_headers(response, &RATE_LIMIT_HEADERS);
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
            if limited {
                add("429", "RateLimited");
            }
            add("500", "Internal");
            add("503", "Unavailable");
        }
    }
    v
}

/// The conditional requests of versioned resources ([`super::conditional::VERSIONED_PATHS`]):
/// the `ETag` of their 200, `If-None-Match` and 304 on GET, `If-Match` and 412 on PATCH
/// and DELETE.
fn declare_versions(v: &mut serde_json::Value) {
    use serde_json::{json, Value};
    let etag = |description: &str| json!({"description": description, "schema": {"type": "string"}});
    let precondition = |name: &str, description: &str| json!({"name": name, "in": "header", "required": false, "description": description, "schema": {"type": "string"}});
    for path in super::conditional::VERSIONED_PATHS {
        let Some(item) = v.pointer_mut(&format!("/paths/{}", path.replace('/', "~1"))).and_then(Value::as_object_mut)
        else {
            continue;
        };
        for (method, op) in item.iter_mut() {
            let (param, code, response) = match method.as_str() {
                "get" => (
                    precondition("If-None-Match", "ETag(s); 304 when one is current (an empty value names none)"),
                    "304",
                    json!({"description": "Not modified", "headers": {"ETag": etag("The current version tag")}}),
                ),
                "patch" | "delete" => (
                    precondition("If-Match", "ETag(s); 412 when none is current (an empty value names none)"),
                    "412",
                    json!({"description": "Stale If-Match",
                           "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Problem"}}}}),
                ),
                _ => continue,
            };
            if let Some(params) = op.get_mut("parameters").and_then(Value::as_array_mut) {
                params.push(param);
            }
            if let Some(responses) = op.get_mut("responses").and_then(Value::as_object_mut) {
                responses.insert(code.into(), response);
                if let Some(headers) = responses
                    .get_mut("200")
                    .and_then(Value::as_object_mut)
                    .and_then(|ok| ok.entry("headers").or_insert_with(|| json!({})).as_object_mut())
                {
                    headers.insert("ETag".into(), etag("Version tag"));
                }
            }
        }
    }
}

/// The paging parameters of every list (an operation whose 200 is a `Page_*`): `limit`
/// and `cursor`, after the list's own parameters (a list may declare its own `cursor` to
/// say more; `limit` then goes before it). Their schemas are the field rules'.
fn declare_pages(v: &mut serde_json::Value) {
    use super::pagination::{DEFAULT_LIMIT, MAX_LIMIT};
    use serde_json::{json, Value};
    let Some(paths) = v.get_mut("paths").and_then(Value::as_object_mut) else {
        return;
    };
    for op in paths.values_mut().filter_map(Value::as_object_mut).flat_map(|item| item.values_mut()) {
        let paged = op
            .pointer("/responses/200/content/application~1json/schema/$ref")
            .and_then(Value::as_str)
            .is_some_and(|r| r.starts_with("#/components/schemas/Page_"));
        if !paged {
            continue;
        }
        let params = match op.as_object_mut().map(|o| o.entry("parameters").or_insert_with(|| json!([]))) {
            Some(Value::Array(params)) => params,
            _ => continue,
        };
        let position = |params: &[Value], name: &str| params.iter().position(|p| p["name"] == name);
        let limit = json!({"name": "limit", "in": "query", "required": false,
                           "description": format!("1–{MAX_LIMIT}, default {DEFAULT_LIMIT}"), "schema": {"type": "integer"}});
        let cursor = json!({"name": "cursor", "in": "query", "required": false,
                            "description": "`next_cursor` of the previous page", "schema": {"type": "string"}});
        match (position(params, "limit"), position(params, "cursor")) {
            (None, Some(at)) => params.insert(at, limit),
            (None, None) => {
                params.push(limit);
                params.push(cursor);
            }
            (Some(_), None) => params.push(cursor),
            (Some(_), Some(_)) => {}
        }
    }
}

/// The shapes of the headers handlers declare by name only: `Set-Cookie` is only ever the
/// session cookie, `Location` a URL (relative to the request's for created resources).
fn bound_headers(response: &mut serde_json::Value) {
    use serde_json::json;
    let Some(headers) = response.get_mut("headers").and_then(serde_json::Value::as_object_mut) else {
        return;
    };
    if let Some(h) = headers.get_mut("Set-Cookie") {
        h["schema"] = json!({"type": "string", "pattern": "^__Host-refresh=", "maxLength": 4096});
    }
    if let Some(h) = headers.get_mut("Location") {
        h["schema"] = json!({"type": "string", "format": "uri-reference", "maxLength": 8192});
    }
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

/// The OpenAPI 3.1 document of this API.
#[utoipa::path(get, path = "/v1/openapi.json", tag = "operations", operation_id = "getOpenApi",
    security(),
    responses((status = 200, description = "The OpenAPI 3.1 document", content_type = "application/json")))]
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
