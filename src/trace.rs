//! W3C Trace Context (https://www.w3.org/TR/trace-context/): a request continues the
//! caller's trace (`traceparent`) or starts one; its own span id goes into every log line,
//! the `traceresponse` header and the `traceparent` of its outbound calls. A malformed
//! header is ignored, never an error.

use crate::ports::Random;

/// The trace of one request, and this request's span in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceContext {
    /// 32 lowercase hex digits, never all zero.
    pub trace_id: String,
    /// This request's span: 16 lowercase hex digits, never all zero.
    pub span_id: String,
    /// The caller's span, when the trace was continued.
    pub parent_id: Option<String>,
    /// Trace flags (bit 0: sampled).
    pub flags: u8,
}

fn lower_hex(s: &str, len: usize) -> bool {
    s.len() == len
        && s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        && s.bytes().any(|b| b != b'0')
}

/// The (trace id, parent id, flags) of a `traceparent` value, if it is well formed: version
/// `00` exactly as specified; a later version (not `ff`) by its first four fields.
pub fn parse(header: &str) -> Option<(String, String, u8)> {
    let h = header.trim();
    let version = h.get(0..2)?;
    if !version.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) || version == "ff" {
        return None;
    }
    let fields = if version == "00" {
        (h.len() == 55).then_some(h)?
    } else {
        // Future versions may append fields after a dash.
        match h.get(55..56) {
            None if h.len() == 55 => h,
            Some("-") => h.get(..55)?,
            _ => return None,
        }
    };
    let mut parts = fields.split('-');
    let (_, trace, parent, flags) = (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    if !lower_hex(trace, 32) || !lower_hex(parent, 16) || flags.len() != 2 {
        return None;
    }
    let flags = u8::from_str_radix(flags, 16).ok()?;
    Some((trace.to_owned(), parent.to_owned(), flags))
}

fn random_hex(random: &dyn Random, bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    // A failed random source leaves zeros; the id then cannot be used, so use a counter-
    // free fallback that is still valid (never all zero).
    if random.fill(&mut buf).is_err() || buf.iter().all(|b| *b == 0) {
        if let Some(last) = buf.last_mut() {
            *last = 1;
        }
    }
    crate::auth::tokens::hex(&buf)
}

impl TraceContext {
    /// Continues the caller's trace when `incoming` is a well-formed `traceparent`, or
    /// starts a sampled one; either way with a new span for this request.
    pub fn continue_or_start(incoming: Option<&str>, random: &dyn Random) -> TraceContext {
        let span_id = random_hex(random, 8);
        match incoming.and_then(parse) {
            Some((trace_id, parent, flags)) => TraceContext { trace_id, span_id, parent_id: Some(parent), flags },
            None => TraceContext { trace_id: random_hex(random, 16), span_id, parent_id: None, flags: 1 },
        }
    }

    /// The `traceparent` of a call this request makes (its span as the parent), and the
    /// value of its `traceresponse` header (the same form, W3C Trace Context Level 2).
    pub fn header(&self) -> String {
        format!("00-{}-{}-{:02x}", self.trace_id, self.span_id, self.flags)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ports::test_random::Counting;

    const GOOD: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    #[test]
    fn a_valid_traceparent_is_continued_with_a_new_span() {
        let t = TraceContext::continue_or_start(Some(GOOD), &Counting::from(0x11));
        assert_eq!(t.trace_id, "4bf92f3577b34da6a3ce929d0e0e4736");
        assert_eq!(t.parent_id.as_deref(), Some("00f067aa0ba902b7"));
        assert_ne!(t.span_id, "00f067aa0ba902b7");
        assert_eq!(t.flags, 1);
        assert_eq!(t.header(), format!("00-4bf92f3577b34da6a3ce929d0e0e4736-{}-01", t.span_id));
        assert!(parse(&t.header()).is_some(), "what we send is what we accept");
    }

    #[test]
    fn malformed_traceparents_start_a_new_trace() {
        for bad in [
            "",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
            "00-4bf92f3577b34da6a3ce929d0e0e473-600f067aa0ba902b7-01",
            "0g-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0x",
        ] {
            assert_eq!(parse(bad), None, "{bad}");
            let t = TraceContext::continue_or_start(Some(bad), &Counting::from(0x11));
            assert!(t.parent_id.is_none() && lower_hex(&t.trace_id, 32), "{bad}: {t:?}");
        }
        // A later version is read by its first four fields.
        assert!(parse("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-future").is_some());
        assert!(parse("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01").is_some());
    }
}
