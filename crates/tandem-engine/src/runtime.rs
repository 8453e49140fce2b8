//! The async shell around the pure engine: one input at a time per conversation (many
//! conversations in parallel, at most [`MESSAGES_IN_FLIGHT`] customer messages at once),
//! each step committed in one store transaction before its messages are delivered from the
//! outbox, durable timers fired from the store, and the routing desk consulted when a chat
//! asks for a human or an agent frees up.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use smallvec::SmallVec;
use tandem_core::{
    Channel, Clock, Commit, CommitOutcome, CompactString, Conversation, ConversationId, Inbound, OutboxMessage, Store,
    StoreError, Timer, UserProfile,
};
use tandem_handoff::Desk;
use tokio::sync::{Notify, Semaphore};

use crate::conversation_locks::ConversationLocks;
use crate::engine::{AgentAction, Engine, Input};

#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("no conversation {0}")]
    NoConversation(ConversationId),
}

/// What became of an input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Handled {
    /// Committed; this many messages were delivered now (the rest wait in the outbox).
    Done { delivered: usize },
    /// Seen before (a redelivered message, a timer that already fired): nothing done.
    Duplicate,
    /// An agent action that could not be done, and why (journaled).
    Refused(String),
}

/// One input for one conversation, and where it came from.
struct Work {
    id: ConversationId,
    user: Option<UserProfile>,
    input: Input,
    inbound_id: Option<CompactString>,
    fired_timer: Option<String>,
}

impl Work {
    fn input(id: ConversationId, input: Input) -> Self {
        Self { id, user: None, input, inbound_id: None, fired_timer: None }
    }
}

/// A step ready to commit, and what to do once it is committed.
struct Stepped {
    commit: Commit,
    /// The new state, when the desk is to see it: the chat is with a person or waits for one.
    for_desk: Option<Box<Conversation>>,
    /// The chat asks to be routed to a person.
    route: bool,
    /// Why an agent's action was refused.
    refused: Option<String>,
    sets_timer: bool,
    now: DateTime<Utc>,
}

/// Runs conversations for one bot.
pub struct Runtime {
    engine: Arc<Engine>,
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    channels: HashMap<String, Arc<dyn Channel>>,
    locks: ConversationLocks,
    desk: Mutex<Desk>,
    /// Told when a step sets a timer, so the timer loop can wake for it.
    timer_set: Notify,
    /// Customer messages being stepped at once; the rest wait their turn as received text.
    in_flight: Semaphore,
}

/// Customer messages stepped at once: enough to fill the store's group commits, few enough
/// that a burst of many thousands does not hold a decoded conversation and a step's work each.
/// 1024 -> 256 left the concurrent benchmark as fast (10,000: ~70,000-75,000 msgs/s either
/// way) and its memory after the burst lower (2.2-3.1 -> 1.6-2.1 KiB a conversation); 64 was
/// too few to fill the commits (~50,000 msgs/s).
pub const MESSAGES_IN_FLIGHT: usize = 256;

