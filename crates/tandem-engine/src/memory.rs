//! An in-memory [`Store`]: the same contract as the SQLite and PostgreSQL stores, for
//! conversation tests and the `memory` benchmark. Nothing survives the process.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Mutex;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use tandem_core::{
    Commit, CommitOutcome, Conversation, ConversationId, JournalEntry, OutboxMessage, Store, StoreError, Timer, TimerId,
};

#[derive(Default)]
struct Tables {
    conversations: HashMap<ConversationId, Conversation>,
    inbound: HashSet<(ConversationId, String)>,
    journal: HashMap<ConversationId, Vec<JournalEntry>>,
    outbox: BTreeMap<i64, OutboxMessage>,
    next_outbox: i64,
    timers: HashMap<TimerId, Timer>,
}

/// Conversations kept in memory, committed atomically under one lock.
#[derive(Default)]
pub struct MemoryStore {
    tables: Mutex<Tables>,
}

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }

    fn tables(&self) -> std::sync::MutexGuard<'_, Tables> {
        self.tables.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[async_trait]
impl Store for MemoryStore {
    async fn load(&self, id: &ConversationId) -> Result<Option<Conversation>, StoreError> {
        Ok(self.tables().conversations.get(id).cloned())
    }

    async fn seen_inbound(&self, id: &ConversationId, platform_id: &str) -> Result<bool, StoreError> {
        Ok(self.tables().inbound.contains(&(id.clone(), platform_id.to_string())))
    }

    async fn commit(&self, commit: Commit) -> Result<CommitOutcome, StoreError> {
        let mut t = self.tables();
        let id = commit.conversation.id.clone();
        if let Some(pid) = &commit.inbound_id
            && t.inbound.contains(&(id.clone(), pid.clone()))
        {
            return Ok(CommitOutcome::Duplicate);
        }
        if let Some(timer) = &commit.fired_timer
            && !t.timers.contains_key(timer)
        {
            return Ok(CommitOutcome::Duplicate);
        }
        if let Some(pid) = commit.inbound_id {
            t.inbound.insert((id.clone(), pid));
        }
        if let Some(timer) = &commit.fired_timer {
            t.timers.remove(timer);
        }
        for timer in &commit.cancel_timers {
            t.timers.remove(timer);
        }
        for timer in commit.set_timers {
            t.timers.insert(timer.id.clone(), timer);
        }
        t.journal.entry(id.clone()).or_default().extend(commit.events);
        let mut sent = Vec::new();
        for message in commit.outbox {
            t.next_outbox += 1;
            let row = OutboxMessage { id: t.next_outbox, conversation: id.clone(), message };
            t.outbox.insert(row.id, row.clone());
            sent.push(row);
        }
        t.conversations.insert(id, commit.conversation);
        Ok(CommitOutcome::Committed(sent))
    }

    async fn due_timers(&self, now: DateTime<Utc>, limit: usize) -> Result<Vec<Timer>, StoreError> {
        let t = self.tables();
        let mut due: Vec<Timer> = t.timers.values().filter(|timer| timer.due <= now).cloned().collect();
        due.sort_by(|a, b| (a.due, &a.id).cmp(&(b.due, &b.id)));
        due.truncate(limit);
        Ok(due)
    }

    async fn next_timer_due(&self) -> Result<Option<DateTime<Utc>>, StoreError> {
        Ok(self.tables().timers.values().map(|t| t.due).min())
    }

    async fn undelivered(&self, limit: usize) -> Result<Vec<OutboxMessage>, StoreError> {
        Ok(self.tables().outbox.values().take(limit).cloned().collect())
    }

    async fn mark_delivered(&self, ids: &[i64]) -> Result<(), StoreError> {
        let mut t = self.tables();
        for id in ids {
            t.outbox.remove(id);
        }
        Ok(())
    }

    async fn handoff_conversations(&self) -> Result<Vec<Conversation>, StoreError> {
        Ok(self.tables().conversations.values().filter(|c| c.owner.handoff().is_some()).cloned().collect())
    }

    async fn journal(&self, id: &ConversationId) -> Result<Vec<JournalEntry>, StoreError> {
        Ok(self.tables().journal.get(id).cloned().unwrap_or_default())
    }
}
