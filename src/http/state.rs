//! The router's state and the one per-request context handlers take. The state (built
//! once per isolate/instance) is opaque: only the request middleware turns it into a
//! [`Ctx`], whose store is the request's own (its replica session, its fault injection,
//! and, once authenticated with an API key, the key's guard). A handler therefore cannot
//! reach the store any other way.

use std::sync::{Arc, OnceLock};

use axum::extract::FromRequestParts;
use bytes::Bytes;
use http::request::Parts;

use super::pagination::CursorCodec;
use crate::counting::{CountedHttp, CountedLimiter, CountedStore, RoundTrips};
use crate::error::{internal, ApiError};
use crate::ports::Ports;
use crate::service::auth::Caches;
use crate::store::Store;

/// Router state: what the instance builds once. Nothing of it is public.
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

struct Shared {
    ports: Ports,
    cursors: CursorCodec,
    caches: Caches,
    oidc: crate::oidc::Providers,
    openapi: OnceLock<Bytes>,
    doc: utoipa::openapi::OpenApi,
}

impl AppState {
    pub(super) fn new(ports: Ports, doc: utoipa::openapi::OpenApi) -> Self {
        let cursors = CursorCodec::new(ports.settings.cursor_key());
        let oidc = crate::oidc::Providers::new(ports.settings.oidc_providers.clone());
        AppState(Arc::new(Shared { ports, cursors, caches: Caches::default(), oidc, openapi: OnceLock::new(), doc }))
    }

    /// The instance's ports as the host built them: for the request middleware only
    /// (clock, logger, settings, and the store a request's session is opened from).
    pub(super) fn base(&self) -> Ctx {
        Ctx { ports: self.0.ports.clone(), app: self.clone() }
    }

    /// The context of one request, on `store` (or the instance's store), with its store
    /// and limiter calls counted in `trips`: called by the request middleware only, which
    /// decides the request's store.
    pub(super) fn request(
        &self,
        store: Option<Arc<dyn Store>>,
        trips: &Arc<RoundTrips>,
        trace: &crate::trace::TraceContext,
    ) -> Ctx {
        let mut ports = self.0.ports.clone();
        ports.store = Arc::new(CountedStore { inner: store.unwrap_or(ports.store), trips: trips.clone() });
        ports.limiter = Arc::new(CountedLimiter { inner: ports.limiter, trips: trips.clone() });
        ports.http = Arc::new(CountedHttp {
            inner: ports.http,
            trips: trips.clone(),
            traceparent: http::HeaderValue::from_str(&trace.header()).ok(),
        });
        Ctx { ports, app: self.clone() }
    }
}

/// One request's context: the ports with the request's store, and the instance's shared
/// parts (cursor codec, credential caches, the OpenAPI document).
#[derive(Clone)]
pub struct Ctx {
    pub ports: Ports,
    app: AppState,
}

impl Ctx {
    pub fn cursors(&self) -> &CursorCodec {
        &self.app.0.cursors
    }

    pub fn caches(&self) -> &Caches {
        &self.app.0.caches
    }

    /// The configured OpenID providers, with the instance's cache of their metadata.
    pub fn oidc(&self) -> &crate::oidc::Providers {
        &self.app.0.oidc
    }

    /// The same request on another store (the authenticated caller's).
    pub fn with_store(&self, store: Arc<dyn Store>) -> Ctx {
        let mut ports = self.ports.clone();
        ports.store = store;
        Ctx { ports, app: self.app.clone() }
    }

    /// The serialized OpenAPI document, rendered on first use.
    pub fn openapi_json(&self) -> Bytes {
        self.app
            .0
            .openapi
            .get_or_init(|| {
                serde_json::to_vec(&super::openapi::finish_document(&self.app.0.doc)).unwrap_or_default().into()
            })
            .clone()
    }

    /// The request's context, which the middleware put in its extensions.
    ///
    /// # Errors
    /// Internal, if the router was built without the middleware.
    pub fn of(parts: &Parts) -> Result<Ctx, ApiError> {
        parts.extensions.get::<Ctx>().cloned().ok_or_else(|| internal("request context missing"))
    }
}

impl FromRequestParts<AppState> for Ctx {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &AppState) -> Result<Self, Self::Rejection> {
        Ctx::of(parts)
    }
}