impl Runtime {
    pub fn new(engine: Arc<Engine>, store: Arc<dyn Store>, clock: Arc<dyn Clock>) -> Self {
        let desk = Mutex::new(Desk::new(engine.bot.roster.clone()));
        let locks = ConversationLocks::new();
        let in_flight = Semaphore::new(MESSAGES_IN_FLIGHT);
        Self { engine, store, clock, channels: HashMap::new(), locks, desk, timer_set: Notify::new(), in_flight }
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

    /// Rebuild who has which chat and who waits from the store (at start-up), then give
    /// waiting chats to agents who are free.
    pub async fn restore(&self) -> Result<(), RuntimeError> {
        let now = self.clock.now();
        for conversation in self.store.handoff_conversations().await? {
            self.desk().observe(&conversation, now);
        }
        self.process(Vec::new()).await.map(|_| ())
    }

    /// Handle a customer's message.
    ///
    /// Not an `async fn`: one keeps its arguments in its future and moves them again into its
    /// body's variables, so a message waiting for its turn was held twice. Here the message is
    /// made into its work first, in the list `process` takes (allocated anyway), and a waiting
    /// message's future holds that list's pointer (464 -> 144 bytes; a waiting customer's task
    /// in the benchmark 768 -> 384).
    pub fn handle(&self, inbound: Inbound) -> impl Future<Output = Result<Handled, RuntimeError>> + Send + '_ {
        let input = Input::Message { text: inbound.text, button: inbound.button, sentiment: inbound.sentiment };
        let work = vec![Work {
            id: inbound.conversation,
            user: Some(inbound.user),
            input,
            inbound_id: inbound.platform_id,
            fired_timer: None,
        }];
        async move {
            // A free turn is taken without a future (its making and polling were ~1 % of a message).
            let _turn = match self.in_flight.try_acquire() {
                Ok(turn) => turn,
                Err(_) => self.in_flight.acquire().await.expect("the semaphore is never closed"),
            };
            // Boxed: a message waiting for its turn holds a small future, not a whole step's.
            Box::pin(self.process(work)).await
        }
    }

    /// An agent acts on a chat.
    pub async fn agent_action(
        &self,
        id: &ConversationId,
        agent: &str,
        action: AgentAction,
    ) -> Result<Handled, RuntimeError> {
        if self.store.load(id).await?.is_none() {
            return Err(RuntimeError::NoConversation(id.clone()));
        }
        self.process(vec![Work::input(id.clone(), Input::Agent { agent: agent.to_string(), action })]).await
    }

    /// An agent goes offline (their chats go back in line) or comes back online.
    pub async fn agent_presence(&self, agent: &str, online: bool) -> Result<(), RuntimeError> {
        let chats = self.desk().set_away(agent, !online);
        let work = chats
            .into_iter()
            .map(|id| Work::input(id, Input::Agent { agent: agent.into(), action: AgentAction::Requeue }))
            .collect();
        self.process(work).await.map(|_| ())
    }

    /// Fire every timer due now, earliest first. Returns how many fired.
    pub async fn fire_due_timers(&self) -> Result<usize, RuntimeError> {
        let mut fired = 0;
        loop {
            let due = self.store.due_timers(self.clock.now(), 256).await?;
            if due.is_empty() {
                // Time passing may have brought agents on shift for chats in line.
                self.process(Vec::new()).await?;
                return Ok(fired);
            }
            for timer in due {
                if self.process(vec![timer_work(timer)]).await? != Handled::Duplicate {
                    fired += 1;
                }
            }
        }
    }

    /// Retry delivery of everything left in the outbox (after a crash or a channel failure).
    pub async fn deliver_pending(&self) -> Result<usize, RuntimeError> {
        let pending = self.store.undelivered(1024).await?;
        let mut by_conversation: HashMap<ConversationId, Vec<OutboxMessage>> = HashMap::new();
        for message in pending {
            by_conversation.entry(message.conversation.clone()).or_default().push(message);
        }
        let mut delivered = 0;
        for (id, mut messages) in by_conversation {
            let _taken = self.locks.lock(&id).await;
            // A step of the conversation may have delivered some since they were listed (it
            // holds the conversation from its commit until its messages are marked).
            let ids: SmallVec<[i64; 4]> = messages.iter().map(|m| m.id).collect();
            let still = self.store.still_undelivered(&ids).await?;
            messages.retain(|m| still.contains(&m.id));
            delivered += self.deliver(&messages).await?;
        }
        Ok(delivered)
    }

