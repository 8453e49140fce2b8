//! The SQLite store: a step's state, journal, outbox and timers are written in one
//! `BEGIN IMMEDIATE` transaction, together or not at all; concurrent steps of many
//! conversations share that transaction (group commit, see [`crate::group_commit`]). A step
//! loads its conversation from memory when it is live ([`crate::live`]; one process owns the
//! file, [`crate::file_lock`]), and knows without a query when it was never stored
//! ([`crate::known`]); other reads go straight to the pool (WAL: they never wait for the
//! writer).

use std::collections::HashSet;
use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use sqlx::Row;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous};
use tandem_core::{Committing, StoreError};
use tokio::sync::mpsc::error::TrySendError;
use tokio::sync::{mpsc, oneshot};

use crate::codec::{EncodedCommit, db_error, micros};
use crate::file_lock::FileLock;
use crate::group_commit::{self, Marking, Write};
use crate::known::KnownConversations;
use crate::live::{DEFAULT_LIVE_STATE_BYTES, LiveStates};
use crate::queries::{self, sql_store};

/// How long a connection waits for another's lock on the file before it gives up.
pub(crate) const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// Conversations in one SQLite file.
#[derive(Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
    writer: mpsc::Sender<Write>,
    /// Marked delivered, mark not yet written.
    marking: Marking,
    live: LiveStates,
    known: KnownConversations,
    _lock: FileLock,
}

impl SqliteStore {
    /// Open (or create) the database at `path` and bring its schema up to date, keeping up
    /// to [`DEFAULT_LIVE_STATE_BYTES`] of live conversations in memory. Fails while another
    /// store has the file open.
    pub async fn open(path: &Path) -> Result<Self, StoreError> {
        Self::open_with_live_states(path, DEFAULT_LIVE_STATE_BYTES).await
    }

    /// [`open`](Self::open), keeping at most `bytes` of live conversations' state in memory
    /// (0: every load reads the file).
    pub async fn open_with_live_states(path: &Path, bytes: u64) -> Result<Self, StoreError> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent)
                .map_err(|e| StoreError::Database(format!("creating {}: {e}", parent.display())))?;
        }
        let lock = FileLock::take(path)?;
        let url = format!("sqlite://{}", path.display());
        let options = SqliteConnectOptions::from_str(&url)
            .map_err(db_error)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(BUSY_TIMEOUT)
            .foreign_keys(true);
        let pool = SqlitePoolOptions::new().max_connections(4).connect_with(options).await.map_err(db_error)?;
        sqlx::migrate!("./migrations/sqlite")
            .run(&pool)
            .await
            .map_err(|e| StoreError::Database(format!("migrating {}: {e}", path.display())))?;
        let marking = Marking::default();
        let live = LiveStates::new(bytes);
        let known = KnownConversations::default();
        let writer = group_commit::start(path, marking.clone(), live.clone(), known.clone())?;
        known.clone().learn_from(path.to_path_buf());
        Ok(Self { pool, writer, marking, live, known, _lock: lock })
    }

    /// Bytes of live conversations' state held in memory now.
    pub fn live_state_bytes(&self) -> u64 {
        self.live.bytes()
    }

    /// True once the conversations stored before opening are listed in memory: from then on,
    /// loading a conversation that was never stored makes no query.
    pub fn knows_every_stored_conversation(&self) -> bool {
        self.known.is_complete()
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

impl SqliteStore {
    /// The committed state of a live conversation, without a query.
    fn live_state(&self, key: &str) -> Option<Arc<str>> {
        self.live.get(key)
    }

    /// True when the file certainly holds no conversation `key`.
    fn certainly_absent(&self, key: &str) -> bool {
        self.known.certainly_absent(key)
    }

    /// Queued for the writer, which writes it with the other commits waiting (group commit).
    /// A queue with room takes it at once, and the future waits only for the answer.
    fn write(&self, commit: EncodedCommit) -> Committing<'_> {
        let (reply, outcome) = oneshot::channel();
        let full = match self.writer.try_send(Write::Commit(Box::new(commit), reply)) {
            Ok(()) => None,
            Err(TrySendError::Full(write)) => Some(write),
            Err(TrySendError::Closed(_)) => return Box::pin(std::future::ready(Err(writer_gone()))),
        };
        Box::pin(async move {
            if let Some(write) = full {
                self.queue(write).await?;
            }
            outcome.await.map_err(|_| writer_gone())?
        })
    }

    fn marks_in_flight(&self) -> HashSet<i64> {
        self.marking.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Written by the next group commit, without waiting for it: a reply is not held up by
    /// its own delivery mark. Until written, the messages are left out of `undelivered`; if
    /// the process dies first they are delivered again at start-up (at least once).
    async fn mark(&self, ids: &[i64]) -> Result<(), StoreError> {
        self.marking.lock().unwrap_or_else(|e| e.into_inner()).extend(ids);
        self.queue(Write::Delivered { ids: ids.to_vec(), at: micros(Utc::now()) }).await
    }

    /// Waits until everything queued so far (delivery marks included) is in the file.
    async fn written(&self) -> Result<(), StoreError> {
        let (done, written) = oneshot::channel();
        self.queue(Write::Flush(done)).await?;
        written.await.map_err(|_| writer_gone())
    }
}

sql_store!(SqliteStore, journal = queries::JOURNAL_CHAIN);
