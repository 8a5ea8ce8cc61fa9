//! Host-side bindings for the Spin interfaces the SDK's guests import.
//!
//! The WIT under `wit/deps` is copied verbatim from spin-sdk 6.0.0.

wasmtime::component::bindgen!({
    path: "wit",
    world: "spin-test-host:host/host",
    // Every host function may trap (returns `wasmtime::Result<..>`); WIT
    // `async` functions additionally get `async | store` by default and are
    // generated into the `*WithStore` traits taking an `Accessor`.
    imports: { default: trappable },
    with: {
        "spin:sqlite/sqlite.connection": crate::sqlite::Conn,
        "spin:key-value/key-value.store": crate::kv::KvStore,
    },
    require_store_data_send: true,
});

pub use spin::key_value::key_value;
pub use spin::sqlite::sqlite;
pub use spin::variables::variables;
