//! The OpenAPI 3.1 document, generated from the handlers' and types' annotations.

use axum::response::IntoResponse;
use http::{header, HeaderValue};
use utoipa::OpenApi;

use super::pagination::{CURSOR_PATTERN, MAX_CURSOR_LEN, MAX_LIMIT};
use super::state::Ctx;
use crate::clock::Date;
use crate::domain::project::{ProjectDescription, ProjectName};
use crate::domain::task::{Label, Labels, TaskDescription, TaskTitle};
use crate::domain::user::{ApiKeyName, DisplayName, Email, Password};
use crate::service::create::KEY_MAX_LEN;
use crate::sql::task_list::{Sort, SortKey};

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
/// Longest URI the sign-in routes take or give (app redirect URIs, issuers).
const MAX_URI_LEN: usize = 2048;
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

/// Writes the domain's validation rules into the request schemas and parameters, from
/// the same constants the parsers use, so the document promises exactly what is
/// accepted (and nothing the server does not check).
fn constrain_fields(v: &mut serde_json::Value) {
    use crate::auth::tokens;
    use crate::domain::ids::{ID_LEN, ID_PATTERN};
    use crate::domain::patterns::{EMAIL, LINE, MULTILINE, NO_CONTROLS};
    use crate::domain::project::Role;
    use crate::domain::task::{Priority, Status};
    use crate::domain::user::ApiKeyScopes;
    use crate::domain::{Expect, SEARCH_MAX};
    use crate::oidc;
    use crate::service::oidc::MAX_APP_STATE;
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
    // A password that is only checked against the account's: no longer one can be right.
    let current_password = json!({"maxLength": Password::MAX});
    let id = json!({"maxLength": ID_LEN, "pattern": ID_PATTERN});
    let date = json!({"format": "date", "maxLength": Date::LEN});
    let mut label = limits!(Label);
    if let Some(o) = label.as_object_mut() {
        o.insert("type".into(), json!("string"));
    }
    let labels = json!({"maxItems": Labels::MAX_COUNT, "items": label});
    let scopes = json!({"minItems": 1, "maxItems": ApiKeyScopes::ALL.len(), "uniqueItems": true,
                        "items": {"type": "string", "enum": ApiKeyScopes::ALL}});
    let refresh_token = json!({
        "pattern": tokens::pattern(tokens::REFRESH_PREFIX),
        "maxLength": tokens::REFRESH_PREFIX.len().saturating_add(tokens::SECRET_BODY_LEN),
    });
    // Sign-in: our one-time code, app URIs (matched exactly against the configured ones),
    // and the app's own state.
    let code = json!({
        "pattern": tokens::pattern(oidc::CODE_PREFIX),
        "maxLength": oidc::CODE_PREFIX.len().saturating_add(tokens::SECRET_BODY_LEN),
    });
    let uri = json!({"format": "uri", "maxLength": MAX_URI_LEN});
    let app_state = json!({"minLength": 1, "maxLength": MAX_APP_STATE, "pattern": NO_CONTROLS});
    let rules: Vec<(&str, &str, Value)> = vec![
        ("RegisterRequest", "email", email.clone()),
        ("RegisterRequest", "name", name.clone()),
        ("RegisterRequest", "password", password.clone()),
        ("LoginRequest", "email", json!({"maxLength": Email::MAX})),
        ("LoginRequest", "password", current_password.clone()),
        ("RefreshRequest", "refresh_token", refresh_token),
        ("UpdateMeRequest", "name", name),
        ("ChangePasswordRequest", "current_password", current_password.clone()),
        ("ChangePasswordRequest", "new_password", password),
        ("CreateApiKeyRequest", "password", current_password),
        ("CreateApiKeyRequest", "name", limits!(ApiKeyName)),
        ("CreateApiKeyRequest", "scopes", scopes),
        ("CreateProjectRequest", "name", limits!(ProjectName)),
        ("CreateProjectRequest", "description", limits!(ProjectDescription)),
        ("UpdateProjectRequest", "name", limits!(ProjectName)),
        ("UpdateProjectRequest", "description", limits!(ProjectDescription)),
        ("AddMemberRequest", "email", email),
        ("CreateTaskRequest", "title", limits!(TaskTitle)),
        ("CreateTaskRequest", "description", limits!(TaskDescription)),
        ("CreateTaskRequest", "assignee_id", id.clone()),
        ("CreateTaskRequest", "due_date", date.clone()),
        ("CreateTaskRequest", "labels", labels.clone()),
        ("UpdateTaskRequest", "title", limits!(TaskTitle)),
        ("UpdateTaskRequest", "description", limits!(TaskDescription)),
        ("UpdateTaskRequest", "assignee_id", id),
        ("UpdateTaskRequest", "due_date", date),
        ("UpdateTaskRequest", "labels", labels),
        ("OidcTokenRequest", "code", code),
        ("LinkIdentityRequest", "redirect_uri", uri.clone()),
        ("LinkIdentityRequest", "state", app_state.clone()),
    ];
    // Examples beside a reference to a named schema, which utoipa cannot write.
    let examples = [
        ("AddMemberRequest", "role", json!({"example": Role::Member.as_str()})),
        ("UpdateMemberRequest", "role", json!({"example": Role::Admin.as_str()})),
    ];
    for (schema, field, rule) in rules.into_iter().chain(examples) {
        let Some(prop) =
            v.pointer_mut(&format!("/components/schemas/{schema}/properties/{field}")).and_then(Value::as_object_mut)
        else {
            continue;
        };
        if let Some(rule) = rule.as_object() {
            prop.extend(rule.clone());
        }
    }
    // Query parameters, headers and path ids, as `ListQuery`, the list handlers and the
    // extractors check them. An empty status or priority list means no filter.
    let list = |values: &[&str]| format!("^(({0})(,({0}))*)?$", values.join("|"));
    let statuses: Vec<&str> = Status::ALL.iter().map(|s| s.as_str()).collect();
    let priorities: Vec<&str> = Priority::ALL.iter().map(|p| p.as_str()).collect();
    let id_chars = ID_PATTERN.trim_start_matches('^').trim_end_matches('$');
    let params: Vec<(&str, Value)> = vec![
        ("limit", json!({"type": "integer", "format": "int32", "minimum": 1, "maximum": MAX_LIMIT})),
        ("cursor", json!({"type": "string", "maxLength": MAX_CURSOR_LEN, "pattern": CURSOR_PATTERN})),
        ("status", json!({"type": "string", "pattern": list(&statuses), "maxLength": Status::LIST_MAX_LEN})),
        ("priority", json!({"type": "string", "pattern": list(&priorities), "maxLength": Priority::LIST_MAX_LEN})),
        ("assignee", json!({"type": "string", "maxLength": ID_LEN, "pattern": format!("^(me|none|{id_chars})$")})),
        ("label", json!({"type": "string", "minLength": Label::MIN, "maxLength": Label::MAX, "pattern": NO_CONTROLS})),
        ("due_before", json!({"type": "string", "format": "date", "maxLength": Date::LEN})),
        ("due_after", json!({"type": "string", "format": "date", "maxLength": Date::LEN})),
        ("q", json!({"type": "string", "maxLength": SEARCH_MAX, "pattern": NO_CONTROLS})),
        (
            "Idempotency-Key",
            json!({"type": "string", "pattern": format!("^[\\x21-\\x7e]{{1,{KEY_MAX_LEN}}}$"), "maxLength": KEY_MAX_LEN}),
        ),
        (
            "__Host-refresh",
            json!({"type": "string", "pattern": tokens::pattern(tokens::REFRESH_PREFIX),
            "maxLength": tokens::REFRESH_PREFIX.len().saturating_add(tokens::SECRET_BODY_LEN)}),
        ),
        ("redirect_uri", json!({"type": "string", "format": "uri", "maxLength": MAX_URI_LEN})),
        ("state", json!({"type": "string", "minLength": 1, "maxLength": MAX_APP_STATE, "pattern": NO_CONTROLS})),
        // The provider's values on the callback: checked by the provider or by the stored
        // request, bounded here.
        ("code", json!({"type": "string", "maxLength": MAX_URI_LEN, "pattern": NO_CONTROLS})),
        ("iss", json!({"type": "string", "format": "uri", "maxLength": MAX_URI_LEN})),
        ("error", json!({"type": "string", "maxLength": 64, "pattern": "^[\\x20-\\x21\\x23-\\x5b\\x5d-\\x7e]+$"})),
        ("If-Match", json!({"type": "string", "pattern": Expect::HEADER_PATTERN})),
        ("If-None-Match", json!({"type": "string", "pattern": Expect::HEADER_PATTERN})),
    ];
    let Some(paths) = v.get_mut("paths").and_then(Value::as_object_mut) else {
        return;
    };
    for item in paths.values_mut().filter_map(Value::as_object_mut) {
        for op in item.values_mut() {
            let mine = op.get("operationId").and_then(Value::as_str) == Some("listMyTasks");
            // `POST /v1/me/identities/{id}` names a provider.
            let linking = op.get("operationId").and_then(Value::as_str) == Some("linkIdentity");
            let Some(ps) = op.get_mut("parameters").and_then(Value::as_array_mut) else {
                continue;
            };
            for p in ps.iter_mut() {
                let name = p.get("name").and_then(Value::as_str).unwrap_or_default().to_owned();
                let schema = if p.get("in").and_then(Value::as_str) == Some("path") {
                    if name == "provider" || linking {
                        json!({"type": "string", "maxLength": oidc::PROVIDER_ID_MAX, "pattern": oidc::PROVIDER_ID_PATTERN})
                    } else {
                        json!({"type": "string", "maxLength": ID_LEN, "pattern": ID_PATTERN})
                    }
                } else if name == "sort" {
                    // The task lists' sorts; the caller's own tasks sort by creation only.
                    sort_schema(Sort::ALL.into_iter().filter(|s| !mine || s.key == SortKey::CreatedAt))
                } else if let Some((_, schema)) = params.iter().find(|(n, _)| *n == name) {
                    schema.clone()
                } else {
                    continue;
                };
                p["schema"] = schema;
            }
        }
    }
}

/// The `sort` parameter: the sorts by their wire names, and names generated clients can
/// use for them (`-created_at` is `CREATED_AT_DESC`).
fn sort_schema(sorts: impl Iterator<Item = Sort>) -> serde_json::Value {
    let (names, varnames): (Vec<String>, Vec<String>) = sorts
        .map(|s| {
            let name = s.name();
            let base = name.trim_start_matches('-').to_uppercase();
            let varname = if s.descending { format!("{base}_DESC") } else { base };
            (name, varname)
        })
        .unzip();
    serde_json::json!({"type": "string", "enum": names, "x-enum-varnames": varnames})
}

/// The OpenAPI 3.1 document of this API.
#[utoipa::path(
    get,
    path = "/v1/openapi.json",
    tag = "operations",
    operation_id = "getOpenApi",
    security(),
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
