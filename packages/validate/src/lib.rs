//! The Task API's request validation and task status machine, compiled to WebAssembly for
//! browsers and Node (`wasm-pack build --target web|nodejs`), so a client refuses a bad
//! request before sending it, with exactly the server's verdict: the same JSON parsing
//! (unknown fields, duplicate keys, types), the same field rules and the same error
//! fields and codes, because it runs the server's code (`taskapi`).

use serde::Serialize;
use taskapi::domain::task::{Status, Transition};
use taskapi::error::{ApiError, FieldError};
use taskapi::http::accounts::{ChangePasswordRequest, LoginRequest, RefreshRequest, RegisterRequest, UpdateMeRequest};
use taskapi::http::api_keys::CreateApiKeyRequest;
use taskapi::http::extract::{parse_json, MAX_BODY_BYTES};
use taskapi::http::members::{AddMemberRequest, UpdateMemberRequest};
use taskapi::http::projects::{CreateProjectRequest, UpdateProjectRequest};
use taskapi::http::tasks::{CreateTaskRequest, UpdateTaskRequest};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

/// The operations whose request bodies the package checks, by `operationId`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    Register,
    Login,
    Refresh,
    UpdateMe,
    ChangePassword,
    CreateApiKey,
    CreateProject,
    UpdateProject,
    AddMember,
    UpdateMember,
    CreateTask,
    UpdateTask,
}

impl Operation {
    pub const ALL: [Operation; 12] = [
        Operation::Register,
        Operation::Login,
        Operation::Refresh,
        Operation::UpdateMe,
        Operation::ChangePassword,
        Operation::CreateApiKey,
        Operation::CreateProject,
        Operation::UpdateProject,
        Operation::AddMember,
        Operation::UpdateMember,
        Operation::CreateTask,
        Operation::UpdateTask,
    ];

    /// The OpenAPI `operationId`.
    pub fn id(self) -> &'static str {
        match self {
            Operation::Register => "register",
            Operation::Login => "login",
            Operation::Refresh => "refresh",
            Operation::UpdateMe => "updateMe",
            Operation::ChangePassword => "changePassword",
            Operation::CreateApiKey => "createApiKey",
            Operation::CreateProject => "createProject",
            Operation::UpdateProject => "updateProject",
            Operation::AddMember => "addMember",
            Operation::UpdateMember => "updateMember",
            Operation::CreateTask => "createTask",
            Operation::UpdateTask => "updateTask",
        }
    }

    pub fn from_id(id: &str) -> Option<Operation> {
        Operation::ALL.into_iter().find(|o| o.id() == id)
    }

    fn check(self, body: &[u8]) -> Result<(), ApiError> {
        fn run<T: serde::de::DeserializeOwned, V>(
            body: &[u8],
            validate: impl FnOnce(&T) -> Result<V, ApiError>,
        ) -> Result<(), ApiError> {
            parse_json::<T>(body).and_then(|r| validate(&r)).map(|_| ())
        }
        match self {
            Operation::Register => run(body, RegisterRequest::validate),
            Operation::Login => run(body, |_: &LoginRequest| Ok(())),
            Operation::Refresh => run(body, |_: &RefreshRequest| Ok(())),
            Operation::UpdateMe => run(body, UpdateMeRequest::validate),
            Operation::ChangePassword => run(body, ChangePasswordRequest::validate),
            Operation::CreateApiKey => run(body, CreateApiKeyRequest::validate),
            Operation::CreateProject => run(body, CreateProjectRequest::validate),
            Operation::UpdateProject => run(body, UpdateProjectRequest::validate),
            Operation::AddMember => run(body, AddMemberRequest::validate),
            Operation::UpdateMember => run(body, UpdateMemberRequest::validate),
            Operation::CreateTask => run(body, CreateTaskRequest::validate),
            Operation::UpdateTask => run(body, UpdateTaskRequest::validate),
        }
    }
}

/// What the server would answer about a body: valid, or the problem it would return
/// (status, problem `type`, detail, and the per-field errors of a 422).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Verdict {
    pub valid: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub problem_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    pub errors: Vec<FieldError>,
}

impl Verdict {
    fn from_result(r: Result<(), ApiError>) -> Verdict {
        match r {
            Ok(()) => Verdict { valid: true, status: None, problem_type: None, detail: None, errors: Vec::new() },
            Err(e) => {
                let p = taskapi::http::problem::to_problem(&e);
                Verdict {
                    valid: false,
                    status: Some(p.status),
                    problem_type: Some(p.type_uri),
                    detail: Some(p.detail),
                    errors: p.errors.unwrap_or_default(),
                }
            }
        }
    }
}

