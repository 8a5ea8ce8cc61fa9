//! Creations in one round trip, with or without an `Idempotency-Key`: the batch reserves
//! the key, reads the state the rules look at, runs the guarded writes (the anchor holds
//! the reservation), records the response only if the anchor landed, drops an unused
//! reservation, and reads the entry back (see `sql::idempotency`).

use crate::domain::ids::EventId;
use crate::error::{internal, ApiError};
use crate::ports::Ports;
use crate::sql::idempotency::{self, Entry, Key, Stored};
use crate::store::{Row, Statement, StmtResult};

/// A creation to run: `writes[0]` is the anchor.
pub struct Creation<'a> {
    pub event: &'a EventId,
    /// What the rules look at, read in the same batch (explains a refusal).
    pub state: Option<Statement>,
    pub writes: Vec<Statement>,
    /// The request's key and the response to record for it.
    pub idempotency: Option<(&'a Key, &'a Stored)>,
}

/// What happened.
#[derive(Debug)]
pub enum Outcome {
    /// An earlier request with the same key and body created it: its response.
    Replay(Stored),
    /// This request ran: whether the anchor landed, the state row, the writes' results.
    Ran { landed: bool, state: Option<Row>, writes: Vec<StmtResult> },
}

/// Runs a creation as one batch.
///
/// # Errors
/// 422 for a key reused with another request, 409 for a key whose first request left no
/// response (only possible for entries of an older version), store failures.
pub async fn run(ports: &Ports, c: Creation<'_>) -> Result<Outcome, ApiError> {
    let now = ports.clock.now_ms();
    let mut stmts = Vec::with_capacity(c.writes.len().saturating_add(5));
    if let Some((key, _)) = c.idempotency {
        stmts.push(key.reserve(c.event, now));
    }
    let state_at = c.state.is_some().then_some(stmts.len());
    stmts.extend(c.state);
    let writes_at = stmts.len();
    let n_writes = c.writes.len();
    stmts.extend(c.writes);
    let read_at = c.idempotency.map(|(key, stored)| {
        stmts.push(key.complete(c.event, stored));
        stmts.push(key.release(c.event));
        stmts.push(key.read());
        stmts.len().saturating_sub(1)
    });
    let mut results = ports.store.batch(stmts).await?;
    if let (Some(at), Some((key, _))) = (read_at, c.idempotency) {
        let entry = crate::sql::rows(&results, at).first().map(idempotency::decode).transpose()?;
        if let Some(entry) = entry.filter(|e| e.owner != c.event.as_str()) {
            return earlier(entry, key).map(Outcome::Replay);
        }
    }
    let landed = crate::sql::landed(&results, writes_at);
    let state = state_at.and_then(|i| crate::sql::rows(&results, i).first().cloned());
    let end = writes_at.saturating_add(n_writes);
    if results.len() < end {
        return Err(internal("the store returned fewer results than statements"));
    }
    results.truncate(end);
    let writes = results.split_off(writes_at);
    Ok(Outcome::Ran { landed, state, writes })
}

/// What a creation answered.
#[derive(Debug)]
pub enum Created {
    /// Created now.
    New(Stored),
    /// Created by an earlier request with the same `Idempotency-Key` and body.
    Replay(Stored),
}

/// Runs a creation whose response is known before the write, and explains a refusal
/// from the state row.
///
/// # Errors
/// The explanation, or the creation's own errors.
pub async fn created(
    ports: &Ports,
    c: Creation<'_>,
    stored: Stored,
    explain: impl FnOnce(Option<&crate::store::Row>) -> Result<(), ApiError>,
) -> Result<Created, ApiError> {
    match run(ports, c).await? {
        Outcome::Replay(s) => Ok(Created::Replay(s)),
        Outcome::Ran { landed: true, .. } => Ok(Created::New(stored)),
        Outcome::Ran { landed: false, state, .. } => {
            explain(state.as_ref())?;
            Err(internal("a creation was refused by its guard without a reason"))
        }
    }
}

/// The response an earlier request with this key recorded.
///
/// # Errors
/// 422 when that request had another body, 409 when it recorded nothing.
pub fn earlier(entry: Entry, key: &Key) -> Result<Stored, ApiError> {
    if entry.request_hash != key.request_hash {
        return Err(ApiError::field("Idempotency-Key", "reused", "this key was already used with a different request"));
    }
    entry.stored.ok_or_else(|| {
        ApiError::Conflict("a request with this Idempotency-Key is still being processed; retry shortly".to_owned())
    })
}

/// Longest `Idempotency-Key` accepted.
pub const KEY_MAX_LEN: usize = 255;

/// Checks an `Idempotency-Key`'s shape: 1–255 visible ASCII characters.
///
/// # Errors
/// A validation problem naming the header.
pub fn validate_key(key: &str) -> Result<(), ApiError> {
    if (1..=KEY_MAX_LEN).contains(&key.len()) && key.bytes().all(|b| (0x21..=0x7e).contains(&b)) {
        Ok(())
    } else {
        Err(ApiError::field("Idempotency-Key", "invalid", "must be 1-255 visible ASCII characters"))
    }
}
