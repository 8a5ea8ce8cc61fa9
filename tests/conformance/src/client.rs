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
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
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
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// Sends a request; `body` is sent as is (set `Content-Type` in `headers`).
    ///
    /// # Errors
    /// Transport failures (connection refused, timeout), never HTTP statuses.
    pub fn send(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<&[u8]>,
    ) -> Result<Resp, String> {
        let mut builder = ureq::http::Request::builder().method(method).uri(self.url(path));
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
            .map(|(k, v)| {
                (
                    k.as_str().to_owned(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
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
