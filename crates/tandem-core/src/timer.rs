//! Durable timers: timeouts, follow-ups (and later shift starts) are stored rows, not sleeps,
//! so that they survive a restart and fire exactly once.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::ConversationId;

/// A timer's id, unique across the store: `channel:chat#n`.
pub type TimerId = String;

/// What a timer does when it fires.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum TimerKind {
    /// The customer did not answer the step `flow.step` in time: go to `goto`.
    Timeout { flow: String, step: String, goto: String },
    /// Some time after `flow.step`, go to `goto` ("keep talking after the sale").
    FollowUp { flow: String, step: String, goto: String },
    /// A parked chat: the first fitting agent's shift starts; route it again.
    ShiftStart,
}

impl TimerKind {
    pub fn label(&self) -> &'static str {
        match self {
            TimerKind::Timeout { .. } => "timeout",
            TimerKind::FollowUp { .. } => "follow_up",
            TimerKind::ShiftStart => "shift_start",
        }
    }
}

/// A timer to fire at `due` for a conversation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Timer {
    pub id: TimerId,
    pub conversation: ConversationId,
    pub due: DateTime<Utc>,
    pub kind: TimerKind,
}
