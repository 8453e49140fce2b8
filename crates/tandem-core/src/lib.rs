//! Tandem's domain types, shared by every other crate: who a conversation is with and who
//! owns it ([`Conversation`], [`Owner`]), what comes in and goes out ([`Inbound`],
//! [`Outbound`]), what is journaled ([`Event`]), durable [`Timer`]s, the [`Clock`], and the
//! two extension points: [`Store`] (where conversations live) and [`Channel`] (where
//! messages are delivered). No I/O and no platform crates here.

mod clock;
mod conversation;
mod event;
mod message;
mod store;
mod timer;
mod variables;

pub use clock::{Clock, ManualClock, SystemClock};
/// The string type of names kept in every conversation (inline up to 24 bytes).
pub use compact_str::CompactString;
pub use conversation::{
    AssignedAgent, BotAt, BotPosition, Conversation, ConversationId, Handoff, Owner, SENTIMENT_WINDOW, Sentiment,
    UserProfile, Wants,
};
pub use event::{ActionRefusal, EscalationFired, Event, HandoffRequest, JournalEntry, JournalRun, OwnerChange};
pub use message::{Channel, ChannelError, Inbound, Outbound, OutboxMessage};
pub use store::{Commit, CommitOutcome, Committing, Store, StoreError};
pub use timer::{Timer, TimerId, TimerKind};
pub use variables::Variables;
