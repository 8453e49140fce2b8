//! An in-memory [`Store`]: the same contract as the SQLite and PostgreSQL stores, for
//! conversation tests and the `memory` benchmark. Nothing survives the process.

use std::collections::HashMap;
use std::hash::BuildHasher;
use std::sync::Mutex;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use foldhash::fast::RandomState;
use hashbrown::HashTable;
use smallvec::SmallVec;
use tandem_core::{
    Commit, CommitOutcome, Committing, Conversation, ConversationId, JournalEntry, OutboxMessage, Store, StoreError,
    Timer, TimerId,
};

use crate::journal_log::{BlockAt, JournalLog};

#[derive(Default)]
struct Tables {
    conversations: Records,
    /// Messages not delivered yet, by id. A hash map: every message goes in and out again at
    /// once, and only a retry after a failure wants them in order (a B-tree's insert and remove
    /// were ~1 % of a message in the memory benchmark).
    outbox: hashbrown::HashMap<i64, OutboxMessage, RandomState>,
    next_outbox: i64,
    timers: HashMap<TimerId, Timer>,
    journal: JournalLog,
}

/// The conversations' records, found by the id inside each. A table of pointers: a slot is 8
/// bytes, not a whole record (384 bytes) plus a second copy of its id, and a hash table keeps up to
/// half its slots empty (3.8 -> 3.2 KiB a conversation in the benchmark at 10,000, when the
/// journal was kept as events).
#[derive(Default)]
struct Records {
    table: HashTable<Box<Record>>,
    hasher: RandomState,
}

impl Records {
    fn get(&self, id: &ConversationId) -> Option<&Record> {
        self.table.find(self.hasher.hash_one(id), |r| r.conversation.id == *id).map(|r| &**r)
    }

    fn get_mut(&mut self, id: &ConversationId) -> Option<&mut Record> {
        self.table.find_mut(self.hasher.hash_one(id), |r| r.conversation.id == *id).map(|r| &mut **r)
    }

    fn insert_new(&mut self, record: Record) -> &mut Record {
        let hasher = &self.hasher;
        let entry = self.table.insert_unique(hasher.hash_one(&record.conversation.id), Box::new(record), |r| {
            hasher.hash_one(&r.conversation.id)
        });
        entry.into_mut()
    }

    fn iter(&self) -> impl Iterator<Item = &Record> {
        self.table.iter().map(|r| &**r)
    }
}

/// One conversation and what is kept beside it: its id is stored once, not again with every
/// message id and journal event.
struct Record {
    conversation: Conversation,
    /// Platform ids of the customer messages already committed.
    seen: SeenIds,
    /// The conversation's last block in the journal log, if it has events.
    journal: Option<BlockAt>,
}

/// Platform ids, one after another in one buffer, each after its length (one byte; 255 and
/// four more for a longer id). A conversation in a test or the benchmark has a few, so a list
/// searched in turn: smaller than a set and as fast at that size. The first `SEEN_INLINE`
/// bytes are kept in the record itself, filling it to its allocator size class (384 bytes), so
/// checking a message for a duplicate reads no other memory: five ids of up to seven bytes.
/// Benchmark at 10,000: a boxed string per id took 1.90 KiB a conversation, one buffer 1.82,
/// the buffer inline 1.74.
#[derive(Default)]
struct SeenIds(SmallVec<[u8; SEEN_INLINE]>);

const SEEN_INLINE: usize = 40;

/// The length byte that says four bytes of length follow.
const LONG_ID: u8 = u8::MAX;

impl SeenIds {
    fn contains(&self, platform_id: &str) -> bool {
        self.ids().any(|seen| seen == platform_id.as_bytes())
    }

    fn push(&mut self, platform_id: &str) {
        match u8::try_from(platform_id.len()).ok().filter(|&len| len != LONG_ID) {
            Some(len) => self.0.push(len),
            None => {
                let len = u32::try_from(platform_id.len()).expect("a platform id shorter than 4 GiB");
                self.0.push(LONG_ID);
                self.0.extend_from_slice(&len.to_le_bytes());
            }
        }
        self.0.extend_from_slice(platform_id.as_bytes());
    }

    fn ids(&self) -> impl Iterator<Item = &[u8]> {
        let mut rest = self.0.as_slice();
        std::iter::from_fn(move || {
            let (&len, tail) = rest.split_first()?;
            let (len, tail) = match len {
                LONG_ID => {
                    let (long, tail) = tail.split_first_chunk::<4>()?;
                    (u32::from_le_bytes(*long) as usize, tail)
                }
                short => (short as usize, tail),
            };
            let (id, tail) = tail.split_at(len);
            rest = tail;
            Some(id)
        })
    }
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

    fn write(&self, commit: Commit) -> Result<CommitOutcome, StoreError> {
        let mut guard = self.tables();
        let Tables { conversations, outbox, next_outbox, timers, journal } = &mut *guard;
        // Looked up once: it is read (seen ids, journal) and written below.
        let mut record = conversations.get_mut(&commit.conversation.id);
        if let Some(pid) = &commit.inbound_id
            && record.as_ref().is_some_and(|r| r.seen.contains(pid))
        {
            return Ok(CommitOutcome::Duplicate);
        }
        if let Some(timer) = &commit.fired_timer
            && !timers.contains_key(timer)
        {
            return Ok(CommitOutcome::Duplicate);
        }
        // The only step that can fail, so first: it appends nothing when it does.
        let journal_at = journal.append(record.as_ref().and_then(|r| r.journal), &commit.events)?;
        if let Some(timer) = &commit.fired_timer {
            timers.remove(timer);
        }
        for timer in &commit.cancel_timers {
            timers.remove(timer);
        }
        for timer in commit.set_timers {
            timers.insert(timer.id.clone(), timer);
        }
        let mut sent = Vec::with_capacity(commit.outbox.len());
        for message in commit.outbox {
            *next_outbox += 1;
            let row = OutboxMessage { id: *next_outbox, conversation: commit.conversation.id.clone(), message };
            outbox.insert(row.id, row.clone());
            sent.push(row);
        }
        let record = match record.take() {
            Some(record) => {
                record.conversation = commit.conversation;
                record
            }
            None => {
                let record = Record { conversation: commit.conversation, seen: SeenIds::default(), journal: None };
                conversations.insert_new(record)
            }
        };
        if let Some(platform_id) = &commit.inbound_id {
            record.seen.push(platform_id);
        }
        record.journal = journal_at;
        Ok(CommitOutcome::Committed(sent))
    }

