//! eliza-store: the diesel implementation of the `eliza-domain` storage ports, over SQLite or PostgreSQL
//! through one `MultiConnection` (vaultwarden style). The backend is picked by the URL scheme at run time.
//!
//! ```no_run
//! # async fn demo() -> Result<(), eliza_domain::StoreError> {
//! use eliza_store::{DieselStore, StoreOptions};
//! let store = DieselStore::connect("sqlite://eliza.db", StoreOptions::default()).await?;
//! # drop(store); Ok(()) }
//! ```

#[cfg(not(any(feature = "sqlite", feature = "postgres")))]
compile_error!(
    "eliza-store needs at least one backend: enable the `sqlite` and/or `postgres` feature"
);

mod ann;
mod codec;
mod conn;
mod error;
pub mod migrations;
mod ports;
mod queries;
mod schema;
mod store;

pub use conn::Backend;
pub use store::{DieselStore, StoreOptions};
