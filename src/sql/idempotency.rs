//! `Idempotency-Key` inside the creation's own batch: the batch reserves the key for this
//! request (unless a live entry exists), its anchor runs only while this request holds
//! the reservation, the response is recorded only if the anchor landed, an unused
//! reservation is dropped, and the entry is read back. A retry therefore either replays
//! the recorded response or creates, never both, in one round trip.

use super::Params;
use crate::domain::ids::EventId;
use crate::store::{Row, Statement, StoreError};

/// How long a key is remembered.
pub const TTL_MS: i64 = 24 * 3600 * 1000;

/// The key of one request: its principal, the key, and the digest of what was asked.
#[derive(Debug, Clone)]
pub struct Key {
    pub principal: String,
    pub key: String,
    pub request_hash: String,
}

/// A response recorded for a key.
#[derive(Debug, Clone, PartialEq)]
pub struct Stored {
    pub status: u16,
    /// The headers worth replaying (Location, ETag).
    pub headers: Vec<(String, String)>,
    pub body: String,
}

/// The entry as the batch left it.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub request_hash: String,
    /// The anchor event id of the request that holds or held the key.
    pub owner: String,
    pub expires_at: i64,
    pub stored: Option<Stored>,
}

impl Key {
    /// Reserves the key for the request whose anchor is `owner`, replacing an expired entry.
    pub fn reserve(&self, owner: &EventId, now: i64) -> Statement {
        Statement::new(
            "INSERT INTO idempotent_requests (principal_id, key, request_hash, owner, status, headers, body, created_at, expires_at) \
             VALUES (?1, ?2, ?3, ?4, 0, '', '', ?5, ?6) \
             ON CONFLICT (principal_id, key) DO UPDATE SET request_hash = excluded.request_hash, owner = excluded.owner, \
             status = 0, headers = '', body = '', created_at = excluded.created_at, expires_at = excluded.expires_at \
             WHERE idempotent_requests.expires_at <= excluded.created_at",
            vec![
                self.principal.clone().into(),
                self.key.clone().into(),
                self.request_hash.clone().into(),
                owner.into(),
                now.into(),
                now.saturating_add(TTL_MS).into(),
            ],
        )
    }

    /// SQL condition for an anchor: this request (anchor `owner`) holds the reservation.
    pub fn held(&self, p: &mut Params, owner: &EventId) -> String {
        let principal = p.add(self.principal.clone());
        let key = p.add(self.key.clone());
        let owner = p.add(owner);
        format!(
            "EXISTS (SELECT 1 FROM idempotent_requests WHERE principal_id = {principal} AND key = {key} \
             AND owner = {owner} AND status = 0)"
        )
    }

    /// Records the response when the anchor `owner` landed.
    pub fn complete(&self, owner: &EventId, stored: &Stored) -> Statement {
        let headers: String = stored.headers.iter().map(|(k, v)| format!("{k}: {v}\n")).collect();
        let mut p = Params::default();
        let status = p.add(i64::from(stored.status));
        let headers = p.add(headers);
        let body = p.add(stored.body.clone());
        let principal = p.add(self.principal.clone());
        let key = p.add(self.key.clone());
        let owner = p.add(owner);
        Statement::new(
            format!(
                "UPDATE idempotent_requests SET status = {status}, headers = {headers}, body = {body} \
                 WHERE principal_id = {principal} AND key = {key} AND owner = {owner} AND {}",
                super::events::written(&owner)
            ),
            p.into_values(),
        )
    }

    /// Drops this request's reservation if it was not completed.
    pub fn release(&self, owner: &EventId) -> Statement {
        Statement::new(
            "DELETE FROM idempotent_requests WHERE principal_id = ?1 AND key = ?2 AND owner = ?3 AND status = 0",
            vec![self.principal.clone().into(), self.key.clone().into(), owner.into()],
        )
    }

    /// The entry after the batch.
    pub fn read(&self) -> Statement {
        Statement::new(
            "SELECT request_hash, owner, status, headers, body, expires_at FROM idempotent_requests \
             WHERE principal_id = ?1 AND key = ?2",
            vec![self.principal.clone().into(), self.key.clone().into()],
        )
    }
}

/// # Errors
/// A row of another shape.
pub fn decode(r: &Row) -> Result<Entry, StoreError> {
    let status = r.int(2)?;
    let stored = (status != 0).then(|| -> Result<Stored, StoreError> {
        Ok(Stored {
            status: u16::try_from(status).unwrap_or(500),
            headers: r
                .text(3)?
                .lines()
                .filter_map(|l| l.split_once(": ").map(|(k, v)| (k.to_owned(), v.to_owned())))
                .collect(),
            body: r.text(4)?,
        })
    });
    Ok(Entry { request_hash: r.text(0)?, owner: r.text(1)?, expires_at: r.int(5)?, stored: stored.transpose()? })
}
