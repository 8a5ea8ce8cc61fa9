//! `taskapi-native`: serves the core router over rusqlite on a loopback port.
//! Usage: `taskapi-native [--listen 127.0.0.1:8788] [--db path.sqlite]`; configuration
//! comes from the process environment (see README).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use taskapi::Settings;
use taskapi_native::{ports, SqliteStore, StdoutLogger};

fn arg(args: &[String], name: &str) -> Option<String> {
    args.iter().position(|a| a == name).and_then(|i| args.get(i.saturating_add(1)).cloned())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let listen: SocketAddr = arg(&args, "--listen").unwrap_or_else(|| "127.0.0.1:8788".into()).parse()?;
    let settings = Settings::from_lookup(|k| std::env::var(k).ok())?;
    let store = match arg(&args, "--db") {
        Some(path) => SqliteStore::open(&PathBuf::from(path))?,
        None => SqliteStore::in_memory()?,
    };
    let app = taskapi_native::app(ports(Arc::new(store), settings, Arc::new(StdoutLogger::default())));
    let listener = tokio::net::TcpListener::bind(listen).await?;
    println!("listening on http://{}", listener.local_addr()?);
    axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>())
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}
