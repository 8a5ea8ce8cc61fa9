//! Use cases: what the API does, in terms of ports and domain values.

pub mod accounts;