    fn tables(&self) -> std::sync::MutexGuard<'_, Tables> {
        self.tables.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[async_trait]
impl Store for MemoryStore {
    // Everything is answered at once: the hot path asks without waiting (`try_*`), and the
    // waiting forms give the same answers.

    async fn load(&self, id: &ConversationId) -> Result<Option<Conversation>, StoreError> {
        self.try_load(id).unwrap_or(Ok(None))
    }

    fn try_load(&self, id: &ConversationId) -> Option<Result<Option<Conversation>, StoreError>> {
        Some(Ok(self.tables().conversations.get(id).map(|r| r.conversation.clone())))
    }

    async fn seen_inbound(&self, id: &ConversationId, platform_id: &str) -> Result<bool, StoreError> {
        Ok(self.tables().conversations.get(id).is_some_and(|r| r.seen.contains(platform_id)))
    }

    fn commit(&self, commit: Commit) -> Committing<'_> {
        Box::pin(std::future::ready(self.write(commit)))
    }

    fn try_commit(&self, commit: Commit) -> Result<Result<CommitOutcome, StoreError>, Commit> {
        Ok(self.write(commit))
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
        let t = self.tables();
        let mut oldest: Vec<&OutboxMessage> = t.outbox.values().collect();
        oldest.sort_unstable_by_key(|message| message.id);
        Ok(oldest.into_iter().take(limit).cloned().collect())
    }

    async fn still_undelivered(&self, ids: &[i64]) -> Result<Vec<i64>, StoreError> {
        let t = self.tables();
        Ok(ids.iter().copied().filter(|id| t.outbox.contains_key(id)).collect())
    }

    async fn mark_delivered(&self, ids: &[i64]) -> Result<(), StoreError> {
        self.try_mark_delivered(ids).unwrap_or(Ok(()))
    }

    fn try_mark_delivered(&self, ids: &[i64]) -> Option<Result<(), StoreError>> {
        let mut t = self.tables();
        for id in ids {
            t.outbox.remove(id);
        }
        Some(Ok(()))
    }

    async fn handoff_conversations(&self) -> Result<Vec<Conversation>, StoreError> {
        let t = self.tables();
        Ok(t.conversations.iter().map(|r| &r.conversation).filter(|c| c.owner.handoff().is_some()).cloned().collect())
    }

    async fn journal(&self, id: &ConversationId) -> Result<Vec<JournalEntry>, StoreError> {
        let t = self.tables();
        t.journal.entries(t.conversations.get(id).and_then(|r| r.journal))
    }
}

#[cfg(test)]
mod tests {
    use tandem_core::{Outbound, UserProfile};

    use super::*;

    /// A step of conversation `chat` that sends `texts`.
    fn sending(chat: &str, texts: &[&str]) -> Commit {
        let id = ConversationId::new("web", chat);
        Commit {
            conversation: Conversation::new(id, UserProfile::default(), Utc::now()),
            inbound_id: None,
            fired_timer: None,
            events: Vec::new(),
            outbox: texts.iter().map(|&text| Outbound { from: None, text: text.into(), buttons: Vec::new() }).collect(),
            set_timers: Vec::new(),
            cancel_timers: Vec::new(),
        }
    }

    #[tokio::test]
    async fn the_outbox_is_retried_oldest_first() {
        let store = MemoryStore::new();
        for (chat, texts) in [("a", ["1", "2"]), ("b", ["3", "4"]), ("a", ["5", "6"])] {
            store.try_commit(sending(chat, &texts)).unwrap().unwrap();
        }
        store.try_mark_delivered(&[2]).unwrap().unwrap();
        let texts = |messages: Vec<OutboxMessage>| messages.into_iter().map(|m| m.message.text).collect::<Vec<_>>();
        assert_eq!(texts(store.undelivered(3).await.unwrap()), ["1", "3", "4"]);
        assert_eq!(texts(store.undelivered(100).await.unwrap()), ["1", "3", "4", "5", "6"]);
    }

    #[test]
    fn a_record_fits_the_allocator_class_of_384_bytes() {
        // Every live conversation is one record. At 392-448 bytes mimalloc gives it 448: the
        // sentiment history kept inline made it 416 at first, and took the benchmark at 10,000
        // from 0.96-0.99 to 1.00-1.03 KiB a conversation.
        assert!(std::mem::size_of::<Record>() <= 384, "{} bytes", std::mem::size_of::<Record>());
    }

    #[test]
    fn seen_ids_are_matched_whole() {
        let mut seen = SeenIds::default();
        assert!(!seen.contains("1-1"));
        let (long, longest) = ("x".repeat(255), "y".repeat(70_000));
        let ids = ["1-1", "", "1-10", "ünïcode", &long, &longest, "after"];
        for id in ids {
            seen.push(id);
        }
        for id in ids {
            assert!(seen.contains(id), "{id:?}");
        }
        for id in ["1-", "1-100", "-1", "ünï", &long[1..], "y"] {
            assert!(!seen.contains(id), "{id:?}");
        }
    }
}
