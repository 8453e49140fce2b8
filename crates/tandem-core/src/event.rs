//! The journal: every event of a conversation, in order. It is the transcript later shown to
//! agents and the audit trail of every decision the bot made.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Something that happened in a conversation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Event {
    /// The customer wrote or pressed a button.
    CustomerSaid { text: String, button: Option<String> },
    /// The bot sent a message.
    BotSaid { text: String, buttons: Vec<String> },
    /// The bot moved to a step.
    StepEntered { flow: String, step: String },
    /// The message was understood as an intent.
    IntentDetected { intent: String, confidence: f64 },
    /// A variable was set by `set`, `capture` or an action.
    VariableSet { name: String, value: Value },
    /// An answer did not pass a capture's validation.
    CaptureRejected { var: String, tries: u32 },
    /// An answer matched no route.
    Fallback { count: u32 },
    /// A timeout or follow-up fired.
    TimerFired { kind: String, step: String },
    /// An escalation rule fired on a customer message: which one and the values that fired it.
    EscalationTriggered { rule: String, reason: String, values: Value },
    /// The bot asked for a human.
    HandoffRequested { reason: String, skills: Vec<String>, team: Option<String>, agent: Option<String> },
    /// Who owns the conversation changed: from, to, who did it and why.
    OwnerChanged { from: String, to: String, actor: String, reason: String },
    /// A named agent wrote to the customer.
    AgentSaid { agent: String, text: String },
    /// A private note by an agent, never shown to the customer.
    AgentNote { agent: String, text: String },
    /// Something the bot would have said while a human owned the chat: not sent.
    BotSilenced { text: String },
    /// An agent action that could not be done.
    ActionRefused { agent: String, action: String, why: String },
    /// Steps jumped into each other too many times without waiting: the flow has a loop.
    LoopStopped { flow: String, step: String },
    /// The conversation was closed by an `end` step.
    Ended,
}

/// An event as stored: its place in the conversation and when it happened.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JournalEntry {
    pub seq: u64,
    pub at: DateTime<Utc>,
    pub event: Event,
}
