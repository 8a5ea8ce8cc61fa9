//! W3C Trace Context on every response: a valid `traceparent` is continued with a new
//! span, anything else starts a new trace (never an error), and `traceresponse` names the
//! request's trace and span. The host's log line carries the same ids (the test command
//! finds [`KNOWN_TRACE_ID`] in each host's log).

use crate::{ensure, ensure_eq, Client, Entry, Resp};

pub fn checks() -> Vec<Entry> {
    crate::checks![Any => [
        a_traceparent_is_continued_with_a_new_span,
        a_malformed_traceparent_is_ignored_and_a_trace_started,
        every_response_answers_a_traceresponse,
    ]]
}

/// The trace id the checks send, for the test command to find in the hosts' logs.
pub const KNOWN_TRACE_ID: &str = "5eed7eaced0000000000000000000001";
const PARENT: &str = "00f067aa0ba902b7";

fn lower_hex(s: &str, len: usize) -> bool {
    s.len() == len
        && s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        && s.bytes().any(|b| b != b'0')
}

/// The (trace id, span id, flags) of a response's `traceresponse`.
fn traceresponse(res: &Resp) -> Result<(String, String, String), String> {
    let v = res.header("traceresponse").ok_or_else(|| format!("no traceresponse on a {}", res.status))?;
    let parts: Vec<&str> = v.split('-').collect();
    ensure!(parts.len() == 4 && parts[0] == "00", "traceresponse {v:?} is not version 00 with four fields");
    ensure!(lower_hex(parts[1], 32) && lower_hex(parts[2], 16), "traceresponse {v:?}: bad ids");
    Ok((parts[1].to_owned(), parts[2].to_owned(), parts[3].to_owned()))
}

fn a_traceparent_is_continued_with_a_new_span(c: &Client) -> Result<(), String> {
    for flags in ["01", "00"] {
        let header = format!("00-{KNOWN_TRACE_ID}-{PARENT}-{flags}");
        let res = c.get_with("/v1/health", &[("traceparent", &header)])?;
        ensure_eq!(res.status, 200, "health with a traceparent");
        let (trace, span, f) = traceresponse(&res)?;
        ensure_eq!(trace.as_str(), KNOWN_TRACE_ID, "the caller's trace is continued");
        ensure!(span != PARENT, "the request has its own span, not the caller's");
        ensure_eq!(f.as_str(), flags, "the trace flags are kept");
    }
    // An error answer is part of the trace too.
    let res = c.get_with("/v1/no-such-route", &[("traceparent", &format!("00-{KNOWN_TRACE_ID}-{PARENT}-01"))])?;
    ensure_eq!(res.status, 404, "unknown route");
    ensure_eq!(traceresponse(&res)?.0.as_str(), KNOWN_TRACE_ID, "trace of a 404");
    Ok(())
}

fn a_malformed_traceparent_is_ignored_and_a_trace_started(c: &Client) -> Result<(), String> {
    let trace = "4bf92f3577b34da6a3ce929d0e0e4736";
    for bad in [
        "garbage".to_owned(),
        format!("00-{trace}-{PARENT}"),
        format!("00-{}-{PARENT}-01", trace.to_uppercase()),
        format!("00-{}-{PARENT}-01", "0".repeat(32)),
        format!("00-{trace}-{}-01", "0".repeat(16)),
        format!("ff-{trace}-{PARENT}-01"),
        format!("00-{trace}-{PARENT}-01-extra"),
    ] {
        let res = c.get_with("/v1/health", &[("traceparent", &bad)])?;
        ensure_eq!(res.status, 200, format!("health with traceparent {bad:?}"));
        let (t, _, _) = traceresponse(&res)?;
        ensure!(t != trace && t != "0".repeat(32), "a malformed traceparent {bad:?} was continued");
    }
    Ok(())
}

fn every_response_answers_a_traceresponse(c: &Client) -> Result<(), String> {
    let first = traceresponse(&c.get("/v1/health")?)?;
    let second = traceresponse(&c.get("/v1/health")?)?;
    ensure!(first.0 != second.0, "two requests without a traceparent share a trace");
    let problem = c.get("/v1/me")?;
    ensure_eq!(problem.status, 401, "an unauthenticated request");
    traceresponse(&problem)?;
    Ok(())
}
