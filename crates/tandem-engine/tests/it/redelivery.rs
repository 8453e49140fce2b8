//! The outbox's redelivery never sends a message twice: the background loop's list of
//! undelivered messages may be out of date by the time it has the conversation (a step
//! delivered them meanwhile), and it delivers only those still undelivered.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use tandem_core::{
    Channel, ChannelError, Commit, Committing, Conversation, ConversationId, Inbound, JournalEntry, ManualClock,
    Outbound, OutboxMessage, Store, StoreError, Timer, UserProfile,
};
use tandem_engine::{MemoryStore, Runtime};

use crate::acme;

/// A memory store whose `undelivered` answers with the list it was given, however old.
struct ListedEarlier {
    inner: MemoryStore,
    listed: Mutex<Vec<OutboxMessage>>,
}

#[async_trait]
impl Store for ListedEarlier {
    async fn load(&self, id: &ConversationId) -> Result<Option<Conversation>, StoreError> {
        self.inner.load(id).await
    }
    async fn seen_inbound(&self, id: &ConversationId, platform_id: &str) -> Result<bool, StoreError> {
        self.inner.seen_inbound(id, platform_id).await
    }
    fn commit(&self, commit: Commit) -> Committing<'_> {
        self.inner.commit(commit)
    }
    async fn due_timers(&self, now: DateTime<Utc>, limit: usize) -> Result<Vec<Timer>, StoreError> {
        self.inner.due_timers(now, limit).await
    }
    async fn next_timer_due(&self) -> Result<Option<DateTime<Utc>>, StoreError> {
        self.inner.next_timer_due().await
    }
    async fn undelivered(&self, _limit: usize) -> Result<Vec<OutboxMessage>, StoreError> {
        Ok(self.listed.lock().unwrap().clone())
    }
    async fn still_undelivered(&self, ids: &[i64]) -> Result<Vec<i64>, StoreError> {
        self.inner.still_undelivered(ids).await
    }
    async fn mark_delivered(&self, ids: &[i64]) -> Result<(), StoreError> {
        self.inner.mark_delivered(ids).await
    }
    async fn handoff_conversations(&self) -> Result<Vec<Conversation>, StoreError> {
        self.inner.handoff_conversations().await
    }
    async fn journal(&self, id: &ConversationId) -> Result<Vec<JournalEntry>, StoreError> {
        self.inner.journal(id).await
    }
}

/// A channel that fails while `down`, and records what it delivers.
#[derive(Default)]
struct Flaky {
    down: AtomicBool,
    sent: Mutex<Vec<String>>,
}

#[async_trait]
impl Channel for Flaky {
    fn name(&self) -> &str {
        "flaky"
    }
    async fn send(&self, _id: &ConversationId, message: &Outbound) -> Result<(), ChannelError> {
        if self.down.load(Ordering::Relaxed) {
            return Err(ChannelError { channel: "flaky".into(), reason: "down".into() });
        }
        self.sent.lock().unwrap().push(message.text.clone());
        Ok(())
    }
}

#[tokio::test]
async fn a_message_delivered_since_it_was_listed_is_not_delivered_again() {
    let store = Arc::new(ListedEarlier { inner: MemoryStore::new(), listed: Mutex::new(Vec::new()) });
    let channel = Arc::new(Flaky { down: AtomicBool::new(true), ..Flaky::default() });
    let clock = Arc::new(ManualClock::new(Utc::now()));
    let runtime = Runtime::new(acme(), store.clone(), clock).with_channel(channel.clone());
    let hi = Inbound {
        conversation: ConversationId::new("flaky", "c1"),
        user: UserProfile { id: "c1".into(), name: "Sam Lee".into() },
        text: "hi".into(),
        button: None,
        platform_id: Some("m1".into()),
        sentiment: None,
    };
    runtime.handle(hi).await.unwrap();
    assert!(channel.sent.lock().unwrap().is_empty(), "the channel was down");
    let pending = store.inner.undelivered(10).await.unwrap();
    assert_eq!(pending.len(), 2, "the greeting waits in the outbox");
    *store.listed.lock().unwrap() = pending;

    channel.down.store(false, Ordering::Relaxed);
    assert_eq!(runtime.deliver_pending().await.unwrap(), 2);
    assert_eq!(runtime.deliver_pending().await.unwrap(), 0, "the old list names them still; they are delivered");
    assert_eq!(channel.sent.lock().unwrap().len(), 2, "each message once: {:?}", channel.sent.lock().unwrap());
}
