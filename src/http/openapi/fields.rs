//! The document finisher's field rules: the domain's validation limits written into the
//! request schemas and parameters, from the same constants the parsers use.

use crate::clock::Date;
use crate::domain::project::{ProjectDescription, ProjectName};
use crate::domain::task::{Label, Labels, TaskDescription, TaskTitle};
use crate::domain::user::{ApiKeyName, DisplayName, Email, Password};
use crate::http::pagination::{CURSOR_PATTERN, MAX_CURSOR_LEN, MAX_LIMIT};
use crate::service::create::KEY_MAX_LEN;
use crate::sql::task_list::{Sort, SortKey};

/// Longest URI the sign-in routes take or give (app redirect URIs, issuers).
const MAX_URI_LEN: usize = 2048;

/// Writes the domain's validation rules into the request schemas and parameters, from
/// the same constants the parsers use, so the document promises exactly what is
/// accepted (and nothing the server does not check).
pub(super) fn constrain_fields(v: &mut serde_json::Value) {
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
