//! Domain values: request fields are parsed into these once; code past that point cannot
//! hold an invalid value.

pub mod project;
pub mod task;
pub mod user;

use crate::http::FieldError;

/// JSON Schema patterns matching exactly what [`text`] accepts (used in the OpenAPI
/// document, so generated clients and fuzzers know the rules).
pub mod patterns {
    /// One line with at least one visible character, no control characters.
    pub const LINE: &str = r"^[^\x00-\x1f\x7f-\x9f]*[^\x00-\x20\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$";
    /// Free text: newlines and tabs allowed, other control characters not.
    pub const MULTILINE: &str = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]*$";
    /// What `Email::parse` accepts: one `@`, a dotted domain, no spaces or controls.
    pub const EMAIL: &str =
        r"^[^@\s\x00-\x1f\x7f-\x9f]{1,64}@[^@\s.\x00-\x1f\x7f-\x9f]+(\.[^@\s.\x00-\x1f\x7f-\x9f]+)+$";
}

/// Trims the ASCII whitespace around a one-line text (what [`patterns::LINE`] ignores).
pub fn trim_line(s: &str) -> &str {
    s.trim_matches(|c: char| c.is_ascii_whitespace())
}

/// Collects field errors while parsing a request into domain values.
#[derive(Debug, Default)]
pub struct Errors(pub Vec<FieldError>);

impl Errors {
    /// Keeps the value, or records the error and yields `None`.
    pub fn check<T>(&mut self, r: Result<T, FieldError>) -> Option<T> {
        match r {
            Ok(v) => Some(v),
            Err(e) => {
                self.0.push(e);
                None
            }
        }
    }

    /// `Ok(value)` when no error was recorded.
    ///
    /// # Errors
    /// The collected field errors as one validation problem.
    pub fn finish<T>(self, value: Option<T>) -> Result<T, crate::http::ApiError> {
        match value {
            Some(v) if self.0.is_empty() => Ok(v),
            _ => Err(crate::http::ApiError::Validation(self.0)),
        }
    }
}

/// A text of `min..=max` characters (Unicode scalar values), with no control characters
/// other than newlines and tabs when `multiline`.
///
/// # Errors
/// `required`/`too_short`/`too_long`/`invalid_characters`.
pub fn text(field: &str, value: &str, min: usize, max: usize, multiline: bool) -> Result<String, FieldError> {
    let len = value.chars().count();
    if len < min {
        let code = if value.is_empty() { "required" } else { "too_short" };
        return Err(FieldError::new(
            field,
            code,
            format!("must be at least {min} characters"),
        ));
    }
    if len > max {
        return Err(FieldError::new(
            field,
            "too_long",
            format!("must be at most {max} characters"),
        ));
    }
    if value
        .chars()
        .any(|c| c.is_control() && !(multiline && (c == '\n' || c == '\t' || c == '\r')))
    {
        return Err(FieldError::new(
            field,
            "invalid_characters",
            "must not contain control characters",
        ));
    }
    Ok(value.to_owned())
}
