//! The PostgreSQL store: the same tables and contract as SQLite, for a bot that outgrows one
//! machine. Each step is one transaction of its own; PostgreSQL's row locks let many run at
//! once from a pool of connections. A redelivered message or a timer that already fired is
//! found by the first statements (the inbound key, the timer's delete), and the whole step is
//! rolled back as a duplicate.
//!
//! Several processes may share the database: a message or a timer is still handled once (the
//! keys above), and two processes stepping one conversation at the same moment cannot both
//! commit (the journal's key on the conversation's sequence numbers refuses the second).
//! What is not here yet: sharing the work out (which process serves which chats, claiming
//! due timers and the outbox); today every process sees all of it.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::{Postgres, Row, Transaction};
use tandem_core::{
    Commit, CommitOutcome, Conversation, ConversationId, JournalEntry, OutboxMessage, Store, StoreError, Timer,
};

use crate::codec::{EncodedCommit, db_error, from_json, from_micros, micros};
use crate::queries;

/// Conversations in a PostgreSQL database.
#[derive(Clone)]
pub struct PostgresStore {
    pool: PgPool,
}

impl PostgresStore {
    /// Connect to `url` (`postgres://user@host:port/database`; a password belongs in the
    /// environment that builds the url, never in a file) and bring the schema up to date.
    pub async fn connect(url: &str, connections: u32) -> Result<Self, StoreError> {
        let pool = PgPoolOptions::new()
            .max_connections(connections.max(1))
            .acquire_timeout(Duration::from_secs(10))
            .connect(url)
            .await
            .map_err(|e| StoreError::Database(format!("connecting to PostgreSQL: {e}")))?;
        sqlx::migrate!("./migrations/postgres")
            .run(&pool)
            .await
            .map_err(|e| StoreError::Database(format!("migrating the PostgreSQL schema: {e}")))?;
        Ok(Self { pool })
    }

    /// How many timers wait to fire.
    pub async fn pending_timers(&self) -> Result<u64, StoreError> {
        let row = sqlx::query(queries::PENDING_TIMERS).fetch_one(&self.pool).await.map_err(db_error)?;
        Ok(row.get::<i64, _>(0) as u64)
    }

    /// Write one step, or find that it was written before.
    async fn write(&self, c: &EncodedCommit) -> Result<CommitOutcome, sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        if let Some(timer) = &c.fired_timer {
            let deleted = sqlx::query("DELETE FROM timers WHERE id = $1 RETURNING id")
                .bind(timer)
                .fetch_optional(&mut *tx)
                .await?;
            if deleted.is_none() {
                return Ok(CommitOutcome::Duplicate); // dropping `tx` rolls it back
            }
        }
        if let Some(platform_id) = &c.inbound {
            let recorded = sqlx::query(
                "INSERT INTO inbound (conversation_id, platform_id, received_at) VALUES ($1, $2, $3) \
                 ON CONFLICT DO NOTHING RETURNING 1",
            )
            .bind(&c.key)
            .bind(platform_id)
            .bind(c.now)
            .fetch_optional(&mut *tx)
            .await?;
            if recorded.is_none() {
                return Ok(CommitOutcome::Duplicate);
            }
        }
        if !c.cancel_timers.is_empty() {
            sqlx::query("DELETE FROM timers WHERE id = ANY($1)").bind(&c.cancel_timers).execute(&mut *tx).await?;
        }
        if !c.set_timers.is_empty() {
            let (ids, dues, kinds) = columns3(&c.set_timers);
            sqlx::query(
                "INSERT INTO timers (id, conversation_id, due_at, kind) \
                 SELECT id, $1, due, kind FROM UNNEST($2::text[], $3::bigint[], $4::text[]) AS t(id, due, kind) \
                 ON CONFLICT (id) DO UPDATE SET conversation_id = excluded.conversation_id, \
                 due_at = excluded.due_at, kind = excluded.kind",
            )
            .bind(&c.key)
            .bind(ids)
            .bind(dues)
            .bind(kinds)
            .execute(&mut *tx)
            .await?;
        }
        if !c.journal.is_empty() {
            let (seqs, ats, events) = columns3(&c.journal);
            sqlx::query(
                "INSERT INTO journal (conversation_id, seq, at, event) \
                 SELECT $1, seq, at, event FROM UNNEST($2::bigint[], $3::bigint[], $4::text[]) AS t(seq, at, event)",
            )
            .bind(&c.key)
            .bind(seqs)
            .bind(ats)
            .bind(events)
            .execute(&mut *tx)
            .await?;
        }
        let outbox = insert_outbox(&mut tx, c).await?;
        sqlx::query(
            "INSERT INTO conversations (id, state, owner, updated_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (id) DO UPDATE SET state = excluded.state, owner = excluded.owner, \
             updated_at = excluded.updated_at",
        )
        .bind(&c.key)
        .bind(&c.state)
        .bind(c.owner)
        .bind(c.now)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(CommitOutcome::Committed(outbox))
    }
}