    /// Fire timers and redeliver the outbox, forever: at least every `every`, and sooner when
    /// the next timer is due sooner (a step that sets a timer wakes the loop to look). Run it
    /// in a task.
    pub async fn run_background(self: Arc<Self>, every: Duration) {
        loop {
            if let Err(e) = self.fire_due_timers().await {
                tracing::error!("firing timers: {e}");
            }
            if let Err(e) = self.deliver_pending().await {
                tracing::error!("delivering the outbox: {e}");
            }
            let until_next = match self.store.next_timer_due().await {
                Ok(Some(due)) => (due - self.clock.now()).to_std().unwrap_or_default(),
                _ => every,
            };
            let sleep = tokio::time::sleep(until_next.clamp(Duration::from_millis(1), every));
            tokio::select! {
                () = sleep => {}
                () = self.timer_set.notified() => {}
            }
        }
    }

    /// Apply `first` and everything it leads to: desk decisions, chats given to freed
    /// agents, better places in line. Returns what became of the first input.
    async fn process(&self, first: Vec<Work>) -> Result<Handled, RuntimeError> {
        let mut queue: VecDeque<Work> = first.into();
        let mut outcome = None;
        // Each round changes an owner or a told place in line; this bound only guards against a bug.
        for _ in 0..100_000 {
            // The work is taken and moved into its future in a block of its own, and the future
            // is awaited where it is made: the work's binding, a `match`'s scrutinee or a binding
            // for the future would each keep room in this future beside the one awaited
            // (1,920 -> 728 bytes with `apply`'s own change).
            let (handled, follow_up) = {
                let Some(work) = queue.pop_front() else {
                    let follow_ups = self.desk_moves();
                    if follow_ups.is_empty() {
                        break;
                    }
                    queue.extend(follow_ups);
                    continue;
                };
                self.apply(work)
            }
            .await?;
            outcome.get_or_insert(handled);
            queue.extend(follow_up);
        }
        Ok(outcome.unwrap_or(Handled::Done { delivered: 0 }))
    }

    /// Chats in line that free agents can take, and chats whose place in line got better.
    fn desk_moves(&self) -> Vec<Work> {
        let mut desk = self.desk();
        if desk.is_quiet() {
            return Vec::new();
        }
        let now = self.clock.now();
        let mut work: Vec<Work> = desk
            .next_assignments(now)
            .into_iter()
            .map(|(id, agent)| Work::input(id, Input::Routed(tandem_handoff::Decision::Assign { agent })))
            .collect();
        if work.is_empty() {
            work = desk
                .moves(now)
                .into_iter()
                .map(|(id, position, eta)| Work::input(id, Input::QueueMoved { position, eta }))
                .collect();
        }
        work
    }

