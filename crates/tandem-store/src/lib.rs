//! Durable [`Store`](tandem_core::Store) implementations. SQLite is the embedded default:
//! one file, created on first run, WAL mode, schema by migrations. (PostgreSQL, for several
//! instances on one database, comes with its own issue.)

mod codec;
mod group_commit;
mod sqlite;

pub use sqlite::SqliteStore;
