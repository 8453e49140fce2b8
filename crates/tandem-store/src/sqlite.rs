//! The SQLite store: every commit is one `BEGIN IMMEDIATE` transaction, so a step's state,
//! journal, outbox and timers are written together or not at all.

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{QueryBuilder, Row, Sqlite};
use tandem_core::{
    Commit, CommitOutcome, Conversation, ConversationId, JournalEntry, Outbound, OutboxMessage, Store, StoreError,
    Timer,
};

use crate::codec::{conversation_id, db_error, from_json, from_micros, micros, to_json};

/// Conversations in one SQLite file.
#[derive(Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
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
        let pool = SqlitePoolOptions::new().max_connections(4).connect_with(options).await.map_err(db_error)?;
        sqlx::migrate!("./migrations/sqlite")
            .run(&pool)
            .await
            .map_err(|e| StoreError::Database(format!("migrating {}: {e}", path.display())))?;
        Ok(Self { pool })
    }
}

#[async_trait]
impl Store for SqliteStore {
    async fn load(&self, id: &ConversationId) -> Result<Option<Conversation>, StoreError> {
        let row = sqlx::query("SELECT state FROM conversations WHERE id = ?")
            .bind(id.key())
            .fetch_optional(&self.pool)
            .await
            .map_err(db_error)?;
        row.map(|r| from_json(r.get::<&str, _>(0))).transpose()
    }

    async fn seen_inbound(&self, id: &ConversationId, platform_id: &str) -> Result<bool, StoreError> {
        let row = sqlx::query("SELECT 1 FROM inbound WHERE conversation_id = ? AND platform_id = ?")
            .bind(id.key())
            .bind(platform_id)
            .fetch_optional(&self.pool)
            .await
            .map_err(db_error)?;
        Ok(row.is_some())
    }

    async fn commit(&self, commit: Commit) -> Result<CommitOutcome, StoreError> {
        let key = commit.conversation.id.key();
        let now = micros(commit.conversation.updated_at);
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await.map_err(db_error)?;
        if let Some(pid) = &commit.inbound_id {
            let inserted = sqlx::query("INSERT INTO inbound (conversation_id, platform_id, received_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING")
                .bind(&key)
                .bind(pid)
                .bind(now)
                .execute(&mut *tx)
                .await
                .map_err(db_error)?;
            if inserted.rows_affected() == 0 {
                return Ok(CommitOutcome::Duplicate);
            }
        }
        if let Some(timer) = &commit.fired_timer {
            let deleted =
                sqlx::query("DELETE FROM timers WHERE id = ?").bind(timer).execute(&mut *tx).await.map_err(db_error)?;
            if deleted.rows_affected() == 0 {
                return Ok(CommitOutcome::Duplicate);
            }
        }
        for timer in &commit.cancel_timers {
            sqlx::query("DELETE FROM timers WHERE id = ?").bind(timer).execute(&mut *tx).await.map_err(db_error)?;
        }
        for timer in &commit.set_timers {
            sqlx::query("INSERT OR REPLACE INTO timers (id, conversation_id, due_at, kind) VALUES (?, ?, ?, ?)")
                .bind(&timer.id)
                .bind(&key)
                .bind(micros(timer.due))
                .bind(to_json(&timer.kind)?)
                .execute(&mut *tx)
                .await
                .map_err(db_error)?;
        }
        // One statement for all of a step's journal rows, and one for its outbox rows: each
        // statement is a round trip to the connection's thread.
        if !commit.events.is_empty() {
            let events: Vec<(i64, i64, String)> = commit
                .events
                .iter()
                .map(|e| Ok((e.seq as i64, micros(e.at), to_json(&e.event)?)))
                .collect::<Result<_, StoreError>>()?;
            let mut insert = QueryBuilder::<Sqlite>::new("INSERT INTO journal (conversation_id, seq, at, event) ");
            insert.push_values(&events, |mut row, (seq, at, event)| {
                row.push_bind(&key).push_bind(seq).push_bind(at).push_bind(event);
            });
            insert.build().execute(&mut *tx).await.map_err(db_error)?;
        }
        let mut outbox = Vec::with_capacity(commit.outbox.len());
        if !commit.outbox.is_empty() {
            let bodies: Vec<String> = commit.outbox.iter().map(to_json).collect::<Result<_, _>>()?;
            let mut insert = QueryBuilder::<Sqlite>::new("INSERT INTO outbox (conversation_id, message, created_at) ");
            insert.push_values(&bodies, |mut row, body| {
                row.push_bind(&key).push_bind(body).push_bind(now);
            });
            insert.push(" RETURNING id");
            let ids = insert.build().fetch_all(&mut *tx).await.map_err(db_error)?;
            let mut ids: Vec<i64> = ids.iter().map(|r| r.get(0)).collect();
            ids.sort_unstable();
            for (id, message) in ids.into_iter().zip(commit.outbox) {
                outbox.push(OutboxMessage { id, conversation: commit.conversation.id.clone(), message });
            }
        }
        sqlx::query(
            "INSERT INTO conversations (id, state, owner, updated_at) VALUES (?, ?, ?, ?) \
             ON CONFLICT (id) DO UPDATE SET state = excluded.state, owner = excluded.owner, updated_at = excluded.updated_at",
        )
        .bind(&key)
        .bind(to_json(&commit.conversation)?)
        .bind(commit.conversation.owner.label())
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(db_error)?;
        tx.commit().await.map_err(db_error)?;
        Ok(CommitOutcome::Committed(outbox))
    }

