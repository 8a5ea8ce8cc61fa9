//! Use cases: what the API does, in terms of ports and domain values.

pub mod accounts;
pub mod events;
pub mod idempotency;
pub mod projects;
pub mod tasks;

/// Whether the first statement of a batch wrote its row. Its SQL ends in `RETURNING 1`:
/// D1 counts rows removed by `ON DELETE CASCADE` in `changes`, so a returned row is the
/// one signal every driver reports the same way.
pub fn landed(results: &[crate::store::StmtResult]) -> bool {
    results.first().is_some_and(|r| !r.rows.is_empty())
}

/// Escapes `%`, `_` and `\` so user text matches literally in `LIKE … ESCAPE '\'`.
pub fn like_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
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
    fn like_wildcards_are_escaped() {
        assert_eq!(like_escape(r"50%_off\"), r"50\%\_off\\");
    }

    #[test]
    fn etags_match_lists_stars_and_weak_forms() {
        assert!(etag_matches("\"a\", \"b\"", "\"b\""));
        assert!(etag_matches("*", "\"b\""));
        assert!(etag_matches("W/\"b\"", "\"b\""));
        assert!(!etag_matches("\"c\"", "\"b\""));
    }
}
