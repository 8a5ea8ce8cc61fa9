//! `spin-test-host`: a minimal stand-in for `spin up` that serves one Spin 4.0
//! HTTP component (`wasi:http/service@0.3.0-rc-2026-03-15`, as produced by
//! `#[spin_sdk::http_service]` in spin-sdk 6) over HTTP/1.1, with SQLite,
//! key-value and variables host implementations, and outbound HTTP (plain
//! `http://` only) to the origins allowed with `--allow-outbound`. Meant for
//! tests and benchmarks, not production.
//!
//! Model (as in Spin): the component is compiled and pre-instantiated once;
//! every request gets a fresh `Store` and instance.

mod bindings;
mod kv;
mod outbound;
mod sqlite;
mod variables;

use anyhow::{bail, Context as _};
use bytes::Bytes;
use clap::Parser;
use http::{HeaderValue, Response, StatusCode};
use http_body_util::BodyExt as _;
use hyper::body::{Frame, Incoming};
use hyper_util::rt::{TokioIo, TokioTimer};
use std::collections::HashSet;
use std::convert::Infallible;
use std::io::Write as _;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};
use tokio::net::TcpListener;
use tokio::sync::{mpsc, oneshot};
use wasmtime::component::{Component, HasSelf, Linker, ResourceTable};
use wasmtime::{Config, Engine, Store};
use wasmtime_wasi::{WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};
use wasmtime_wasi_http::p3::bindings::http::types::ErrorCode;
use wasmtime_wasi_http::p3::bindings::ServicePre;
use wasmtime_wasi_http::p3::{WasiHttpCtxView, WasiHttpView};
use wasmtime_wasi_http::WasiHttpCtx;

/// Serve a Spin 4 HTTP component (wasi:http/service@0.3.0-rc-2026-03-15) on
/// loopback, with Spin's SQLite, key-value and variables interfaces.
///
/// Prints `listening on http://ADDR` on stdout once it accepts connections.
/// The component's own stdout/stderr are inherited. Stops on SIGINT/SIGTERM.
#[derive(Parser, Debug)]
#[command(name = "spin-test-host", version)]
struct Cli {
    /// The component (.wasm) to serve, built with spin-sdk 6 `#[http_service]`.
    #[arg(long, value_name = "PATH")]
    component: PathBuf,

    /// Address to listen on (port 0 picks a free port; the chosen address is printed).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:3000")]
    listen: SocketAddr,

    /// SQLite file behind the database label `default` (created if missing).
    #[arg(long, value_name = "PATH", default_value = ".spin/sqlite_db.db")]
    sqlite: PathBuf,

    /// Another database label and its file, e.g. `--sqlite-db audit=/tmp/audit.db`
    /// (repeatable). Opening any label not configured fails with
    /// `error::no-such-database`.
    #[arg(long = "sqlite-db", value_name = "LABEL=PATH", value_parser = parse_label_path)]
    sqlite_db: Vec<(String, PathBuf)>,

    /// SQL file executed as one batch against the `default` database at
    /// start-up, like `spin up --sqlite @FILE` (repeatable, run in order).
    #[arg(long = "sqlite-init", value_name = "FILE")]
    sqlite_init: Vec<PathBuf>,

    /// SQLite file holding the key-value stores (table `spin_key_value`);
    /// defaults to the `--sqlite` file.
    #[arg(long, value_name = "PATH")]
    kv: Option<PathBuf>,

    /// Extra key-value store label the guest may open besides `default`
    /// (repeatable; all labels live in the same table).
    #[arg(long = "kv-store", value_name = "LABEL")]
    kv_store: Vec<String>,

    /// Application variable, e.g. `--var api_token=secret` (repeatable). Also read
    /// from environment variables `SPIN_VARIABLE_<UPPERCASE_NAME>`; `--var` wins.
    #[arg(long = "var", value_name = "NAME=VALUE", value_parser = parse_var)]
    vars: Vec<(String, String)>,

