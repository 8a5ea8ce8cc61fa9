//! The native host's tests, in one binary so that shared setup is written once: the
//! conformance suite on a loopback port, in-process behaviour a black-box run cannot
//! reach, atomicity under failing statements, store round trips per route, query
//! plans, and the OpenAPI document's drift checks.

// Test code: a failed expectation should panic loudly.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
#![allow(clippy::indexing_slicing, clippy::arithmetic_side_effects)]

mod atomicity;
mod common;
mod conformance;
mod in_process;
mod oidc_cache;
mod openapi;
mod query_plans;
mod round_trips;
