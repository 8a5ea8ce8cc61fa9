//! GCRA on the SQL store in one atomic upsert per request (Spin, native): the row's `tat`
//! moves only when the request is allowed, and `allowed` reports which happened.

use std::sync::Arc;

use super::{gcra, Checked, Decision, LimiterError, Quota, RateLimiter};
use crate::store::{Statement, Store, StoreError};

pub struct SqlRateLimiter {
    pub store: Arc<dyn Store>,
}

/// `?1` key, `?2` now, `?3` emission interval, `?4` window. SET expressions all see the
/// old row, so `allowed` and `tat` are decided on the same state.
pub const UPSERT_SQL: &str =
    "INSERT INTO rate_limits (key, tat, allowed, expires_at) VALUES (?1, ?2 + ?3, 1, ?2 + ?3) \
     ON CONFLICT (key) DO UPDATE SET \
     allowed = CASE WHEN max(tat, ?2) + ?3 - ?2 <= ?4 THEN 1 ELSE 0 END, \
     tat = CASE WHEN max(tat, ?2) + ?3 - ?2 <= ?4 THEN max(tat, ?2) + ?3 ELSE tat END, \
     expires_at = CASE WHEN max(tat, ?2) + ?3 - ?2 <= ?4 THEN max(tat, ?2) + ?3 ELSE tat END \
     RETURNING tat, allowed";

/// `?1` key, `?2` now, `?3` emission interval: one request given back (see `refund`).
pub const REFUND_SQL: &str =
    "UPDATE rate_limits SET tat = max(tat - ?3, ?2), expires_at = max(tat - ?3, ?2) WHERE key = ?1";

fn err(e: StoreError) -> LimiterError {
    LimiterError(e.to_string())
}

#[async_trait::async_trait]
impl RateLimiter for SqlRateLimiter {
    async fn check(&self, key: &str, quota: Quota, now: i64, consume: bool) -> Result<Checked, LimiterError> {
        let t = quota.emission_interval_ms();
        if !consume {
            let rows = self
                .store
                .query(Statement::new("SELECT tat FROM rate_limits WHERE key = ?1", vec![key.into()]))
                .await
                .map_err(err)?;
            let tat = rows.first().map(|r| r.int(0)).transpose().map_err(err)?;
            return Ok(Checked { decision: gcra(tat, now, quota), remote_calls: 1 });
        }
        let rows = self
            .store
            .query(Statement::new(UPSERT_SQL, vec![key.into(), now.into(), t.into(), quota.window().into()]))
            .await
            .map_err(err)?;
        let row = rows.first().ok_or_else(|| LimiterError("upsert returned no row".to_owned()))?;
        let decision = Decision::from_state(row.int(0).map_err(err)?, row.bool(1).map_err(err)?, now, quota);
        // Expired rows are swept now and then, by whichever request draws the short straw.
        if now % 64 == 0 {
            let _ = self
                .store
                .execute(Statement::new("DELETE FROM rate_limits WHERE expires_at < ?1", vec![now.into()]))
                .await;
        }
        Ok(Checked { decision, remote_calls: 1 })
    }

    async fn refund(&self, key: &str, quota: Quota, now: i64) -> Result<u32, LimiterError> {
        self.store
            .execute(Statement::new(REFUND_SQL, vec![key.into(), now.into(), quota.emission_interval_ms().into()]))
            .await
            .map_err(err)?;
        Ok(1)
    }
}
