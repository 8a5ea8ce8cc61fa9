//! Use cases: what the API does, in terms of ports and domain values. Each one loads,
//! authorizes, plans and writes in as few store round trips as the rules allow (one for
//! almost every route; see the README's table), and reads back whether its write landed.

pub mod accounts;
pub mod api_keys;
pub mod auth;
pub mod create;
pub mod members;
pub mod oidc;
pub mod projects;
pub mod tasks;

use crate::domain::ids::EventId;
use crate::error::{internal, ApiError};
use crate::ports::Ports;

/// A fresh time-sortable id.
///
/// # Errors
/// When the random source fails (500).
pub fn new_id(ports: &Ports) -> Result<String, ApiError> {
    crate::ids::uuid_v7(ports.clock.as_ref(), ports.random.as_ref()).map_err(internal)
}

/// A fresh event id (the anchor of a write).
///
/// # Errors
/// When the random source fails (500).
pub fn new_event(ports: &Ports) -> Result<EventId, ApiError> {
    new_id(ports).map(EventId::new)
}

/// A page of items and the position after the last one when more follow.
pub type Page<T, P> = (Vec<T>, Option<P>);
