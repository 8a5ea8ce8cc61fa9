//! Authentication: from a bearer credential to a [`Caller`] and the store the request
//! must use. Access tokens cost no store call (their signature is checked once per
//! instance). An API key is looked up once per instance (what it is never changes); that
//! it still exists is then checked by every request inside its own round trip: the
//! request's store prepends a check to each read and a guard to each write, so a deleted
//! or expired key stops working at once, without an extra round trip.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use sha2::{Digest, Sha256};

use crate::auth::jwt::VerifiedTokens;
use crate::auth::tokens::{self, API_KEY_PREFIX};
use crate::auth::{Caller, Credential};
use crate::domain::ids::{ApiKeyId, SessionId, UserId};
use crate::domain::user::ApiKeyScopes;
use crate::error::ApiError;
use crate::ports::Ports;
use crate::sql::credentials;
use crate::store::{Row, Statement, StmtResult, Store, StoreError};

/// What an instance remembers about credentials it has checked.
#[derive(Debug, Default, Clone)]
pub struct Caches {
    pub tokens: VerifiedTokens,
    pub keys: KeyCache,
}

/// What an API key is: fixed for the key's life.
#[derive(Debug, Clone, PartialEq, Eq)]
struct KnownKey {
    id: ApiKeyId,
    user: UserId,
    write: bool,
    expires_at: Option<i64>,
}

/// API keys seen by this instance, by SHA-256 of the secret; bounded.
#[derive(Debug, Default, Clone)]
pub struct KeyCache(Arc<Mutex<HashMap<[u8; 32], KnownKey>>>);

const KEY_CACHE_CAPACITY: usize = 4096;

impl KeyCache {
    fn get(&self, digest: &[u8; 32]) -> Option<KnownKey> {
        self.0.lock().ok()?.get(digest).cloned()
    }

    fn insert(&self, digest: [u8; 32], key: KnownKey) {
        if let Ok(mut map) = self.0.lock() {
            if map.len() >= KEY_CACHE_CAPACITY {
                map.clear();
            }
            map.insert(digest, key);
        }
    }

    fn forget(&self, digest: &[u8; 32]) {
        if let Ok(mut map) = self.0.lock() {
            map.remove(digest);
        }
    }
}

/// An authenticated caller and the store its request must use.
pub struct Authenticated {
    pub caller: Caller,
    pub store: Arc<dyn Store>,
}

fn unauthenticated(detail: &str) -> ApiError {
    ApiError::InvalidToken(detail.to_owned())
}

const BAD_KEY: &str = "the API key is invalid, expired or revoked";

/// Authenticates a bearer credential: an access token or an API key. With `cached_only`
/// (a client address refused fresh work after too many failures), only credentials this
/// instance has checked before are accepted: `Ok(None)` for any other.
///
/// # Errors
/// `InvalidToken` for anything but a valid, unexpired credential.
pub async fn authenticate(
    ports: &Ports,
    caches: &Caches,
    token: &str,
    cached_only: bool,
) -> Result<Option<Authenticated>, ApiError> {
    let now = ports.clock.now_ms();
    if !token.starts_with(API_KEY_PREFIX) {
        let Some(checked) = ports.settings.jwt.verify_as(&caches.tokens, token, now, cached_only) else {
            return Ok(None);
        };
        let claims = checked.map_err(|_| unauthenticated("the access token is invalid or expired"))?;
        return Ok(Some(Authenticated {
            caller: Caller {
                user_id: UserId::new(claims.sub),
                credential: Credential::Session { sid: SessionId::new(claims.sid) },
            },
            store: ports.store.clone(),
        }));
    }
    if !tokens::well_formed(API_KEY_PREFIX, token) {
        return Err(unauthenticated(BAD_KEY));
    }
    let digest: [u8; 32] = Sha256::digest(token.as_bytes()).into();
    let hash = tokens::hex(&digest);
    let key = match caches.keys.get(&digest) {
        Some(k) => k,
        None if cached_only => return Ok(None),
        None => {
            let rows = ports.store.query(credentials::find_key(&hash, now)).await?;
            let row = rows.first().ok_or_else(|| unauthenticated(BAD_KEY))?;
            let key = KnownKey {
                id: ApiKeyId::new(row.text(0)?),
                user: UserId::new(row.text(1)?),
                write: ApiKeyScopes::stored(&row.text(2)?).can_write(),
                expires_at: row.opt_int(3)?,
            };
            caches.keys.insert(digest, key.clone());
            key
        }
    };
    if key.expires_at.is_some_and(|e| e <= now) {
        caches.keys.forget(&digest);
        return Err(unauthenticated(BAD_KEY));
    }
    Ok(Some(Authenticated {
        store: Arc::new(KeyGuarded {
            inner: ports.store.clone(),
            key_id: key.id.clone(),
            hash,
            digest,
            now,
            cache: caches.keys.clone(),
        }),
        caller: Caller { user_id: key.user, credential: Credential::ApiKey { key_id: key.id, write: key.write } },
    }))
}

/// The store of a request made with an API key: every call first checks, in the same
/// round trip, that the key still exists and has not expired.
struct KeyGuarded {
    inner: Arc<dyn Store>,
    key_id: ApiKeyId,
    hash: String,
    digest: [u8; 32],
    now: i64,
    cache: KeyCache,
}

impl KeyGuarded {
    fn revoked(&self) -> StoreError {
        self.cache.forget(&self.digest);
        StoreError::Revoked(BAD_KEY.to_owned())
    }

    fn check(&self, e: StoreError) -> StoreError {
        match e {
            StoreError::Revoked(_) => self.revoked(),
            other => other,
        }
    }
}

#[async_trait]
impl Store for KeyGuarded {
    async fn query(&self, stmt: Statement) -> Result<Vec<Row>, StoreError> {
        let mut all = self.query_many(vec![stmt]).await?;
        Ok(all.pop().unwrap_or_default())
    }

    async fn execute(&self, stmt: Statement) -> Result<u64, StoreError> {
        let results = self.batch(vec![stmt]).await?;
        Ok(results.first().map_or(0, |r| r.changes))
    }

    async fn batch(&self, stmts: Vec<Statement>) -> Result<Vec<StmtResult>, StoreError> {
        let mut all = Vec::with_capacity(stmts.len().saturating_add(1));
        all.push(credentials::abort_unless_key_live(&self.key_id, &self.hash, self.now));
        all.extend(stmts);
        let mut results = self.inner.batch(all).await.map_err(|e| self.check(e))?;
        if results.is_empty() {
            return Err(StoreError::Decode("a batch returned no results".to_owned()));
        }
        results.remove(0);
        Ok(results)
    }

    async fn query_many(&self, stmts: Vec<Statement>) -> Result<Vec<Vec<Row>>, StoreError> {
        let mut all = Vec::with_capacity(stmts.len().saturating_add(1));
        all.push(credentials::key_live(&self.key_id, &self.hash, self.now));
        all.extend(stmts);
        let mut results = self.inner.query_many(all).await?;
        if results.first().is_none_or(Vec::is_empty) {
            return Err(self.revoked());
        }
        results.remove(0);
        Ok(results)
    }

    fn bookmark(&self) -> Option<String> {
        self.inner.bookmark()
    }
}
