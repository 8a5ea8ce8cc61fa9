//! The HTTP layer: one router for every host, with the cross-cutting rules of the
//! contract (request ids, problem+json, security headers, CORS, one log line per request).

pub mod accounts;
pub mod api_keys;
pub mod auth;
pub mod conditional;
#[cfg(feature = "docs")]
pub mod docs;
pub mod extract;
pub mod health;
pub mod limits;
pub mod members;
pub mod middleware;
pub mod oidc;
pub mod openapi;
pub mod pagination;
pub mod problem;
pub mod projects;
pub mod state;
pub mod tasks;

use axum::Router;
use utoipa::OpenApi;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::error::ApiError;
use crate::ports::Ports;
pub use problem::Problem;
pub use state::{AppState, Ctx};

/// Builds the router and the OpenAPI document from the same route table, so the
/// document cannot list a route the router lacks or miss one it has.
pub fn router_and_doc() -> (Router<AppState>, utoipa::openapi::OpenApi) {
    OpenApiRouter::with_openapi(openapi::ApiDoc::openapi())
        .routes(routes!(health::health))
        .routes(routes!(openapi::openapi_json))
        .routes(routes!(accounts::register))
        .routes(routes!(accounts::login))
        .routes(routes!(accounts::refresh))
        .routes(routes!(accounts::logout))
        .routes(routes!(accounts::logout_all))
        .routes(routes!(accounts::get_me, accounts::update_me))
        .routes(routes!(accounts::change_password))
        .routes(routes!(oidc::list_providers))
        .routes(routes!(oidc::authorize))
        .routes(routes!(oidc::callback))
        .routes(routes!(oidc::token))
        .routes(routes!(oidc::list_identities))
        .routes(routes!(oidc::unlink_identity, oidc::link_identity))
        .routes(routes!(api_keys::create_api_key, api_keys::list_api_keys))
        .routes(routes!(api_keys::delete_api_key))
        .routes(routes!(projects::create_project, projects::list_projects))
        .routes(routes!(projects::get_project, projects::update_project, projects::delete_project))
        .routes(routes!(members::list_members, members::add_member))
        .routes(routes!(members::update_member, members::remove_member))
        .routes(routes!(projects::list_events))
        .routes(routes!(tasks::create_task, tasks::list_tasks))
        .routes(routes!(tasks::get_task, tasks::update_task, tasks::delete_task))
        .routes(routes!(tasks::list_my_tasks))
        .split_for_parts()
}

/// The application: every host calls this once with its ports and serves the result.
pub fn app(ports: Ports) -> Router {
    let (router, doc) = router_and_doc();
    let state = AppState::new(ports, doc);
    #[cfg(feature = "docs")]
    let router = {
        use axum::routing::get;
        // The reference page and its assets (not API operations, so not in the document
        // beyond `/docs` itself, which `openapi::finish_document` adds for every host).
        router
            .route("/docs", get(docs::page))
            .route("/docs/", get(docs::page))
            .route("/docs/init.js", get(docs::init_js))
            .route("/docs/swagger-ui.css", get(docs::css))
            .route("/docs/swagger-ui-bundle.js", get(docs::bundle))
    };
    router
        .fallback(middleware::not_found)
        .method_not_allowed_fallback(middleware::method_not_allowed)
        .layer(axum::middleware::from_fn_with_state(state.clone(), middleware::request_context))
        .with_state(state)
}

/// The answer of a host that could not build the app (bad configuration): a 500
/// problem without internals. The host logs the reason itself.
pub fn startup_failure(headers: &http::HeaderMap) -> axum::response::Response {
    let request_id = headers
        .get(&middleware::X_REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|id| middleware::valid_request_id(id))
        .unwrap_or("startup-failure")
        .to_owned();
    internal_failure(&request_id)
}

/// The answer of a host that caught a panic of the request it was handling: a 500
/// problem with the request id the panic was logged with.
pub fn panic_response() -> axum::response::Response {
    let request_id = crate::faults::current_request().unwrap_or_else(|| "panic".to_owned());
    internal_failure(&request_id)
}

fn internal_failure(request_id: &str) -> axum::response::Response {
    let mut problem = problem::to_problem(&ApiError::Internal(String::new()));
    let mut res = problem::render(&mut problem, request_id);
    if let Ok(v) = http::HeaderValue::from_str(request_id) {
        res.headers_mut().insert(middleware::X_REQUEST_ID, v);
    }
    res.headers_mut().insert(http::header::X_CONTENT_TYPE_OPTIONS, http::HeaderValue::from_static("nosniff"));
    res.headers_mut().insert(http::header::CACHE_CONTROL, http::HeaderValue::from_static("no-store"));
    res
}
