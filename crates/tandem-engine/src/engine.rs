//! The pure step function and its inputs and outputs.

use chrono::{DateTime, Utc};
use tandem_core::{Conversation, Event, Outbound, Timer, TimerId};
use tandem_flow::Bot;
use tandem_nlu::IntentMatcher;

use crate::turn::Turn;

/// What the engine reacts to.
#[derive(Debug, Clone, PartialEq)]
pub enum Input {
    /// The customer wrote `text`, or pressed the button labelled `button`.
    Message {
        text: String,
        button: Option<String>,
    },
    /// A durable timer came due.
    Timer(Timer),
}

/// What a step produced, for the shell to commit and then perform.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Effects {
    pub outbound: Vec<Outbound>,
    pub set_timers: Vec<Timer>,
    pub cancel_timers: Vec<TimerId>,
    pub events: Vec<Event>,
}

/// The new state and its effects.
#[derive(Debug, Clone, PartialEq)]
pub struct Transition {
    pub conversation: Conversation,
    pub effects: Effects,
}

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("the bot's intents do not compile: {0}")]
    Intents(#[from] tandem_nlu::IntentError),
}

/// A bot ready to talk: its flows and what understands messages.
#[derive(Debug)]
pub struct Engine {
    pub bot: Bot,
    pub(crate) intents: IntentMatcher,
}

impl Engine {
    pub fn new(bot: Bot) -> Result<Self, EngineError> {
        let intents = IntentMatcher::new(&bot.intents)?;
        Ok(Self { bot, intents })
    }

    /// One step of one conversation. Pure: the same inputs give the same outputs.
    pub fn step(
        &self,
        conversation: Conversation,
        input: &Input,
        now: DateTime<Utc>,
    ) -> Transition {
        let mut turn = Turn::new(self, conversation, now);
        match input {
            Input::Message { text, button } => turn.on_message(text, button.as_deref()),
            Input::Timer(timer) => turn.on_timer(timer),
        }
        turn.finish()
    }
}
