//! The [`Store`] trait: where conversations, the journal, the outbox and timers live. One
//! [`Commit`] is written atomically, before anything it contains is delivered.

use std::future::Future;
use std::pin::Pin;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use compact_str::CompactString;

use crate::{Conversation, ConversationId, JournalEntry, Outbound, OutboxMessage, Timer, TimerId};

/// Everything one step of one conversation produced, written in one transaction.
#[derive(Debug, Clone)]
pub struct Commit {
    /// The conversation's new state.
    pub conversation: Conversation,
    /// The platform id of the inbound message that caused this step, for deduplication.
    pub inbound_id: Option<CompactString>,
    /// The timer that caused this step: deleted in the same transaction, so it fires once.
    pub fired_timer: Option<TimerId>,
    pub events: Vec<JournalEntry>,
    pub outbox: Vec<Outbound>,
    pub set_timers: Vec<Timer>,
    pub cancel_timers: Vec<TimerId>,
}

/// What came of a commit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CommitOutcome {
    /// Written; the outbox rows to deliver.
    Committed(Vec<OutboxMessage>),
    /// The inbound message was seen before, or the timer already fired: nothing was written.
    Duplicate,
}

/// A commit under way: what [`Store::commit`] returns.
pub type Committing<'a> = Pin<Box<dyn Future<Output = Result<CommitOutcome, StoreError>> + Send + 'a>>;

/// A store failure. The commit it belonged to was not written.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Database(String),
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
}

/// Durable home of conversations. Implemented on SQLite and PostgreSQL (tandem-store) and in
/// memory (tandem-engine, for tests and benchmarks).
#[async_trait]
pub trait Store: Send + Sync {
    async fn load(&self, id: &ConversationId) -> Result<Option<Conversation>, StoreError>;
    /// [`Store::load`] at once, if the store can answer without waiting (a conversation kept
    /// in memory, or known to be new); `None`: ask `load`. The runtime asks this first: an
    /// answer at once costs no boxed future (`async_trait` makes one for every call).
    fn try_load(&self, _id: &ConversationId) -> Option<Result<Option<Conversation>, StoreError>> {
        None
    }
    /// True when an inbound message with this platform id was already committed.
    async fn seen_inbound(&self, id: &ConversationId, platform_id: &str) -> Result<bool, StoreError>;
    /// Write `commit` atomically. Not an `async fn`: `async_trait` keeps an argument in the
    /// boxed future for as long as it waits, and a store encodes or takes a commit apart
    /// before it waits; the future holds only what waits (a commit is ~520 bytes, and the
    /// SQLite store's future was 1.25 KB with it). A store may start the write when it is
    /// called, before the future is polled: a commit whose future is dropped may still be
    /// written, as one dropped while it waited always could be.
    fn commit(&self, commit: Commit) -> Committing<'_>;
    /// [`Store::commit`] at once, if the store commits without waiting (in memory); otherwise
    /// the commit back, for `commit`.
    #[allow(clippy::result_large_err, reason = "the commit is given back as it came, not boxed")]
    fn try_commit(&self, commit: Commit) -> Result<Result<CommitOutcome, StoreError>, Commit> {
        Err(commit)
    }
    /// Timers due at or before `now`, earliest first.
    async fn due_timers(&self, now: DateTime<Utc>, limit: usize) -> Result<Vec<Timer>, StoreError>;
    /// When the earliest pending timer is due, if any.
    async fn next_timer_due(&self) -> Result<Option<DateTime<Utc>>, StoreError>;
    /// Outbox messages not yet delivered, oldest first.
    async fn undelivered(&self, limit: usize) -> Result<Vec<OutboxMessage>, StoreError>;
    /// Of the outbox messages `ids`, those not yet delivered: a list from
    /// [`Store::undelivered`] may be out of date by the time its conversation is free (its
    /// step delivered them meanwhile).
    async fn still_undelivered(&self, ids: &[i64]) -> Result<Vec<i64>, StoreError>;
    async fn mark_delivered(&self, ids: &[i64]) -> Result<(), StoreError>;
    /// [`Store::mark_delivered`] at once, if the store can without waiting; `None`: ask
    /// `mark_delivered`.
    fn try_mark_delivered(&self, _ids: &[i64]) -> Option<Result<(), StoreError>> {
        None
    }
    /// Conversations a human owns or that wait for one (queued, parked, with an agent), to
    /// rebuild the routing state at start-up.
    async fn handoff_conversations(&self) -> Result<Vec<Conversation>, StoreError>;
    /// The whole journal of a conversation, in order.
    async fn journal(&self, id: &ConversationId) -> Result<Vec<JournalEntry>, StoreError>;
    /// Wait until everything accepted so far (delivery marks included) is written: call it
    /// before a process exits. Stores that write before they answer have nothing to wait for.
    async fn flush(&self) -> Result<(), StoreError> {
        Ok(())
    }
}
