//! Durable [`Store`](tandem_core::Store) implementations. SQLite is the embedded default:
//! one file, created on first run, WAL mode, schema by migrations. PostgreSQL keeps the same
//! tables for a bot that outgrows one machine.

mod codec;
mod file_lock;
mod group_commit;
mod known;
mod live;
mod postgres;
mod queries;
mod sqlite;

pub use live::DEFAULT_LIVE_STATE_BYTES;
pub use postgres::PostgresStore;
pub use sqlite::SqliteStore;
