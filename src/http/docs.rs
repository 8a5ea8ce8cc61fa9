//! `GET /docs`: the API reference for people (Swagger UI), served by the API itself so
//! the page makes no request to any other host. Embedded on hosts without static
//! assets (Spin, native); Workers serve the same files as static assets.

use axum::response::IntoResponse;
use http::{header, HeaderValue};

const INDEX: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/index.html"));
const INIT: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/init.js"));
const CSS: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/swagger-ui.css"));
const BUNDLE: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/swagger-ui-bundle.js"));

/// Only this host's scripts, styles (Swagger UI sets inline styles) and data: images.
pub const CSP: &str = "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; \
     script-src 'self'; connect-src 'self'; frame-ancestors 'none'";

fn asset(body: &'static [u8], content_type: &'static str) -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
            (header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=3600")),
            (header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP)),
        ],
        body,
    )
}

/// The API reference page.
pub async fn page() -> impl IntoResponse {
    asset(INDEX, "text/html; charset=utf-8")
}

pub async fn init_js() -> impl IntoResponse {
    asset(INIT, "text/javascript; charset=utf-8")
}

pub async fn css() -> impl IntoResponse {
    asset(CSS, "text/css; charset=utf-8")
}

pub async fn bundle() -> impl IntoResponse {
    asset(BUNDLE, "text/javascript; charset=utf-8")
}