/// Checks a JSON body (its bytes) as the server checks the body of `op`.
pub fn check(op: Operation, body: &[u8]) -> Verdict {
    if body.len() > MAX_BODY_BYTES {
        return Verdict::from_result(Err(ApiError::PayloadTooLarge(MAX_BODY_BYTES)));
    }
    Verdict::from_result(op.check(body))
}

/// The status machine: what moving a task from `from` to `to` needs.
pub fn transition(from: &str, to: &str) -> Result<&'static str, String> {
    let parse = |field: &str, s: &str| Status::parse(field, s).map_err(|e| format!("{}: {}", e.field, e.message));
    Ok(match parse("from", from)?.transition(parse("to", to)?) {
        Transition::NoOp => "noop",
        Transition::Allowed => "allowed",
        Transition::ReopenAdminOnly => "admin_only",
        Transition::Forbidden => "forbidden",
    })
}

// ---- JavaScript surface ----

#[wasm_bindgen(typescript_custom_section)]
const TS_REQUESTS: &str = include_str!(concat!(env!("OUT_DIR"), "/requests.d.ts"));

#[wasm_bindgen(typescript_custom_section)]
const TS_TYPES: &str = r#"
/** The `operationId`s whose request bodies this package checks. */
export type Operation =
  | "register" | "login" | "refresh" | "updateMe" | "changePassword" | "createApiKey"
  | "createProject" | "updateProject" | "addMember" | "updateMember" | "createTask" | "updateTask";

/** A task's status. */
export type TaskStatus = "todo" | "in_progress" | "in_review" | "done" | "cancelled";

/**
 * What a status move needs: `allowed` for any member, `admin_only` (reopening done or
 * cancelled work), `noop` (same status), `forbidden` (the server answers 409
 * invalid-status-transition).
 */
export type Transition = "allowed" | "admin_only" | "noop" | "forbidden";

/** One failing field, as in the server's 422 problem. */
export interface FieldError { field: string; code: string; message: string; }

/**
 * The server's verdict on a body: valid, or the problem it would answer (400 malformed
 * JSON, 413 too large, 422 validation with `errors`).
 */
export type Verdict =
  | { valid: true; errors: [] }
  | { valid: false; status: 400 | 413 | 422; type: string; detail: string; errors: FieldError[] };
"#;

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(typescript_type = "Verdict")]
    pub type JsVerdict;
    #[wasm_bindgen(typescript_type = "Operation")]
    pub type JsOperation;
    #[wasm_bindgen(typescript_type = "TaskStatus")]
    pub type JsTaskStatus;
    #[wasm_bindgen(typescript_type = "Transition")]
    pub type JsTransition;
    #[wasm_bindgen(typescript_type = "TaskStatus[]")]
    pub type JsTaskStatuses;
}

/// A JSON text as is, anything else through `JSON.stringify`.
fn body_text(body: &JsValue) -> Option<String> {
    if let Some(s) = body.as_string() {
        return Some(s);
    }
    js_sys::JSON::stringify(body).ok().and_then(|s| s.as_string())
}

fn to_js<T: Serialize>(v: &T) -> JsValue {
    serde_json::to_string(v).ok().and_then(|s| js_sys::JSON::parse(&s).ok()).unwrap_or(JsValue::NULL)
}

fn verdict_js(op: Operation, body: &JsValue) -> JsVerdict {
    let verdict = match body_text(body) {
        Some(text) => check(op, text.as_bytes()),
        None => Verdict::from_result(Err(ApiError::Malformed("the body cannot be written as JSON".to_owned()))),
    };
    to_js(&verdict).unchecked_into()
}

/// Checks a request body (a JSON string, or a value to be sent as `JSON.stringify` writes
/// it) exactly as the server checks the body of `operation`.
///
/// Throws on an unknown operation.
#[wasm_bindgen(js_name = validate)]
pub fn validate_js(operation: &JsOperation, body: &JsValue) -> Result<JsVerdict, JsError> {
    let id = operation.as_string().unwrap_or_default();
    let op = Operation::from_id(&id).ok_or_else(|| JsError::new(&format!("unknown operation {id:?}")))?;
    Ok(verdict_js(op, body))
}

