//! The async shell around the pure engine: one input at a time per conversation (many
//! conversations in parallel), each step committed in one store transaction before its
//! messages are delivered from the outbox, and durable timers fired from the store.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tandem_core::{
    Channel, Clock, Commit, CommitOutcome, Conversation, ConversationId, Inbound, OutboxMessage,
    Store, StoreError, Timer, UserProfile, number_events,
};
use tokio::sync::Mutex as AsyncMutex;

use crate::engine::{Engine, Input};

#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What became of an input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Handled {
    /// Committed; this many messages were delivered now (the rest wait in the outbox).
    Done { delivered: usize },
    /// Seen before (a redelivered message, a timer that already fired): nothing done.
    Duplicate,
}

/// Runs conversations for one bot.
pub struct Runtime {
    engine: Arc<Engine>,
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    channels: HashMap<String, Arc<dyn Channel>>,
    locks: Mutex<HashMap<ConversationId, Arc<AsyncMutex<()>>>>,
}

impl Runtime {
    pub fn new(engine: Arc<Engine>, store: Arc<dyn Store>, clock: Arc<dyn Clock>) -> Self {
        Self {
            engine,
            store,
            clock,
            channels: HashMap::new(),
            locks: Mutex::new(HashMap::new()),
        }
    }

    /// Deliver messages of conversations on `channel.name()` through it.
    pub fn with_channel(mut self, channel: Arc<dyn Channel>) -> Self {
        self.channels.insert(channel.name().to_string(), channel);
        self
    }

    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    /// Handle a customer's message.
    pub async fn handle(&self, inbound: Inbound) -> Result<Handled, RuntimeError> {
        let input = Input::Message {
            text: inbound.text,
            button: inbound.button,
        };
        self.apply(
            &inbound.conversation,
            Some(inbound.user),
            input,
            inbound.platform_id,
            None,
        )
        .await
    }

    /// Fire every timer due now, earliest first. Returns how many fired.
    pub async fn fire_due_timers(&self) -> Result<usize, RuntimeError> {
        let mut fired = 0;
        loop {
            let due = self.store.due_timers(self.clock.now(), 256).await?;
            if due.is_empty() {
                return Ok(fired);
            }
            for timer in due {
                if self.fire(timer).await? != Handled::Duplicate {
                    fired += 1;
                }
            }
        }
    }

    async fn fire(&self, timer: Timer) -> Result<Handled, RuntimeError> {
        let conversation = timer.conversation.clone();
        let id = timer.id.clone();
        self.apply(&conversation, None, Input::Timer(timer), None, Some(id))
            .await
    }

    /// Retry delivery of everything left in the outbox (after a crash or a channel failure).
    pub async fn deliver_pending(&self) -> Result<usize, RuntimeError> {
        let pending = self.store.undelivered(1024).await?;
        let mut by_conversation: HashMap<ConversationId, Vec<OutboxMessage>> = HashMap::new();
        for message in pending {
            by_conversation
                .entry(message.conversation.clone())
                .or_default()
                .push(message);
        }
        let mut delivered = 0;
        for (id, messages) in by_conversation {
            let lock = self.lock_for(&id);
            let _guard = lock.lock().await;
            delivered += self.deliver(&messages).await?;
        }
        Ok(delivered)
    }

    /// Fire timers and redeliver the outbox every `every`, forever. Run it in a task.
    pub async fn run_background(self: Arc<Self>, every: Duration) {
        loop {
            if let Err(e) = self.fire_due_timers().await {
                tracing::error!("firing timers: {e}");
            }
            if let Err(e) = self.deliver_pending().await {
                tracing::error!("delivering the outbox: {e}");
            }
            tokio::time::sleep(every).await;
        }
    }

    async fn apply(
        &self,
        id: &ConversationId,
        user: Option<UserProfile>,
        input: Input,
        inbound_id: Option<String>,
        fired_timer: Option<String>,
    ) -> Result<Handled, RuntimeError> {
        let lock = self.lock_for(id);
        let guard = lock.lock().await;
        if let Some(pid) = &inbound_id
            && self.store.seen_inbound(id, pid).await?
        {
            return Ok(Handled::Duplicate);
        }
        let now = self.clock.now();
        let conversation = match self.store.load(id).await? {
            Some(mut c) => {
                if let Some(user) = user {
                    c.user = user;
                }
                c
            }
            None => Conversation::new(id.clone(), user.unwrap_or_default(), now),
        };
        let transition = self.engine.step(conversation, &input, now);
        let mut conversation = transition.conversation;
        let fx = transition.effects;
        let events = number_events(&mut conversation, now, fx.events);
        let commit = Commit {
            conversation,
            inbound_id,
            fired_timer,
            events,
            outbox: fx.outbound,
            set_timers: fx.set_timers,
            cancel_timers: fx.cancel_timers,
        };
        let outcome = match self.store.commit(commit).await? {
            CommitOutcome::Duplicate => Handled::Duplicate,
            CommitOutcome::Committed(outbox) => Handled::Done {
                delivered: self.deliver(&outbox).await?,
            },
        };
        drop(guard);
        self.release(id, lock);
        Ok(outcome)
    }

    /// Deliver in order; stop at the first failure so that order is kept on retry.
    async fn deliver(&self, messages: &[OutboxMessage]) -> Result<usize, RuntimeError> {
        let mut done = Vec::new();
        for message in messages {
            let Some(channel) = self.channels.get(&message.conversation.channel) else {
                break;
            };
            match channel.send(&message.conversation, &message.message).await {
                Ok(()) => done.push(message.id),
                Err(e) => {
                    tracing::warn!(
                        "delivery to {} failed, will retry: {e}",
                        message.conversation
                    );
                    break;
                }
            }
        }
        if !done.is_empty() {
            self.store.mark_delivered(&done).await?;
        }
        Ok(done.len())
    }

    fn lock_for(&self, id: &ConversationId) -> Arc<AsyncMutex<()>> {
        let mut locks = self.locks.lock().unwrap_or_else(|e| e.into_inner());
        locks.entry(id.clone()).or_default().clone()
    }

    /// Forget the lock of a conversation nobody else is waiting on.
    fn release(&self, id: &ConversationId, lock: Arc<AsyncMutex<()>>) {
        let mut locks = self.locks.lock().unwrap_or_else(|e| e.into_inner());
        // One reference in the map, one here: nobody else holds or waits for it.
        if Arc::strong_count(&lock) == 2 {
            locks.remove(id);
        }
    }
}