    /// Origin the component may send HTTP requests to, as in Spin's
    /// `allowed_outbound_hosts` (repeatable): `SCHEME://HOST[:PORT]` with
    /// `*` allowed for the scheme, the host (or `*.domain`) and the port,
    /// e.g. `http://127.0.0.1:9400` or `*://127.0.0.1:*`; `insecure:allow-all`
    /// allows everything. Other requests answer `http-request-denied`. Only
    /// plain HTTP is sent: `https://` answers `TLS-protocol-error`.
    #[arg(long = "allow-outbound", value_name = "ORIGIN", value_parser = outbound::AllowedOrigin::parse)]
    allow_outbound: Vec<outbound::AllowedOrigin>,
}

fn parse_label_path(s: &str) -> Result<(String, PathBuf), String> {
    let (label, path) = s.split_once('=').ok_or_else(|| format!("expected LABEL=PATH, got {s:?}"))?;
    if label.is_empty() || path.is_empty() {
        return Err(format!("expected LABEL=PATH, got {s:?}"));
    }
    Ok((label.to_string(), PathBuf::from(path)))
}

fn parse_var(s: &str) -> Result<(String, String), String> {
    let (name, value) = s.split_once('=').ok_or_else(|| format!("expected NAME=VALUE, got {s:?}"))?;
    if !variables::valid_name(name) {
        return Err(format!(
            "invalid variable name {name:?}: use lowercase letters, digits and single underscores, starting with a letter"
        ));
    }
    Ok((name.to_string(), value.to_string()))
}

/// `wasmtime::Error` is not a `std::error::Error`; convert before adding context.
trait AnyhowExt<T> {
    fn anyhow(self) -> anyhow::Result<T>;
}

impl<T> AnyhowExt<T> for wasmtime::Result<T> {
    fn anyhow(self) -> anyhow::Result<T> {
        self.map_err(anyhow::Error::from)
    }
}

/// State shared by every request.
pub struct Shared {
    pub sqlite: sqlite::Databases,
    pub kv: Arc<kv::KvBackend>,
    pub vars: variables::Variables,
}

/// The data of one request's `Store`.
pub struct HostState {
    pub table: ResourceTable,
    wasi: WasiCtx,
    http: WasiHttpCtx,
    hooks: outbound::OutboundHttp,
    pub shared: Arc<Shared>,
}

impl WasiView for HostState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView { ctx: &mut self.wasi, table: &mut self.table }
    }
}

impl WasiHttpView for HostState {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView { hooks: &mut self.hooks, table: &mut self.table, ctx: &mut self.http }
    }
}

/// Everything needed to serve requests.
struct App {
    engine: Engine,
    pre: ServicePre<HostState>,
    shared: Arc<Shared>,
    outbound: outbound::OutboundHttp,
}

/// Body type of the responses this server writes.
enum HostBody {
    Full(Option<Bytes>),
    Stream(mpsc::Receiver<Result<Frame<Bytes>, std::io::Error>>),
}

impl hyper::body::Body for HostBody {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        match self.get_mut() {
            HostBody::Full(data) => Poll::Ready(data.take().map(|d| Ok(Frame::data(d)))),
            HostBody::Stream(rx) => rx.poll_recv(cx),
        }
    }

    fn is_end_stream(&self) -> bool {
        matches!(self, HostBody::Full(None))
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        match self {
            HostBody::Full(Some(d)) => hyper::body::SizeHint::with_exact(d.len() as u64),
            HostBody::Full(None) => hyper::body::SizeHint::with_exact(0),
            HostBody::Stream(_) => hyper::body::SizeHint::default(),
        }
    }
}

fn plain(status: StatusCode, body: &'static str) -> Response<HostBody> {
    let mut resp = Response::new(HostBody::Full(Some(Bytes::from_static(body.as_bytes()))));
    *resp.status_mut() = status;
    resp.headers_mut().insert(http::header::CONTENT_TYPE, HeaderValue::from_static("text/plain; charset=utf-8"));
    resp
}

