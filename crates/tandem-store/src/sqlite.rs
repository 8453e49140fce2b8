//! The SQLite store: a step's state, journal, outbox and timers are written in one
//! `BEGIN IMMEDIATE` transaction, together or not at all; concurrent steps of many
//! conversations share that transaction (group commit, see [`crate::group_commit`]). Reads go
//! straight to the pool (WAL: they never wait for the writer).

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::Row;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous};
use tandem_core::{
    Commit, CommitOutcome, Conversation, ConversationId, JournalEntry, OutboxMessage, Store, StoreError, Timer,
};
use tokio::sync::{mpsc, oneshot};

use crate::codec::{EncodedCommit, db_error, from_json, from_micros, micros};
use crate::group_commit::{self, Marking, Write};
use crate::queries;

/// Conversations in one SQLite file.
#[derive(Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
    writer: mpsc::Sender<Write>,
    /// Marked delivered, mark not yet written.
    marking: Marking,
}

impl SqliteStore {
    /// Open (or create) the database at `path` and bring its schema up to date.
    pub async fn open(path: &Path) -> Result<Self, StoreError> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent)
                .map_err(|e| StoreError::Database(format!("creating {}: {e}", parent.display())))?;
        }
        let url = format!("sqlite://{}", path.display());
        let options = SqliteConnectOptions::from_str(&url)
            .map_err(db_error)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(10))
            .foreign_keys(true);
        let pool = SqlitePoolOptions::new().max_connections(4).connect_with(options.clone()).await.map_err(db_error)?;
        sqlx::migrate!("./migrations/sqlite")
            .run(&pool)
            .await
            .map_err(|e| StoreError::Database(format!("migrating {}: {e}", path.display())))?;
        let marking = Marking::default();
        let writer = group_commit::start(&options, marking.clone()).await?;
        Ok(Self { pool, writer, marking })
    }

    /// How many timers wait to fire.
    pub async fn pending_timers(&self) -> Result<u64, StoreError> {
        let row = sqlx::query(queries::PENDING_TIMERS).fetch_one(&self.pool).await.map_err(db_error)?;
        Ok(row.get::<i64, _>(0) as u64)
    }

    async fn queue(&self, write: Write) -> Result<(), StoreError> {
        self.writer.send(write).await.map_err(|_| writer_gone())
    }
}

fn writer_gone() -> StoreError {
    StoreError::Database("the store's writer has stopped (its runtime shut down)".into())
}

#[async_trait]
impl Store for SqliteStore {
    async fn load(&self, id: &ConversationId) -> Result<Option<Conversation>, StoreError> {
        let row = sqlx::query(queries::LOAD).bind(id.key()).fetch_optional(&self.pool).await.map_err(db_error)?;
        row.map(|r| from_json(r.get::<&str, _>(0))).transpose()
    }

    async fn seen_inbound(&self, id: &ConversationId, platform_id: &str) -> Result<bool, StoreError> {
        let row = sqlx::query(queries::SEEN_INBOUND)
            .bind(id.key())
            .bind(platform_id)
            .fetch_optional(&self.pool)
            .await
            .map_err(db_error)?;
        Ok(row.is_some())
    }

    async fn commit(&self, commit: Commit) -> Result<CommitOutcome, StoreError> {
        let (reply, outcome) = oneshot::channel();
        self.queue(Write::Commit(Box::new(EncodedCommit::new(commit)?), reply)).await?;
        outcome.await.map_err(|_| writer_gone())?
    }

    async fn due_timers(&self, now: DateTime<Utc>, limit: usize) -> Result<Vec<Timer>, StoreError> {
        let rows = sqlx::query(queries::DUE_TIMERS)
            .bind(micros(now))
            .bind(limit as i64)
            .fetch_all(&self.pool)
            .await
            .map_err(db_error)?;
        rows.iter().map(|r| queries::timer(r.get(0), r.get(1), r.get(2), r.get(3))).collect()
    }

    async fn next_timer_due(&self) -> Result<Option<DateTime<Utc>>, StoreError> {
        let row = sqlx::query(queries::NEXT_TIMER_DUE).fetch_one(&self.pool).await.map_err(db_error)?;
        Ok(row.get::<Option<i64>, _>(0).map(from_micros))
    }

    async fn undelivered(&self, limit: usize) -> Result<Vec<OutboxMessage>, StoreError> {
        // Before the query: a mark written after this copy is taken is seen by the query.
        let marking = self.marking.lock().unwrap_or_else(|e| e.into_inner()).clone();
        let rows =
            sqlx::query(queries::UNDELIVERED).bind(limit as i64).fetch_all(&self.pool).await.map_err(db_error)?;
        rows.iter()
            .filter(|r| !marking.contains(&r.get::<i64, _>(0)))
            .map(|r| queries::outbox_message(r.get(0), r.get(1), r.get(2)))
            .collect()
    }

    /// Written by the next group commit, without waiting for it: a reply is not held up by
    /// its own delivery mark. Until written, the messages are left out of `undelivered`; if
    /// the process dies first they are delivered again at start-up (at least once).
    async fn mark_delivered(&self, ids: &[i64]) -> Result<(), StoreError> {
        if ids.is_empty() {
            return Ok(());
        }
        self.marking.lock().unwrap_or_else(|e| e.into_inner()).extend(ids);
        self.queue(Write::Delivered { ids: ids.to_vec(), at: micros(Utc::now()) }).await
    }

    async fn handoff_conversations(&self) -> Result<Vec<Conversation>, StoreError> {
        let rows = sqlx::query(queries::HANDOFF_CONVERSATIONS).fetch_all(&self.pool).await.map_err(db_error)?;
        rows.iter().map(|r| from_json(r.get::<&str, _>(0))).collect()
    }

    /// Waits until everything queued so far (delivery marks included) is in the file.
    async fn flush(&self) -> Result<(), StoreError> {
        let (done, written) = oneshot::channel();
        self.queue(Write::Flush(done)).await?;
        written.await.map_err(|_| writer_gone())
    }

    async fn journal(&self, id: &ConversationId) -> Result<Vec<JournalEntry>, StoreError> {
        let rows = sqlx::query(queries::JOURNAL).bind(id.key()).fetch_all(&self.pool).await.map_err(db_error)?;
        rows.iter().map(|r| queries::journal_entry(r.get(0), r.get(1), r.get(2))).collect()
    }
}
