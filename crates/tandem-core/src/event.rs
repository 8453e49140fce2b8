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
    /// An escalation rule fired on a customer message.
    EscalationTriggered(Box<EscalationFired>),
    /// The bot asked for a human.
    HandoffRequested(Box<HandoffRequest>),
    /// Who owns the conversation changed.
    OwnerChanged(Box<OwnerChange>),
    /// A named agent wrote to the customer.
    AgentSaid { agent: String, text: String },
    /// A private note by an agent, never shown to the customer.
    AgentNote { agent: String, text: String },
    /// Something the bot would have said while a human owned the chat: not sent.
    BotSilenced { text: String },
    /// An agent action that could not be done.
    ActionRefused(Box<ActionRefusal>),
    /// Steps jumped into each other too many times without waiting: the flow has a loop.
    LoopStopped { flow: String, step: String },
    /// The conversation was closed by an `end` step.
    Ended,
}

// The rare events with many fields are boxed, so that every event is small: an event is as
// large as its largest variant, and a conversation's journal is most of its memory (an
// event took 104 bytes, now 56). Their JSON is the same as a variant with those fields.

/// An escalation rule fired on a customer message: which one and the values that fired it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EscalationFired {
    pub rule: String,
    pub reason: String,
    pub values: Value,
}

/// The bot asked for a human: why, and whom.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HandoffRequest {
    pub reason: String,
    pub skills: Vec<String>,
    pub team: Option<String>,
    pub agent: Option<String>,
}

/// Who owns the conversation changed: from, to, who did it and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OwnerChange {
    pub from: String,
    pub to: String,
    pub actor: String,
    pub reason: String,
}

/// An agent action that could not be done: who tried what, and why not.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ActionRefusal {
    pub agent: String,
    pub action: String,
    pub why: String,
}

/// An event as stored: its place in the conversation and when it happened.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JournalEntry {
    pub seq: u64,
    pub at: DateTime<Utc>,
    pub event: Event,
}

/// Events with consecutive sequence numbers at one time: a step's events. The stores keep a
/// run as one journal row (SQLite, PostgreSQL) or one entry in memory, not an entry each: the
/// number and time are kept once, and a step wrote 3-4 events a turn.
#[derive(Debug, Clone, PartialEq)]
pub struct JournalRun {
    /// The first event's sequence number; the others follow it.
    pub seq: u64,
    pub at: DateTime<Utc>,
    pub events: Box<[Event]>,
}

impl JournalRun {
    /// Numbered events, as runs: a gap in the numbers or another time starts a new one.
    pub fn split(entries: Vec<JournalEntry>) -> Vec<JournalRun> {
        let mut runs = Vec::new();
        let mut events: Vec<Event> = Vec::with_capacity(entries.len());
        let mut current: Option<(u64, DateTime<Utc>)> = None; // the run's first number and time
        for entry in entries {
            let continues =
                current.is_some_and(|(first, at)| entry.seq == first + events.len() as u64 && entry.at == at);
            if !continues && let Some((seq, at)) = current.replace((entry.seq, entry.at)) {
                runs.push(JournalRun { seq, at, events: events.drain(..).collect() });
            }
            events.push(entry.event);
        }
        if let Some((seq, at)) = current {
            // The usual case is one run: it keeps the events' own allocation, exactly sized.
            runs.push(JournalRun { seq, at, events: events.into_boxed_slice() });
        }
        runs
    }

    /// The run's events, numbered again.
    pub fn entries(&self) -> impl Iterator<Item = JournalEntry> + '_ {
        self.events.iter().zip(self.seq..).map(|(event, seq)| JournalEntry { seq, at: self.at, event: event.clone() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn boxed_events_keep_the_json_of_a_variant_with_fields() {
        let change = Event::OwnerChanged(Box::new(OwnerChange {
            from: "bot".into(),
            to: "agent alice".into(),
            actor: "desk".into(),
            reason: "upset".into(),
        }));
        let json = serde_json::json!({
            "type": "owner_changed", "from": "bot", "to": "agent alice", "actor": "desk", "reason": "upset"
        });
        assert_eq!(serde_json::to_value(&change).unwrap(), json);
        assert_eq!(serde_json::from_value::<Event>(json).unwrap(), change);
    }

    fn said(seq: u64, at: i64, text: &str) -> JournalEntry {
        let at = DateTime::from_timestamp_micros(at).unwrap();
        JournalEntry { seq, at, event: Event::BotSaid { text: text.into(), buttons: vec![] } }
    }

    #[test]
    fn a_gap_another_time_or_a_repeated_number_starts_a_run_and_entries_read_back() {
        let entries = vec![said(4, 10, "a"), said(5, 10, "b"), said(7, 10, "c"), said(8, 11, "d"), said(8, 11, "e")];
        let runs = JournalRun::split(entries.clone());
        let shape: Vec<(u64, usize)> = runs.iter().map(|r| (r.seq, r.events.len())).collect();
        assert_eq!(shape, [(4, 2), (7, 1), (8, 1), (8, 1)]);
        assert_eq!(runs.iter().flat_map(JournalRun::entries).collect::<Vec<_>>(), entries);
        assert!(JournalRun::split(Vec::new()).is_empty());
    }

    #[test]
    fn an_event_is_small() {
        // The journal is most of a live conversation's memory, whose budget is 1 KiB.
        assert!(std::mem::size_of::<Event>() <= 64, "{}", std::mem::size_of::<Event>());
    }
}
