//! Outbound HTTP for the guest (`wasi:http/client.send`), offered the way
//! `spin up` offers it: only to origins listed with `--allow-outbound` (Spin's
//! `allowed_outbound_hosts`); anything else answers
//! `error-code::http-request-denied`.
//!
//! Requests go out over plain HTTP/1.1 with hyper's client on a tokio
//! `TcpStream`. The test host has no TLS, so an allowed `https://` request
//! answers `error-code::TLS-protocol-error`. Bodies are small in tests: the
//! request body is collected before the request is sent and the response body
//! before the guest sees the response.
//!
//! Every outbound request logs one line on stderr: method, origin, path
//! (never the query string or any header), status or error, duration.

use bytes::{Bytes, BytesMut};
use http::header::{CONTENT_LENGTH, HOST, TRANSFER_ENCODING};
use http::{HeaderMap, HeaderValue, Method, Uri, Version};
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt as _, Full};
use hyper_util::rt::TokioIo;
use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpStream;
use tokio::time::Instant;
use wasmtime_wasi::TrappableError;
use wasmtime_wasi_http::p3::bindings::http::types::{DnsErrorPayload, ErrorCode};
use wasmtime_wasi_http::p3::{RequestOptions, WasiHttpHooks};

/// Body type of the requests and responses exchanged with `wasmtime-wasi-http`.
pub type HttpBody = UnsyncBoxBody<Bytes, ErrorCode>;

/// The future `wasmtime-wasi-http` uses to report late request/response errors.
type ResultFuture = Box<dyn Future<Output = Result<(), ErrorCode>> + Send>;

/// Limit for a whole outbound request (connect, send, response head and body)
/// unless the guest's request options ask for longer.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// Spin's spelling for "every destination is allowed".
const ALLOW_ALL: &str = "insecure:allow-all";

