//! The pure step function and its inputs and outputs.

use chrono::{DateTime, Duration, Utc};
use tandem_core::{Commit, CompactString, Conversation, JournalEntry, Outbound, Timer, TimerId, Wants};
use tandem_flow::Bot;
use tandem_handoff::Decision;
use tandem_nlu::IntentMatcher;
use tandem_nlu::sentiment::SentimentAnalyzer;

use crate::turn::Turn;

/// What the engine reacts to.
#[derive(Debug, Clone, PartialEq)]
pub enum Input {
    /// The customer wrote `text`, or pressed the button labelled `button`; `sentiment` is
    /// the message's score in [-1, 1] when the understanding layer gives one.
    Message { text: String, button: Option<String>, sentiment: Option<f64> },
    /// A durable timer came due.
    Timer(Timer),
    /// The desk decided on this chat's request for a human.
    Routed(Decision),
    /// The customer's place in line got better.
    QueueMoved { position: u32, eta: Duration },
    /// An agent acts on this chat.
    Agent { agent: String, action: AgentAction },
}

/// What an agent can do to a chat: the engine API the desk and messengers call.
#[derive(Debug, Clone, PartialEq)]
pub enum AgentAction {
    /// Take a chat that waits in line (or is parked).
    Take,
    /// Write to the customer.
    Reply(String),
    /// A private note for colleagues.
    Note(String),
    /// Pass the chat to another agent or team.
    Transfer(Wants),
    /// Give the chat back to the bot, at a step (`flow.step`; default: the handoff's `on_return`).
    HandBack(Option<String>),
    /// Close the chat; `csat` starts the rating flow.
    Resolve { csat: bool },
    /// The agent went offline: the chat goes back in line.
    Requeue,
}

/// What a step produced, for the shell to commit and then perform.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Effects {
    pub outbound: Vec<Outbound>,
    pub set_timers: Vec<Timer>,
    pub cancel_timers: Vec<TimerId>,
    /// The step's events, numbered on from the conversation's journal as they happened, at
    /// the step's time: the store writes them as they are.
    pub events: Vec<JournalEntry>,
    /// The chat asks for a human: the shell asks the desk and feeds back its decision.
    pub route: bool,
    /// An agent action that could not be done, and why.
    pub refused: Option<String>,
}

/// The new state and its effects.
#[derive(Debug, Clone, PartialEq)]
pub struct Transition {
    pub conversation: Conversation,
    pub effects: Effects,
}

impl Transition {
    /// What the store writes for this step: the new state, its events, its outbox and timers,
    /// and what caused it (for deduplication). `route` and `refused` are for the shell and are
    /// not written.
    pub fn into_commit(self, inbound_id: Option<CompactString>, fired_timer: Option<String>) -> Commit {
        self.effects.into_commit(self.conversation, inbound_id, fired_timer)
    }
}

impl Effects {
    /// What the store writes for a step that left `conversation` as it is: see
    /// [`Transition::into_commit`].
    pub fn into_commit(
        self,
        conversation: Conversation,
        inbound_id: Option<CompactString>,
        fired_timer: Option<String>,
    ) -> Commit {
        Commit {
            conversation,
            inbound_id,
            fired_timer,
            events: self.events,
            outbox: self.outbound,
            set_timers: self.set_timers,
            cancel_timers: self.cancel_timers,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("the bot's intents do not compile: {0}")]
    Intents(#[from] tandem_nlu::IntentError),
    #[error("the bot's sentiment cues do not compile: {0}")]
    Sentiment(String),
}

/// A bot ready to talk: its flows and what understands messages.
#[derive(Debug)]
pub struct Engine {
    pub bot: Bot,
    pub(crate) intents: IntentMatcher,
    pub(crate) sentiment: SentimentAnalyzer,
}

impl Engine {
    pub fn new(bot: Bot) -> Result<Self, EngineError> {
        let intents = IntentMatcher::new(&bot.intents)?;
        let intents = intents.with_threshold(bot.intent_threshold);
        let sentiment =
            SentimentAnalyzer::new(&bot.sentiment_cues).map_err(|e| EngineError::Sentiment(e.to_string()))?;
        Ok(Self { bot, intents, sentiment })
    }

    /// The sentiment of a message, in [-1, 1].
    pub fn sentiment(&self, text: &str) -> f64 {
        self.sentiment.score(text)
    }

    /// The intents of a message, most confident first.
    pub fn understand(&self, text: &str) -> Vec<tandem_nlu::IntentScore> {
        self.intents.classify(text)
    }

    /// One step of one conversation. Pure: the same inputs give the same outputs. The input
    /// is taken, not borrowed: a customer's text moves into the journal instead of being copied.
    pub fn step(&self, mut conversation: Conversation, input: Input, now: DateTime<Utc>) -> Transition {
        let effects = self.step_in_place(&mut conversation, input, now);
        Transition { conversation, effects }
    }

    /// [`Engine::step`] on the conversation where it lies, changed in place: the runtime steps
    /// the state it loaded and commits it from there, where moving it into the turn and out
    /// again copied its ~330 bytes three times a message.
    pub fn step_in_place(&self, conversation: &mut Conversation, input: Input, now: DateTime<Utc>) -> Effects {
        let mut turn = Turn::new(self, conversation, now);
        match input {
            Input::Message { text, button, sentiment } => turn.on_message(text, button, sentiment),
            Input::Timer(timer) => turn.on_timer(&timer),
            Input::Routed(decision) => turn.on_routed(&decision),
            Input::QueueMoved { position, eta } => turn.on_queue_moved(position, eta),
            Input::Agent { agent, action } => turn.on_agent(&agent, &action),
        }
        turn.finish()
    }
}
