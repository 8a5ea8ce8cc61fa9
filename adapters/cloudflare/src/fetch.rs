//! The outbound HTTP port on Workers: the runtime's `fetch`, redirects not followed, with
//! an abort after [`OUTBOUND_TIMEOUT_MS`] and a cap on the response size.

use std::time::Duration;

use taskapi::ports::{HttpClient, HttpError, MAX_OUTBOUND_RESPONSE, OUTBOUND_TIMEOUT_MS};
use worker::{AbortController, AbortSignal, Delay, Fetch, Headers, Method, Request, RequestInit, RequestRedirect};

pub struct WorkerFetch;

fn err(e: impl std::fmt::Display) -> HttpError {
    HttpError(e.to_string())
}

async fn fetch(req: http::Request<Vec<u8>>, signal: &AbortSignal) -> Result<http::Response<Vec<u8>>, HttpError> {
    let (parts, body) = req.into_parts();
    let headers = Headers::new();
    for (name, value) in &parts.headers {
        headers.append(name.as_str(), value.to_str().map_err(err)?).map_err(err)?;
    }
    let mut init = RequestInit::new();
    init.with_method(Method::from(parts.method.as_str().to_owned()))
        .with_headers(headers)
        .with_redirect(RequestRedirect::Manual);
    if !body.is_empty() {
        init.with_body(Some(js_sys::Uint8Array::from(body.as_slice()).into()));
    }
    let request = Request::new_with_init(&parts.uri.to_string(), &init).map_err(err)?;
    let mut res = Fetch::Request(request).send_with_signal(signal).await.map_err(err)?;
    let declared = res.headers().get("content-length").ok().flatten().and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > MAX_OUTBOUND_RESPONSE) {
        return Err(HttpError(format!("response larger than {MAX_OUTBOUND_RESPONSE} bytes")));
    }
    let bytes = res.bytes().await.map_err(err)?;
    if bytes.len() > MAX_OUTBOUND_RESPONSE {
        return Err(HttpError(format!("response larger than {MAX_OUTBOUND_RESPONSE} bytes")));
    }
    let mut out = http::Response::builder().status(res.status_code());
    for (name, value) in res.headers().entries() {
        out = out.header(name, value);
    }
    out.body(bytes).map_err(err)
}

#[async_trait::async_trait]
impl HttpClient for WorkerFetch {
    async fn send(&self, req: http::Request<Vec<u8>>) -> Result<http::Response<Vec<u8>>, HttpError> {
        worker::send::SendFuture::new(async move {
            let controller = AbortController::default();
            let signal = controller.signal();
            let call = std::pin::pin!(fetch(req, &signal));
            let timeout = std::pin::pin!(Delay::from(Duration::from_millis(OUTBOUND_TIMEOUT_MS)));
            match futures_util::future::select(call, timeout).await {
                futures_util::future::Either::Left((result, _)) => result,
                futures_util::future::Either::Right(((), _)) => {
                    controller.abort();
                    Err(HttpError(format!("no response within {OUTBOUND_TIMEOUT_MS} ms")))
                }
            }
        })
        .await
    }
}
