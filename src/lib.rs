//! Task API core: the HTTP contract, domain rules and SQL, independent of any host platform.
//!
//! Hosts (Cloudflare Workers, Spin, the native test host) build [`Ports`] from their
//! bindings, call [`app`] once, and feed it `http::Request`s.

pub mod auth;
pub mod clock;
pub mod counting;
pub mod domain;
pub mod error;
pub mod faults;
pub mod http;
pub mod ids;
pub mod migrations;
pub mod oidc;
pub mod ports;
pub mod ratelimit;
pub mod service;
pub mod settings;
pub mod sql;
pub mod store;
pub mod trace;

pub use error::{ApiError, FieldError};
pub use http::app;
pub use ports::{Clock, HttpClient, Logger, Metrics, NoHttp, NoMetrics, NoSharedCache, Ports, Random, SharedCache};
pub use settings::{Settings, SettingsError};
pub use store::{Row, Statement, Store, StoreError, Value};

/// The version reported by `GET /v1/health` and the OpenAPI document.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