    async fn due_timers(&self, now: DateTime<Utc>, limit: usize) -> Result<Vec<Timer>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, conversation_id, due_at, kind FROM timers WHERE due_at <= ? ORDER BY due_at, id LIMIT ?",
        )
        .bind(micros(now))
        .bind(limit as i64)
        .fetch_all(&self.pool)
        .await
        .map_err(db_error)?;
        rows.iter()
            .map(|r| {
                Ok(Timer {
                    id: r.get(0),
                    conversation: conversation_id(r.get::<&str, _>(1)),
                    due: from_micros(r.get(2)),
                    kind: from_json(r.get::<&str, _>(3))?,
                })
            })
            .collect()
    }

    async fn next_timer_due(&self) -> Result<Option<DateTime<Utc>>, StoreError> {
        let row = sqlx::query("SELECT MIN(due_at) FROM timers").fetch_one(&self.pool).await.map_err(db_error)?;
        Ok(row.get::<Option<i64>, _>(0).map(from_micros))
    }

    async fn undelivered(&self, limit: usize) -> Result<Vec<OutboxMessage>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, conversation_id, message FROM outbox WHERE delivered_at IS NULL ORDER BY id LIMIT ?",
        )
        .bind(limit as i64)
        .fetch_all(&self.pool)
        .await
        .map_err(db_error)?;
        rows.iter()
            .map(|r| {
                Ok(OutboxMessage {
                    id: r.get(0),
                    conversation: conversation_id(r.get::<&str, _>(1)),
                    message: from_json::<Outbound>(r.get::<&str, _>(2))?,
                })
            })
            .collect()
    }

    async fn mark_delivered(&self, ids: &[i64]) -> Result<(), StoreError> {
        let now = micros(Utc::now());
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await.map_err(db_error)?;
        for id in ids {
            sqlx::query("UPDATE outbox SET delivered_at = ? WHERE id = ?")
                .bind(now)
                .bind(id)
                .execute(&mut *tx)
                .await
                .map_err(db_error)?;
        }
        tx.commit().await.map_err(db_error)
    }

    async fn handoff_conversations(&self) -> Result<Vec<Conversation>, StoreError> {
        let rows = sqlx::query("SELECT state FROM conversations WHERE owner IN ('queued', 'parked', 'agent')")
            .fetch_all(&self.pool)
            .await
            .map_err(db_error)?;
        rows.iter().map(|r| from_json(r.get::<&str, _>(0))).collect()
    }

    async fn journal(&self, id: &ConversationId) -> Result<Vec<JournalEntry>, StoreError> {
        let rows = sqlx::query("SELECT seq, at, event FROM journal WHERE conversation_id = ? ORDER BY seq")
            .bind(id.key())
            .fetch_all(&self.pool)
            .await
            .map_err(db_error)?;
        rows.iter()
            .map(|r| {
                Ok(JournalEntry {
                    seq: r.get::<i64, _>(0) as u64,
                    at: from_micros(r.get(1)),
                    event: from_json(r.get::<&str, _>(2))?,
                })
            })
            .collect()
    }
}
