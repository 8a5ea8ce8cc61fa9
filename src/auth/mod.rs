//! Authentication primitives: the caller, signing keys, access-token JWTs, password
//! hashes, opaque secrets. The use cases that combine them live in `crate::service`.

pub mod caller;
pub mod cookie;
pub mod jwt;
pub mod keys;
pub mod password;
pub mod tokens;

pub use caller::{Caller, Credential};
pub use cookie::SessionMode;
