//! Messages in and out, and the [`Channel`] trait a platform adapter implements to deliver them.

use async_trait::async_trait;
use compact_str::CompactString;
use serde::{Deserialize, Serialize};

use crate::{ConversationId, UserProfile};

/// A customer's message as an adapter hands it to the engine.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Inbound {
    pub conversation: ConversationId,
    pub user: UserProfile,
    pub text: String,
    /// The label of the button pressed, when the customer pressed one.
    pub button: Option<String>,
    /// The platform's id for this message. A message seen before is ignored (redelivery).
    /// Inline up to 24 bytes (a Telegram update's, a Discord snowflake): no allocation.
    pub platform_id: Option<CompactString>,
    /// The message's sentiment in [-1, 1], when something upstream scored it.
    #[serde(default)]
    pub sentiment: Option<f64>,
}

/// A message the bot sends: text and optional buttons.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outbound {
    /// The agent's display name when a person wrote it; none for the bot.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    pub text: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub buttons: Vec<String>,
}

/// An outbound message as kept in the outbox until it is delivered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxMessage {
    pub id: i64,
    pub conversation: ConversationId,
    pub message: Outbound,
}

/// Why a channel could not deliver a message. The message stays in the outbox and is retried.
#[derive(Debug, thiserror::Error)]
#[error("channel {channel}: {reason}")]
pub struct ChannelError {
    pub channel: String,
    pub reason: String,
}

/// A place customers talk to the bot: the terminal, Telegram, Discord, the web widget.
#[async_trait]
pub trait Channel: Send + Sync {
    /// The channel's name, as in `ConversationId::channel`.
    fn name(&self) -> &str;
    /// Deliver one message to the customer of `conversation`.
    async fn send(&self, conversation: &ConversationId, message: &Outbound) -> Result<(), ChannelError>;
    /// [`Channel::send`] at once, if the channel hands a message over without waiting (to a
    /// terminal, to a queue in memory that a connection drains); `None`: call `send`. The
    /// runtime asks this first, as it asks a store's `try_*`: an answer at once costs no boxed
    /// future (`async_trait` makes one for every call).
    fn try_send(&self, _conversation: &ConversationId, _message: &Outbound) -> Option<Result<(), ChannelError>> {
        None
    }
}