type GuestRequest = http::Request<outbound::HttpBody>;

/// Headers Spin sets on every request it hands to a component; any incoming
/// copies are replaced.
const SPIN_HEADERS: &[&str] = &[
    "spin-client-addr",
    "spin-full-url",
    "spin-path-info",
    "spin-matched-route",
    "spin-raw-component-route",
    "spin-component-route",
    "spin-base-path",
];

/// Turn the hyper request into the request the guest sees: absolute URI and
/// Spin's `spin-*` headers, as `spin up` does for a `route = "/..."` component.
fn guest_request(req: hyper::Request<Incoming>, peer: SocketAddr, local: SocketAddr) -> anyhow::Result<GuestRequest> {
    let (mut parts, body) = req.into_parts();
    let authority = parts
        .headers
        .get(http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .and_then(|h| h.parse::<http::uri::Authority>().ok())
        .or_else(|| parts.uri.authority().cloned())
        .map_or_else(|| local.to_string(), |a| a.to_string());
    let path_and_query = parts.uri.path_and_query().map_or_else(|| "/".to_string(), |pq| pq.as_str().to_string());
    let path = parts.uri.path().to_string();
    let full_url = format!("http://{authority}{path_and_query}");
    parts.uri = full_url.parse().with_context(|| format!("invalid request URL {full_url:?}"))?;

    let headers = &mut parts.headers;
    for name in SPIN_HEADERS {
        headers.remove(*name);
    }
    let mut set = |name: &'static str, value: &str| -> anyhow::Result<()> {
        headers.insert(name, HeaderValue::from_str(value).with_context(|| format!("header {name}"))?);
        Ok(())
    };
    set("spin-client-addr", &peer.to_string())?;
    set("spin-full-url", &full_url)?;
    set("spin-path-info", &path)?;
    set("spin-matched-route", "/...")?;
    set("spin-raw-component-route", "/...")?;
    set("spin-component-route", "")?;
    set("spin-base-path", "/")?;

    let body = body.map_err(|e| ErrorCode::InternalError(Some(format!("reading request body: {e}")))).boxed_unsync();
    Ok(http::Request::from_parts(parts, body))
}

impl App {
    fn new_store(&self) -> Store<HostState> {
        let wasi = WasiCtxBuilder::new().inherit_stdout().inherit_stderr().build();
        Store::new(
            &self.engine,
            HostState {
                table: ResourceTable::new(),
                wasi,
                http: WasiHttpCtx::new(),
                hooks: self.outbound.clone(),
                shared: self.shared.clone(),
            },
        )
    }