    /// Step `work` on its conversation, commit, tell the desk, deliver: one input, while
    /// nothing else is done to its conversation. One future, not one awaiting another: a
    /// future awaited in another is moved into it, ~1.5 KB a message. Not an `async fn`, which
    /// would keep the work twice (its argument and its body's variable: 904 -> 616 bytes).
    #[allow(clippy::manual_async_fn, reason = "an async fn keeps its arguments twice")]
    fn apply(&self, work: Work) -> impl Future<Output = Result<(Handled, Option<Work>), RuntimeError>> + Send + '_ {
        async move {
            let _taken = self.locks.lock(&work.id).await;
            // A redelivered message is caught by the commit itself (its platform id is unique),
            // so the hot path makes no separate look-up for it. A store that can answer at once (in
            // memory) is asked without a future first (`Store::try_load`, `try_commit`): with an
            // `if let`, and the commit's future made inside the `match`, as a `match` keeps its
            // scrutinee (a state's 376 bytes, a commit's 520) in this future across its awaits.
            let stored = if let Some(known) = self.store.try_load(&work.id) {
                known?
            } else {
                self.store.load(&work.id).await?
            };
            let Some(Stepped { commit, for_desk, route, refused, sets_timer, now }) = self.step(work, stored) else {
                return Ok((Handled::Duplicate, None));
            };
            let outcome = match self.store.try_commit(commit).map_err(|commit| self.store.commit(commit)) {
                Ok(done) => done?,
                Err(waiting) => waiting.await?,
            };
            let outbox = match outcome {
                CommitOutcome::Duplicate => return Ok((Handled::Duplicate, None)),
                CommitOutcome::Committed(outbox) => outbox,
            };
            if sets_timer {
                self.timer_set.notify_one();
            }
            // The desk's decision, not yet the work it makes, which is larger: this future keeps
            // what is held across the delivery (with the two above, 1,208 -> 840 bytes).
            let routed = for_desk.and_then(|conversation| {
                let mut desk = self.desk();
                desk.observe(&conversation, now);
                let handoff = conversation.owner.handoff().filter(|_| route)?;
                let decision = desk.route(&conversation.id, handoff, conversation.last_agent.as_deref(), now);
                Some((conversation.id, decision))
            });
            let delivered = self.deliver(&outbox).await?;
            let handled = match refused {
                Some(why) => Handled::Refused(why),
                None => Handled::Done { delivered },
            };
            Ok((handled, routed.map(|(id, decision)| Work::input(id, Input::Routed(decision)))))
        }
    }

    /// The engine's step for `work` on its stored conversation (none: a new one, for a
    /// customer's message), ready to commit; `None` when there is nothing to step. Not async:
    /// the step's values stay out of the future that waits for the store (2,976 -> 1,576 bytes).
    fn step(&self, work: Work, stored: Option<Conversation>) -> Option<Stepped> {
        let now = self.clock.now();
        let mut conversation = match stored {
            Some(mut c) => {
                // A channel that does not know the customer's name (a web chat's page that
                // gives none) leaves the one known.
                match work.user {
                    Some(user) if user.name.is_empty() => c.user.id = user.id,
                    Some(user) => c.user = user,
                    None => {}
                }
                c
            }
            None if matches!(work.input, Input::Message { .. }) => {
                Conversation::new(work.id, work.user.unwrap_or_default(), now)
            }
            None => return None,
        };
        // The desk tracks chats with a person or waiting for one: a step that neither starts
        // nor ends with one (the bot talking) is none of its business, and costs no copy of
        // the conversation and no turn at the desk's lock.
        let was_at_desk = conversation.owner.handoff().is_some();
        let mut effects = self.engine.step_in_place(&mut conversation, work.input, now);
        let (route, refused) = (effects.route, effects.refused.take());
        let sets_timer = !effects.set_timers.is_empty();
        let commit = effects.into_commit(conversation, work.inbound_id, work.fired_timer);
        let for_desk = (was_at_desk || commit.conversation.owner.handoff().is_some())
            .then(|| Box::new(commit.conversation.clone()));
        Some(Stepped { commit, for_desk, route, refused, sets_timer, now })
    }

    /// Deliver in order; stop at the first failure so that order is kept on retry.
    async fn deliver(&self, messages: &[OutboxMessage]) -> Result<usize, RuntimeError> {
        // A step sends a message or two: their ids stay on the stack.
        let mut done: SmallVec<[i64; 4]> = SmallVec::new();
        for message in messages {
            let Some(channel) = self.channels.get(message.conversation.channel()) else {
                break;
            };
            let sent = match channel.try_send(&message.conversation, &message.message) {
                Some(sent) => sent,
                None => channel.send(&message.conversation, &message.message).await,
            };
            match sent {
                Ok(()) => done.push(message.id),
                Err(e) => {
                    tracing::warn!("delivery to {} failed, will retry: {e}", message.conversation);
                    break;
                }
            }
        }
        if !done.is_empty() {
            match self.store.try_mark_delivered(&done) {
                Some(marked) => marked?,
                None => self.store.mark_delivered(&done).await?,
            }
        }
        Ok(done.len())
    }

    fn desk(&self) -> std::sync::MutexGuard<'_, Desk> {
        self.desk.lock().unwrap_or_else(|e| e.into_inner())
    }
}

fn timer_work(timer: Timer) -> Work {
    let id = timer.conversation.clone();
    let fired = Some(timer.id.clone());
    Work { id, user: None, input: Input::Timer(timer), inbound_id: None, fired_timer: fired }
}
