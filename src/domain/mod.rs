//! Domain values and entities: request fields are parsed into these once; code past that
//! point cannot hold an invalid value. Each text value carries its limits as constants,
//! which the OpenAPI document reads, so the two cannot disagree.

pub mod event;
pub mod ids;
pub mod project;
pub mod task;
pub mod user;

use crate::error::FieldError;

/// JSON Schema patterns matching exactly what [`TextKind::parse`] accepts (used in the
/// OpenAPI document, so generated clients and fuzzers know the rules).
pub mod patterns {
    /// One line with at least one visible character, no control characters.
    pub const LINE: &str = r"^[^\x00-\x1f\x7f-\x9f]*[^\x00-\x20\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$";
    /// Free text: newlines and tabs allowed, other control characters not.
    pub const MULTILINE: &str = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]*$";
    /// What `Email::parse` accepts: one `@`, a dotted domain, no spaces or controls.
    pub const EMAIL: &str =
        r"^[^@\s\x00-\x1f\x7f-\x9f]{1,64}@[^@\s.\x00-\x1f\x7f-\x9f]+(\.[^@\s.\x00-\x1f\x7f-\x9f]+)+$";
    /// Any text without control characters, blank included (query-string filters).
    pub const NO_CONTROLS: &str = r"^[^\x00-\x1f\x7f-\x9f]*$";
}

/// Longest search text (`q`) a list accepts, in characters.
pub const SEARCH_MAX: usize = 200;

/// A text a list takes from its query string (`q`, `label`): `min..=max` characters
/// (Unicode scalar values) without control characters ([`patterns::NO_CONTROLS`]), taken
/// as given (not trimmed).
///
/// # Errors
/// `too_short`, `too_long` or `invalid_characters` on `field`.
pub fn query_text<'a>(field: &str, s: &'a str, min: usize, max: usize) -> Result<&'a str, FieldError> {
    let len = s.chars().count();
    if len < min {
        return Err(FieldError::new(field, "too_short", format!("must be at least {min} characters")));
    }
    if len > max {
        return Err(FieldError::new(field, "too_long", format!("must be at most {max} characters")));
    }
    if s.chars().any(char::is_control) {
        return Err(FieldError::new(field, "invalid_characters", "must not contain control characters"));
    }
    Ok(s)
}

/// Trims the ASCII whitespace around a one-line text (what [`patterns::LINE`] ignores).
pub fn trim_line(s: &str) -> &str {
    s.trim_matches(|c: char| c.is_ascii_whitespace())
}

/// The two shapes of text the contract knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextKind {
    /// One line, trimmed, no control characters (names, titles, labels).
    Line,
    /// Free text with newlines and tabs, kept as sent (descriptions).
    Multiline,
}

impl TextKind {
    pub const fn multiline(self) -> bool {
        matches!(self, TextKind::Multiline)
    }

    /// A text of `min..=max` characters (Unicode scalar values) of this kind.
    ///
    /// # Errors
    /// `required`/`too_short`/`too_long`/`invalid_characters`.
    pub fn parse(self, field: &str, value: &str, min: usize, max: usize) -> Result<String, FieldError> {
        let value = if self.multiline() { value } else { trim_line(value) };
        let len = value.chars().count();
        if len < min {
            let code = if value.is_empty() { "required" } else { "too_short" };
            return Err(FieldError::new(field, code, format!("must be at least {min} characters")));
        }
        if len > max {
            return Err(FieldError::new(field, "too_long", format!("must be at most {max} characters")));
        }
        let multiline = self.multiline();
        if value.chars().any(|c| c.is_control() && !(multiline && (c == '\n' || c == '\t' || c == '\r'))) {
            return Err(FieldError::new(field, "invalid_characters", "must not contain control characters"));
        }
        Ok(value.to_owned())
    }
}

