//! SQL: every statement of the API, its column lists and its row decoding, written once
//! and run unchanged on D1, Spin SQLite and rusqlite.
//!
//! Every write is ONE atomic batch whose statements carry their own guards. The first
//! write of a batch is its *anchor*, usually the event that records the change: an
//! `INSERT … SELECT … WHERE <every rule>` reading the current rows. Every later statement
//! runs only `WHERE EXISTS` that anchor, so the change and its event land together or not
//! at all, and no rule is checked by a read that another request could overtake. The
//! batch also reads the state the rules looked at (its *state* statement), so a write that
//! did not land is explained (404, 403, 409, 412, 422) from the same snapshot, in the same
//! round trip.

pub mod accounts;
pub mod api_keys;
pub mod credentials;
pub mod events;
pub mod idempotency;
pub mod members;
pub mod oidc;
pub mod projects;
pub mod task_list;
pub mod tasks;

use crate::domain::ids::{ApiKeyId, EventId, IdentityId, ProjectId, SessionId, TaskId, UserId};
use crate::error::ApiError;
use crate::store::{Row, StmtResult, Value};

macro_rules! id_values {
    ($($t:ty),*) => {$(
        impl From<&$t> for Value {
            fn from(v: &$t) -> Self {
                Value::Text(v.as_str().to_owned())
            }
        }
        impl From<$t> for Value {
            fn from(v: $t) -> Self {
                Value::Text(v.as_str().to_owned())
            }
        }
    )*};
}
id_values!(UserId, ProjectId, TaskId, ApiKeyId, SessionId, EventId, IdentityId);

/// The parameters of one statement: each value added gets the next `?N`, returned for
/// the SQL text, so long statements cannot miscount.
#[derive(Debug, Default)]
pub struct Params(Vec<Value>);

impl Params {
    pub fn add(&mut self, v: impl Into<Value>) -> String {
        self.0.push(v.into());
        format!("?{}", self.0.len())
    }

    pub fn into_values(self) -> Vec<Value> {
        self.0
    }
}

/// The `LIMIT` of a page query: one row more than the page, to learn whether more follow.
pub fn fetch_limit(limit: usize) -> Value {
    Value::Integer(i64::try_from(limit).unwrap_or(100).saturating_add(1))
}

/// Turns the rows of a page query (fetched with [`fetch_limit`]) into the page's items and
/// whether another page follows.
///
/// # Errors
/// The first row that does not decode.
pub fn page<T>(
    rows: &[Row],
    limit: usize,
    decode: impl Fn(&Row) -> Result<T, ApiError>,
) -> Result<(Vec<T>, bool), ApiError> {
    let items = rows.iter().take(limit).map(decode).collect::<Result<Vec<_>, _>>()?;
    Ok((items, rows.len() > limit))
}

/// Whether statement `index` of a batch returned a row: anchors and guarded writes end in
/// `RETURNING`, and a returned row is the one signal every driver reports the same way
/// (D1 counts rows removed by `ON DELETE CASCADE` in `changes`).
pub fn landed(results: &[StmtResult], index: usize) -> bool {
    results.get(index).is_some_and(|r| !r.rows.is_empty())
}

/// The rows statement `index` of a batch returned.
pub fn rows(results: &[StmtResult], index: usize) -> &[Row] {
    results.get(index).map_or(&[], |r| r.rows.as_slice())
}

/// The form of a `q` search term that `instr(lower(column), ?)` matches: ASCII letters
/// lowered, exactly like SQLite's `lower()` (no ICU), so the comparison is
/// case-insensitive for ASCII and exact otherwise. `instr` instead of `LIKE`: no
/// wildcards to escape, and no pattern-length limit (D1 caps LIKE patterns at 50 bytes).
pub fn search_term(q: &str) -> String {
    q.to_ascii_lowercase()
}

/// `('a', 'b')`: an SQL list of the API's own constants (role and status names, never
/// input), so guards can name them without parameters.
pub fn constants<'a>(values: impl IntoIterator<Item = &'a str>) -> String {
    let quoted: Vec<String> = values.into_iter().map(|v| format!("'{v}'")).collect();
    format!("({})", quoted.join(", "))
}

/// An SQL condition for an `If-Match`: the entity tag `etag_expr` (SQL) is one of those
/// expected (bound as a JSON array), or true when anything matches.
pub fn precondition(p: &mut Params, expect: &crate::domain::Expect, etag_expr: &str) -> String {
    match expect.to_json() {
        Some(tags) => format!("{etag_expr} IN (SELECT value FROM json_each({}))", p.add(tags)),
        None => "1".to_owned(),
    }
}

/// An SQL JSON boolean from a Rust one.
pub fn json_bool(b: bool) -> &'static str {
    if b {
        "true"
    } else {
        "false"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn params_number_themselves() {
        let mut p = Params::default();
        assert_eq!(p.add("a"), "?1");
        assert_eq!(p.add(2_i64), "?2");
        assert_eq!(p.into_values(), vec![Value::from("a"), Value::Integer(2)]);
        assert_eq!(constants(["owner", "admin"]), "('owner', 'admin')");
    }
}