#[derive(Debug, Clone, PartialEq, Eq)]
enum SchemePattern {
    Any,
    Exact(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum HostPattern {
    Any,
    Exact(String),
    /// `*.example.com`, stored as `.example.com`: any subdomain, not the
    /// domain itself.
    Subdomain(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PortPattern {
    Any,
    Exact(u16),
}

/// One `--allow-outbound` entry: `SCHEME://HOST[:PORT]` as in Spin's
/// `allowed_outbound_hosts`. `SCHEME` is `http`, `https` or `*`; `HOST` is a
/// name, an IP address (IPv6 in brackets), `*` or `*.domain`; `PORT` is a
/// number or `*` and defaults to the scheme's port (80/443; required with
/// `*://`). `insecure:allow-all` allows everything.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllowedOrigin {
    scheme: SchemePattern,
    host: HostPattern,
    port: PortPattern,
    text: String,
}

/// The port a URL of this scheme uses when it names none.
fn default_port(scheme: &str) -> Option<u16> {
    match scheme {
        "http" => Some(80),
        "https" => Some(443),
        _ => None,
    }
}

impl AllowedOrigin {
    /// Parses one entry; the error text is meant for the command line.
    pub fn parse(s: &str) -> Result<Self, String> {
        let text = s.trim();
        if text == ALLOW_ALL {
            return Ok(Self {
                scheme: SchemePattern::Any,
                host: HostPattern::Any,
                port: PortPattern::Any,
                text: text.to_string(),
            });
        }
        let bad = |why: &str| format!("{s:?}: {why} (expected SCHEME://HOST[:PORT], e.g. http://127.0.0.1:9400)");
        let (scheme, rest) = text.split_once("://").ok_or_else(|| bad("no scheme"))?;
        let scheme = scheme.to_ascii_lowercase();
        let scheme_pattern = match scheme.as_str() {
            "*" => SchemePattern::Any,
            "http" | "https" => SchemePattern::Exact(scheme.clone()),
            _ => return Err(bad("the scheme must be http, https or *")),
        };
        let rest = rest.strip_suffix('/').unwrap_or(rest);
        if rest.contains(['/', '?', '#', '@']) || rest.chars().any(char::is_whitespace) {
            return Err(bad("only an origin is allowed: no path, query, user info or spaces"));
        }
        let (host, port) = if let Some(bracketed) = rest.strip_prefix('[') {
            let (inside, after) = bracketed.split_once(']').ok_or_else(|| bad("unclosed '[' in the host"))?;
            let port = match after {
                "" => None,
                _ => Some(after.strip_prefix(':').ok_or_else(|| bad("unexpected text after the IPv6 address"))?),
            };
            (format!("[{}]", inside.to_ascii_lowercase()), port)
        } else {
            let (host, port) = match rest.split_once(':') {
                Some((host, port)) => (host, Some(port)),
                None => (rest, None),
            };
            (host.to_ascii_lowercase(), port)
        };
        let host_pattern = if host == "*" {
            HostPattern::Any
        } else if let Some(domain) = host.strip_prefix("*.") {
            if domain.is_empty() || domain.contains('*') {
                return Err(bad("a host wildcard must look like *.example.com"));
            }
            HostPattern::Subdomain(format!(".{domain}"))
        } else if host.is_empty() || host.contains('*') || host.parse::<http::uri::Authority>().is_err() {
            return Err(bad("invalid host"));
        } else {
            HostPattern::Exact(host)
        };
        let port_pattern = match port {
            Some("*") => PortPattern::Any,
            Some(port) => PortPattern::Exact(
                port.parse::<u16>().ok().filter(|p| *p != 0).ok_or_else(|| bad("the port must be 1-65535 or *"))?,
            ),
            None => PortPattern::Exact(
                default_port(&scheme).ok_or_else(|| bad("`*://` needs an explicit port (a number or *)"))?,
            ),
        };
        Ok(Self { scheme: scheme_pattern, host: host_pattern, port: port_pattern, text: text.to_string() })
    }

    /// Whether a request to `scheme://host:port` is covered by this entry.
    /// `scheme` and `host` must be lowercase; IPv6 hosts keep their brackets.
    fn allows(&self, scheme: &str, host: &str, port: u16) -> bool {
        let scheme_ok = match &self.scheme {
            SchemePattern::Any => true,
            SchemePattern::Exact(s) => s == scheme,
        };
        let host_ok = match &self.host {
            HostPattern::Any => true,
            HostPattern::Exact(h) => h == host,
            HostPattern::Subdomain(suffix) => host.len() > suffix.len() && host.ends_with(suffix.as_str()),
        };
        let port_ok = match self.port {
            PortPattern::Any => true,
            PortPattern::Exact(p) => p == port,
        };
        scheme_ok && host_ok && port_ok
    }

    /// Whether this entry can match `https://` requests (which this host
    /// cannot serve).
    pub fn may_match_https(&self) -> bool {
        match &self.scheme {
            SchemePattern::Any => true,
            SchemePattern::Exact(s) => s == "https",
        }
    }
}

impl fmt::Display for AllowedOrigin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// The `wasi:http` hooks of every request's store: the allow-list and the
/// sender. Cheap to clone.
#[derive(Clone, Debug, Default)]
pub struct OutboundHttp {
    allowed: Arc<[AllowedOrigin]>,
}

/// Where a request goes, taken from its absolute URI.
struct Target {
    scheme: String,
    host: String,
    port: u16,
    /// `Host` header value: the URI's host and explicit port, no user info.
    host_header: String,
    /// Path without the query string, for the log line.
    path: String,
}

impl Target {
    fn of(uri: &Uri) -> Result<Self, ErrorCode> {
        let scheme = uri.scheme_str().ok_or(ErrorCode::HttpRequestUriInvalid)?.to_ascii_lowercase();
        let authority = uri.authority().ok_or(ErrorCode::HttpRequestUriInvalid)?;
        let host = authority.host().to_ascii_lowercase();
        if host.is_empty() {
            return Err(ErrorCode::HttpRequestUriInvalid);
        }
        let host_header = match authority.port_u16() {
            Some(port) => format!("{host}:{port}"),
            None => host.clone(),
        };
        let port = match authority.port_u16() {
            Some(port) => port,
            None => default_port(&scheme).ok_or(ErrorCode::HttpProtocolError)?,
        };
        Ok(Self { scheme, host, port, host_header, path: uri.path().to_string() })
    }

    fn origin(&self) -> String {
        format!("{}://{}:{}", self.scheme, self.host, self.port)
    }
}

/// The stderr line for one outbound request. Never includes the query string
/// or headers: they may carry authorisation codes or secrets.
fn log_line(method: &Method, target: Option<&Target>, outcome: &Result<u16, ErrorCode>, elapsed: Duration) -> String {
    let dest = target.map_or_else(|| "(invalid URI)".to_string(), |t| format!("{}{}", t.origin(), t.path));
    let result = match outcome {
        Ok(status) => status.to_string(),
        Err(code @ ErrorCode::HttpRequestDenied) => format!("{code:?} (not allowed by --allow-outbound)"),
        Err(code @ ErrorCode::TlsProtocolError) => {
            format!("{code:?} (https is not supported: spin-test-host has no TLS)")
        }
        Err(code) => format!("{code:?}"),
    };
    format!("spin-test-host: outbound {method} {dest} -> {result} in {} ms", elapsed.as_millis())
}

impl OutboundHttp {
    pub fn new(allowed: Vec<AllowedOrigin>) -> Self {
        Self { allowed: allowed.into() }
    }

    pub fn allowed(&self) -> &[AllowedOrigin] {
        &self.allowed
    }

    fn allows(&self, target: &Target) -> bool {
        self.allowed.iter().any(|o| o.allows(&target.scheme, &target.host, target.port))
    }

    /// Sends one request from the guest (absolute URI, as `wasmtime-wasi-http`
    /// hands it over) if its origin is allowed, and logs it.
    pub async fn send(
        &self,
        request: http::Request<HttpBody>,
        options: Option<RequestOptions>,
    ) -> Result<http::Response<HttpBody>, ErrorCode> {
        let started = std::time::Instant::now();
        let method = request.method().clone();
        let target = Target::of(request.uri());
        let result = match &target {
            Err(code) => Err(code.clone()),
            Ok(target) if !self.allows(target) => Err(ErrorCode::HttpRequestDenied),
            Ok(target) if target.scheme != "http" => Err(ErrorCode::TlsProtocolError),
            Ok(target) => exchange(target, request, options.unwrap_or_default()).await,
        };
        let outcome = result.as_ref().map(|r| r.status().as_u16()).map_err(Clone::clone);
        eprintln!("{}", log_line(&method, target.as_ref().ok(), &outcome, started.elapsed()));
        result
    }
}

impl WasiHttpHooks for OutboundHttp {
    fn send_request(
        &mut self,
        request: http::Request<HttpBody>,
        options: Option<RequestOptions>,
        _fut: ResultFuture,
    ) -> Box<dyn Future<Output = Result<(http::Response<HttpBody>, ResultFuture), TrappableError<ErrorCode>>> + Send>
    {
        let this = self.clone();
        Box::new(async move {
            let response = this.send(request, options).await?;
            // Everything was read before returning: no I/O left to report on.
            let io: ResultFuture = Box::new(async { Ok(()) });
            Ok((response, io))
        })
    }
}

/// The overall deadline of one request, combined with per-phase limits.
struct Deadline(Option<Instant>);

impl Deadline {
    fn after(limit: Duration) -> Self {
        Self(Instant::now().checked_add(limit))
    }

    /// The earlier of the overall deadline and `phase` from now.
    fn with_phase(&self, phase: Option<Duration>) -> Option<Instant> {
        let phase = phase.and_then(|p| Instant::now().checked_add(p));
        match (self.0, phase) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
}

/// `fut`, or `on_timeout` once `deadline` passes.
async fn within<T>(
    deadline: Option<Instant>,
    fut: impl Future<Output = T>,
    on_timeout: ErrorCode,
) -> Result<T, ErrorCode> {
    match deadline {
        Some(deadline) => tokio::time::timeout_at(deadline, fut).await.map_err(|_| on_timeout),
        None => Ok(fut.await),
    }
}

fn dns_error() -> ErrorCode {
    ErrorCode::DnsError(DnsErrorPayload { rcode: Some("address not available".to_string()), info_code: Some(0) })
}

fn connect_error(e: &std::io::Error) -> ErrorCode {
    use std::io::ErrorKind;
    match e.kind() {
        ErrorKind::ConnectionRefused => ErrorCode::ConnectionRefused,
        ErrorKind::TimedOut => ErrorCode::ConnectionTimeout,
        ErrorKind::HostUnreachable | ErrorKind::NetworkUnreachable => ErrorCode::DestinationUnavailable,
        ErrorKind::AddrNotAvailable => ErrorCode::DestinationIpUnroutable,
        _ => ErrorCode::InternalError(Some(format!("connecting: {e}"))),
    }
}

fn hyper_error(e: &hyper::Error) -> ErrorCode {
    use std::error::Error as _;
    use std::io::ErrorKind;
    let io_kind = e.source().and_then(|s| s.downcast_ref::<std::io::Error>()).map(std::io::Error::kind);
    if e.is_incomplete_message() || io_kind == Some(ErrorKind::UnexpectedEof) {
        ErrorCode::HttpResponseIncomplete
    } else if e.is_parse() || e.is_parse_status() {
        ErrorCode::HttpProtocolError
    } else if e.is_timeout() {
        ErrorCode::ConnectionReadTimeout
    } else if e.is_canceled()
        || e.is_closed()
        || matches!(io_kind, Some(ErrorKind::ConnectionReset | ErrorKind::ConnectionAborted | ErrorKind::BrokenPipe))
    {
        ErrorCode::ConnectionTerminated
    } else {
        match e.source() {
            Some(source) => ErrorCode::InternalError(Some(format!("{e}: {source}"))),
            None => ErrorCode::InternalError(Some(e.to_string())),
        }
    }
}

/// Resolves `host` and connects to the first address that accepts.
async fn connect(host: &str, port: u16) -> Result<TcpStream, ErrorCode> {
    let addrs = tokio::net::lookup_host(format!("{host}:{port}")).await.map_err(|_| dns_error())?;
    let mut last = None;
    for addr in addrs {
        match TcpStream::connect(addr).await {
            Ok(stream) => {
                let _ = stream.set_nodelay(true);
                return Ok(stream);
            }
            Err(e) => last = Some(e),
        }
    }
    Err(last.as_ref().map_or_else(dns_error, connect_error))
}

/// Connects, sends the request in origin form and collects the response.
async fn exchange(
    target: &Target,
    request: http::Request<HttpBody>,
    options: RequestOptions,
) -> Result<http::Response<HttpBody>, ErrorCode> {
    let total = DEFAULT_TIMEOUT.max(
        options.connect_timeout.unwrap_or_default().saturating_add(options.first_byte_timeout.unwrap_or_default()),
    );
    let deadline = Deadline::after(total);

    let (mut parts, body) = request.into_parts();
    let body_timeout = ErrorCode::InternalError(Some("timed out waiting for the request body".to_string()));
    let data = within(deadline.with_phase(None), body.collect(), body_timeout).await??.to_bytes();

    let stream = within(
        deadline.with_phase(options.connect_timeout),
        connect(&target.host, target.port),
        ErrorCode::ConnectionTimeout,
    )
    .await??;
    let (mut sender, conn) = within(
        deadline.with_phase(options.connect_timeout),
        hyper::client::conn::http1::handshake::<_, Full<Bytes>>(TokioIo::new(stream)),
        ErrorCode::ConnectionTimeout,
    )
    .await?
    .map_err(|e| hyper_error(&e))?;

    // hyper's HTTP/1 client writes the URI as given; a server expects the
    // origin form (`/path?query`), with the authority in `Host`.
    parts.uri = parts
        .uri
        .path_and_query()
        .map_or("/", |pq| pq.as_str())
        .parse::<Uri>()
        .map_err(|_| ErrorCode::HttpRequestUriInvalid)?;
    parts.version = Version::HTTP_11;
    let host = HeaderValue::from_str(&target.host_header).map_err(|_| ErrorCode::HttpRequestUriInvalid)?;
    parts.headers.insert(HOST, host);
    // The body is complete: send it with a Content-Length, never chunked.
    parts.headers.remove(TRANSFER_ENCODING);
    if !data.is_empty() || parts.headers.contains_key(CONTENT_LENGTH) {
        parts.headers.insert(CONTENT_LENGTH, HeaderValue::from(data.len()));
    }
    let request = http::Request::from_parts(parts, Full::new(data));

    let exchange = async {
        let response = within(
            deadline.with_phase(options.first_byte_timeout),
            sender.send_request(request),
            ErrorCode::ConnectionReadTimeout,
        )
        .await?
        .map_err(|e| hyper_error(&e))?;
        let (parts, mut body) = response.into_parts();
        let mut data = BytesMut::new();
        let mut trailers: Option<HeaderMap> = None;
        while let Some(frame) =
            within(deadline.with_phase(options.between_bytes_timeout), body.frame(), ErrorCode::ConnectionReadTimeout)
                .await?
        {
            match frame.map_err(|e| hyper_error(&e))?.into_data() {
                Ok(chunk) => data.extend_from_slice(&chunk),
                Err(frame) => trailers = frame.into_trailers().ok().or(trailers),
            }
        }
        Ok::<_, ErrorCode>((parts, data.freeze(), trailers))
    };
    let mut exchange = std::pin::pin!(exchange);
    let mut conn = std::pin::pin!(conn);
    // Drive the connection while waiting for the exchange to finish.
    let (mut parts, data, trailers) = tokio::select! {
        result = &mut exchange => result?,
        done = &mut conn => {
            done.map_err(|e| hyper_error(&e))?;
            exchange.await?
        }
    };
    // The guest gets the whole body: the upstream framing no longer applies.
    parts.headers.remove(TRANSFER_ENCODING);
    let body = Full::new(data).with_trailers(async move { trailers.map(Ok) }).map_err(|never| match never {});
    Ok(http::Response::from_parts(parts, body.boxed_unsync()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use hyper::body::Incoming;
    use std::convert::Infallible;
    use std::net::SocketAddr;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use tokio::io::AsyncReadExt as _;
    use tokio::net::TcpListener;

    fn origin(s: &str) -> AllowedOrigin {
        AllowedOrigin::parse(s).unwrap_or_else(|e| panic!("{e}"))
    }

    fn hooks(origins: &[&str]) -> OutboundHttp {
        OutboundHttp::new(origins.iter().map(|s| origin(s)).collect())
    }

    fn allowed(list: &OutboundHttp, url: &str) -> bool {
        let target = Target::of(&url.parse().unwrap()).unwrap();
        list.allows(&target)
    }

    #[test]
    fn parses_origins_like_spin() {
        let o = origin("http://127.0.0.1:9400");
        assert_eq!(o.scheme, SchemePattern::Exact("http".into()));
        assert_eq!(o.host, HostPattern::Exact("127.0.0.1".into()));
        assert_eq!(o.port, PortPattern::Exact(9400));
        assert_eq!(o.to_string(), "http://127.0.0.1:9400");

        // Default ports, trailing slash, case.
        assert_eq!(origin("HTTP://LocalHost/").port, PortPattern::Exact(80));
        assert_eq!(origin("HTTP://LocalHost/").host, HostPattern::Exact("localhost".into()));
        assert_eq!(origin("https://example.com").port, PortPattern::Exact(443));

        // Wildcards.
        let o = origin("*://127.0.0.1:*");
        assert_eq!((o.scheme, o.port), (SchemePattern::Any, PortPattern::Any));
        assert_eq!(origin("http://*.example.com").host, HostPattern::Subdomain(".example.com".into()));
        assert_eq!(origin("http://*:8080").host, HostPattern::Any);
        assert_eq!(origin("http://[::1]:9400").host, HostPattern::Exact("[::1]".into()));
        assert_eq!(origin("insecure:allow-all").host, HostPattern::Any);

        for bad in [
            "127.0.0.1:9400",
            "ftp://example.com",
            "*://example.com",
            "http://example.com/path",
            "http://example.com?q=1",
            "http://user@example.com",
            "http://example.com:0",
            "http://example.com:99999",
            "http://example.com:",
            "http://",
            "http://ex*ample.com",
            "http://*.",
            "http://[::1",
        ] {
            assert!(AllowedOrigin::parse(bad).is_err(), "{bad:?} should be rejected");
        }
    }

    #[test]
    fn allow_list_matches_scheme_host_and_port() {
        let list = hooks(&["http://127.0.0.1:9400", "*://localhost:*", "https://*.example.com", "http://[::1]:81"]);
        assert!(allowed(&list, "http://127.0.0.1:9400/token?code=x"));
        assert!(!allowed(&list, "http://127.0.0.1:9401/"));
        assert!(!allowed(&list, "https://127.0.0.1:9400/"));
        assert!(!allowed(&list, "http://127.0.0.2:9400/"));
        assert!(allowed(&list, "http://localhost/"));
        assert!(allowed(&list, "https://LOCALHOST:1234/"));
        assert!(allowed(&list, "https://id.example.com/"));
        assert!(allowed(&list, "https://a.b.example.com:443/"));
        assert!(!allowed(&list, "https://example.com/"));
        assert!(!allowed(&list, "https://id.example.com:8443/"));
        assert!(!allowed(&list, "http://id.example.com/"));
        assert!(!allowed(&list, "https://badexample.com/"));
        assert!(allowed(&list, "http://[::1]:81/"));
        assert!(!allowed(&list, "http://[::2]:81/"));

        assert!(!allowed(&hooks(&[]), "http://127.0.0.1:9400/"));
        assert!(allowed(&hooks(&["insecure:allow-all"]), "https://anything.test:1/"));
        // Default ports on both sides.
        assert!(allowed(&hooks(&["http://example.com"]), "http://example.com:80/"));
        assert!(!allowed(&hooks(&["http://example.com"]), "http://example.com:8080/"));
    }

    #[test]
    fn log_line_has_no_query_string() {
        let target = Target::of(&"http://127.0.0.1:9400/token?code=secret".parse().unwrap()).unwrap();
        let line = log_line(&Method::POST, Some(&target), &Ok(200), Duration::from_millis(12));
        assert_eq!(line, "spin-test-host: outbound POST http://127.0.0.1:9400/token -> 200 in 12 ms");
        let line = log_line(&Method::GET, Some(&target), &Err(ErrorCode::HttpRequestDenied), Duration::ZERO);
        assert!(line.contains("HttpRequestDenied (not allowed by --allow-outbound)"), "{line}");
        assert!(!line.contains("secret"));
    }

    type Seen = Arc<std::sync::Mutex<Vec<(String, String, Option<String>, Option<String>, Bytes)>>>;

    /// A hyper server on 127.0.0.1 that records each request (method, URI as
    /// written on the wire, Host, x-test, body) and answers 201 with headers,
    /// or waits 5 s before answering `/slow`.
    async fn upstream() -> (SocketAddr, Seen, Arc<AtomicUsize>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let seen: Seen = Arc::default();
        let connections = Arc::new(AtomicUsize::new(0));
        let (seen2, connections2) = (seen.clone(), connections.clone());
        tokio::spawn(async move {
            loop {
                let (stream, _) = listener.accept().await.unwrap();
                connections2.fetch_add(1, Ordering::SeqCst);
                let seen = seen2.clone();
                let service = hyper::service::service_fn(move |req: hyper::Request<Incoming>| {
                    let seen = seen.clone();
                    async move {
                        let header = |n: &str| req.headers().get(n).map(|v| v.to_str().unwrap().to_string());
                        let (method, uri, host, test) =
                            (req.method().to_string(), req.uri().to_string(), header("host"), header("x-test"));
                        if req.uri().path() == "/slow" {
                            tokio::time::sleep(Duration::from_secs(5)).await;
                        }
                        let body = req.into_body().collect().await.unwrap().to_bytes();
                        seen.lock().unwrap().push((method, uri, host, test, body.clone()));
                        let mut resp =
                            hyper::Response::new(Full::new(Bytes::from(format!("got {} bytes", body.len()))));
                        *resp.status_mut() = http::StatusCode::CREATED;
                        resp.headers_mut().insert("x-reply", HeaderValue::from_static("pong"));
                        Ok::<_, Infallible>(resp)
                    }
                });
                tokio::spawn(
                    hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(stream), service),
                );
            }
        });
        (addr, seen, connections)
    }

    fn request(method: &str, url: &str, body: &'static str) -> http::Request<HttpBody> {
        http::Request::builder()
            .method(method)
            .uri(url)
            .header("x-test", "yes")
            .body(Full::new(Bytes::from_static(body.as_bytes())).map_err(|never| match never {}).boxed_unsync())
            .unwrap()
    }

    /// How a `GET` of `url` fails through a list allowing `origins`.
    async fn get_error(origins: &[&str], url: &str, options: Option<RequestOptions>) -> ErrorCode {
        hooks(origins).send(request("GET", url, ""), options).await.unwrap_err()
    }

    #[tokio::test]
    async fn sends_allowed_request_and_collects_response() {
        let (addr, seen, _) = upstream().await;
        let list = hooks(&[&format!("http://127.0.0.1:{}", addr.port())]);
        let url = format!("http://127.0.0.1:{}/echo/path?code=abc", addr.port());
        let resp = list.send(request("POST", &url, "ping body"), None).await.unwrap();
        assert_eq!(resp.status(), http::StatusCode::CREATED);
        assert_eq!(resp.headers().get("x-reply").unwrap(), "pong");
        assert!(resp.headers().get(TRANSFER_ENCODING).is_none());
        let body = resp.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(body, "got 9 bytes");

        let seen = seen.lock().unwrap();
        let (method, uri, host, test, body) = seen.first().unwrap();
        assert_eq!(method, "POST");
        // Origin form on the wire; the query string is passed through.
        assert_eq!(uri, "/echo/path?code=abc");
        assert_eq!(host.as_deref(), Some(addr.to_string().as_str()));
        assert_eq!(test.as_deref(), Some("yes"));
        assert_eq!(body, "ping body");
    }

    #[tokio::test]
    async fn refuses_disallowed_origin_without_connecting() {
        let (addr, seen, connections) = upstream().await;
        // Same server, but only reachable under a name that is not allowed.
        let localhost = format!("http://localhost:{}", addr.port());
        let url = format!("http://127.0.0.1:{}/", addr.port());
        for origins in [&[localhost.as_str()][..], &[]] {
            let err = get_error(origins, &url, None).await;
            assert!(matches!(err, ErrorCode::HttpRequestDenied), "{err:?}");
        }
        assert_eq!(connections.load(Ordering::SeqCst), 0);
        assert!(seen.lock().unwrap().is_empty());
    }

    #[tokio::test]
    async fn refuses_https_even_when_allowed() {
        let (addr, _, connections) = upstream().await;
        let url = format!("https://127.0.0.1:{}/", addr.port());
        let err = get_error(&[&format!("*://127.0.0.1:{}", addr.port())], &url, None).await;
        assert!(matches!(err, ErrorCode::TlsProtocolError), "{err:?}");
        assert_eq!(connections.load(Ordering::SeqCst), 0);
    }

    #[tokio::test]
    async fn connection_refused_maps_to_connection_refused() {
        // Bind then drop: nothing listens on that port any more.
        let port = TcpListener::bind("127.0.0.1:0").await.unwrap().local_addr().unwrap().port();
        let err = get_error(&["http://127.0.0.1:*"], &format!("http://127.0.0.1:{port}/"), None).await;
        assert!(matches!(err, ErrorCode::ConnectionRefused), "{err:?}");
    }

    #[tokio::test]
    async fn first_byte_timeout_from_request_options() {
        let (addr, _, _) = upstream().await;
        let options = RequestOptions { first_byte_timeout: Some(Duration::from_millis(200)), ..Default::default() };
        let started = std::time::Instant::now();
        let url = format!("http://127.0.0.1:{}/slow", addr.port());
        let err = get_error(&["http://127.0.0.1:*"], &url, Some(options)).await;
        assert!(matches!(err, ErrorCode::ConnectionReadTimeout), "{err:?}");
        assert!(started.elapsed() < Duration::from_secs(4), "took {:?}", started.elapsed());
    }

    #[tokio::test]
    async fn response_cut_short_is_incomplete() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            let (mut stream, _) = listener.accept().await.unwrap();
            let mut buf = [0u8; 1024];
            let _ = stream.read(&mut buf).await.unwrap();
            use tokio::io::AsyncWriteExt as _;
            stream.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly a bit").await.unwrap();
            // Dropping the stream closes the connection mid-body.
        });
        let err = get_error(&["http://127.0.0.1:*"], &format!("http://127.0.0.1:{port}/"), None).await;
        assert!(matches!(err, ErrorCode::HttpResponseIncomplete), "{err:?}");
    }
}