macro_rules! typed {
    ($($js:ident, $rust:ident, $op:ident, $ty:literal;)*) => {$(
        #[wasm_bindgen]
        extern "C" {
            #[wasm_bindgen(typescript_type = $ty)]
            pub type $rust;
        }
        #[doc = concat!("Checks a `", $ty, "` body (or its JSON text) as the server does.")]
        #[allow(non_snake_case)]
        #[wasm_bindgen(js_name = $js)]
        pub fn $js(body: &$rust) -> JsVerdict {
            verdict_js(Operation::$op, body)
        }
    )*};
}

typed! {
    validateRegister, JsRegisterRequest, Register, "RegisterRequest | string";
    validateLogin, JsLoginRequest, Login, "LoginRequest | string";
    validateRefresh, JsRefreshRequest, Refresh, "RefreshRequest | string";
    validateUpdateMe, JsUpdateMeRequest, UpdateMe, "UpdateMeRequest | string";
    validateChangePassword, JsChangePasswordRequest, ChangePassword, "ChangePasswordRequest | string";
    validateCreateApiKey, JsCreateApiKeyRequest, CreateApiKey, "CreateApiKeyRequest | string";
    validateCreateProject, JsCreateProjectRequest, CreateProject, "CreateProjectRequest | string";
    validateUpdateProject, JsUpdateProjectRequest, UpdateProject, "UpdateProjectRequest | string";
    validateAddMember, JsAddMemberRequest, AddMember, "AddMemberRequest | string";
    validateUpdateMember, JsUpdateMemberRequest, UpdateMember, "UpdateMemberRequest | string";
    validateCreateTask, JsCreateTaskRequest, CreateTask, "CreateTaskRequest | string";
    validateUpdateTask, JsUpdateTaskRequest, UpdateTask, "UpdateTaskRequest | string";
}

/// What moving a task from `from` to `to` needs (the contract's status machine).
///
/// Throws on a value that is not a status.
#[wasm_bindgen(js_name = statusTransition)]
pub fn status_transition_js(from: &JsTaskStatus, to: &JsTaskStatus) -> Result<JsTransition, JsError> {
    let from = from.as_string().unwrap_or_default();
    let to = to.as_string().unwrap_or_default();
    transition(&from, &to).map(|t| JsValue::from_str(t).unchecked_into()).map_err(|e| JsError::new(&e))
}

/// The statuses a task in `from` may move to (`admin_only` moves included).
///
/// Throws on a value that is not a status.
#[wasm_bindgen(js_name = nextStatuses)]
pub fn next_statuses_js(from: &JsTaskStatus) -> Result<JsTaskStatuses, JsError> {
    let from = from.as_string().unwrap_or_default();
    let from = Status::parse("from", &from).map_err(|e| JsError::new(&format!("from: {}", e.message)))?;
    let next: Vec<&str> = Status::ALL
        .into_iter()
        .filter(|to| matches!(from.transition(*to), Transition::Allowed | Transition::ReopenAdminOnly))
        .map(Status::as_str)
        .collect();
    Ok(to_js(&next).unchecked_into())
}

/// The largest body the server accepts, in bytes.
#[wasm_bindgen(js_name = maxBodyBytes)]
pub fn max_body_bytes() -> u32 {
    u32::try_from(MAX_BODY_BYTES).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verdicts_are_the_servers() {
        let ok = check(Operation::CreateTask, br#"{"title":"Ship it","labels":["a"]}"#);
        assert!(ok.valid, "{ok:?}");
        let bad = check(Operation::CreateTask, br#"{"title":"","priority":"whenever"}"#);
        assert_eq!(bad.status, Some(422));
        let fields: Vec<&str> = bad.errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["title", "priority"]);
        let malformed = check(Operation::CreateTask, br#"{"title":"x""#);
        assert_eq!(malformed.status, Some(400));
        let unknown = check(Operation::UpdateTask, br#"{"titel":"x"}"#);
        assert_eq!(unknown.errors.first().map(|e| e.code.as_str()), Some("unknown_field"));
        let big = vec![b' '; MAX_BODY_BYTES + 1];
        assert_eq!(check(Operation::Login, &big).status, Some(413));
    }

    #[test]
    fn the_status_machine_is_the_servers() {
        assert_eq!(transition("todo", "in_progress"), Ok("allowed"));
        assert_eq!(transition("todo", "done"), Ok("forbidden"));
        assert_eq!(transition("done", "todo"), Ok("admin_only"));
        assert_eq!(transition("done", "done"), Ok("noop"));
        assert!(transition("todo", "later").is_err());
    }

    #[test]
    fn every_operation_has_an_id() {
        for op in Operation::ALL {
            assert_eq!(Operation::from_id(op.id()), Some(op));
        }
    }
}