/// Declares a text value of the contract: a newtype that only its parser can fill (or
/// the database, which only ever stores parsed values), with its limits as constants.
macro_rules! text_value {
    ($(#[$meta:meta])* $name:ident, $min:expr, $max:expr, $kind:ident) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// Fewest characters accepted.
            pub const MIN: usize = $min;
            /// Most characters accepted.
            pub const MAX: usize = $max;
            /// Whether newlines and tabs are allowed (and surrounding blanks kept).
            pub const MULTILINE: bool = $crate::domain::TextKind::$kind.multiline();

            /// # Errors
            /// A field error on `field` when the text breaks the rules.
            pub fn parse(field: &str, s: &str) -> Result<Self, $crate::error::FieldError> {
                $crate::domain::TextKind::$kind.parse(field, s, Self::MIN, Self::MAX).map(Self)
            }

            /// A value read back from the database, which only stores parsed values.
            pub fn stored(s: String) -> Self {
                Self(s)
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}
pub(crate) use text_value;

/// What a conditional write expects of the current representation: `If-Match`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Expect {
    /// No precondition (no `If-Match`, or `*`).
    #[default]
    Any,
    /// One of these entity tags (strong form; `W/` prefixes removed).
    OneOf(Vec<String>),
}

impl Expect {
    /// What [`Expect::parse_header`] accepts: `*`, or a comma list of entity tags (RFC 9110
    /// §8.8.3: `"opaque"` or `W/"opaque"`, `etagc` characters only) with optional spaces and
    /// tabs around the commas. The list may be empty (RFC 9110 §5.6.1, `#entity-tag`): an
    /// empty value names no tag, so it matches nothing (`If-Match` fails with 412).
    pub const HEADER_PATTERN: &str = r#"^(\*|((W/)?"[\x21\x23-\x7e]*"([ \t]*,[ \t]*(W/)?"[\x21\x23-\x7e]*")*)?)$"#;

    /// Parses an `If-Match` / `If-None-Match` field value strictly ([`Expect::HEADER_PATTERN`];
    /// surrounding blanks are not part of a field value). `None` when it is not one. Its
    /// length is bounded by the platform's limit on request headers, and parsing is linear.
    pub fn parse_header(value: &str) -> Option<Expect> {
        let value = value.trim_matches([' ', '\t']);
        if value == "*" {
            return Some(Expect::Any);
        }
        if value.is_empty() {
            return Some(Expect::OneOf(Vec::new()));
        }
        let mut tags = Vec::new();
        let mut rest = value;
        loop {
            let opaque_and_after = rest.strip_prefix("W/").unwrap_or(rest).strip_prefix('"')?;
            let (opaque, after) = opaque_and_after.split_once('"')?;
            if !opaque.bytes().all(|c| c == 0x21 || (0x23..=0x7e).contains(&c)) {
                return None;
            }
            tags.push(opaque);
            let after = after.trim_start_matches([' ', '\t']);
            if after.is_empty() {
                break;
            }
            rest = after.strip_prefix(',')?.trim_start_matches([' ', '\t']);
        }
        Some(Expect::OneOf(tags.into_iter().map(|t| format!("\"{t}\"")).collect()))
    }

    /// Parses an `If-Match` (or `If-None-Match`) value leniently: `*` matches anything;
    /// weak tags compare by their opaque part.
    pub fn parse(header: Option<&str>) -> Expect {
        let Some(h) = header else { return Expect::Any };
        let tags: Vec<&str> = h.split(',').map(str::trim).filter(|t| !t.is_empty()).collect();
        if tags.contains(&"*") {
            return Expect::Any;
        }
        Expect::OneOf(tags.iter().map(|t| t.trim_start_matches("W/").to_owned()).collect())
    }

    pub fn matches(&self, etag: &str) -> bool {
        match self {
            Expect::Any => true,
            Expect::OneOf(tags) => tags.iter().any(|t| t == etag),
        }
    }

    /// The tags as a JSON array for SQL (`IN (SELECT value FROM json_each(?))`), or
    /// `None` when anything matches.
    pub fn to_json(&self) -> Option<String> {
        match self {
            Expect::Any => None,
            Expect::OneOf(tags) => Some(serde_json::Value::from(tags.clone()).to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn preconditions_match_lists_stars_and_weak_forms() {
        assert!(Expect::parse(Some("\"a\", \"b\"")).matches("\"b\""));
        assert!(Expect::parse(Some("*")).matches("\"b\""));
        assert!(Expect::parse(None).matches("\"b\""));
        assert!(Expect::parse(Some("W/\"b\"")).matches("\"b\""));
        assert!(!Expect::parse(Some("\"c\"")).matches("\"b\""));
        assert_eq!(Expect::parse(Some("W/\"b\", \"c\"")).to_json().as_deref(), Some(r#"["\"b\"","\"c\""]"#));
        assert_eq!(Expect::parse(Some("*")).to_json(), None);
    }

    #[test]
    fn precondition_headers_are_entity_tag_lists() {
        let tags = |h: &str| Expect::parse_header(h);
        assert_eq!(tags("*"), Some(Expect::Any));
        assert_eq!(tags("\"t1\""), Some(Expect::OneOf(vec!["\"t1\"".into()])));
        assert_eq!(tags(" W/\"a\" ,\t\"b,c\" "), Some(Expect::OneOf(vec!["\"a\"".into(), "\"b,c\"".into()])));
        assert_eq!(tags("\"\""), Some(Expect::OneOf(vec!["\"\"".into()])));
        assert_eq!(tags(""), Some(Expect::OneOf(Vec::new())));
        assert_eq!(tags(" \t"), Some(Expect::OneOf(Vec::new())));
        assert!(!Expect::OneOf(Vec::new()).matches("\"t1\""));
        for bad in ["t1", "\"t1", "\"t1\",", ",\"t1\"", "\"a\" \"b\"", "\"t1\", *", "w/\"a\"", "\"a b\"", "\"é\""] {
            assert_eq!(tags(bad), None, "{bad:?}");
        }
        assert!(tags("W/\"b\", \"c\"").is_some_and(|e| e.matches("\"b\"") && e.matches("\"c\"")));
    }

    #[test]
    fn query_texts_are_bounded_and_free_of_controls() {
        assert_eq!(query_text("q", " a b ", 0, 5), Ok(" a b "));
        assert_eq!(query_text("q", "", 0, 5), Ok(""));
        assert_eq!(query_text("label", "", 1, 5).unwrap_err().code, "too_short");
        assert_eq!(query_text("q", "abcdef", 0, 5).unwrap_err().code, "too_long");
        assert_eq!(query_text("q", "a\tb", 0, 5).unwrap_err().code, "invalid_characters");
        assert_eq!(query_text("q", "a\u{85}", 0, 5).unwrap_err().code, "invalid_characters");
        assert_eq!(query_text("q", "ééééé", 0, 5), Ok("ééééé"));
    }

    #[test]
    fn lines_are_trimmed_and_multiline_texts_kept() {
        assert_eq!(TextKind::Line.parse("f", "  a b  ", 1, 5).as_deref(), Ok("a b"));
        assert_eq!(TextKind::Multiline.parse("f", " a\nb ", 0, 5).as_deref(), Ok(" a\nb "));
        assert_eq!(TextKind::Line.parse("f", "   ", 1, 5).unwrap_err().code, "required");
        assert_eq!(TextKind::Line.parse("f", "a\nb", 1, 5).unwrap_err().code, "invalid_characters");
        assert_eq!(TextKind::Line.parse("f", "abcdef", 1, 5).unwrap_err().code, "too_long");
        assert_eq!(TextKind::Line.parse("f", "é", 2, 5).unwrap_err().code, "too_short");
    }
}
