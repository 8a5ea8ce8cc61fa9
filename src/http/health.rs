//! `GET /v1/health`: liveness plus a real round trip to the database.

use axum::Json;
use serde::Serialize;
use utoipa::ToSchema;

use super::state::Ctx;
use crate::error::ApiError;
use crate::store::Statement;

/// Health of the API and its database.
#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    /// Always `ok` in a 200 response.
    #[schema(example = "ok")]
    pub status: &'static str,
    /// `ok` when a query reached the database.
    #[schema(example = "ok")]
    pub database: &'static str,
    /// The API's build version.
    #[schema(example = "0.1.0")]
    pub version: &'static str,
}

/// Reports whether the API can serve: answers 200 only after a query reached the database.
#[utoipa::path(get, path = "/v1/health", tag = "operations", operation_id = "getHealth",
    security(),
    responses(
        (status = 200, description = "The API and its database are up", body = Health),
        (status = 503, description = "The database cannot be reached", body = super::Problem),
    ))]
pub async fn health(ctx: Ctx) -> Result<Json<Health>, ApiError> {
    ctx.ports
        .store
        .query(Statement::new("SELECT 1", Vec::new()))
        .await
        .map_err(|e| ApiError::Unavailable(format!("health check query failed: {e}")))?;
    Ok(Json(Health { status: "ok", database: "ok", version: crate::VERSION }))
}