    /// Answer one HTTP request. Never fails: problems become a 500 and are
    /// logged to stderr.
    async fn serve(
        self: Arc<Self>,
        req: hyper::Request<Incoming>,
        peer: SocketAddr,
        local: SocketAddr,
    ) -> Response<HostBody> {
        let req = match guest_request(req, peer, local) {
            Ok(req) => req,
            Err(e) => {
                eprintln!("spin-test-host: bad request from {peer}: {e:#}");
                return plain(StatusCode::BAD_REQUEST, "Bad Request\n");
            }
        };
        let (head_tx, head_rx) = oneshot::channel();
        // The guest runs on its own task so that it keeps running (and its
        // response body keeps streaming) independently of this future.
        tokio::spawn(async move {
            if let Err(e) = self.run_guest(req, head_tx).await {
                eprintln!("spin-test-host: request failed: {e:#}");
            }
        });
        match head_rx.await {
            Ok(resp) => resp,
            Err(_) => plain(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error\n"),
        }
    }

    async fn run_guest(&self, req: GuestRequest, head_tx: oneshot::Sender<Response<HostBody>>) -> anyhow::Result<()> {
        let mut store = self.new_store();
        let service = self.pre.instantiate_async(&mut store).await.anyhow().context("instantiating the component")?;
        let (req, req_io) = wasmtime_wasi_http::p3::Request::from_http(req);
        // Reports request-body errors (if any) once the guest is done with
        // the body; purely informational.
        tokio::spawn(async move {
            if let Err(code) = req_io.await {
                eprintln!("spin-test-host: request body error: {code:?}");
            }
        });

        store
            .run_concurrent(async move |accessor| -> anyhow::Result<()> {
                let resp = service
                    .handle(accessor, req)
                    .await
                    .anyhow()
                    .context("guest trapped in wasi:http/handler#handle")?;
                let resp = match resp {
                    Ok(resp) => resp,
                    Err(code) => bail!("guest returned error code {code:?}"),
                };
                let resp = accessor
                    .with(|access| resp.into_http(access, async { Ok(()) }))
                    .anyhow()
                    .context("converting the guest response")?;
                let (parts, mut body) = resp.into_parts();
                let (tx, rx) = mpsc::channel(16);
                if head_tx.send(Response::from_parts(parts, HostBody::Stream(rx))).is_err() {
                    return Ok(()); // client went away
                }
                // Forward the body while the store's event loop keeps
                // running the guest that produces it.
                while let Some(frame) = body.frame().await {
                    match frame {
                        Ok(frame) => {
                            if tx.send(Ok(frame)).await.is_err() {
                                return Ok(()); // client went away
                            }
                        }
                        Err(code) => {
                            let msg = format!("response body failed: {code:?}");
                            let _ = tx.send(Err(std::io::Error::other(msg.clone()))).await;
                            bail!(msg);
                        }
                    }
                }
                Ok(())
            })
            .await
            .anyhow()
            .context("running the component")?
    }
}

fn build_app(cli: &Cli) -> anyhow::Result<App> {
    // Databases.
    let mut dbs = sqlite::Databases::default();
    dbs.insert(sqlite::Database::new("default".into(), cli.sqlite.clone())?);
    for (label, path) in &cli.sqlite_db {
        if label == "default" {
            bail!("use --sqlite for the `default` database, not --sqlite-db default=...");
        }
        dbs.insert(sqlite::Database::new(label.clone(), path.clone())?);
    }
    if let Some(default_db) = dbs.get("default") {
        for file in &cli.sqlite_init {
            // Accept Spin's `@file` spelling too.
            let file = file.to_str().and_then(|s| s.strip_prefix('@')).map_or_else(|| file.clone(), PathBuf::from);
            let sql = std::fs::read_to_string(&file)
                .with_context(|| format!("reading --sqlite-init file {}", file.display()))?;
            default_db
                .execute_batch(&sql)
                .with_context(|| format!("executing --sqlite-init file {}", file.display()))?;
        }
    }
    for db in dbs.iter() {
        eprintln!("spin-test-host: sqlite database {:?} -> {}", db.label(), db.path().display());
    }

    // Key-value.
    let mut labels: HashSet<String> = cli.kv_store.iter().cloned().collect();
    labels.insert("default".into());
    let kv_path = cli.kv.clone().unwrap_or_else(|| cli.sqlite.clone());
    let kv = kv::KvBackend::new(kv_path, labels)?;
    eprintln!("spin-test-host: key-value stores -> {}", kv.path().display());

    // Variables.
    let vars = variables::Variables::resolve(cli.vars.iter().cloned(), std::env::vars())?;
    eprintln!("spin-test-host: {} variable(s) defined", vars.len());

    // Outbound HTTP.
    let outbound = outbound::OutboundHttp::new(cli.allow_outbound.clone());
    if outbound.allowed().is_empty() {
        eprintln!("spin-test-host: outbound HTTP: none allowed (see --allow-outbound)");
    }
    for origin in outbound.allowed() {
        eprintln!("spin-test-host: outbound HTTP allowed to {origin}");
        if origin.may_match_https() {
            eprintln!(
                "spin-test-host: note: {origin} covers https://, which this host cannot send (no TLS): such requests answer TLS-protocol-error"
            );
        }
    }

    // Engine, component, linker.
    let mut config = Config::new();
    config.wasm_component_model_async(true);
    let engine = Engine::new(&config).anyhow().context("creating the wasmtime engine")?;

    let started = Instant::now();
    let component = Component::from_file(&engine, &cli.component)
        .anyhow()
        .with_context(|| format!("compiling component {}", cli.component.display()))?;
    eprintln!("spin-test-host: compiled {} in {} ms", cli.component.display(), started.elapsed().as_millis());

    let mut linker = Linker::<HostState>::new(&engine);
    wasmtime_wasi::p2::add_to_linker_async(&mut linker).anyhow().context("linking wasi p2")?;
    wasmtime_wasi::p3::add_to_linker(&mut linker).anyhow().context("linking wasi p3")?;
    wasmtime_wasi_http::p3::add_to_linker(&mut linker).anyhow().context("linking wasi:http p3")?;
    bindings::Host_::add_to_linker::<_, HasSelf<HostState>>(&mut linker, |state| state)
        .anyhow()
        .context("linking spin interfaces")?;
    let pre = linker
        .instantiate_pre(&component)
        .anyhow()
        .context("the component imports something this host does not provide")?;
    let pre =
        ServicePre::new(pre).anyhow().context("the component does not export wasi:http/handler@0.3.0-rc-2026-03-15")?;

    Ok(App { engine, pre, shared: Arc::new(Shared { sqlite: dbs, kv: Arc::new(kv), vars }), outbound })
}

async fn shutdown_signal() -> anyhow::Result<&'static str> {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .context("installing the SIGTERM handler")?;
    tokio::select! {
        r = tokio::signal::ctrl_c() => { r.context("waiting for SIGINT")?; Ok("SIGINT") }
        _ = term.recv() => Ok("SIGTERM"),
    }
}

