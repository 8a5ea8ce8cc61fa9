//! `spin:key-value/key-value@3.0.0` backed by a SQLite table
//! `spin_key_value(store, key, value)` (the layout Spin's SQLite key-value
//! provider uses).

use crate::bindings::key_value::{self, Error};
use crate::HostState;
use anyhow::Context as _;
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use wasmtime::component::{Accessor, FutureReader, HasSelf, Resource, StreamReader};

const MAX_IDLE: usize = 32;

/// The SQLite file holding every key-value store, plus the labels a guest may open.
pub struct KvBackend {
    path: PathBuf,
    labels: HashSet<String>,
    idle: Mutex<Vec<rusqlite::Connection>>,
}

impl KvBackend {
    pub fn new(path: PathBuf, labels: HashSet<String>) -> anyhow::Result<Self> {
        let conn = crate::sqlite::open_file(&path)
            .with_context(|| format!("opening key-value database {}", path.display()))?;
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS spin_key_value (
                store TEXT NOT NULL,
                key   TEXT NOT NULL,
                value BLOB NOT NULL,
                PRIMARY KEY (store, key)
            );",
        )
        .with_context(|| format!("creating table spin_key_value in {}", path.display()))?;
        Ok(Self { path, labels, idle: Mutex::new(vec![conn]) })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Runs `f` on a pooled connection on a blocking thread.
    async fn run<R: Send + 'static>(
        self: &Arc<Self>,
        f: impl FnOnce(&rusqlite::Connection) -> rusqlite::Result<R> + Send + 'static,
    ) -> Result<R, Error> {
        let this = self.clone();
        tokio::task::spawn_blocking(move || {
            let pooled = this.idle.lock().map_err(|e| other(e.to_string()))?.pop();
            let conn = match pooled {
                Some(c) => c,
                None => crate::sqlite::open_file(&this.path).map_err(|e| other(e.to_string()))?,
            };
            let result = f(&conn).map_err(|e| other(e.to_string()));
            if conn.is_autocommit() {
                if let Ok(mut idle) = this.idle.lock() {
                    if idle.len() < MAX_IDLE {
                        idle.push(conn);
                    }
                }
            }
            result
        })
        .await
        .map_err(|e| other(format!("key-value worker failed: {e}")))?
    }
}

fn other(msg: String) -> Error {
    Error::Other(msg)
}

/// An open store (the `store` resource): just its label.
pub struct KvStore {
    label: String,
}

fn store_label<T>(
    accessor: &Accessor<T, HasSelf<HostState>>,
    store: &Resource<KvStore>,
) -> Result<(Arc<KvBackend>, String), Error> {
    accessor.with(|mut access| {
        let state = access.get();
        let label =
            state.table.get(store).map(|s| s.label.clone()).map_err(|e| other(format!("invalid store handle: {e}")))?;
        Ok((state.shared.kv.clone(), label))
    })
}

/// Runs `f` with the label of `store` on a pooled connection of the key-value database.
async fn run_on_store<T, R: Send + 'static>(
    accessor: &Accessor<T, HasSelf<HostState>>,
    store: &Resource<KvStore>,
    f: impl FnOnce(&rusqlite::Connection, &str) -> rusqlite::Result<R> + Send + 'static,
) -> Result<R, Error> {
    let (kv, label) = store_label(accessor, store)?;
    kv.run(move |c| f(c, &label)).await
}

impl key_value::Host for HostState {}

impl key_value::HostStore for HostState {
    fn drop(&mut self, store: Resource<KvStore>) -> wasmtime::Result<()> {
        self.table.delete(store)?;
        Ok(())
    }
}

impl key_value::HostStoreWithStore for HasSelf<HostState> {
    async fn open<T>(
        accessor: &Accessor<T, Self>,
        label: String,
    ) -> wasmtime::Result<Result<Resource<KvStore>, Error>> {
        Ok(accessor.with(|mut access| {
            let state = access.get();
            if !state.shared.kv.labels.contains(&label) {
                return Err(Error::NoSuchStore);
            }
            state.table.push(KvStore { label }).map_err(|e| {
                eprintln!("spin-test-host: key-value: cannot open store: {e}");
                Error::StoreTableFull
            })
        }))
    }

    async fn get<T>(
        accessor: &Accessor<T, Self>,
        store: Resource<KvStore>,
        key: String,
    ) -> wasmtime::Result<Result<Option<Vec<u8>>, Error>> {
        Ok(run_on_store(accessor, &store, move |c, label| {
            let mut stmt = c.prepare_cached("SELECT value FROM spin_key_value WHERE store = ?1 AND key = ?2")?;
            let mut rows = stmt.query(rusqlite::params![label, key])?;
            match rows.next()? {
                Some(row) => Ok(Some(row.get::<_, Vec<u8>>(0)?)),
                None => Ok(None),
            }
        })
        .await)
    }

    async fn set<T>(
        accessor: &Accessor<T, Self>,
        store: Resource<KvStore>,
        key: String,
        value: Vec<u8>,
    ) -> wasmtime::Result<Result<(), Error>> {
        Ok(run_on_store(accessor, &store, move |c, label| {
            c.prepare_cached(
                "INSERT INTO spin_key_value (store, key, value) VALUES (?1, ?2, ?3)
                 ON CONFLICT (store, key) DO UPDATE SET value = excluded.value",
            )?
            .execute(rusqlite::params![label, key, value])?;
            Ok(())
        })
        .await)
    }

    async fn delete<T>(
        accessor: &Accessor<T, Self>,
        store: Resource<KvStore>,
        key: String,
    ) -> wasmtime::Result<Result<(), Error>> {
        Ok(run_on_store(accessor, &store, move |c, label| {
            c.prepare_cached("DELETE FROM spin_key_value WHERE store = ?1 AND key = ?2")?
                .execute(rusqlite::params![label, key])?;
            Ok(())
        })
        .await)
    }

    async fn exists<T>(
        accessor: &Accessor<T, Self>,
        store: Resource<KvStore>,
        key: String,
    ) -> wasmtime::Result<Result<bool, Error>> {
        Ok(run_on_store(accessor, &store, move |c, label| {
            c.prepare_cached("SELECT 1 FROM spin_key_value WHERE store = ?1 AND key = ?2")?
                .exists(rusqlite::params![label, key])
        })
        .await)
    }

    async fn get_keys<T>(
        accessor: &Accessor<T, Self>,
        store: Resource<KvStore>,
    ) -> wasmtime::Result<(StreamReader<String>, FutureReader<Result<(), Error>>)> {
        let result = run_on_store(accessor, &store, |c, label| {
            let mut stmt = c.prepare_cached("SELECT key FROM spin_key_value WHERE store = ?1 ORDER BY key")?;
            let keys = stmt.query_map(rusqlite::params![label], |row| row.get::<_, String>(0))?;
            keys.collect::<rusqlite::Result<Vec<String>>>()
        })
        .await;
        let (keys, done) = match result {
            Ok(keys) => (keys, Ok(())),
            Err(e) => (Vec::new(), Err(e)),
        };
        accessor.with(|mut access| {
            let keys = StreamReader::new(&mut access, keys)?;
            let done = FutureReader::new(&mut access, std::future::ready(Ok::<_, wasmtime::Error>(done)))?;
            Ok((keys, done))
        })
    }
}
