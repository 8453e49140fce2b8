//! What both stores share: the reads (the same SQL on SQLite and PostgreSQL, with `$n`
//! parameters, which both accept; the journal's differs), how their rows become domain values, and the [`Store`]
//! implementation around them ([`sql_store!`]).
//!
//! [`Store`]: tandem_core::Store

use tandem_core::{Outbound, OutboxMessage, StoreError, Timer};

use crate::codec::{conversation_id, from_json, from_micros};

pub const LOAD: &str = "SELECT state FROM conversations WHERE id = $1";
pub const SEEN_INBOUND: &str = "SELECT 1 FROM inbound WHERE conversation_id = $1 AND platform_id = $2";
pub const DUE_TIMERS: &str =
    "SELECT id, conversation_id, due_at, kind FROM timers WHERE due_at <= $1 ORDER BY due_at, id LIMIT $2";
pub const NEXT_TIMER_DUE: &str = "SELECT MIN(due_at) FROM timers";
pub const UNDELIVERED: &str =
    "SELECT id, conversation_id, message FROM outbox WHERE delivered_at IS NULL ORDER BY id LIMIT $1";
/// An outbox message, if it is not yet delivered.
pub const UNDELIVERED_ID: &str = "SELECT id FROM outbox WHERE id = $1 AND delivered_at IS NULL";
pub const HANDOFF_CONVERSATIONS: &str = "SELECT state FROM conversations WHERE owner IN ('queued', 'parked', 'agent')";
/// A conversation's journal rows, on PostgreSQL: keyed by (conversation, seq).
pub const JOURNAL_BY_KEY: &str = "SELECT seq, at, events FROM journal WHERE conversation_id = $1 ORDER BY seq";
/// A conversation's journal rows, on SQLite: an append-only log, walked back from the
/// conversation's last row (migration 0004).
pub const JOURNAL_CHAIN: &str = "WITH RECURSIVE chain (prev, seq, at, events) AS ( \
        SELECT j.prev, j.seq, j.at, j.events FROM conversations c JOIN journal j ON j.id = c.journal_tail \
        WHERE c.id = $1 \
        UNION ALL \
        SELECT j.prev, j.seq, j.at, j.events FROM chain JOIN journal j ON j.id = chain.prev \
    ) SELECT seq, at, events FROM chain ORDER BY seq";
pub const PENDING_TIMERS: &str = "SELECT COUNT(*) FROM timers";

/// A row of [`DUE_TIMERS`].
pub fn timer(id: String, conversation: &str, due: i64, kind: &str) -> Result<Timer, StoreError> {
    Ok(Timer { id, conversation: conversation_id(conversation), due: from_micros(due), kind: from_json(kind)? })
}

/// A row of [`UNDELIVERED`].
pub fn outbox_message(id: i64, conversation: &str, message: &str) -> Result<OutboxMessage, StoreError> {
    Ok(OutboxMessage { id, conversation: conversation_id(conversation), message: from_json::<Outbound>(message)? })
}

/// `impl Store` for a store type with a sqlx `pool` field, the query that reads its journal
/// (`journal = ...`, its rows as (seq, at, events)) and these methods of its own: the writes,
/// which differ between the backends.
/// - `fn live_state(&self, key: &str) -> Option<Arc<str>>`: a conversation's committed state
///   kept in memory, if the store keeps it
/// - `fn certainly_absent(&self, key: &str) -> bool`: the conversation was never stored, known
///   without a query
/// - `async fn write(&self, commit: EncodedCommit) -> Result<CommitOutcome, StoreError>`
/// - `fn marks_in_flight(&self) -> HashSet<i64>`: marked delivered, not yet written
/// - `async fn mark(&self, ids: &[i64]) -> Result<(), StoreError>`
/// - `async fn written(&self) -> Result<(), StoreError>`: everything accepted is written
///
/// A macro, because code generic over two sqlx databases needs more trait bounds than it has
/// lines.
macro_rules! sql_store {
    ($store:ty, journal = $journal:expr) => {
        const _: () = {
            use chrono::{DateTime, Utc};
            use sqlx::Row;
            use tandem_core::{
                Commit, Committing, Conversation, ConversationId, JournalEntry, OutboxMessage, Store, StoreError, Timer,
            };

            use $crate::codec::{EncodedCommit, db_error, from_json, from_micros, micros};
            use $crate::queries;

            #[async_trait::async_trait]
            impl Store for $store {
                async fn load(&self, id: &ConversationId) -> Result<Option<Conversation>, StoreError> {
                    if let Some(known) = self.try_load(id) {
                        return known;
                    }
                    let row =
                        sqlx::query(queries::LOAD).bind(id.key()).fetch_optional(&self.pool).await.map_err(db_error)?;
                    row.map(|r| from_json(r.get::<&str, _>(0))).transpose()
                }

                fn try_load(&self, id: &ConversationId) -> Option<Result<Option<Conversation>, StoreError>> {
                    let key = id.key();
                    if let Some(state) = self.live_state(key) {
                        return Some(from_json(&state).map(Some));
                    }
                    self.certainly_absent(key).then_some(Ok(None))
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

                fn commit(&self, commit: Commit) -> Committing<'_> {
                    match EncodedCommit::new(commit) {
                        Ok(encoded) => self.write(encoded),
                        Err(e) => Box::pin(std::future::ready(Err(e))),
                    }
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
                    let in_flight = self.marks_in_flight();
                    let rows = sqlx::query(queries::UNDELIVERED)
                        .bind(limit as i64)
                        .fetch_all(&self.pool)
                        .await
                        .map_err(db_error)?;
                    rows.iter()
                        .filter(|r| !in_flight.contains(&r.get::<i64, _>(0)))
                        .map(|r| queries::outbox_message(r.get(0), r.get(1), r.get(2)))
                        .collect()
                }

                async fn still_undelivered(&self, ids: &[i64]) -> Result<Vec<i64>, StoreError> {
                    // As in `undelivered`: the marks in flight first, then the file.
                    let in_flight = self.marks_in_flight();
                    let mut still = Vec::new();
                    // One look-up by key each: the list is a conversation's pending messages,
                    // a few as a rule.
                    for &id in ids.iter().filter(|id| !in_flight.contains(id)) {
                        let row = sqlx::query(queries::UNDELIVERED_ID)
                            .bind(id)
                            .fetch_optional(&self.pool)
                            .await
                            .map_err(db_error)?;
                        still.extend(row.map(|_| id));
                    }
                    Ok(still)
                }

                async fn mark_delivered(&self, ids: &[i64]) -> Result<(), StoreError> {
                    if ids.is_empty() {
                        return Ok(());
                    }
                    self.mark(ids).await
                }

                async fn handoff_conversations(&self) -> Result<Vec<Conversation>, StoreError> {
                    let rows =
                        sqlx::query(queries::HANDOFF_CONVERSATIONS).fetch_all(&self.pool).await.map_err(db_error)?;
                    rows.iter().map(|r| from_json(r.get::<&str, _>(0))).collect()
                }

                async fn journal(&self, id: &ConversationId) -> Result<Vec<JournalEntry>, StoreError> {
                    let rows = sqlx::query($journal).bind(id.key()).fetch_all(&self.pool).await.map_err(db_error)?;
                    let mut entries = Vec::new();
                    for r in &rows {
                        entries.extend($crate::codec::journal_entries(r.get(0), r.get(1), r.get(2))?);
                    }
                    Ok(entries)
                }

                async fn flush(&self) -> Result<(), StoreError> {
                    self.written().await
                }
            }
        };
    };
}
pub(crate) use sql_store;