/// The step's outbox rows, with the ids they were given (in the order of the messages: the
/// ids come from one sequence, taken row by row in that order).
async fn insert_outbox(
    tx: &mut Transaction<'_, Postgres>,
    c: &EncodedCommit,
) -> Result<Vec<OutboxMessage>, sqlx::Error> {
    if c.outbox.is_empty() {
        return Ok(Vec::new());
    }
    let bodies: Vec<&str> = c.outbox.iter().map(|(body, _)| body.as_str()).collect();
    let mut ids: Vec<i64> = sqlx::query_scalar(
        "INSERT INTO outbox (conversation_id, message, created_at) \
         SELECT $1, body, $3 FROM UNNEST($2::text[]) WITH ORDINALITY AS t(body, n) ORDER BY n RETURNING id",
    )
    .bind(&c.key)
    .bind(&bodies)
    .bind(c.now)
    .fetch_all(&mut **tx)
    .await?;
    ids.sort_unstable();
    Ok(ids
        .into_iter()
        .zip(&c.outbox)
        .map(|(id, (_, message))| OutboxMessage { id, conversation: c.id.clone(), message: message.clone() })
        .collect())
}

/// Three columns out of rows of three, to bind as arrays.
fn columns3<A: Clone, B: Clone, C: Clone>(rows: &[(A, B, C)]) -> (Vec<A>, Vec<B>, Vec<C>) {
    let mut columns = (Vec::with_capacity(rows.len()), Vec::with_capacity(rows.len()), Vec::with_capacity(rows.len()));
    for (a, b, c) in rows {
        columns.0.push(a.clone());
        columns.1.push(b.clone());
        columns.2.push(c.clone());
    }
    columns
}

#[async_trait]
impl Store for PostgresStore {
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
        let encoded = EncodedCommit::new(commit)?;
        self.write(&encoded).await.map_err(db_error)
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
        let rows =
            sqlx::query(queries::UNDELIVERED).bind(limit as i64).fetch_all(&self.pool).await.map_err(db_error)?;
        rows.iter().map(|r| queries::outbox_message(r.get(0), r.get(1), r.get(2))).collect()
    }

    async fn mark_delivered(&self, ids: &[i64]) -> Result<(), StoreError> {
        if ids.is_empty() {
            return Ok(());
        }
        sqlx::query("UPDATE outbox SET delivered_at = $1 WHERE id = ANY($2)")
            .bind(micros(Utc::now()))
            .bind(ids)
            .execute(&self.pool)
            .await
            .map_err(db_error)?;
        Ok(())
    }

    async fn handoff_conversations(&self) -> Result<Vec<Conversation>, StoreError> {
        let rows = sqlx::query(queries::HANDOFF_CONVERSATIONS).fetch_all(&self.pool).await.map_err(db_error)?;
        rows.iter().map(|r| from_json(r.get::<&str, _>(0))).collect()
    }

    async fn journal(&self, id: &ConversationId) -> Result<Vec<JournalEntry>, StoreError> {
        let rows = sqlx::query(queries::JOURNAL).bind(id.key()).fetch_all(&self.pool).await.map_err(db_error)?;
        rows.iter().map(|r| queries::journal_entry(r.get(0), r.get(1), r.get(2))).collect()
    }
}
