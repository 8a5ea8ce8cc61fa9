//! A small blocking HTTP client for the checks.

use std::time::Duration;

/// A response with its body read.
#[derive(Debug, Clone)]
pub struct Resp {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Resp {
    /// The first value of a header (case-insensitive name).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// The body as JSON.
    ///
    /// # Errors
    /// When the body is not JSON.
    pub fn json(&self) -> Result<serde_json::Value, String> {
        serde_json::from_slice(&self.body)
            .map_err(|e| format!("body is not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

pub struct Client {
    base: String,
    agent: ureq::Agent,
    /// The host runs each request in a D1 session and answers `X-D1-Bookmark`
    /// (Workers); other hosts have one database and must not.
    pub d1_sessions: bool,
    /// A panic aborts the instance and the host, not the API, writes the 500 (Spin).
    pub panic_body_from_host: bool,
}

impl Client {
    pub fn new(base_url: &str) -> Self {
        let config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .timeout_global(Some(Duration::from_secs(30)))
            .build();
        Self {
            base: base_url.trim_end_matches('/').to_owned(),
            agent: ureq::Agent::new_with_config(config),
            d1_sessions: false,
            panic_body_from_host: false,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// Sends a request to `target`, a path of the host under test or an absolute URL
    /// (another server: the OpenID provider); `body` is sent as is (set `Content-Type` in
    /// `headers`).
    ///
    /// # Errors
    /// Transport failures (connection refused, timeout), never HTTP statuses.
    pub fn send(
        &self,
        method: &str,
        target: &str,
        headers: &[(&str, &str)],
        body: Option<&[u8]>,
    ) -> Result<Resp, String> {
        let url = if target.starts_with("http://") || target.starts_with("https://") {
            target.to_owned()
        } else {
            self.url(target)
        };
        let path = url.as_str();
        let mut builder = ureq::http::Request::builder().method(method).uri(path);
        for (k, v) in headers {
            builder = builder.header(*k, *v);
        }
        let result = match body {
            Some(b) => {
                let req = builder.body(b.to_vec()).map_err(|e| e.to_string())?;
                self.agent.run(req)
            }
            None => {
                let req = builder.body(()).map_err(|e| e.to_string())?;
                self.agent.run(req)
            }
        };
        let mut res = result.map_err(|e| format!("{method} {path}: {e}"))?;
        let status = res.status().as_u16();
        let headers = res
            .headers()
            .iter()
            .map(|(k, v)| (k.as_str().to_owned(), String::from_utf8_lossy(v.as_bytes()).into_owned()))
            .collect();
        let body = res
            .body_mut()
            .with_config()
            .limit(64 * 1024 * 1024)
            .read_to_vec()
            .map_err(|e| format!("{method} {path}: reading body: {e}"))?;
        Ok(Resp { status, headers, body })
    }

    pub fn get(&self, path: &str) -> Result<Resp, String> {
        self.send("GET", path, &[], None)
    }

    pub fn get_with(&self, path: &str, headers: &[(&str, &str)]) -> Result<Resp, String> {
        self.send("GET", path, headers, None)
    }
}

impl Client {
    /// Sends one request on a fresh connection whose source address is `from` (any
    /// 127.0.0.0/8 address on Linux), so checks can act as different clients.
    ///
    /// # Errors
    /// Transport failures or an unparseable response.
    pub fn send_from(
        &self,
        from: std::net::Ipv4Addr,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<&[u8]>,
    ) -> Result<Resp, String> {
        use std::io::{Read, Write};
        let authority = self.base.trim_start_matches("http://");
        let server: std::net::SocketAddr = authority.parse().map_err(|e| format!("{authority}: {e}"))?;
        let socket =
            socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).map_err(|e| e.to_string())?;
        socket.bind(&std::net::SocketAddr::from((from, 0)).into()).map_err(|e| format!("bind {from}: {e}"))?;
        socket.connect(&server.into()).map_err(|e| format!("connect: {e}"))?;
        socket.set_read_timeout(Some(Duration::from_secs(30))).map_err(|e| e.to_string())?;
        let mut stream: std::net::TcpStream = socket.into();
        let body = body.unwrap_or_default();
        let mut req = format!(
            "{method} {path} HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\nContent-Length: {}\r\n",
            body.len()
        );
        for (k, v) in headers {
            req.push_str(&format!("{k}: {v}\r\n"));
        }
        req.push_str("\r\n");
        stream.write_all(req.as_bytes()).and_then(|()| stream.write_all(body)).map_err(|e| e.to_string())?;
        // Read until the response is complete by its own framing: some servers keep the
        // connection open despite `Connection: close`.
        let mut raw = Vec::new();
        let mut buf = [0u8; 16 * 1024];
        loop {
            if response_complete(&raw) {
                break;
            }
            let n = stream.read(&mut buf).map_err(|e| e.to_string())?;
            if n == 0 {
                break;
            }
            raw.extend_from_slice(buf.get(..n).unwrap_or_default());
        }
        parse_response(&raw)
    }
}

/// Whether `raw` holds a whole response (by Content-Length, or the last chunk).
fn response_complete(raw: &[u8]) -> bool {
    let Some(split) = raw.windows(4).position(|w| w == b"\r\n\r\n") else {
        return false;
    };
    let head = String::from_utf8_lossy(raw.get(..split).unwrap_or_default()).to_ascii_lowercase();
    let body = raw.get(split + 4..).unwrap_or_default();
    if head.starts_with("http/1.1 304") || head.starts_with("http/1.1 204") {
        return true;
    }
    if let Some(len) =
        head.lines().find_map(|l| l.strip_prefix("content-length:")).and_then(|v| v.trim().parse::<usize>().ok())
    {
        return body.len() >= len;
    }
    if head.contains("transfer-encoding: chunked") {
        return body.ends_with(b"0\r\n\r\n");
    }
    false
}

fn parse_response(raw: &[u8]) -> Result<Resp, String> {
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").ok_or("no header end")?;
    let head = String::from_utf8_lossy(raw.get(..split).unwrap_or_default()).into_owned();
    let mut lines = head.split("\r\n");
    let status =
        lines.next().and_then(|l| l.split(' ').nth(1)).and_then(|s| s.parse().ok()).ok_or("bad status line")?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':').map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned())))
        .collect();
    let rest = raw.get(split + 4..).unwrap_or_default();
    let chunked = headers.iter().any(|(k, v)| k == "transfer-encoding" && v.contains("chunked"));
    let body = if chunked { dechunk(rest)? } else { rest.to_vec() };
    Ok(Resp { status, headers, body })
}

fn dechunk(mut data: &[u8]) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    loop {
        let line_end = data.windows(2).position(|w| w == b"\r\n").ok_or("bad chunk")?;
        let size_str = String::from_utf8_lossy(data.get(..line_end).unwrap_or_default()).into_owned();
        let size =
            usize::from_str_radix(size_str.split(';').next().unwrap_or("0").trim(), 16).map_err(|e| e.to_string())?;
        data = data.get(line_end + 2..).unwrap_or_default();
        if size == 0 {
            return Ok(out);
        }
        out.extend_from_slice(data.get(..size).ok_or("short chunk")?);
        data = data.get(size + 2..).unwrap_or_default();
    }
}
