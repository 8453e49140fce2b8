//! The SQLite store on real files: the Store contract (atomic commits, deduplication, timers
//! that fire once, the outbox), persistence across reopening, and the runtime on top; and the
//! same contract on a real PostgreSQL server.

mod contract;
mod group_commit;
mod postgres;
mod sqlite;
