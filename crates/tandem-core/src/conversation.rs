//! A conversation with one customer on one channel, and who owns it right now.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Identifies a conversation: the channel it happens on and the chat within that channel.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ConversationId {
    pub channel: String,
    pub chat: String,
}

impl ConversationId {
    pub fn new(channel: impl Into<String>, chat: impl Into<String>) -> Self {
        Self {
            channel: channel.into(),
            chat: chat.into(),
        }
    }

    /// The stable text key used by stores: `channel:chat`.
    pub fn key(&self) -> String {
        format!("{}:{}", self.channel, self.chat)
    }
}

impl fmt::Display for ConversationId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.channel, self.chat)
    }
}

/// What the bot knows of the customer, as given by the channel.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct UserProfile {
    /// The channel's id for the customer.
    pub id: String,
    /// Display name, as the channel gives it ("Dana Scully").
    pub name: String,
}

impl UserProfile {
    /// The first word of the display name, the way a person would greet them.
    pub fn first_name(&self) -> &str {
        self.name.split_whitespace().next().unwrap_or("")
    }
}

/// Who is talking to the customer. Issue 3 adds `Queued`, `Agent` and `Parked`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Owner {
    /// The bot, at a step of a flow. `waiting` is true while it waits for the customer's answer.
    Bot {
        flow: String,
        step: String,
        waiting: bool,
    },
    /// Nobody: the conversation has ended. A new customer message starts it again.
    Closed,
}

/// The whole durable state of one conversation: everything the step function needs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Conversation {
    pub id: ConversationId,
    pub user: UserProfile,
    pub owner: Owner,
    /// Flow variables (`set`, `capture`), plus `result` of the last action and `answer`.
    pub vars: Map<String, Value>,
    /// Failed capture attempts at the current step.
    pub tries: u32,
    /// Consecutive answers the bot did not understand.
    pub fallbacks: u32,
    /// The step an unmatched answer came in at, for `goto: repeat`.
    pub repeat: Option<(String, String)>,
    /// The pending timeout of the step the bot waits at, to cancel it when an answer comes.
    pub timeout: Option<crate::TimerId>,
    /// Sequence numbers: journal events and timers of this conversation.
    pub journal_seq: u64,
    pub timer_seq: u64,
    pub started_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Conversation {
    /// A conversation that has not started yet: nothing said, owned by nobody.
    pub fn new(id: ConversationId, user: UserProfile, now: DateTime<Utc>) -> Self {
        Self {
            id,
            user,
            owner: Owner::Closed,
            vars: Map::new(),
            tries: 0,
            fallbacks: 0,
            repeat: None,
            timeout: None,
            journal_seq: 0,
            timer_seq: 0,
            started_at: now,
            updated_at: now,
        }
    }

    /// True once an `end` step has closed the conversation.
    pub fn is_closed(&self) -> bool {
        matches!(self.owner, Owner::Closed)
    }

    /// `flow.step` where the bot is, if it owns the conversation.
    pub fn position(&self) -> Option<String> {
        match &self.owner {
            Owner::Bot { flow, step, .. } => Some(format!("{flow}.{step}")),
            Owner::Closed => None,
        }
    }
}