async fn serve(app: Arc<App>, listen: SocketAddr) -> anyhow::Result<()> {
    let listener = TcpListener::bind(listen).await.with_context(|| format!("binding {listen}"))?;
    let local = listener.local_addr().context("reading the bound address")?;
    {
        let mut out = std::io::stdout().lock();
        writeln!(out, "listening on http://{local}")?;
        out.flush()?;
    }

    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut signal = std::pin::pin!(shutdown_signal());
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let (stream, peer) = match accepted {
                    Ok(x) => x,
                    Err(e) => {
                        // E.g. EMFILE: back off a little instead of spinning.
                        eprintln!("spin-test-host: accept failed: {e}");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let _ = stream.set_nodelay(true);
                let app = app.clone();
                let service = hyper::service::service_fn(move |req| {
                    let app = app.clone();
                    async move { Ok::<_, Infallible>(app.serve(req, peer, local).await) }
                });
                let conn = hyper::server::conn::http1::Builder::new()
                    .timer(TokioTimer::new())
                    .serve_connection(TokioIo::new(stream), service);
                let conn = graceful.watch(conn);
                tokio::spawn(async move {
                    if let Err(e) = conn.await {
                        if !e.is_incomplete_message() {
                            eprintln!("spin-test-host: connection from {peer}: {e}");
                        }
                    }
                });
            }
            sig = &mut signal => {
                let sig = sig?;
                eprintln!("spin-test-host: {sig} received, shutting down");
                break;
            }
        }
    }
    drop(listener);
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(Duration::from_secs(10)) => {
            eprintln!("spin-test-host: some connections did not finish within 10 s");
        }
    }
    Ok(())
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("spin-test-host: error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    let runtime =
        tokio::runtime::Builder::new_multi_thread().enable_all().build().context("starting the tokio runtime")?;
    runtime.block_on(async move {
        // Compilation is CPU-heavy and blocking; keep it off the async workers.
        let app = tokio::task::spawn_blocking(move || build_app(&cli).map(|app| (app, cli.listen)))
            .await
            .context("start-up task failed")??;
        let (app, listen) = app;
        serve(Arc::new(app), listen).await
    })
}
