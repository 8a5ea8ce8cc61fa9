//! Use cases: what the API does, in terms of ports and domain values.

pub mod accounts;
pub mod events;
pub mod idempotency;
pub mod projects;
pub mod tasks;

/// The `LIMIT` of a page query: one row more than the page, to learn whether more follow.
pub fn fetch_limit(limit: usize) -> crate::store::Value {
    crate::store::Value::Integer(i64::try_from(limit).unwrap_or(100).saturating_add(1))
}

/// Turns the rows of a page query (fetched with [`fetch_limit`]) into the page's items and
/// whether another page follows.
///
/// # Errors
/// The first row that does not decode.
pub fn page<T>(
    rows: &[crate::store::Row],
    limit: usize,
    decode: impl Fn(&crate::store::Row) -> Result<T, crate::http::ApiError>,
) -> Result<(Vec<T>, bool), crate::http::ApiError> {
    let items = rows.iter().take(limit).map(decode).collect::<Result<Vec<_>, _>>()?;
    Ok((items, rows.len() > limit))
}

/// Whether the first statement of a batch wrote its row. Its SQL ends in `RETURNING 1`:
/// D1 counts rows removed by `ON DELETE CASCADE` in `changes`, so a returned row is the
/// one signal every driver reports the same way.
pub fn landed(results: &[crate::store::StmtResult]) -> bool {
    results.first().is_some_and(|r| !r.rows.is_empty())
}

/// The form of a `q` search term that `instr(lower(column), ?)` matches: ASCII letters
/// lowered, exactly like SQLite's `lower()` (no ICU), so the comparison is
/// case-insensitive for ASCII and exact otherwise. `instr` instead of `LIKE`: no
/// wildcards to escape, and no pattern-length limit (D1 caps LIKE patterns at 50 bytes).
pub fn search_term(q: &str) -> String {
    q.to_ascii_lowercase()
}

/// Whether an `If-Match`/`If-None-Match` header value matches `etag` (`*` matches all;
/// weak comparison, so `W/"x"` matches `"x"`).
pub fn etag_matches(header: &str, etag: &str) -> bool {
    header
        .split(',')
        .map(str::trim)
        .any(|t| t == "*" || t.trim_start_matches("W/") == etag)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn etags_match_lists_stars_and_weak_forms() {
        assert!(etag_matches("\"a\", \"b\"", "\"b\""));
        assert!(etag_matches("*", "\"b\""));
        assert!(etag_matches("W/\"b\"", "\"b\""));
        assert!(!etag_matches("\"c\"", "\"b\""));
    }
}
