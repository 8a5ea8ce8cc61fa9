//! Authentication primitives: signing keys, access-token JWTs, password hashes, opaque
//! secrets. The use cases that combine them live in `crate::service::accounts`.

pub mod jwt;
pub mod keys;
pub mod password;
pub mod tokens;
