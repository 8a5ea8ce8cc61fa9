//! `Idempotency-Key` on creating POSTs: the first request reserves the key, its success
//! is recorded in the SAME atomic batch as the creation, and a retry with the same key
//! and body replays that response without a second write.

use crate::http::{ApiError, FieldError};
use crate::ports::Ports;
use crate::store::{Statement, StoreError};

/// How long a key is remembered.
pub const TTL_MS: i64 = 24 * 3600 * 1000;

/// A reserved key: the request may proceed and must complete or release it.
#[derive(Debug, Clone)]
pub struct Reservation {
    pub principal: String,
    pub key: String,
}

/// A response stored for a key.
#[derive(Debug, Clone, PartialEq)]
pub struct Stored {
    pub status: u16,
    /// `name: value` lines of the headers worth replaying (Location, ETag).
    pub headers: Vec<(String, String)>,
    pub body: String,
}

/// What to do with a request that carries a key.
#[derive(Debug)]
pub enum Begin {
    Proceed(Reservation),
    Replay(Stored),
}

/// Checks the key's shape: 1–255 visible ASCII characters.
///
/// # Errors
/// A validation problem naming the header.
pub fn validate_key(key: &str) -> Result<(), ApiError> {
    if (1..=255).contains(&key.len()) && key.bytes().all(|b| (0x21..=0x7e).contains(&b)) {
        Ok(())
    } else {
        Err(ApiError::Validation(vec![FieldError::new(
            "Idempotency-Key",
            "invalid",
            "must be 1-255 visible ASCII characters",
        )]))
    }
}

/// Reserves `key` for `principal`, or finds what an earlier request with it did.
///
/// # Errors
/// 422 when the key was used with another request; 409 while the first is in flight.
pub async fn begin(ports: &Ports, principal: &str, key: &str, request_hash: &str) -> Result<Begin, ApiError> {
    validate_key(key)?;
    let now = ports.clock.now_ms();
    for _ in 0..2 {
        let reserved = ports
            .store
            .execute(Statement::new(
                "INSERT INTO idempotency_keys (principal_id, key, request_hash, status, headers, body, created_at, expires_at) \
                 VALUES (?1, ?2, ?3, 0, '', '', ?4, ?5) ON CONFLICT (principal_id, key) DO NOTHING",
                vec![principal.into(), key.into(), request_hash.into(), now.into(), now.saturating_add(TTL_MS).into()],
            ))
            .await?;
        if reserved == 1 {
            return Ok(Begin::Proceed(Reservation {
                principal: principal.to_owned(),
                key: key.to_owned(),
            }));
        }
        let rows = ports
            .store
            .query(Statement::new(
                "SELECT request_hash, status, headers, body, expires_at FROM idempotency_keys \
                 WHERE principal_id = ?1 AND key = ?2",
                vec![principal.into(), key.into()],
            ))
            .await?;
        let Some(row) = rows.first() else { continue };
        if row.int(4)? <= now {
            ports
                .store
                .execute(Statement::new(
                    "DELETE FROM idempotency_keys WHERE principal_id = ?1 AND key = ?2 AND expires_at <= ?3",
                    vec![principal.into(), key.into(), now.into()],
                ))
                .await?;
            continue;
        }
        if row.text(0)? != request_hash {
            return Err(ApiError::Validation(vec![FieldError::new(
                "Idempotency-Key",
                "reused",
                "this key was already used with a different request",
            )]));
        }
        let status = row.int(1)?;
        if status == 0 {
            return Err(ApiError::Conflict(
                "a request with this Idempotency-Key is still being processed; retry shortly".to_owned(),
            ));
        }
        let headers = row
            .text(2)?
            .lines()
            .filter_map(|l| l.split_once(": ").map(|(k, v)| (k.to_owned(), v.to_owned())))
            .collect();
        return Ok(Begin::Replay(Stored {
            status: u16::try_from(status).unwrap_or(500),
            headers,
            body: row.text(3)?,
        }));
    }
    Err(ApiError::Unavailable(
        "idempotency key could not be reserved".to_owned(),
    ))
}

impl Reservation {
    /// The statement that records the response; put it in the creation's batch.
    pub fn complete(&self, stored: &Stored) -> Statement {
        let headers: String = stored.headers.iter().map(|(k, v)| format!("{k}: {v}\n")).collect();
        Statement::new(
            "UPDATE idempotency_keys SET status = ?1, headers = ?2, body = ?3 WHERE principal_id = ?4 AND key = ?5",
            vec![
                i64::from(stored.status).into(),
                headers.into(),
                stored.body.clone().into(),
                self.principal.clone().into(),
                self.key.clone().into(),
            ],
        )
    }

    /// Frees the key after a failed request, so a corrected retry may use it.
    pub async fn release(&self, ports: &Ports) {
        let r: Result<u64, StoreError> = ports
            .store
            .execute(Statement::new(
                "DELETE FROM idempotency_keys WHERE principal_id = ?1 AND key = ?2 AND status = 0",
                vec![self.principal.clone().into(), self.key.clone().into()],
            ))
            .await;
        // A leftover reservation only blocks this key until it expires.
        let _ = r;
    }
}
